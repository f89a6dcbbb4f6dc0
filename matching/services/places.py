"""Where a child can be offered and placed: a provider's home, or an approved foster household.

A proposal, offer or placement names one or the other (``home_id`` or ``foster_household_id``;
the database holds exactly one). Pages read them through ``Place``, so they show a household
as they show a home, without ever showing what the reader may not see: a household is visible to
its owner and the RCC only (``OWNER_AND_RCC``), so anyone else (the council of a child placed with
another council's in-house carers) sees "a foster household" and whose carers they are.

A household's free places (``FosterHousehold.places_free``) are taken when its owner *accepts* an
offer, with one conditional UPDATE (``places_free >= n``), and given back if the accepted offer is
then withdrawn or rejected, or when the placement ends. An offer that is only sent holds a place
until it is answered or its deadline passes, as for homes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import FosterHousehold, Home
from matching.models import SENT, Offer
from matching.services.keys import FOSTER_HOUSEHOLD, HOME, id_of
from rcc.db import lock
from rcc.errors import Conflict, NotFound
from rcc.models import Organisation
from rcc.tenancy import OrgKind

Row = Home | FosterHousehold


@dataclass(frozen=True)
class Place:
    """A home or a foster household as pages show it."""

    key: str  # "H7" or "F4"
    name: str
    local_authority: str
    placement_type: str
    ofsted_urn: str | None
    is_household: bool
    in_house: bool  # a council's own foster carers

    @property
    def kind_label(self) -> str:
        if not self.is_household:
            return "Home"
        return "In-house foster household" if self.in_house else "Agency foster household"


def ids_of(key: str) -> tuple[int | None, int | None]:
    """(home id, household id) of a place key, exactly one set; ValueError for anything else."""
    if key.startswith(HOME):
        return id_of(key, HOME), None
    return None, id_of(key, FOSTER_HOUSEHOLD)


def key_of_columns(home_id: int | None, foster_household_id: int | None) -> str:
    """The key of a row's place from its ``home_id`` and ``foster_household_id`` columns."""
    return f"{FOSTER_HOUSEHOLD}{foster_household_id}" if foster_household_id is not None else f"{HOME}{home_id}"


def key_of(row: Row) -> str:
    prefix = FOSTER_HOUSEHOLD if isinstance(row, FosterHousehold) else HOME
    return f"{prefix}{row.id}"


def columns_for(row: Row) -> dict[str, int | None]:
    """``home_id`` and ``foster_household_id`` for a row naming ``row``."""
    if isinstance(row, FosterHousehold):
        return {"home_id": None, "foster_household_id": row.id}
    return {"home_id": row.id, "foster_household_id": None}


def household_name(household: FosterHousehold) -> str:
    return f"Foster household {household.reference}"


def provider_of(row: Row) -> int:
    """Who answers offers for it: the home's provider, or the household's owner (an agency, or the
    council whose in-house carers they are)."""
    return int(row.owner_id if isinstance(row, FosterHousehold) else row.provider_id)


def row_for(session: Session, key: str) -> Row | None:
    """The home or household a key names (as far as the session may read it)."""
    home_id, household_id = ids_of(key)
    if home_id is not None:
        return session.get(Home, home_id)
    return session.get(FosterHousehold, household_id)


def places_by_key(session: Session, keys: Iterable[str | None]) -> dict[str, Place]:
    """Every named place the reader may see, as a ``Place``; a household the reader may not read shows
    as "a foster household" with its owner (an offer or placement already tells them who that is)."""
    home_ids: set[int] = set()
    household_ids: set[int] = set()
    for key in keys:
        if not key:
            continue
        home_id, household_id = ids_of(key)
        if home_id is not None:
            home_ids.add(home_id)
        elif household_id is not None:
            household_ids.add(household_id)
    found: dict[str, Place] = {}
    if home_ids:
        for home in session.scalars(select(Home).where(col(Home.id).in_(home_ids))):
            found[key_of(home)] = Place(key_of(home), home.name, home.local_authority, home.placement_type,
                                        home.ofsted_urn, False, False)
    if household_ids:
        owners = {o.id: o for o in session.scalars(select(Organisation).where(
            col(Organisation.id).in_(session.scalars(select(FosterHousehold.owner_id).where(
                col(FosterHousehold.id).in_(household_ids))).all())))}
        for household in session.scalars(select(FosterHousehold).where(col(FosterHousehold.id).in_(household_ids))):
            owner = owners.get(household.owner_id)
            in_house = owner is not None and owner.kind == OrgKind.COUNCIL
            found[key_of(household)] = Place(key_of(household), household_name(household), household.local_authority,
                                             "foster_care", None, True, in_house)
        for household_id in household_ids - {id_of(k, FOSTER_HOUSEHOLD) for k in found if k.startswith("F")}:
            key = f"{FOSTER_HOUSEHOLD}{household_id}"
            found[key] = Place(key, "A foster household", "", "foster_care", None, True, False)
    return found


# A household's places -------------------------------------------------------------------------

def lock_household(session: Session, household_id: int) -> FosterHousehold:
    """The household's row, locked until the transaction ends: everything that gives out or takes one
    of its places takes this lock first (after the child's referral), as homes lock their vacancy."""
    household = lock(session, FosterHousehold, FosterHousehold.id == household_id)
    if household is None:
        raise NotFound()
    return household  # type: ignore[no-any-return]


def _sent_holding(now: datetime):  # type: ignore[no-untyped-def]
    return (Offer.status == SENT) & (Offer.respond_by > now)


def held_household_places(session: Session, household_ids: Iterable[int], now: datetime,
                          except_offer_ids: Iterable[int] = ()) -> dict[int, int]:
    """Household id -> places held by offers sent and not yet answered (an accepted offer has already
    taken its place from ``places_free``)."""
    ids = list(household_ids)
    if not ids:
        return {}
    query = (select(Offer.foster_household_id, func.count(Offer.id))
             .where(col(Offer.foster_household_id).in_(ids), _sent_holding(now))
             .group_by(Offer.foster_household_id))
    skip = list(except_offer_ids)
    if skip:
        query = query.where(col(Offer.id).not_in(skip))
    return {int(household_id): count for household_id, count in session.execute(query)}


def free_unheld_household_places(session: Session, household_id: int, now: datetime) -> int:
    household = session.scalars(select(FosterHousehold).where(FosterHousehold.id == household_id)
                                .execution_options(populate_existing=True)).first()
    if household is None or household.status != "approved":
        return 0
    held = held_household_places(session, [household_id], now).get(household_id, 0)
    return max(household.places_free - held, 0)


def take_household_places(session: Session, household_id: int, count: int) -> None:
    """Fill ``count`` of the household's places, only if it still has them: one conditional UPDATE, so
    of two acceptances of its last place one succeeds and the other is told (the CHECK
    ``places_free >= 0`` would refuse the second even without the condition)."""
    taken = session.execute(
        update(FosterHousehold).where(FosterHousehold.id == household_id, FosterHousehold.places_free >= count)
        .values(places_free=FosterHousehold.places_free - count, row_version=FosterHousehold.row_version + 1)
        .execution_options(synchronize_session=False))
    if getattr(taken, "rowcount", 0) != 1:
        raise Conflict("The foster household has no free place left: its last place has just been filled. "
                       "Decline this offer, or record a free place for the household first.")
    _refresh(session, household_id)


def give_back_household_place(session: Session, household_id: int) -> None:
    """Free one of the household's places again (never more than it is approved for)."""
    session.execute(
        update(FosterHousehold).where(FosterHousehold.id == household_id,
                                      FosterHousehold.places_free < FosterHousehold.max_children)
        .values(places_free=FosterHousehold.places_free + 1, row_version=FosterHousehold.row_version + 1)
        .execution_options(synchronize_session=False))
    _refresh(session, household_id)


def _refresh(session: Session, household_id: int) -> None:
    for row in list(session.identity_map.values()):
        if isinstance(row, FosterHousehold) and row.id == household_id:
            session.refresh(row)
