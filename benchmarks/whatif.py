"""How long a what-if replay takes: 12 months of month-by-month matching of the demo region, for two
scenarios (the baseline and ten more places where the shortage report says the region is short),
with one worker process and with two.

Builds the demo region in a temporary SQLite database, reads it as the replay sees it
(``cost_transparency.whatif.region``), finds the shortage report's top type and area (the engine's
"one more place" re-solve of the open referrals, as ``matching.services.shortage`` does for a run),
then times ``run_scenarios`` with one worker and with two: wall time, CPU seconds (this process and
its workers) and the load average before and after. The baseline is the one-worker time, measured in
the same run; the ratio is one worker's wall time over two workers'.

    .venv/bin/python benchmarks/whatif.py [--repeat 3] [--json]

Target: 12 months x 2 scenarios in 60 s or less with two workers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cost_transparency.whatif import region as whatif_region  # noqa: E402
from cost_transparency.whatif.replay import Region, Scenario, SupplyChange, run_scenarios  # noqa: E402
from matching.engine import extra_place_pressure, solve  # noqa: E402
from matching.services.snapshot import build_problem, referrals_for_run  # noqa: E402
from rcc.app import create_app  # noqa: E402
from rcc.db import transaction  # noqa: E402
from rcc.demo import build_demo  # noqa: E402
from rcc.migration_support import upgrade_database  # noqa: E402
from rcc.tenancy import TenantScope, set_scope  # noqa: E402

TARGET_SECONDS = 60.0
SEED = 2026
PLACES = 10


@contextlib.contextmanager
def stdout_to_stderr(active: bool) -> Iterator[None]:
    """The solver's banner goes to file 1; with --json only the JSON may."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def demo_region(folder: Path) -> tuple[Region, list[Scenario], dict]:
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade_database(url)
    app = create_app({"RCC_ENV": "testing", "DATABASE_URL": url, "SERVER_NAME": "localhost", "REDIS_URL": None})
    with app.app_context():
        session = app.extensions["rcc_sessions"]()
        set_scope(session, TenantScope.system())
        with transaction(session):
            build_demo(session, app)
        today = date.today()
        data = whatif_region.build_region(session, whatif_region.default_start(today), today)
        problem = build_problem(session, referrals_for_run(session, None), datetime.now(UTC))
        short = extra_place_pressure(problem, solve(problem).proposals())
        session.close()
    app.extensions["rcc_engine"].dispose()
    top = short[0] if short else None
    kind, area = (top.placement_type, top.area) if top and top.area else ("childrens_home", data.areas[0])
    scenarios = [Scenario("baseline"),
                 Scenario(f"{PLACES} more {kind} places in {area}", (SupplyChange(kind, PLACES, area=area),))]
    facts = {"homes": len(data.region.homes), "months": len(data.region.months),
             "referrals": sum(len(m.recorded) for m in data.region.months),
             "forecast_referrals_expected": round(sum(m.expected for m in data.region.months), 1),
             "scenario": scenarios[1].name}
    return data.region, scenarios, facts


def timed(region: Region, scenarios: list[Scenario], workers: int) -> dict:
    load_before = os.getloadavg()
    cpu_before = time.process_time()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    replays = run_scenarios(region, scenarios, SEED, workers=workers)
    wall = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (time.process_time() - cpu_before + (children.ru_utime - children_before.ru_utime)
           + (children.ru_stime - children_before.ru_stime))
    return {"wall_seconds": wall, "cpu_seconds": cpu, "load_before": load_before, "load_after": os.getloadavg(),
            "outcomes": [r.outcome() for r in replays],
            "totals": [{"scenario": r.scenario, "placed": r.placed, "placed_within": r.placed_within,
                        "unplaced": r.unplaced, "spend": round(r.spend, 2)} for r in replays]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings of each (median reported)")
    parser.add_argument("--json", action="store_true", help="print only JSON")
    args = parser.parse_args()
    with stdout_to_stderr(args.json):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            region, scenarios, facts = demo_region(Path(folder))
            facts["demo_built_seconds"] = round(time.perf_counter() - started, 1)
        runs: dict[int, list[dict]] = {1: [], 2: []}
        for _ in range(max(args.repeat, 1)):
            for workers in (1, 2):
                runs[workers].append(timed(region, scenarios, workers))
    same = all(r["outcomes"] == runs[1][0]["outcomes"] for rs in runs.values() for r in rs)
    summary = {}
    for workers, found in runs.items():
        middle = sorted(found, key=lambda r: r["wall_seconds"])[len(found) // 2]
        summary[workers] = {"wall_seconds": round(statistics.median(r["wall_seconds"] for r in found), 3),
                            "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in found), 3),
                            "load_average_before": [round(x, 2) for x in middle["load_before"]],
                            "load_average_after": [round(x, 2) for x in middle["load_after"]]}
    ratio = summary[1]["wall_seconds"] / summary[2]["wall_seconds"] if summary[2]["wall_seconds"] else None
    report = {"benchmark": "whatif", "months": facts["months"], "scenarios": len(scenarios), **facts,
              "one_worker": summary[1], "two_workers": summary[2],
              "speed_up_two_workers": None if ratio is None else round(ratio, 2),
              "target_seconds": TARGET_SECONDS, "target_met": summary[2]["wall_seconds"] <= TARGET_SECONDS,
              "same_result_every_time": same, "cpus": os.cpu_count(), "totals": runs[1][0]["totals"]}
    if args.json:
        print(json.dumps(report))
        return
    print(f"demo region: {facts['homes']} homes and households, {facts['referrals']} recorded referrals "
          f"(+{facts['forecast_referrals_expected']} forecast) over {facts['months']} months; "
          f"built in {facts['demo_built_seconds']} s")
    print(f"scenarios: baseline, and {facts['scenario']}")
    for workers, label in ((1, "one worker (baseline)"), (2, "two workers")):
        item = summary[workers]
        print(f"{label}: {item['wall_seconds']:.2f} s wall, {item['cpu_seconds']:.2f} CPU s, load average "
              f"{item['load_average_before'][0]:.2f} -> {item['load_average_after'][0]:.2f} "
              f"(median of {len(runs[workers])})")
    print(f"ratio one worker / two workers: {ratio:.2f}x on {os.cpu_count()} CPUs" if ratio else "ratio: n/a")
    print(f"target {TARGET_SECONDS:.0f} s for 12 months x 2 scenarios with two workers: "
          f"{'met' if report['target_met'] else 'NOT met'}; same result every run: {same}")
    for item in report["totals"]:
        print(f"  {item['scenario']}: placed {item['placed']}, within 20 miles {item['placed_within']}, "
              f"unplaced {item['unplaced']}, spend £{item['spend']:,.0f}")


if __name__ == "__main__":
    main()
