"""The region as the what-if replay sees it, read from the database into plain dataclasses.

* Supply: every active home's registered places as the supply history recorded them at the start of
  the first month (``commissioning.services.supply_history``; where the history begins later, the
  earliest recorded state, and ``Region`` notes say so), its vacancy then (places taken = registered
  less free), and every approved foster household (its approved places, and those free now).
* Demand: the referrals submitted in each month (past months); from the current month on, the
  region's recorded monthly rate of referrals scaled by the forecast (children looked after at the
  month against now), drawn from the recorded referrals (``replay.MonthDemand.expected``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import FosterHousehold, Home, Referral, SupplyChange, Vacancy
from commissioning.services import supply_history
from commissioning.services.referrals import children_by_id
from cost_transparency.whatif.replay import MONTHS, MonthDemand, Region, SupplyHome
from matching.engine import Child as EngineChild
from matching.engine import Point
from matching.services.keys import council_key, household_key
from matching.services.snapshot import (
    _engine_child,  # noqa: PLC2701 - the same child the matching run would see
    _engine_home,  # noqa: PLC2701
    _fallback_prices,  # noqa: PLC2701
    _location_of_home,  # noqa: PLC2701
    engine_household,
)
from rcc.geography import local_authority_named
from rcc.models import Organisation


@dataclass(frozen=True)
class RegionData:
    region: Region
    start: date
    notes: tuple[str, ...]
    areas: tuple[str, ...]  # local authorities a scenario may add places in
    council_keys: dict[str, str]  # engine council key -> council name


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def default_start(today: date) -> date:
    """The last 12 complete months."""
    return add_months(month_start(today), -MONTHS)


def build_region(session: Session, start: date, today: date, growth: list[float] | None = None,
                 months: int = MONTHS) -> RegionData:
    """``growth``: per month from the current one, the forecast children looked after against now
    (1.0: as now); months past its end use its last value."""
    start = month_start(start)
    notes: list[str] = []
    homes, supply_notes = _supply(session, start, today)
    notes += supply_notes
    places = [(h.home.id, h.home.area or "", h.home.location) for h in homes]
    end = add_months(start, months)
    referrals = list(session.scalars(select(Referral).where(
        col(Referral.submitted_at).is_not(None),
        col(Referral.submitted_at) >= datetime.combine(add_months(month_start(today), -MONTHS), time.min, UTC),
        col(Referral.submitted_at) < datetime.combine(max(end, month_start(today)), time.min, UTC))
        .order_by(Referral.id)))
    children = children_by_id(session, referrals)
    by_month: dict[date, list[EngineChild]] = defaultdict(list)
    pool = []
    max_miles: dict[str, float] = {}
    excluded_areas: dict[str, frozenset[str]] = {}
    for referral in referrals:
        child = children.get(referral.child_id)
        if child is None or referral.submitted_at is None:
            continue
        engine = _engine_child(referral, child, places, referral.submitted_at.date(),
                               {"council": council_key(referral.council_id)})
        by_month[month_start(referral.submitted_at.date())].append(engine)
        pool.append(engine)
        if referral.max_distance_miles is not None:
            max_miles[engine.id] = float(referral.max_distance_miles)
        if referral.excluded_areas:
            excluded_areas[engine.id] = frozenset(referral.excluded_areas)
    # the recorded rate: complete months of the last 12 with referrals
    recent = [len(by_month.get(add_months(month_start(today), -k), [])) for k in range(1, MONTHS + 1)]
    rate = sum(recent) / MONTHS
    demand = []
    for index in range(months):
        month = add_months(start, index)
        ahead = (month.year * 12 + month.month) - (today.year * 12 + today.month)
        expected = 0.0
        if ahead >= 0:
            factor = (growth[min(ahead, len(growth) - 1)] if growth else 1.0)
            expected = max(rate * factor - len(by_month.get(month, [])), 0.0)
        demand.append(MonthDemand(month.strftime("%Y-%m"), tuple(by_month.get(month, [])), expected))
    if any(d.expected for d in demand):
        notes.append(f"From {month_start(today):%B %Y} demand is the forecast's: {rate:.1f} referrals a month "
                     "(the last 12 months' rate) scaled by the forecast children looked after.")
    area_names = sorted({h.home.area for h in homes if h.home.area} | set(_council_names(session)))
    centres = {}
    for name in area_names:
        authority = local_authority_named(name)
        if authority is not None:
            centres[name] = (authority.centre.latitude, authority.centre.longitude)
    region = Region(tuple(homes), tuple(demand), tuple(pool), centres, max_miles, excluded_areas)
    councils = {council_key(int(o.id or 0)): o.name for o in session.scalars(
        select(Organisation).where(Organisation.kind == "council"))}
    return RegionData(region, start, tuple(notes), tuple(sorted(centres)), councils)


def _council_names(session: Session) -> list[str]:
    return list(session.scalars(select(Organisation.name).where(Organisation.kind == "council")))


def _supply(session: Session, start: date, today: date) -> tuple[list[SupplyHome], list[str]]:
    notes = []
    day = start
    if start < today:
        first = session.scalar(select(SupplyChange.changed_on).order_by(col(SupplyChange.changed_on)).limit(1))
        if first is not None and first > start:
            day = first
            notes.append(f"The supply history begins on {first:%-d %B %Y}: supply before then is as recorded "
                         "that day.")
        recorded = {s.home_id: s for s in supply_history.on(session, day)} if day < today else {
            s.home_id: s for s in supply_history.now(session, today)}
    else:
        recorded = {s.home_id: s for s in supply_history.now(session, start)}
    rows = list(session.scalars(select(Home).where(col(Home.id).in_(list(recorded))).order_by(Home.id))) \
        if recorded else []
    prices = _fallback_prices([(h.placement_type, h.weekly_price) for h in rows])
    vacancies = {v.home_id: v for v in session.scalars(select(Vacancy))}
    homes = []
    for home in rows:
        supply = recorded[int(home.id or 0)]
        location = _location_of_home(home)
        if location is None or supply.registered_places <= 0:
            continue
        free = supply.places_free
        if free == 0 and day >= today and (v := vacancies.get(int(home.id or 0))) is not None:
            free = v.places_free if v.available_from <= today else 0
        engine = _engine_home(home, supply.registered_places, location, None, prices)
        homes.append(SupplyHome(engine, max(supply.registered_places - min(free, supply.registered_places), 0)))
    households = session.execute(select(FosterHousehold, Organisation)
                                 .join(Organisation, Organisation.id == FosterHousehold.owner_id)
                                 .where(FosterHousehold.status == "approved").order_by(FosterHousehold.id)).all()
    for household, owner in households:
        engine = engine_household(household, owner, prices)
        engine = type(engine)(**{**engine.__dict__, "free_places": household.max_children,
                                 "location": Point(household.latitude, household.longitude)})
        assert engine.id == household_key(int(household.id or 0))
        homes.append(SupplyHome(engine, household.max_children - household.places_free))
    if households:
        notes.append("Foster households count as supply from their approval (their history is not kept).")
    return homes, notes
