"""Benchmark: the 12-month backtest error of the platform's demand model against Social Finance's
``cs-demand-model`` on the same SSDA903 files, side by side.

Datasets: the demand model's own synthetic 903 years (``cs_demand_model_samples``), the demo
region's 903 history (its councils' returns as ``commissioning.ssda903_generate`` makes them for the
demo, seeded), and councils generated with known rates and trends (seeded). Each is cut 12 months before its history ends;
both models are fitted on what was known then and forecast the next 12 month ends, compared with
what happened in the demand model's placement categories (Fostering, Residential, Supported,
Other) so that both are judged on the same counts. The error is the mean absolute percentage
error per category, and overall weighted by children.

The demand model runs in its own environment (it pins pandas below 2): ``make demand-model-env``
makes ``.venv-demand``; ``--demand-python`` points elsewhere.

    python benchmarks/forecast.py            # a table
    python benchmarks/forecast.py --json     # only a JSON list, one object per dataset
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from commissioning import ssda903_generate  # noqa: E402
from commissioning.ssda903_files import read_episodes, read_header  # noqa: E402
from cost_transparency.forecasting import backtest, model, synthetic  # noqa: E402

RUNNER = ROOT / "scripts" / "demand_model_backtest.py"
DEMO_YEARS = 6
DEMO_CHILDREN = 200  # looked after at some time in the years, per council
# The demand model's standard configuration (standard-v1.yaml), checked against what the runner says.
DEMAND_CATEGORIES = ("Fostering", "Residential", "Supported", model.OTHER)
DEMAND_CATEGORY_OF = {**{code: "Fostering" for code in ("U1", "U2", "U3", "U4", "U5", "U6")},
                      "K2": "Residential", "R1": "Residential", "H5": "Supported", "P2": "Supported"}
GENERATED = (("generated: growing entries", 11, 10.0, 0.012, 1.0),
             ("generated: falling entries", 12, 16.0, -0.015, 1.0),
             ("generated: steady, fast turnover", 13, 14.0, 0.0, 1.6))


def read_folder(folder: Path) -> list[model.Episode]:
    headers = {}
    for path in sorted(folder.glob("*header*.csv")):
        for row in read_header(path.read_bytes()):
            headers.setdefault(row.child, row)
    episodes = []
    for path in sorted(folder.glob("*episodes*.csv")):
        episodes.extend(read_episodes(path.read_bytes()))
    return backtest.episodes_from_903(headers.values(), episodes)


def samples_folder(python: Path) -> Path | None:
    try:
        found = subprocess.run([str(python), "-c", "import cs_demand_model_samples, os; "
                                "print(os.path.dirname(cs_demand_model_samples.__file__))"],
                               capture_output=True, text=True, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(found.stdout.strip()) / "combined"


def demand_model(python: Path, folder: Path, cutoff: date, months: int) -> dict:
    done = subprocess.run([str(python), str(RUNNER), str(folder), "--cutoff", cutoff.isoformat(),
                           "--months", str(months)], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"cs-demand-model failed on {folder}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def compare(name: str, folder: Path, python: Path, months: int = 12) -> dict:
    episodes = model.clean(read_folder(folder))
    cutoff = backtest.default_cutoff(episodes, months)
    assert cutoff is not None
    started = time.process_time()
    ours = backtest.run(episodes, cutoff, DEMAND_CATEGORIES, DEMAND_CATEGORY_OF, months)
    platform_seconds = time.process_time() - started
    if ours is None:
        raise RuntimeError(f"{name}: less than two years of history before {cutoff}")
    started = time.perf_counter()
    theirs = demand_model(python, folder, cutoff, months)
    demand_seconds = time.perf_counter() - started
    for label, codes in theirs["codes"].items():
        assert sorted(codes) == sorted(c for c, k in DEMAND_CATEGORY_OF.items() if k == label), label
    import numpy as np  # noqa: PLC0415

    labels = {"Other": model.OTHER}
    forecast = np.zeros((months, len(DEMAND_CATEGORIES)))
    for label, values in theirs["forecast"].items():
        forecast[:, DEMAND_CATEGORIES.index(labels.get(label, label))] += values
    actual = np.array(ours.actual)
    overall, per = model.weighted_mape(forecast, actual)
    return {"dataset": name, "cutoff": ours.cutoff.isoformat(), "months": months,
            "children_at_cutoff": int(sum(ours.actual[0])) if ours.actual else 0,
            "platform_mape": ours.mape, "demand_model_mape": overall,
            "platform_mape_by_type": ours.mape_by_category,
            "demand_model_mape_by_type": dict(zip(DEMAND_CATEGORIES, per, strict=True)),
            "platform_method": ours.method,
            "platform_cpu_seconds": round(platform_seconds, 2), "demand_model_wall_seconds": round(demand_seconds, 2)}


def datasets(python: Path, scratch: Path) -> list[tuple[str, Path]]:
    found = []
    samples = samples_folder(python)
    if samples is not None and samples.is_dir():
        found.append(("cs_demand_model_samples", samples))
    else:
        print("cs_demand_model_samples not found: run make demand-model-env", file=sys.stderr)
    found.append(("demo region (North West)", demo_region(scratch / "demo")))
    for name, seed, entries, trend, exit_scale in GENERATED:
        council = synthetic.standard(name, seed, entries, trend, exit_scale)
        folder = scratch / f"generated-{seed}"
        synthetic.write_903(synthetic.simulate(council), folder)
        found.append((name, folder))
    return found


def demo_region(folder: Path) -> Path:
    """The demo region's councils' 903 returns, one header and one episodes file per year for them all."""
    from rcc.demo import DEMO_REGION, councils_of_region  # noqa: PLC0415

    last = date.today().year if date.today().month > 3 else date.today().year - 1
    years = range(last - DEMO_YEARS + 1, last + 1)
    councils = [la for la in councils_of_region(DEMO_REGION) if ssda903_generate.homes_in(la.name)]
    children = [child for la in councils
                for child in ssda903_generate.timelines(la.name, la.dfe_code, years[0], years[-1], DEMO_CHILDREN)]
    folder.mkdir(parents=True, exist_ok=True)
    for year in years:
        header, episodes = ssda903_generate.year_files(children, year)
        (folder / f"{year}-header.csv").write_bytes(header)
        (folder / f"{year}-episodes.csv").write_bytes(episodes)
    return folder


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def main() -> int:
    parser = argparse.ArgumentParser(description="12-month backtest: platform model against cs-demand-model")
    parser.add_argument("--json", action="store_true", help="print only a JSON list")
    parser.add_argument("--demand-python", default=str(ROOT / ".venv-demand" / "bin" / "python"))
    args = parser.parse_args()
    python = Path(args.demand_python)
    if not python.exists():
        print(f"{python} not found: run make demand-model-env", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        results = [compare(name, folder, python) for name, folder in datasets(python, Path(scratch))]
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        print(f"\n{r['dataset']} (cut off {r['cutoff']}, {r['children_at_cutoff']} children looked after)")
        print(f"  {'type':<14}{'platform':>10}{'cs-demand-model':>18}")
        for kind in DEMAND_CATEGORIES:
            print(f"  {kind:<14}{percent(r['platform_mape_by_type'][kind]):>10}"
                  f"{percent(r['demand_model_mape_by_type'][kind]):>18}")
        print(f"  {'overall':<14}{percent(r['platform_mape']):>10}{percent(r['demand_model_mape']):>18}")
        print(f"  platform method: {r['platform_method']}; {r['platform_cpu_seconds']} CPU s "
              f"(demand model {r['demand_model_wall_seconds']} s wall)")
    worse = [r["dataset"] for r in results if r["platform_mape"] > r["demand_model_mape"]]
    better = [r["dataset"] for r in results if r["platform_mape"] < r["demand_model_mape"]]
    print(f"\nPlatform better on {len(better)} of {len(results)}; worse on: {', '.join(worse) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
