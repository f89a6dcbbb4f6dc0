"""How many of a home's free places are really free: its free places less the places offers hold.

A home's free places are the larger of what its provider's vacancy says and its contracted void
places: places of a live block contract not held by a live block placement. A block place is paid
for whether it is used or not, so it is available to matching without any vacancy being recorded
(and a vacancy that already counts it does not count it twice).

An offer holds a place from the moment it is sent until the provider declines it, the council
decides, or (if the provider has not answered) its deadline passes. An approved offer holds
nothing: its placement has already taken the place (from the vacancy, and for a block placement
from the contract's void places).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Home, Vacancy
from matching.models import PROVIDER_ACCEPTED, SENT, Offer
from rcc.db import lock


def holding_condition(now: datetime):  # type: ignore[no-untyped-def]
    """Offers that hold a place now: accepted, or sent and still within their deadline."""
    return or_(Offer.status == PROVIDER_ACCEPTED, and_(Offer.status == SENT, Offer.respond_by > now))


@dataclass(frozen=True)
class BlockPlace:
    """Contracted void places at a home: places of a live block contract no live placement holds."""

    home_id: int
    contract_id: int
    free_places: int
    weekly_price: int  # pence: the contract's price, not the home's spot price


def free_block_places(session: Session, on_date: date) -> dict[int, BlockPlace]:
    """Home id -> contracted void places; empty (every place is spot) without the contracts package."""
    try:
        from contracts.services.block_places import free_block_places as contracts_free_places  # noqa: PLC0415
    except ImportError:
        return {}
    found = contracts_free_places(session, on_date)
    return {home_id: BlockPlace(p.home_id, p.contract_id, int(p.free_places), int(p.weekly_price))
            for home_id, p in found.items() if p.free_places > 0}


def held_block_places(session: Session, home_ids: Iterable[int], now: datetime) -> dict[int, int]:
    """Home id -> block places held by open offers made at the contract's price."""
    ids = list(home_ids)
    if not ids:
        return {}
    query = (select(Offer.home_id, func.count(Offer.id))
             .where(col(Offer.home_id).in_(ids), Offer.funding == "block", holding_condition(now))
             .group_by(Offer.home_id))
    return {home_id: count for home_id, count in session.execute(query)}


def held_places(session: Session, home_ids: Iterable[int], now: datetime,
                except_offer_id: int | None = None) -> dict[int, int]:
    """Home id -> places held by open offers."""
    ids = list(home_ids)
    if not ids:
        return {}
    query = (select(Offer.home_id, func.count(Offer.id)).where(col(Offer.home_id).in_(ids), holding_condition(now))
             .group_by(Offer.home_id))
    if except_offer_id is not None:
        query = query.where(Offer.id != except_offer_id)
    return {home_id: count for home_id, count in session.execute(query)}


def lock_vacancy(session: Session, home_id: int) -> Vacancy | None:
    """The home's vacancy row, locked until the transaction ends (see ``rcc.db.lock``).

    Everything that gives out a place for the home takes this lock first, so two requests
    for the last place queue up and the second sees what the first did. A home with no vacancy
    row (its places are contracted void places only) has its own row locked instead.
    """
    vacancy = lock(session, Vacancy, Vacancy.home_id == home_id)
    if vacancy is None:
        lock(session, Home, Home.id == home_id)
    return vacancy


def free_places(session: Session, home_id: int, now: datetime) -> int:
    """The home's free places: its vacancy or its contracted void places, whichever is more."""
    vacancy = session.scalars(select(Vacancy).where(Vacancy.home_id == home_id)
                              .execution_options(populate_existing=True)).first()
    block = free_block_places(session, now.date()).get(home_id)
    return max(vacancy.places_free if vacancy else 0, block.free_places if block else 0)


def free_unheld_places(session: Session, home_id: int, now: datetime, except_offer_id: int | None = None) -> int:
    held = held_places(session, [home_id], now, except_offer_id).get(home_id, 0)
    return max(free_places(session, home_id, now) - held, 0)
