"""Benchmark: cells hidden per release, before and after audited disclosure control, and the audit's time.

For each release (seeded synthetic regions: a 20-council year, a 20-council quarter, a small
6-council year with many small counts, and a correction of each with a few late records) it
prints:

* counts hidden by the baseline (the suppression this project used before, kept below as
  ``baseline_suppress_linked``, unchanged, only to be measured against) and by today's
  ``disclosure.suppress``;
* how many of the baseline's hidden counts the attacker's programme pins inside 1–4 or narrows
  below the protection level ("broken"; today's must be 0), and how many it works out exactly;
* cost figures (medians) hidden beside hidden counts of 5 or more: the baseline hid every one;
* the time of today's suppression (wall and CPU seconds, audits run) and of one attacker's audit
  of the published CSVs, with the machine's load average.

    python benchmarks/disclosure.py
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cost_transparency.services import disclosure, release_audit, report_tables  # noqa: E402
from cost_transparency.services.comparison import Observation  # noqa: E402
from cost_transparency.services.disclosure import ALL, Key  # noqa: E402
from cost_transparency.vocabulary import FUNDING, NEED_BANDS, SECTOR_LABELS, type_label  # noqa: E402
from rcc.demo import councils_of_region  # noqa: E402

SEED = 20261207
TYPES = {"foster_care": (0.55, 950), "childrens_home": (0.25, 6100), "supported_accommodation": (0.1, 1800),
         "residential_school": (0.04, 4800), "parent_and_child": (0.04, 3500), "secure": (0.02, 9000)}
SECTORS = ("private", "private", "private", "voluntary", "local_authority")


# The baseline: the suppression used before audited disclosure control, copied unchanged -----------

Position = tuple[int, int]


def _baseline_with_totals(counts: Sequence[Sequence[int]]) -> list[list[int]]:
    grid = [[*row, sum(row)] for row in counts]
    grid.append([sum(row[c] for row in grid) for c in range(len(grid[0]))])
    return grid


def _baseline_lines(grid: list[list[int]]) -> list[list[Position]]:
    height, width = len(grid), len(grid[0])
    return [[(r, c) for c in range(width)] for r in range(height)] + \
        [[(r, c) for r in range(height)] for c in range(width)]


def _baseline_smallest_shown(grid: list[list[int]], line: list[Position], hidden: dict[Position, str]
                             ) -> Position | None:
    shown = [p for p in line if p not in hidden]
    if not shown:
        return None
    return min(shown, key=lambda p: (grid[p[0]][p[1]] == 0, grid[p[0]][p[1]], p))


def _baseline_derivable(grid: list[list[int]], hidden: set[Position]) -> set[Position]:
    unknowns = sorted(hidden)
    if not unknowns:
        return set()
    index = {p: i for i, p in enumerate(unknowns)}
    equations = []
    for line in _baseline_lines(grid):
        total = line[-1]
        coefficients = np.zeros(len(unknowns))
        for p in line:
            if p in index:
                coefficients[index[p]] = -1.0 if p == total else 1.0
        if coefficients.any():
            equations.append(coefficients)
    if not equations:
        return set()
    system = np.array(equations)
    rank = np.linalg.matrix_rank(system)
    found = set()
    for p, i in index.items():
        unit = np.zeros(len(unknowns))
        unit[i] = 1.0
        if np.linalg.matrix_rank(np.vstack([system, unit])) == rank:
            found.add(p)
    return found


def baseline_suppress(counts: Sequence[Sequence[int]], also_hide: set[Position]) -> tuple[list[list[int]],
                                                                                          dict[Position, str]]:
    grid = _baseline_with_totals(counts)
    hidden = {(r, c): "primary" for r, row in enumerate(grid) for c, value in enumerate(row) if 0 < value < 5}
    for position in also_hide:
        hidden.setdefault(position, "secondary")
    lines = _baseline_lines(grid)
    while True:
        changed = False
        for line in lines:
            if sum(1 for p in line if p in hidden) == 1:
                partner = _baseline_smallest_shown(grid, line, hidden)
                if partner is not None:
                    hidden[partner] = "secondary"
                    changed = True
        if not changed:
            exposed = _baseline_derivable(grid, set(hidden))
            if not exposed:
                return grid, hidden
            row, _column = sorted(exposed)[0]
            partner = _baseline_smallest_shown(grid, [(row, c) for c in range(len(grid[0]))], hidden)
            if partner is None:
                return grid, hidden
            hidden[partner] = "secondary"


def _baseline_total_keys(row_keys: list[str], column_keys: list[str]) -> dict[Position, str]:
    rows, columns = len(row_keys), len(column_keys)
    keys = {(r, columns): row_keys[r] for r in range(rows)}
    keys.update({(rows, c): column_keys[c] for c in range(columns)})
    keys[(rows, columns)] = "all"
    return keys


def baseline_suppress_linked(tables: dict[str, tuple[list[list[int]], list[str], list[str]]]
                             ) -> dict[str, dict[Position, str]]:
    shared_hidden: set[str] = set()
    while True:
        results = {}
        for name, (counts, row_keys, column_keys) in tables.items():
            keys = _baseline_total_keys(row_keys, column_keys)
            also = {position for position, key in keys.items() if key in shared_hidden}
            results[name] = baseline_suppress(counts, also)[1]
        now_hidden = {key for name, (counts, row_keys, column_keys) in tables.items()
                      for position, key in _baseline_total_keys(row_keys, column_keys).items()
                      if position in results[name]}
        if now_hidden <= shared_hidden:
            return results
        shared_hidden |= now_hidden


# Releases ----------------------------------------------------------------------------------------

def region(councils: int, placements: int, seed: int) -> tuple[list[tuple[int, str]], list[Observation]]:
    rng = random.Random(seed)
    named = [(index + 1, la.name) for index, la in enumerate(councils_of_region("North West", councils))]
    kinds = list(TYPES)
    observations = []
    for number in range(placements):
        kind = rng.choices(kinds, weights=[TYPES[k][0] for k in kinds])[0]
        weekly = round(TYPES[kind][1] * rng.lognormvariate(0, 0.25)) * 100
        observations.append(Observation(number, rng.choice(named)[0], rng.randint(1, 12), kind,
                                        rng.choice(list(NEED_BANDS)), rng.choice(SECTORS),
                                        rng.choice(("spot", "spot", "spot", "block")), weekly, weekly))
    return named, observations


def correction(observations: list[Observation], seed: int) -> list[Observation]:
    rng = random.Random(seed)
    councils = sorted({o.council_id for o in observations})
    late = [Observation(100_000 + n, rng.choice(councils), o.provider_id, o.placement_type, o.need_band, o.sector, o.funding,
                        o.gross_weekly, o.net_weekly) for n, o in enumerate(rng.sample(observations, 3))]
    return observations[3:] + late


def values_of(observations: list[Observation], councils: list[tuple[int, str]]
              ) -> tuple[disclosure.Layout, dict[Key, int], list[str]]:
    kinds = [k for k in TYPES if any(o.placement_type == k for o in observations)]
    names = dict(councils)
    dimensions = {"council": [n for _, n in councils], "sector": list(SECTOR_LABELS.values()),
                  "funding": list(FUNDING.values()), "need_band": list(NEED_BANDS.values())}
    layout = disclosure.layout([type_label(k) for k in kinds], dimensions, uncosted_totals=["council"])
    values = dict.fromkeys(layout.keys, 0)
    for o in observations:
        kind = type_label(o.placement_type)
        values[(ALL, ALL, ALL)] += 1
        values[(kind, ALL, ALL)] += 1
        for dimension, category in (("council", names[o.council_id]), ("sector", SECTOR_LABELS[o.sector]),
                                    ("funding", FUNDING[o.funding]), ("need_band", NEED_BANDS[o.need_band])):
            values[(kind, dimension, category)] += 1
            values[(ALL, dimension, category)] += 1
    return layout, values, [type_label(k) for k in kinds]


def baseline_hidden(layout: disclosure.Layout, values: dict[Key, int], kinds: list[str],
                    councils: list[tuple[int, str]]) -> set[Key]:
    dimensions = {"council": [n for _, n in councils], "sector": list(SECTOR_LABELS.values()),
                  "funding": list(FUNDING.values()), "need_band": list(NEED_BANDS.values())}
    tables = {"council": ([[values[(k, "council", c)] for k in kinds] for c in dimensions["council"]],
                          [f"council:{c}" for c in dimensions["council"]], [f"type:{k}" for k in kinds])}
    for name in ("sector", "funding", "need_band"):
        tables[name] = ([[values[(k, name, c)] for c in dimensions[name]] for k in kinds],
                        [f"type:{k}" for k in kinds], [f"{name}:{c}" for c in dimensions[name]])
    hidden: set[Key] = set()
    for name, positions in baseline_suppress_linked(tables).items():
        rows_are_types = name != "council"
        row_labels = kinds if rows_are_types else dimensions["council"]
        column_labels = dimensions[name] if rows_are_types else kinds
        for r, c in positions:
            row = row_labels[r] if r < len(row_labels) else ALL
            column = column_labels[c] if c < len(column_labels) else ALL
            kind, category = (row, column) if rows_are_types else (column, row)
            dimension = name
            hidden.add((kind, ALL, ALL) if category == ALL else (kind, dimension, category))
    return hidden


def baseline_view(layout: disclosure.Layout, values: dict[Key, int], hidden: set[Key]) -> disclosure.Published:
    """What the baseline's report told an attacker: a hidden count's cost column said "–" for none, "[c]" otherwise."""
    view = disclosure.Published(layout, {k: values[k] for k in layout.keys if k not in hidden}, hidden)
    for key in hidden & layout.costed:
        if values[key] == 0:
            view.at_most[key] = 0
        else:
            view.at_least[key] = 1
    return view


def main() -> None:
    releases = [("20 councils, a year", 20, 2000), ("20 councils, a quarter", 20, 600),
                ("6 councils, a year", 6, 150)]
    print(f"{'release':<36} {'counts':>6} {'hidden old':>10} {'broken old':>10} {'exact old':>9} {'hidden new':>10} "
          f"{'costs kept back old/new':>23} {'audits':>6} {'wall s':>7} {'cpu s':>6} {'CSV audit s':>11}")
    for number, (name, councils, placements) in enumerate(releases):
        named, first = region(councils, placements, SEED + number)
        versions: list[tuple[str, list[Observation]]] = [(name, first), (f"{name}, corrected", correction(first,
                                                                                                          SEED))]
        old_previous: list[disclosure.Published] = []
        new_previous: list[disclosure.Published] = []
        snapshots: list[dict] = []
        for label, observations in versions:
            layout, values, kinds = values_of(observations, named)
            old = baseline_hidden(layout, values, kinds, named)
            old_view = baseline_view(layout, values, old)
            attacked = disclosure.audit([*old_previous, old_view])
            broken = attacked.violations()
            exact = {k for ranges in (*attacked.ranges.values(), attacked.combined or {}) for k, (low, high)
                     in ranges.items() if low == high}
            old_previous.append(old_view)
            wall, cpu = time.perf_counter(), time.process_time()
            done = disclosure.suppress(layout, values, new_previous)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            new_previous.append(disclosure.published(layout, values, done.hidden, done.costs_shown))
            snapshots.append(report_tables.snapshot_from(
                observations, [], named, "North West RCC", label, date(2025, 10, 1), date(2026, 9, 30),
                len(snapshots) + 1, "", date(2026, 10, 20), list(snapshots)))
            started = time.perf_counter()
            check = release_audit.audit_snapshots(snapshots)
            csv_seconds = time.perf_counter() - started
            assert check.passed, check.violations()
            kept_old = sum(1 for k in old if values[k] >= disclosure.THRESHOLD and k in layout.costed)
            kept_new = sum(1 for k in done.hidden if values[k] >= disclosure.THRESHOLD and k in layout.costed
                           and k not in done.costs_shown)
            print(f"{label:<36} {len(layout.keys):>6} {len(old):>10} {len(broken):>10} {len(exact):>9} {len(done.hidden):>10} "
                  f"{f'{kept_old}/{kept_new}':>23} {done.audits:>6} {wall:>7.2f} {cpu:>6.2f} {csv_seconds:>11.2f}")
    print("load average (1, 5, 15 min):", ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    print(f"protection: no hidden count's range inside 1–{disclosure.THRESHOLD - 1}; every range at least "
          f"{disclosure.PROTECTION} wide (the 'broken old' column counts the baseline's hidden counts that fail it)")


if __name__ == "__main__":
    main()
