"""Supply over time: each change to a home's places or vacancy is written down, dated, in the same
transaction as the change, so the supply on any past day can be read back as it was recorded.

``record`` is called wherever registered places, a home's activity or a vacancy change: creating
and editing a home, the Ofsted import, setting a vacancy, and starting or ending a placement (which
take and free a place). ``on`` reads the supply of every home on a day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Home, SupplyChange, Vacancy
from rcc.models import utcnow

HOME_CREATED, HOME_UPDATED, OFSTED_IMPORT = "home_created", "home_updated", "ofsted_import"
VACANCY_SET, PLACEMENT_STARTED, PLACEMENT_ENDED, DEMO = "vacancy_set", "placement_started", "placement_ended", "demo"


def supply_key(home: Home) -> tuple[str, str, bool, int]:
    """What of a home counts as supply: a change to any of these is recorded."""
    return home.placement_type, home.local_authority, home.active, home.registered_places


def record(session: Session, home: Home, cause: str) -> None:
    """Write the home's supply as it now stands."""
    record_many(session, [home], cause)


def record_many(session: Session, homes: list[Home], cause: str) -> None:
    """Write each home's supply as it now stands (one flush, so new homes have their ids)."""
    if not homes:
        return
    session.flush()
    ids = [int(h.id or 0) for h in homes]
    vacancies = {v.home_id: v for v in session.scalars(select(Vacancy).where(col(Vacancy.home_id).in_(ids)))}
    now = utcnow()
    for home in homes:
        vacancy = vacancies.get(int(home.id or 0))
        session.add(SupplyChange(
            rcc_id=home.rcc_id, provider_id=home.provider_id, home_id=int(home.id or 0), changed_at=now,
            changed_on=now.date(), cause=cause, placement_type=home.placement_type,
            local_authority=home.local_authority, active=home.active, registered_places=home.registered_places,
            places_free=vacancy.places_free if vacancy is not None else 0,
            available_from=vacancy.available_from if vacancy is not None else None))


@dataclass(frozen=True)
class HomeSupply:
    home_id: int
    placement_type: str
    local_authority: str
    registered_places: int
    places_free: int  # free on the day (a vacancy available later is not yet free)


def on(session: Session, day: date) -> list[HomeSupply]:
    """Each active home's supply as recorded at the end of ``day`` (homes not yet recorded are absent)."""
    latest: dict[int, SupplyChange] = {}
    query = (select(SupplyChange).where(col(SupplyChange.changed_on) <= day)
             .order_by(col(SupplyChange.changed_at), col(SupplyChange.id)))
    for change in session.scalars(query):
        latest[change.home_id] = change
    return [HomeSupply(c.home_id, c.placement_type, c.local_authority, c.registered_places,
                       c.places_free if c.available_from is not None and c.available_from <= day else 0)
            for c in latest.values() if c.active]


def now(session: Session, day: date) -> list[HomeSupply]:
    """Each active home's supply in the register as it stands, vacancies counted if free by ``day``."""
    vacancies = {v.home_id: v for v in session.scalars(select(Vacancy))}
    found = []
    for home in session.scalars(select(Home).where(col(Home.active).is_(True))):
        vacancy = vacancies.get(int(home.id or 0))
        free = vacancy.places_free if vacancy is not None and vacancy.available_from <= day else 0
        found.append(HomeSupply(int(home.id or 0), home.placement_type, home.local_authority,
                                home.registered_places, free))
    return found
