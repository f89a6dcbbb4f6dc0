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
from rcc.errors import FieldError
from rcc.models import Organisation
from rcc.tenancy import within_rcc


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
#
# A council sees the region's figures only for fixed windows: a whole month, a whole quarter or
# the four quarters to a quarter's end. With free dates, moving the window by a day could add or
# drop one placement and show its cost as the difference between two medians or means.

WINDOW_MONTHS = 12
WINDOW_QUARTERS = 8
WINDOW_REFUSED = ("Choose a period from the list. The region's figures are shown for whole months and quarters "
                  "only, so that nobody can work out a single placement's cost by moving the dates.")


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    start: date
    end: date


def _month(year: int, month: int) -> Window:
    first = date(year, month, 1)
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return Window(f"{year}-{month:02d}", f"{first:%B %Y}", first, last)


def _year_to(quarter: Quarter) -> Window:
    first = last_quarters(quarter.start, 4)[0]
    return Window(f"year-{quarter.key}", f"The year to {quarter.end:%B %Y}", first.start, quarter.end)


def council_windows(today: date) -> list[Window]:
    """The periods a council may choose, newest first, all ended by ``today``: the year to the
    last full quarter (the default), each of the last 8 full quarters, each of the last 12 full months."""
    last_quarter = Quarter.containing(today).previous()
    windows = [_year_to(last_quarter)]
    windows += [Window(q.key, q.label, q.start, q.end) for q in reversed(last_quarters(last_quarter.start,
                                                                                       WINDOW_QUARTERS))]
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    for _ in range(WINDOW_MONTHS):
        windows.append(_month(year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return windows


def council_window(key: str | None, today: date) -> Window:
    """The chosen window (the default when ``key`` is empty); FieldError("period") otherwise."""
    windows = council_windows(today)
    if not key:
        return windows[0]
    found = next((w for w in windows if w.key == key), None)
    if found is None:
        raise FieldError("period", WINDOW_REFUSED)
    return found


def is_fixed_window(start: date, end: date) -> bool:
    """A whole month, a whole quarter, or the four quarters to a quarter's end."""
    if start.day != 1 or end + timedelta(days=1) != date(end.year + (end.month == 12), end.month % 12 + 1, 1):
        return False
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return months == 1 or (months in (3, 12) and start.month % 3 == 1)

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

    A council may not read other councils' cost records, so this reads them as the RCC would,
    restricted to the council's own RCC, and hands back only aggregates. Because the council
    knows its own placements, a figure is hidden unless the *other* councils' placements in it
    pass the disclosure rule by themselves (at least 5 placements from at least 2 providers):
    otherwise the council could subtract its own costs and read off someone else's. The period
    must be a fixed window (``is_fixed_window``), so that it cannot be moved a day at a time.
    """
    assert council.rcc_id is not None
    if not is_fixed_window(start, end):
        raise FieldError("period", WINDOW_REFUSED)
    with within_rcc(session, council.rcc_id):
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
