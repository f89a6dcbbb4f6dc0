"""Spend forecast: projected weekly and annual spend per placement type, from the demand forecast.

For each type and month: the block contracts of that type running then cost their reserved places
at the contract's price on that day (anniversary uplifts compounded, as the contracts service
schedules them), in the council's cost share; children beyond the block places (the council's share
of them) are bought at today's spot price: the average weekly cost of the council's live spot
placements of the type, else the region's, else the register's average asking price. Spot prices
are held at today's (no uplift is contracted for them). The range uses the forecast's 95% range of
children.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Home, Placement
from cost_transparency.forecasting.model import add_months, month_end
from cost_transparency.services.forecast import AreaForecast

WEEKS_PER_YEAR = 365.25 / 7


@dataclass(frozen=True)
class SpendPoint:
    month: date
    children: float
    block_places: float
    weekly: int  # pence
    weekly_low: int
    weekly_high: int


@dataclass
class TypeSpend:
    placement_type: str
    spot_price: int | None  # pence a week
    price_source: str
    points: list[SpendPoint]
    annual: list[tuple[str, int, int, int]]  # (year label, expected, low, high) in pence
    reason: str | None = None


def spot_prices(session: Session, on: date, council_id: int | None) -> dict[str, tuple[int, str]]:
    """Placement type → (weekly pence, where it came from)."""
    live = session.execute(select(Placement.placement_type, Placement.weekly_cost, Placement.council_id).where(
        Placement.funding == "spot", col(Placement.start_date) <= on,
        (col(Placement.end_date).is_(None)) | (col(Placement.end_date) >= on))).all()
    own: dict[str, list[int]] = defaultdict(list)
    region: dict[str, list[int]] = defaultdict(list)
    for kind, cost, council in live:
        region[kind].append(cost)
        if council_id is not None and council == council_id:
            own[kind].append(cost)
    asking: dict[str, list[int]] = defaultdict(list)
    for kind, price in session.execute(select(Home.placement_type, Home.weekly_price).where(
            col(Home.active).is_(True), col(Home.weekly_price).is_not(None))):
        asking[kind].append(price)
    found: dict[str, tuple[int, str]] = {}
    for kind in set(own) | set(region) | set(asking):
        if own.get(kind):
            found[kind] = (round(sum(own[kind]) / len(own[kind])), "the council's live spot placements")
        elif region.get(kind):
            found[kind] = (round(sum(region[kind]) / len(region[kind])), "the region's live spot placements")
        else:
            found[kind] = (round(sum(asking[kind]) / len(asking[kind])), "homes' asking prices in the register")
    return found


def _block_costs(session: Session, council_id: int | None, months: list[date]
                 ) -> dict[str, list[tuple[float, int]]]:
    """Placement type → per month (places, weekly pence) of the block contracts running, in the council's share."""
    try:
        from contracts.models import BlockContract, ContractHome, CostShare  # noqa: PLC0415 - optional
        from contracts.services.contracts import price_history, weekly_price_on  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return {}
    found: dict[str, list[tuple[float, int]]] = defaultdict(lambda: [(0.0, 0)] * len(months))
    contracts = list(session.scalars(select(BlockContract).where(col(BlockContract.end_date) >= months[0],
                                                                 col(BlockContract.start_date) <= months[-1])))
    for contract in contracts:
        places = 0
        for line in session.scalars(select(ContractHome).where(ContractHome.contract_id == contract.id)):
            places += line.reserved_places
        share = 1.0
        if council_id is not None:
            shares = {s.council_id: s.share_bp for s in session.scalars(
                select(CostShare).where(CostShare.contract_id == contract.id))}
            share = shares.get(council_id, 0) / 10000
        if not places or not share:
            continue
        history = price_history(session, contract)
        series = list(found[contract.placement_type])
        for i, day in enumerate(months):
            if contract.start_date <= day <= contract.end_date:
                old_places, old_cost = series[i]
                series[i] = (old_places + places * share,
                             old_cost + round(places * share * weekly_price_on(contract, history, day)))
        found[contract.placement_type] = series
    return found


def forecast_spend(session: Session, area: AreaForecast, on: date) -> list[TypeSpend]:
    council_id = int(area.council.id or 0) if area.council is not None else None
    if not area.total:
        return []
    months = [p.month for p in area.total]
    prices = spot_prices(session, on, council_id)
    blocks = _block_costs(session, council_id, months)
    result = []
    for item in area.types:
        if not item.has_forecast:
            continue
        price = prices.get(item.placement_type)
        block = blocks.get(item.placement_type, [(0.0, 0)] * len(months))
        if price is None and not any(cost for _p, cost in block):
            result.append(TypeSpend(item.placement_type, None, "", [], [],
                                    "No price is known for this type: no live placement and no asking price."))
            continue
        spot = price[0] if price else 0
        points = []
        for point, (places, block_cost) in zip(item.points, block, strict=True):
            low, mid, high = (block_cost + round(max(children - places, 0.0) * spot)
                              for children in (point.low, point.expected, point.high))
            points.append(SpendPoint(point.month, point.expected, places, mid, low, high))
        result.append(TypeSpend(item.placement_type, price[0] if price else None,
                                price[1] if price else "block contracts only", points, _annual(points, on)))
    return result


def _annual(points: list[SpendPoint], on: date) -> list[tuple[str, int, int, int]]:
    """Spend in each whole year from ``on``'s month that the forecast covers: the weekly spend of each
    month times its weeks."""
    years = []
    for year in range(1, 6):
        first, last = month_end(add_months(on, (year - 1) * 12 + 1)), month_end(add_months(on, year * 12))
        chosen = [p for p in points if first <= p.month <= last]
        if len(chosen) < 12:
            break
        weeks = [(p.month.day) / 7 for p in chosen]
        years.append((f"Year {year} ({first:%b %Y} to {last:%b %Y})",
                      round(sum(p.weekly * w for p, w in zip(chosen, weeks, strict=True))),
                      round(sum(p.weekly_low * w for p, w in zip(chosen, weeks, strict=True))),
                      round(sum(p.weekly_high * w for p, w in zip(chosen, weeks, strict=True)))))
    return years
