"""The tables, charts and methods of a cost report, built from observations as plain JSON.

``snapshot_from`` is pure (observations in, JSON-ready dict out) so the same tables can be
checked by hand in tests and timed in the benchmark; ``build_snapshot`` feeds it live data.
Every count passes through disclosure control before it is written here, and nothing in a
snapshot identifies a child or a single placement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from cost_transparency.models import Publication
from cost_transparency.services import charts, comparison, disclosure, release_audit, statistics
from cost_transparency.services.comparison import CellStats, Observation, Quarter
from cost_transparency.services.disclosure import ALL
from cost_transparency.vocabulary import (
    FUNDING,
    NEED_BANDS,
    PLACEMENT_TYPES,
    PUBLISHED,
    SECTOR_LABELS,
    type_label,
)
from rcc.models import Organisation
from rcc.numbers import pounds
from rcc.tenancy import OrgKind

TREND_QUARTERS = 4
HIDDEN_TEXT = {disclosure.PRIMARY: "[c]", disclosure.SECONDARY: "[c]", disclosure.WITHHELD: "[c]",
               disclosure.SINGLE_PROVIDER: "[p]"}
EMPTY = CellStats(0, 0, None)


def build_snapshot(session: Session, rcc: Organisation, publication: Publication, today: date) -> dict[str, Any]:
    start, end = publication.period_start, publication.period_end
    quarters = comparison.last_quarters(end, TREND_QUARTERS)
    rows = comparison.load_rows(session, min(start, quarters[0].start), end, rcc_id=rcc.id)
    councils = [(c.id or 0, c.name) for c in session.scalars(
        select(Organisation).where(Organisation.rcc_id == rcc.id, Organisation.kind == OrgKind.COUNCIL)
        .order_by(Organisation.name))]
    earlier = session.scalars(select(Publication).where(Publication.slug == publication.slug,
                                                        Publication.status == PUBLISHED,
                                                        col(Publication.version) < publication.version)
                              .order_by(Publication.version))
    return snapshot_from(
        observations=comparison.observations_in(rows, start, end),
        by_quarter=[(q, comparison.observations_in(rows, q.start, q.end)) for q in quarters],
        councils=councils, publisher=rcc.name, title=publication.title, period_start=start, period_end=end,
        version=publication.version, changes=publication.changes, prepared_on=today,
        previous=[dict(p.snapshot) for p in earlier])


def _count_cell(value: int, reason: str | None) -> dict[str, Any]:
    if reason:
        return {"text": HIDDEN_TEXT[reason], "value": None, "flag": reason}
    return {"text": f"{value:,}", "value": value, "flag": None}


def _cost_cell(stats: CellStats, pick: Callable[[statistics.Summary], int], hidden: bool = False,
               zero_hidden: bool = False) -> dict[str, Any]:
    """A cost figure: shown for 5 or more placements from 2 or more providers, unless ``hidden``
    (its count is hidden and disclosure control kept the cost back too: see ``disclosure``).
    ``zero_hidden``: where no count is printed, "no placements" is [c] like 1–4, so that the
    cost column never tells a zero from a small count."""
    if hidden or (zero_hidden and stats.count == 0):
        return {"text": HIDDEN_TEXT[disclosure.PRIMARY], "value": None, "flag": disclosure.PRIMARY}
    if stats.count == 0 or stats.summary is None:
        return {"text": "–", "value": None, "flag": None}
    reason = disclosure.cost_reason(stats.count, stats.providers)
    if reason:
        return {"text": HIDDEN_TEXT[reason], "value": None, "flag": reason}
    value = pick(stats.summary)
    return {"text": pounds(value, whole=True), "value": value, "flag": None}


def _median(summary: statistics.Summary) -> int:
    return summary.median


def _table(caption: str, row_header: str, columns: Sequence[str], rows: list[tuple[str, list[dict]]],
           total_row: bool = False) -> dict[str, Any]:
    return {"caption": caption, "row_header": row_header, "columns": list(columns),
            "rows": [{"label": label, "cells": cells} for label, cells in rows], "total_row": total_row}


def _key(kind: str, dimension: str, category: str) -> disclosure.Key:
    """The disclosure key of a count (``ALL`` for "all"); a type's total is the same in every table."""
    return (kind, ALL, ALL) if category == ALL else (kind, dimension, category)


@dataclass(frozen=True)
class Counts:
    """A release's counts with what disclosure control hides: one for all its linked tables."""

    values: dict[disclosure.Key, int]
    hidden: dict[disclosure.Key, str]
    costs_shown: set[disclosure.Key]

    def cell(self, kind: str, dimension: str, category: str) -> dict[str, Any]:
        key = _key(kind, dimension, category)
        return _count_cell(self.values[key], self.hidden.get(key))

    def cost_hidden(self, kind: str, dimension: str, category: str) -> bool:
        """The count is hidden and its cost figure is kept back with it."""
        key = _key(kind, dimension, category)
        return key in self.hidden and key not in self.costs_shown

    def shown(self, key: disclosure.Key) -> int | None:
        return None if key in self.hidden else self.values[key]


def snapshot_from(observations: list[Observation], by_quarter: list[tuple[Quarter, list[Observation]]],
                  councils: list[tuple[int, str]], publisher: str, title: str, period_start: date,
                  period_end: date, version: int, changes: str, prepared_on: date,
                  previous: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The report's tables; ``previous`` are the snapshots of earlier published versions of the
    same report, which the attacker's audit reads alongside this one."""
    types = [key for key in PLACEMENT_TYPES if any(o.placement_type == key for o in observations)]
    breakdowns: dict[str, tuple[dict[str, str], Callable[[Observation], str], str]] = {
        "sector": (SECTOR_LABELS, lambda o: o.sector, "provider sector"),
        "funding": (FUNDING, lambda o: o.funding, "how the place was bought"),
        "need_band": (NEED_BANDS, lambda o: o.need_band, "need band"),
    }
    by_council_type = comparison.grid(observations, lambda o: o.council_id, lambda o: o.placement_type)
    grids = {name: comparison.grid(observations, lambda o: o.placement_type, key)
             for name, (_labels, key, _words) in breakdowns.items()}
    counts = _suppressed_counts(observations, types, councils, breakdowns, previous)
    type_stats = comparison.by_type(observations)
    everything = CellStats.of(observations) if observations else EMPTY

    sections = [
        _by_type_section(types, type_stats, everything, counts, observations),
        _council_counts_section(types, councils, counts),
        _council_costs_section(types, councils, by_council_type, type_stats, counts),
    ]
    for name, (labels, key, words) in breakdowns.items():
        sections.append(_breakdown_section(name, words, labels, types, grids[name],
                                           comparison.group(observations, key), counts))
    sections.append(_trend_section(by_quarter))
    snapshot = {
        "publisher": publisher, "title": title, "version": version, "changes": changes,
        "period_start": period_start.isoformat(), "period_end": period_end.isoformat(),
        "prepared_on": prepared_on.isoformat(), "threshold": disclosure.THRESHOLD,
        "placements": counts.shown((ALL, ALL, ALL)),
        "disclosure_rule": disclosure.RULE_TEXT, "disclosure_control": disclosure.CONTROL_VERSION,
        "withheld": disclosure.WITHHELD_TEXT if disclosure.WITHHELD in counts.hidden.values() else None,
        "methods": methods(period_start, period_end),
        "sections": sections,
    }
    return json.loads(json.dumps(snapshot))  # exactly what the database will hand back: plain JSON


def _suppressed_counts(observations: list[Observation], types: list[str], councils: list[tuple[int, str]],
                       breakdowns: dict[str, tuple[dict[str, str], Callable[[Observation], str], str]],
                       previous: Sequence[dict[str, Any]]) -> Counts:
    names = {cid: name for cid, name in councils}
    dimensions: dict[str, tuple[Callable[[Observation], str], dict[str, str]]] = {
        "council": (lambda o: names[o.council_id], {name: name for _cid, name in councils}),
        **{name: (key, labels) for name, (labels, key, _words) in breakdowns.items()},
    }
    layout = disclosure.layout([type_label(t) for t in types],
                               {d: list(labels.values()) for d, (_key_of, labels) in dimensions.items()},
                               uncosted_totals=["council"])
    values = dict.fromkeys(layout.keys, 0)
    for o in observations:
        kind = type_label(o.placement_type)
        values[(ALL, ALL, ALL)] += 1
        values[(kind, ALL, ALL)] += 1
        for dimension, (key_of, labels) in dimensions.items():
            category = labels[key_of(o)]
            values[(kind, dimension, category)] += 1
            values[(ALL, dimension, category)] += 1
    earlier = [release_audit.read_release(release_audit.snapshot_tables(snapshot),
                                          release_audit.follows_current_rule(snapshot)) for snapshot in previous]
    suppression = disclosure.suppress(layout, values, earlier)
    return Counts(values, suppression.hidden, suppression.costs_shown)


def _by_type_section(types: list[str], stats: dict[str, CellStats], everything: CellStats, counts: Counts,
                     observations: list[Observation]) -> dict[str, Any]:
    rows, boxes, costless = [], [], []
    for kind in types:
        cell = stats.get(kind, EMPTY)
        rows.append((type_label(kind), _summary_cells(cell, counts, type_label(kind))))
        if disclosure.cost_reason(cell.count, cell.providers) is None and cell.summary:
            boxes.append({"label": type_label(kind), "lower_quartile": cell.summary.lower_quartile,
                          "median": cell.summary.median, "upper_quartile": cell.summary.upper_quartile})
        elif cell.count:
            costless.append(kind)
    total = _summary_cells(everything, counts, ALL)
    # The mean of all types times all placements, less each shown mean times its count, is the
    # total cost of the types whose costs are hidden: so the overall mean is shown only where
    # those placements, taken together, would pass the cost rule by themselves.
    behind = CellStats.of([o for o in observations if o.placement_type in costless])
    if costless and disclosure.cost_reason(behind.count, behind.providers) and total[4]["value"] is not None:
        total[4] = {"text": HIDDEN_TEXT[disclosure.PRIMARY], "value": None, "flag": disclosure.PRIMARY}
    rows.append(("All types", total))
    return {
        "key": "by-type", "heading": "Weekly cost by placement type",
        "intro": "What a week of each kind of placement cost across the region's member councils.",
        "table": _table("Placements and weekly cost by placement type, whole region", "Placement type",
                        ["Placements", "Median", "Lower quartile", "Upper quartile", "Mean",
                         "Interquartile range"], rows, total_row=True),
        "chart": {"kind": "box", "id": "chart-by-type", "title": "Weekly cost by placement type: "
                  "median and interquartile range", "boxes": boxes},
    }


def _summary_cells(cell: CellStats, counts: Counts, kind: str) -> list[dict]:
    hidden = counts.cost_hidden(kind, ALL, ALL)
    return [
        counts.cell(kind, ALL, ALL),
        _cost_cell(cell, _median, hidden),
        _cost_cell(cell, lambda s: s.lower_quartile, hidden),
        _cost_cell(cell, lambda s: s.upper_quartile, hidden),
        _cost_cell(cell, lambda s: s.mean, hidden),
        _cost_cell(cell, lambda s: s.interquartile_range, hidden),
    ]


def _council_counts_section(types: list[str], councils: list[tuple[int, str]], counts: Counts) -> dict[str, Any]:
    rows = []
    if types and councils:
        for _cid, name in [*councils, (0, ALL)]:
            cells = [counts.cell(type_label(kind), "council", name) for kind in types]
            cells.append(counts.cell(ALL, "council", name))
            rows.append((name if name != ALL else "All councils", cells))
    return {
        "key": "placements-by-council", "heading": "Placements by council and placement type",
        "intro": "How many placements each member council made use of in the period, by type.",
        "table": _table("Placements by council and placement type", "Council",
                        [*map(type_label, types), "All types"], rows, total_row=True),
        "chart": None,
    }


def _council_costs_section(types: list[str], councils: list[tuple[int, str]],
                           grid: dict[tuple[object, object], CellStats], type_stats: dict[str, CellStats],
                           counts: Counts) -> dict[str, Any]:
    rows = []
    for cid, name in councils:
        rows.append((name, [_cost_cell(grid.get((cid, kind), EMPTY), _median,
                                       counts.cost_hidden(type_label(kind), "council", name)) for kind in types]))
    rows.append(("All councils", [_cost_cell(type_stats.get(kind, EMPTY), _median,
                                             counts.cost_hidden(type_label(kind), ALL, ALL)) for kind in types]))
    focus = max(types, key=lambda t: (t == "childrens_home", type_stats[t].count)) if types else None
    bars = []
    if focus:
        column = types.index(focus)
        bars = [(name, cells[column]["value"]) for name, cells in rows[:-1] if cells[column]["value"] is not None]
    return {
        "key": "cost-by-council", "heading": "Median weekly cost by council and placement type",
        "intro": "Each member council's median weekly cost, beside the whole region's.",
        "table": _table("Median weekly cost by council and placement type", "Council", list(map(type_label, types)),
                        rows, total_row=True),
        "chart": {"kind": "bar", "id": "chart-by-council",
                  "title": f"Median weekly cost of {type_label(focus).lower()} placements by council"
                  if focus else "Median weekly cost by council", "bars": bars},
    }


def _breakdown_section(name: str, words: str, labels: dict[str, str], types: list[str],
                       grid: dict[tuple[object, object], CellStats], totals: dict[object, CellStats],
                       counts: Counts) -> dict[str, Any]:
    columns = [f"{label}: {part}" for label in labels.values() for part in ("placements", "median")]
    rows = []
    if types:
        for kind in [*types, None]:
            cells = []
            for category, label in labels.items():
                stats = totals.get(category, EMPTY) if kind is None else grid.get((kind, category), EMPTY)
                row = ALL if kind is None else type_label(kind)
                cells += [counts.cell(row, name, label),
                          _cost_cell(stats, _median, counts.cost_hidden(row, name, label))]
            rows.append((type_label(kind) if kind else "All types", cells))
    headings = {"sector": "In-house, private and voluntary providers", "funding": "Block contracts and spot purchases",
                "need_band": "By need band"}
    return {
        "key": f"by-{name.replace('_', '-')}", "heading": headings[name],
        "intro": f"Placements and median weekly cost by placement type and {words}.",
        "table": _table(f"Placements and median weekly cost by placement type and {words}", "Placement type",
                        columns, rows, total_row=True),
        "chart": None,
    }


def _trend_section(by_quarter: list[tuple[Quarter, list[Observation]]]) -> dict[str, Any]:
    present = [k for k in PLACEMENT_TYPES if any(o.placement_type == k for _, obs in by_quarter for o in obs)]
    per_quarter = {q.key: comparison.by_type(obs) for q, obs in by_quarter}
    rows = []
    for quarter, _obs in by_quarter:
        stats = per_quarter[quarter.key]
        # No counts are printed here, so "no placements" is [c] like 1–4 (it would otherwise tell them apart).
        rows.append((quarter.label, [_cost_cell(stats.get(k, EMPTY), _median, zero_hidden=True) for k in present]))
    busiest = sorted(present, key=lambda k: -sum(per_quarter[q.key].get(k, EMPTY).count for q, _ in by_quarter))[:4]
    series = [{"name": type_label(k), "values": [row[1][present.index(k)]["value"] for row in rows]} for k in busiest]
    return {
        "key": "trend", "heading": "Trend by quarter",
        "intro": "The median weekly cost of placements running in each quarter.",
        "table": _table("Median weekly cost by quarter and placement type", "Quarter",
                        list(map(type_label, present)), rows),
        "chart": {"kind": "line", "id": "chart-trend", "title": "Median weekly cost by quarter",
                  "x_labels": [q.label for q, _ in by_quarter], "series": series},
    }


def methods(period_start: date, period_end: date) -> list[str]:
    return [
        f"The report covers placements of children looked after by the member councils that ran on at least one "
        f"day between {period_start:%-d %B %Y} and {period_end:%-d %B %Y}. Each placement counts once, with the "
        "weekly cost in force on its last day in the period.",
        "The weekly cost is the gross cost of the placement: its core cost plus any additional support (for "
        "example extra staffing), education and health costs, before contributions from the NHS or education. "
        "Costs come from the placements' contract prices or from the councils' own records.",
        "The median is the middle cost when costs are put in order. " + statistics.QUARTILE_METHOD + " "
        "The interquartile range is the upper quartile minus the lower quartile: the spread of the middle half "
        "of costs. The mean is the total divided by the number of placements. Figures are rounded to the "
        "nearest pound.",
        statistics.OUTLIER_RULE + " Outliers are included in every figure here; the RCC reviews them, with "
        "placements above its high-cost threshold, in its high-cost review.",
        "Provider sector: in-house means the council's own service; private and voluntary providers are as "
        "registered with Ofsted. Need band comes from the child's assessed needs and risks: standard (none or "
        "one), enhanced (two or three), complex (four or more, or a deprivation of liberty order).",
        "The trend shows each of the last four quarters to the end of the period, counting the placements "
        "running in that quarter; a placement running across quarters counts in each.",
        f"Disclosure control. {disclosure.RULE_TEXT} The threshold is {disclosure.THRESHOLD} placements. "
        "Tables that share totals are checked together, with every earlier version of this report. A cost "
        f"figure beside a hidden count is still shown when at least {disclosure.THRESHOLD} placements from at "
        f"least {disclosure.MIN_PROVIDERS} providers stand behind it; the mean for all types is hidden when it "
        "would give away the total cost of the placements whose costs are hidden.",
    ]


def render_chart(spec: dict[str, Any] | None) -> Markup | None:
    """The SVG for a stored chart specification."""
    if not spec:
        return None
    if spec["kind"] == "box":
        if not spec["boxes"]:
            return None
        return charts.box_chart(spec["id"], spec["title"], [charts.Box(b["label"], b["lower_quartile"], b["median"],
                                                                        b["upper_quartile"]) for b in spec["boxes"]])
    if spec["kind"] == "bar":
        if not spec["bars"]:
            return None
        return charts.bar_chart(spec["id"], spec["title"], [(label, value) for label, value in spec["bars"]])
    if spec["kind"] == "line":
        if not any(v is not None for s in spec["series"] for v in s["values"]):
            return None
        return charts.line_chart(spec["id"], spec["title"], spec["x_labels"],
                                 [(s["name"], s["values"]) for s in spec["series"]])
    raise ValueError(f"unknown chart kind {spec['kind']}")


def csv_rows(section: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    table = section["table"]
    header = [table["row_header"], *table["columns"]]
    return header, [[row["label"], *(cell["text"] for cell in row["cells"])] for row in table["rows"]]
