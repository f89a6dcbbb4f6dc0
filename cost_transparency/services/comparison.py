"""Comparing unit costs: one observation per placement per period, grouped and summarised.

An observation is a placement that ran on at least one day of the period, with the weekly
cost in force on its last day in the period (the latest cost record overlapping it).
"Unit cost" is the gross weekly cost (core + additional support + education + health);
the council's net cost (after NHS and education contributions) is kept alongside.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Placement
from cost_transparency.models import CostRecord
from cost_transparency.services import disclosure, statistics
from rcc.models import Organisation
from rcc.tenancy import system_access


@dataclass(frozen=True)
class Observation:
    placement_id: int
    council_id: int
    provider_id: int
    placement_type: str
    need_band: str
    sector: str
    funding: str
    gross_weekly: int
    net_weekly: int


@dataclass(frozen=True)
class CellStats:
    count: int
    providers: int
    summary: statistics.Summary | None

    @classmethod
    def of(cls, observations: list[Observation]) -> CellStats:
        costs = [o.gross_weekly for o in observations]
        return cls(len(observations), len({o.provider_id for o in observations}),
                   statistics.summarise(costs) if costs else None)


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        following = date(self.year + (self.number == 4), (3 * self.number) % 12 + 1, 1)
        return following - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.start:%b}–{self.end:%b %Y}"

    @property
    def key(self) -> str:
        return f"{self.year}-Q{self.number}"

    @classmethod
    def containing(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)


def last_quarters(day: date, count: int) -> list[Quarter]:
    """The ``count`` quarters ending with the one containing ``day``, oldest first."""
    quarters = [Quarter.containing(day)]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return list(reversed(quarters))


@dataclass(frozen=True)
class CostRow:
    """A cost record with the dates of its placement, enough to place it in any period."""

    record: CostRecord
    placement_start: date
    placement_end: date | None
    sector: str


def load_rows(session: Session, start: date, end: date, rcc_id: int | None = None,
              council_id: int | None = None) -> list[CostRow]:
    """Cost records overlapping [start, end] of placements running then, as the session may see them."""
    query = (select(CostRecord, Placement.start_date, Placement.end_date, Organisation.provider_sector)
             .join(Placement, Placement.id == CostRecord.placement_id)
             .join(Organisation, Organisation.id == CostRecord.provider_id)
             .where(col(CostRecord.start_date) <= end,
                    (col(CostRecord.end_date).is_(None)) | (col(CostRecord.end_date) >= start),
                    col(Placement.start_date) <= end,
                    (col(Placement.end_date).is_(None)) | (col(Placement.end_date) >= start)))
    if rcc_id is not None:
        query = query.where(CostRecord.rcc_id == rcc_id)
    if council_id is not None:
        query = query.where(CostRecord.council_id == council_id)
    return [CostRow(record, p_start, p_end, sector or "private")
            for record, p_start, p_end, sector in session.execute(query)]


def observations_in(rows: Iterable[CostRow], start: date, end: date) -> list[Observation]:
    latest: dict[int, tuple[date, CostRecord, str]] = {}
    for row in rows:
        record = row.record
        last_day = min(end, record.end_date or date.max, row.placement_end or date.max)
        first_day = max(start, record.start_date, row.placement_start)
        if first_day > last_day:
            continue
        known = latest.get(record.placement_id)
        if known is None or (last_day, record.start_date) > (known[0], known[1].start_date):
            latest[record.placement_id] = (last_day, record, row.sector)
    return [
        Observation(r.placement_id, r.council_id, r.provider_id, r.placement_type, r.need_band, sector, r.funding,
                    r.gross_weekly, r.net_weekly)
        for _day, r, sector in sorted(latest.values(), key=lambda item: item[1].placement_id)
    ]


def observations(session: Session, start: date, end: date, rcc_id: int | None = None,
                 council_id: int | None = None) -> list[Observation]:
    return observations_in(load_rows(session, start, end, rcc_id, council_id), start, end)


def group(observations: Iterable[Observation], key: Callable[[Observation], object]) -> dict[object, CellStats]:
    grouped: dict[object, list[Observation]] = defaultdict(list)
    for o in observations:
        grouped[key(o)].append(o)
    return {k: CellStats.of(v) for k, v in grouped.items()}


def by_type(found: Iterable[Observation]) -> dict[str, CellStats]:
    return {str(k): v for k, v in group(found, lambda o: o.placement_type).items()}


def grid(found: Iterable[Observation], row: Callable[[Observation], object],
         column: Callable[[Observation], object]) -> dict[tuple[object, object], CellStats]:
    return {k: v for k, v in group(found, lambda o: (row(o), column(o))).items()}  # type: ignore[misc]


def trend(rows: list[CostRow], quarters: list[Quarter], key: Callable[[Observation], object]
          ) -> dict[str, dict[object, CellStats]]:
    """Per quarter (by key, e.g. "2026-Q1"), the stats of each group."""
    return {q.key: group(observations_in(rows, q.start, q.end), key) for q in quarters}


# What a council sees of the region --------------------------------------------------------

@dataclass(frozen=True)
class RegionFigure:
    """The region's figure for one group, as a member council may see it."""

    count: int | None
    median: int | None
    lower_quartile: int | None
    upper_quartile: int | None
    mean: int | None
    hidden_reason: str | None


def region_figures_for_council(session: Session, council: Organisation, start: date, end: date,
                               key: Callable[[Observation], object]) -> dict[object, RegionFigure]:
    """The region's aggregate costs beside a council's own, with no other council's rows.

    A council may not read other councils' cost records, so this reads them with system access,
    restricted to the council's own RCC, and hands back only aggregates. Because the council
    knows its own placements, a figure is hidden unless the *other* councils' placements in it
    pass the disclosure rule by themselves (at least 5 placements from at least 2 providers):
    otherwise the council could subtract its own costs and read off someone else's.
    """
    assert council.rcc_id is not None
    with system_access(session):
        found = observations(session, start, end, rcc_id=council.rcc_id)
    everyone = group(found, key)
    others = group([o for o in found if o.council_id != council.id], key)
    figures = {}
    for name, stats in everyone.items():
        other = others.get(name, CellStats(0, 0, None))
        reason = disclosure.cost_reason(other.count, other.providers)
        count_hidden = 0 < other.count < disclosure.THRESHOLD
        summary = stats.summary if reason is None else None
        figures[name] = RegionFigure(
            count=None if count_hidden else stats.count,
            median=summary.median if summary else None,
            lower_quartile=summary.lower_quartile if summary else None,
            upper_quartile=summary.upper_quartile if summary else None,
            mean=summary.mean if summary else None,
            hidden_reason=reason,
        )
    return figures
