"""How well block places are used: occupied and void place-days, void cost and utilisation,
per contract and month; and the region's split of placements and spend between block and spot.

A place-day is one reserved place on one day the contract is live. A placement occupies
its place from its start date up to, not including, its end date. A day's cost of a place
is the weekly price on that day ÷ 7; costs are added exactly and rounded to the penny
half-up once per month.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Placement
from contracts.models import BlockContract, ContractPrice
from contracts.services import contracts as contract_service
from contracts.services.common import round_half_up
from rcc.tenancy import within_rcc


@dataclass(frozen=True)
class Stay:
    home_id: int
    start: date
    end: date | None  # the day the child left; not a day in the place

    def on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or self.end > day)


@dataclass(frozen=True)
class MonthUtilisation:
    month: date  # the first of the month
    contract_days: int
    reserved_place_days: int
    occupied_place_days: int
    void_place_days: int
    paid_cost: int  # pence: every reserved place, used or not
    void_cost: int  # pence: the empty ones

    @property
    def utilisation(self) -> Decimal | None:
        """Percent of reserved place-days occupied, to one decimal place."""
        if not self.reserved_place_days:
            return None
        return round_half_up(Decimal(self.occupied_place_days) * 100 / self.reserved_place_days, Decimal("0.1"))


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def months_between(first: date, last: date) -> list[date]:
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def _pence(amount: Fraction) -> int:
    return int(round_half_up(Decimal(amount.numerator) / Decimal(amount.denominator), Decimal(1)))


def month_utilisation(contract: BlockContract, reserved: dict[int, int], stays: Iterable[Stay],
                      history: list[ContractPrice], month: date, until: date | None = None) -> MonthUtilisation:
    """One month of one contract, from its reserved places by home and the block placements in it,
    counting days up to ``until`` (today, for the month we are in: days still to come are neither
    occupied nor void yet)."""
    stays = list(stays)
    schedule = contract_service.price_schedule(contract, history, next_month(month))
    days = reserved_days = occupied_days = void_days = 0
    paid = void = Fraction(0)
    day = max(month, contract.start_date)
    last = min(next_month(month) - timedelta(days=1), contract.end_date, until or date.max)
    while day <= last:
        price = next(p for start, p in reversed(schedule) if start <= day) if schedule[0][0] <= day \
            else contract.weekly_price
        daily = Fraction(price, 7)
        days += 1
        for home_id, places in reserved.items():
            occupied = min(places, sum(1 for s in stays if s.home_id == home_id and s.on(day)))
            reserved_days += places
            occupied_days += occupied
            void_days += places - occupied
            paid += daily * places
            void += daily * (places - occupied)
        day += timedelta(days=1)
    return MonthUtilisation(month, days, reserved_days, occupied_days, void_days, _pence(paid), _pence(void))


def block_stays(session: Session, contract: BlockContract) -> list[Stay]:
    """Placements in the contract's places, whoever's child: the counts need every council's placements.

    Read as the contract's RCC would, because a council's own scope shows only its own children's
    placements, which would count other councils' children in block places as voids. Only
    home ids and dates leave this function, never a child or a council.
    """
    with within_rcc(session, contract.rcc_id):
        rows = session.execute(select(Placement.home_id, Placement.start_date, Placement.end_date).where(
            Placement.rcc_id == contract.rcc_id, Placement.funding == "block",
            Placement.block_contract_id == contract.id)).all()
    return [Stay(home_id, start, end) for home_id, start, end in rows]


def contract_utilisation(session: Session, contract: BlockContract, until: date) -> list[MonthUtilisation]:
    """Month by month from the contract's start to ``until`` (or its end, if sooner)."""
    last = min(until, contract.end_date)
    if last < contract.start_date:
        return []
    reserved = {r.home_id: r.reserved_places for r, _home in contract_service.contract_homes(session, contract)}
    stays = block_stays(session, contract)
    history = contract_service.price_history(session, contract)
    return [month_utilisation(contract, reserved, stays, history, month, last)
            for month in months_between(contract.start_date, last)]


def totals(months: list[MonthUtilisation]) -> MonthUtilisation | None:
    if not months:
        return None
    return MonthUtilisation(months[0].month, *(sum(getattr(m, name) for m in months) for name in (
        "contract_days", "reserved_place_days", "occupied_place_days", "void_place_days", "paid_cost", "void_cost")))


@dataclass(frozen=True)
class FundingMonth:
    month: date
    block_place_days: int
    spot_place_days: int
    block_spend: int  # pence: what block contracts cost that month, used or not
    spot_spend: int  # pence: spot placements' weekly cost ÷ 7 for each day

    @property
    def block_share_of_placements(self) -> Decimal | None:
        total = self.block_place_days + self.spot_place_days
        return round_half_up(Decimal(self.block_place_days) * 100 / total, Decimal("0.1")) if total else None

    @property
    def block_share_of_spend(self) -> Decimal | None:
        total = self.block_spend + self.spot_spend
        return round_half_up(Decimal(self.block_spend) * 100 / total, Decimal("0.1")) if total else None


def funding_mix(session: Session, first: date, last: date) -> list[FundingMonth]:
    """The region's placement-days and spend by funding, month by month, in the session's scope (RCC)."""
    placements = list(session.scalars(select(Placement).where(
        Placement.start_date <= last, col(Placement.end_date).is_(None) | (col(Placement.end_date) > first))))
    contracts = list(session.scalars(select(BlockContract).where(
        BlockContract.start_date <= last, BlockContract.end_date >= first)))
    months = []
    for month in months_between(first, last):
        end = min(next_month(month) - timedelta(days=1), last)
        block_days = spot_days = 0
        spot = Fraction(0)
        for placement in placements:
            stay = Stay(placement.home_id, placement.start_date, placement.end_date)
            days = sum(1 for offset in range((end - month).days + 1) if stay.on(month + timedelta(days=offset)))
            if placement.funding == "block":
                block_days += days
            else:
                spot_days += days
                spot += Fraction(placement.weekly_cost * days, 7)
        block = 0
        for contract in contracts:
            reserved = {r.home_id: r.reserved_places for r, _ in contract_service.contract_homes(session, contract)}
            block += month_utilisation(contract, reserved, [], contract_service.price_history(session, contract),
                                       month, end).paid_cost
        months.append(FundingMonth(month, block_days, spot_days, block, _pence(spot)))
    return months
