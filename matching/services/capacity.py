"""How many of a home's free places are really free: its vacancy less the places offers hold.

An offer holds a place from the moment it is sent until the provider declines it, the council
decides, or (if the provider has not answered) its deadline passes. An approved offer holds
nothing: its placement has already taken the place from the vacancy.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Vacancy
from matching.models import PROVIDER_ACCEPTED, SENT, Offer
from rcc.db import lock


def holding_condition(now: datetime):  # type: ignore[no-untyped-def]
    """Offers that hold a place now: accepted, or sent and still within their deadline."""
    return or_(Offer.status == PROVIDER_ACCEPTED, and_(Offer.status == SENT, Offer.respond_by > now))


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
    for the last place queue up and the second sees what the first did.
    """
    return lock(session, Vacancy, Vacancy.home_id == home_id)


def free_unheld_places(session: Session, home_id: int, now: datetime, except_offer_id: int | None = None) -> int:
    vacancy = session.scalars(select(Vacancy).where(Vacancy.home_id == home_id)
                              .execution_options(populate_existing=True)).first()
    if vacancy is None:
        return 0
    held = held_places(session, [home_id], now, except_offer_id).get(home_id, 0)
    return max(vacancy.places_free - held, 0)
