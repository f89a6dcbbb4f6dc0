"""The attacker's audit of a published cost report, read from its public CSV files.

An attacker has what anyone can download: each version's CSV tables. ``read_release`` turns
one version's CSVs into what they say about the counts (shown numbers, hidden ``[c]`` cells and
what the money columns beside them give away); ``audit_versions`` runs the attacker's
programme (``disclosure.audit``: PuLP + HiGHS) over every version of the release together.
Nothing here reads a live row: only published text, so it checks exactly what was published.

How the tables fit together (the layout anyone can see in the report):

* *Placements by council and placement type*: council × type, with "All types" and
  "All councils" totals;
* *Weekly cost by placement type*: each type's count (the same as the council table's column
  totals) and "All types" (the grand total), with median beside each;
* *By sector, funding and need band*: type × category with an "All types" row; each row adds up
  to the type's count; a median beside each count;
* *Median weekly cost by council and placement type*: a median beside each council × type count.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from cost_transparency.services import disclosure
from cost_transparency.services.disclosure import ALL, Key
from rcc.csv_files import write_csv

BREAKDOWNS = {"by-sector": "sector", "by-funding": "funding", "by-need-band": "need_band"}
Table = tuple[list[str], list[list[str]]]  # header, rows


class UnreadableRelease(ValueError):
    """The CSV files are not a cost report's tables."""


def parse_csv(text: str) -> Table:
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise UnreadableRelease("an empty CSV file")
    return rows[0], rows[1:]


def _number(text: str) -> int | None:
    """A published count, or None where it is hidden."""
    text = text.strip().lstrip("'")
    if text in ("[c]", "[p]"):
        return None
    try:
        return int(text.replace(",", ""))
    except ValueError as error:
        raise UnreadableRelease(f"'{text}' is not a count") from error


def _type(label: str) -> str:
    return ALL if label == "All types" else label


def read_release(tables: Mapping[str, Table], costs_beside_hidden_counts: bool = True) -> disclosure.Published:
    """What one version's CSV tables (section key → header and rows) tell an attacker.

    ``costs_beside_hidden_counts`` is the release's published rule for money columns: True when a
    cost may be shown beside a hidden count (so a cost or ``[p]`` there says "at least 5", and
    ``[c]`` says nothing); False for releases made under the earlier rule, where a hidden count
    hid its cost too, so ``[c]`` there meant "not zero" and "–" meant "no placements".
    """
    try:
        by_type = tables["by-type"]
        by_council = tables["placements-by-council"]
    except KeyError as error:
        raise UnreadableRelease(f"the release has no {error.args[0]} table") from error
    types = [row[0] for row in by_type[1][:-1]]
    councils = [row[0] for row in by_council[1][:-1]]
    dimensions: dict[str, list[str]] = {"council": councils}
    for section, dimension in BREAKDOWNS.items():
        if section in tables:
            dimensions[dimension] = [h.rsplit(": ", 1)[0] for h in tables[section][0][1::2]]
    layout = disclosure.layout(types, dimensions, uncosted_totals=["council"])
    counts: dict[Key, int | None] = {}
    costs: dict[Key, str] = {}

    header, rows = by_type
    for row in rows:
        key = (_type(row[0]), ALL, ALL)
        counts[key], costs[key] = _number(row[1]), row[header.index("Median")].strip()
    header, rows = by_council
    for row in rows:
        council = ALL if row[0] == "All councils" else row[0]
        for column, text in zip(header[1:], row[1:], strict=True):
            kind = _type(column)
            counts[(kind, ALL, ALL) if council == ALL else (kind, "council", council)] = _number(text)
    if "cost-by-council" in tables:
        header, rows = tables["cost-by-council"]
        for row in rows:
            if row[0] != "All councils":
                for column, text in zip(header[1:], row[1:], strict=True):
                    costs[(column, "council", row[0])] = text.strip()
    for section, dimension in BREAKDOWNS.items():
        if section not in tables:
            continue
        header, rows = tables[section]
        for row in rows:
            kind = _type(row[0])
            for place in range(1, len(header), 2):
                key = (kind, dimension, header[place].rsplit(": ", 1)[0])
                counts[key], costs[key] = _number(row[place]), row[place + 1].strip()

    missing = [k for k in layout.keys if k not in counts]
    if missing:
        raise UnreadableRelease(f"no count for {missing[0]}")
    hidden = {k for k in layout.keys if counts[k] is None}
    view = disclosure.Published(layout, {k: v for k, v in counts.items() if v is not None and k in layout.keys},
                                hidden)
    for key in hidden:
        if key not in costs:
            continue
        text = costs[key]
        if text == "–":
            view.at_most[key] = 0  # no placements: the cost column says so
        elif not costs_beside_hidden_counts:
            view.at_least[key] = 1  # under the earlier rule, a hidden count beside "[c]" was not zero
        elif text != "[c]":  # a cost or [p]: shown only for 5 or more placements
            view.at_least[key] = disclosure.THRESHOLD
    return view


def snapshot_tables(snapshot: Mapping[str, Any]) -> dict[str, Table]:
    """A stored snapshot's tables exactly as its CSV downloads give them (written, then read back)."""
    from cost_transparency.services.report_tables import csv_rows

    return {section["key"]: parse_csv(write_csv(*csv_rows(section))) for section in snapshot.get("sections", [])}


def follows_current_rule(snapshot: Mapping[str, Any]) -> bool:
    return snapshot.get("disclosure_control") == disclosure.CONTROL_VERSION


def audit_versions(versions: Sequence[Mapping[str, Table]], current_rule: Sequence[bool] | None = None
                   ) -> disclosure.AuditResult:
    """The attacker's programme over every version of a release (each as its CSV tables)."""
    rules = current_rule if current_rule is not None else [True] * len(versions)
    return disclosure.audit([read_release(tables, rule) for tables, rule in zip(versions, rules, strict=True)])


def audit_snapshots(snapshots: Sequence[Mapping[str, Any]]) -> disclosure.AuditResult:
    """The attacker's programme over stored snapshots, read through their CSV downloads."""
    return audit_versions([snapshot_tables(s) for s in snapshots], [follows_current_rule(s) for s in snapshots])
