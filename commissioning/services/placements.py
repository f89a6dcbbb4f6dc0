"""Placements: a child starts living in a home (taking one of its free places) and later leaves.

A place is never given twice: ``record_placement`` takes it with one conditional UPDATE
(``places_free > 0``), which the database applies atomically whichever request gets there first.
A block-funded placement takes a contracted void place, which needs no vacancy (matching checks,
under the home's lock, that the contract still has the place free).
A placement ends once (``end_placement``), and the database holds the rest: at most one live
placement per referral and per child, an end on or after the start, never fewer than no places.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from commissioning.lifecycle import PLACED, PROPOSAL_APPROVED
from commissioning.models import FosterHousehold, Home, Placement, Referral, Vacancy
from commissioning.services import referrals, supply_history
from commissioning.ssda903 import placement_end_reasons
from commissioning.vocabulary import FUNDING
from rcc import audit
from rcc.audit import AuditAction
from rcc.db import transition
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import utcnow
from rcc.notifications import Event, To, notify
from rcc.roles import Role
from rcc.tenancy import within_rcc


def record_placement(session: Session, referral: Referral, home: Home, start_date: date, weekly_cost: int,
                     funding: str, block_contract_id: int | None = None) -> Placement:
    """Start a placement for an approved referral: take a free place and mark the referral placed.

    ``weekly_cost`` is in pence. Raises Conflict if the home has no free place.
    """
    errors: dict[str, str] = {}
    if funding not in FUNDING:
        errors["funding"] = "Select block contract or spot purchase"
    if funding == "block" and block_contract_id is None:
        errors["block_contract_id"] = "Select the block contract the place is bought under"
    if not isinstance(weekly_cost, int) or weekly_cost <= 0:
        errors["weekly_cost"] = "Enter the weekly cost in pounds, more than £0"
    if start_date is None:
        errors["start_date"] = "Enter the date the placement starts"
    if errors:
        raise FieldErrors(errors)
    referral = referrals.lock_referral(session, int(referral.id or 0))
    if referral.status != PROPOSAL_APPROVED:
        raise Conflict("A placement can only start once the council has approved the proposed home; "
                       f"this referral is '{referral.status.replace('_', ' ')}'")
    taken = session.execute(
        update(Vacancy).where(Vacancy.home_id == home.id, Vacancy.places_free > 0)
        .values(places_free=Vacancy.places_free - 1, row_version=Vacancy.row_version + 1).execution_options(synchronize_session=False))
    # A block place is a contracted void place, free whether or not the provider's vacancy counts it
    # (matching checks the contract still has the place): the vacancy gives up a place if it has one.
    if getattr(taken, "rowcount", 0) != 1 and funding != "block":
        raise Conflict(f"{home.name} has no free place now; someone may have just taken the last one")
    _refresh_vacancy(session, home.id)
    supply_history.record(session, home, supply_history.PLACEMENT_STARTED)
    placement = Placement(rcc_id=referral.rcc_id, council_id=referral.council_id, provider_id=home.provider_id,
                          referral_id=referral.id, child_id=referral.child_id, home_id=home.id,
                          placement_type=home.placement_type, start_date=start_date, weekly_cost=weekly_cost,
                          funding=funding, block_contract_id=block_contract_id)
    session.add(placement)
    referrals.mark_placed(session, referral)
    audit.record(session, AuditAction.PLACEMENT_STARTED, placement, home_id=home.id, weekly_cost=weekly_cost,
                 funding=funding)
    return placement


def record_household_placement(session: Session, referral: Referral, household_id: int, owner_id: int,
                               start_date: date, weekly_cost: int) -> Placement:
    """Start a placement with a foster household for an approved referral. The household's place was
    filled when its owner accepted the offer (matching takes it then, conditionally), so nothing more
    is taken here; ``weekly_cost`` in pence."""
    if not isinstance(weekly_cost, int) or weekly_cost <= 0:
        raise FieldErrors({"weekly_cost": "Enter the weekly cost in pounds, more than £0"})
    if start_date is None:
        raise FieldErrors({"start_date": "Enter the date the placement starts"})
    referral = referrals.lock_referral(session, int(referral.id or 0))
    if referral.status != PROPOSAL_APPROVED:
        raise Conflict("A placement can only start once the council has approved the proposed home; "
                       f"this referral is '{referral.status.replace('_', ' ')}'")
    placement = Placement(rcc_id=referral.rcc_id, council_id=referral.council_id, provider_id=owner_id,
                          referral_id=referral.id, child_id=referral.child_id, home_id=None,
                          foster_household_id=household_id, placement_type="foster_care", start_date=start_date,
                          weekly_cost=weekly_cost, funding="spot", block_contract_id=None)
    session.add(placement)
    referrals.mark_placed(session, referral)
    audit.record(session, AuditAction.PLACEMENT_STARTED, placement, foster_household_id=household_id,
                 weekly_cost=weekly_cost, funding="spot")
    return placement


def end_placement(session: Session, placement: Placement, end_date: date | None, reason_code: str,
                  today: date | None = None) -> Placement:
    """End a placement, free its place in the home, close the referral, and tell the provider and the RCC.

    The one way to end a placement, whichever page or API call asks: an end date is needed, on or
    after the start and not in the future (``today``, by default the UTC date now).
    A placement ends once: the end date is set only if it is still empty (one conditional
    UPDATE), so of two people ending it at the same moment one is told it has already ended,
    and its place is freed once.
    """
    acting = audit.current_actor(session).organisation_id
    if placement.foster_household_id is not None and acting == placement.provider_id != placement.council_id:
        # The council whose in-house carers these are reads the placement, but only the child's council ends it.
        raise NotFound()
    errors: dict[str, str] = {}
    if placement.end_date is not None:
        raise Conflict("This placement has already ended")
    if end_date is None:
        errors["end_date"] = "Enter the date the placement ended, like 27 3 2027"
    elif end_date < placement.start_date:
        errors["end_date"] = "The end date must be on or after the start date"
    elif end_date > (today or utcnow().date()):
        errors["end_date"] = "The end date cannot be in the future"
    if reason_code not in placement_end_reasons():
        errors["reason_code"] = "Select why the placement ended"
    if errors:
        raise FieldErrors(errors)
    # Locks in the one order: the referral (if this person may see it), then the placement's row.
    referral = session.get(Referral, placement.referral_id)
    if referral is not None:
        referral = referrals.lock_referral(session, placement.referral_id)
    transition(session, placement, "end_date", None, end_date,
               lambda ended: f"Someone else has just ended this placement (on {ended.end_date:%d %B %Y})",
               end_reason=reason_code)
    home = None
    if placement.foster_household_id is not None:
        _free_household_place(session, placement)
    else:
        session.execute(update(Vacancy).where(Vacancy.home_id == placement.home_id)
                        .values(places_free=Vacancy.places_free + 1, row_version=Vacancy.row_version + 1).execution_options(synchronize_session=False))
        _refresh_vacancy(session, int(placement.home_id or 0))
        home = session.get(Home, placement.home_id)
        if home is not None:
            supply_history.record(session, home, supply_history.PLACEMENT_ENDED)
    if referral is not None and referral.status == PLACED:
        referrals.mark_ended(session, referral, placement_end_reasons()[reason_code])
    audit.record(session, AuditAction.PLACEMENT_ENDED, placement, end_date=end_date, reason=reason_code)
    notify(session, Event.PLACEMENT_ENDED, placement.rcc_id,
           [To(placement.provider_id, (Role.PROVIDER_MANAGER,)), To(placement.rcc_id, (Role.RCC_PLACEMENT_OFFICER,))],
           {"home": home.name if home is not None else
            "a foster household" if placement.foster_household_id is not None else f"home {placement.home_id}",
            "end_date": f"{end_date:%-d %B %Y}"}, about=f"placement:{placement.id}")
    return placement


def _free_household_place(session: Session, placement: Placement) -> None:
    """The household's place is free again (never more than it is approved for). Another council's
    in-house household is not the ending council's to read, so this is done within the RCC."""
    session.flush()
    with within_rcc(session, placement.rcc_id):
        session.execute(update(FosterHousehold).where(
            FosterHousehold.id == placement.foster_household_id,
            FosterHousehold.places_free < FosterHousehold.max_children)
            .values(places_free=FosterHousehold.places_free + 1, row_version=FosterHousehold.row_version + 1)
            .execution_options(synchronize_session=False))
        session.flush()
    for row in list(session.identity_map.values()):
        if isinstance(row, FosterHousehold) and row.id == placement.foster_household_id:
            session.refresh(row)


def _refresh_vacancy(session: Session, home_id: int) -> None:
    vacancy = session.scalars(select(Vacancy).where(Vacancy.home_id == home_id)).first()
    if vacancy is not None:
        session.refresh(vacancy)


def placements_for_referral(session: Session, referral: Referral) -> list[Placement]:
    return list(session.scalars(select(Placement).where(Placement.referral_id == referral.id)
                                .order_by(Placement.start_date)))

