"""Benchmark: render the published cost report PDF for a 20-council region.

The report is built from a seeded synthetic year of placements (about 2,000 across 20 real
North West councils, six placement types, twelve provider groups, weekly costs drawn around
the published figures), then rendered exactly as the public PDF route renders it: the
aggregated, suppressed snapshot through the same template, tagged PDF/UA-1 by WeasyPrint.

As a baseline measured in the same run, it renders a one-page tagged PDF (a heading and a
short table) through the same WeasyPrint call, so the ratio says how much the report costs
over WeasyPrint's own fixed overhead on this machine.

    python benchmarks/cost_report.py               # best of 3 after a warm-up
    python benchmarks/cost_report.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cost_transparency.services import pdf  # noqa: E402
from cost_transparency.services.comparison import Observation, last_quarters  # noqa: E402
from cost_transparency.services.publications import PublishedReport, PublishedVersion  # noqa: E402
from cost_transparency.services.report_tables import snapshot_from  # noqa: E402
from rcc.demo import councils_of_region  # noqa: E402

SEED = 20261129
PLACEMENTS = 2000
# (share of placements, median weekly £, spread as a lognormal sigma)
TYPES = {"foster_care": (0.55, 950, 0.2), "childrens_home": (0.25, 6100, 0.3),
         "supported_accommodation": (0.1, 1800, 0.25), "residential_school": (0.04, 4800, 0.15),
         "parent_and_child": (0.04, 3500, 0.15), "secure": (0.02, 9000, 0.08)}
SECTORS = ("private", "private", "private", "voluntary", "local_authority")


def synthetic_report() -> PublishedReport:
    rng = random.Random(SEED)
    councils = [(index + 1, la.name) for index, la in enumerate(councils_of_region("North West", 20))]
    kinds = list(TYPES)
    observations = []
    for number in range(PLACEMENTS):
        kind = rng.choices(kinds, weights=[TYPES[k][0] for k in kinds])[0]
        _share, median, sigma = TYPES[kind]
        weekly = round(median * rng.lognormvariate(0, sigma) * (2.5 if rng.random() < 0.03 else 1)) * 100
        observations.append(Observation(number, rng.choice(councils)[0], rng.randint(1, 12), kind,
                                        rng.choice(("standard", "enhanced", "complex")), rng.choice(SECTORS),
                                        rng.choice(("spot", "spot", "spot", "block")), weekly, weekly))
    end = date(2026, 9, 30)
    snapshot = snapshot_from(observations, [(q, observations) for q in last_quarters(end, 4)], councils,
                             "North West Regional Care Cooperative", "Placement unit costs, year to September 2026",
                             end - timedelta(days=364), end, 1, "", end + timedelta(days=20))
    published = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
    return PublishedReport("north-west-rcc-placement-unit-costs", 1, snapshot["title"], published, "", snapshot,
                           (PublishedVersion(1, published, ""),))


ONE_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Baseline</title></head>
<body><h1>Baseline</h1><table><caption>Two figures</caption><thead><tr><th>Type</th><th>Median</th></tr></thead>
<tbody><tr><th>Children's home</th><td>£6,108</td></tr></tbody></table></body></html>"""


def best_of(repeat: int, render) -> tuple[float, float, bytes]:  # type: ignore[no-untyped-def]
    """Best wall-clock and best CPU seconds of ``repeat`` renders (CPU time is steadier when
    other work shares the machine's cores)."""
    walls, cpus, body = [], [], b""
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        body = render()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    report = synthetic_report()
    pdf.html_to_pdf(ONE_PAGE)  # warm-up: imports, fonts, stylesheet
    baseline, baseline_cpu, small = best_of(args.repeat, lambda: pdf.html_to_pdf(ONE_PAGE))
    seconds, cpu, body = best_of(args.repeat, lambda: pdf.report_pdf(report))
    tables = len(report.snapshot["sections"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"20-council cost report PDF: {seconds:.2f} s wall, {cpu:.2f} s CPU ({len(body) / 1024:.0f} KiB, "
          f"{tables} tables, {PLACEMENTS} placements)")
    print(f"baseline one-page PDF:      {baseline:.2f} s wall, {baseline_cpu:.2f} s CPU ({len(small) / 1024:.0f} KiB)")
    print(f"ratio:                      {seconds / baseline:.1f}x wall, {cpu / baseline_cpu:.1f}x CPU")
    print(f"machine load average:       {load:.1f} on {os.cpu_count()} cores")
    print(f"target ≤ 3 s wall: {'met' if seconds <= 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
