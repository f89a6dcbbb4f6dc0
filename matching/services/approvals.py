"""The council decides: approve the home a provider accepted (recording the placement) or reject it.

The council is the corporate parent and always has the final say. Approving records the
placement through commissioning's ``record_placement``, which takes the place with one
conditional UPDATE on the vacancy; the offer itself moves from "accepted" to "approved" only if
it is still "accepted". Both happen in one transaction, so two approvals racing for the last
place (or for the same offer) end with exactly one placement, and the other sees a Conflict.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Home, Placement
from commissioning.services.placements import record_household_placement, record_placement
from commissioning.services.referrals import approve_proposal, lock_referral, return_to_matching
from commissioning.ssda903 import placement_end_reasons
from matching import notices
from matching.models import APPROVED, PROVIDER_ACCEPTED, REJECTED, SENT, Offer
from matching.services.capacity import free_block_places, lock_vacancy
from matching.services.offers import MAX_DETAILS, move_offer, release_household_place
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import utcnow

LATEST_START_DAYS = 366


def check_approval(start_date: date | None, weekly_cost: int | None, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if start_date is None:
        errors["start_date"] = "Enter the date the placement starts, like 27 3 2027"
    elif start_date > today + timedelta(days=LATEST_START_DAYS):
        errors["start_date"] = "The start date must be within the next year"
    elif start_date < today - timedelta(days=LATEST_START_DAYS):
        errors["start_date"] = "The start date must be within the last year"
    if weekly_cost is None or weekly_cost <= 0:
        errors["weekly_cost"] = "Enter the weekly cost in pounds, more than £0"
    elif weekly_cost > 100_000_00:
        errors["weekly_cost"] = "The weekly cost must be £100,000 or less"
    return errors


def _check_childs_council(session: Session, row: Offer | Placement) -> None:
    """Only the child's council decides. A council that owns the foster household (and so answered the
    offer as its provider) can read another council's child's offer and placement, but not decide them."""
    acting = audit.current_actor(session).organisation_id
    if acting is not None and acting == row.provider_id and acting != row.council_id:
        raise NotFound()


def approve_offer(session: Session, offer: Offer, start_date: date | None, weekly_cost: int | None,
                  now: datetime | None = None) -> Placement:
    """Approve the home for the child and record the placement; ``weekly_cost`` in pence."""
    now = now or utcnow()
    _check_childs_council(session, offer)
    errors = check_approval(start_date, weekly_cost, now.date())
    if errors:
        raise FieldErrors(errors)
    assert start_date is not None and weekly_cost is not None
    if offer.status != PROVIDER_ACCEPTED:
        raise Conflict("Only a home the provider has accepted can be approved; this offer is "
                       f"'{offer.status.replace('_', ' ')}'")
    if offer.foster_household_id is not None:
        return _approve_household_offer(session, offer, start_date, weekly_cost, now)
    home = session.get(Home, offer.home_id)
    if home is None:
        raise NotFound()
    # The referral, then the home's vacancy: the one order every change takes its locks in.
    referral = lock_referral(session, offer.referral_id)
    lock_vacancy(session, home.id)
    move_offer(session, offer, PROVIDER_ACCEPTED, APPROVED, decided_at=now,
          decided_by_user_id=audit.current_actor(session).user_id)
    approve_proposal(session, referral)
    funding, contract_id = _funding(session, offer, now)
    placement = record_placement(session, referral, home, start_date, weekly_cost, funding, contract_id)
    session.flush()
    offer.placement_id = placement.id
    session.add(offer)
    audit.record(session, AuditAction.MATCHING_OFFER_APPROVED, offer, placement_id=placement.id, home_id=home.id,
                 start_date=start_date, weekly_cost=weekly_cost, funding=funding)
    notices.placement_approved(session, offer, placement)
    return placement


def _approve_household_offer(session: Session, offer: Offer, start_date: date, weekly_cost: int,
                             now: datetime) -> Placement:
    """The council approves a foster household its owner accepted: the household's place was filled when
    the owner accepted, so recording the placement takes nothing more from it."""
    referral = lock_referral(session, offer.referral_id)
    move_offer(session, offer, PROVIDER_ACCEPTED, APPROVED, decided_at=now,
               decided_by_user_id=audit.current_actor(session).user_id)
    approve_proposal(session, referral)
    # Another council's in-house household is not the approving council's to read: the placement names
    # it by id, and is with its owner (who answered the offer as its provider).
    placement = record_household_placement(session, referral, offer.foster_household_id, offer.provider_id,
                                           start_date, weekly_cost)
    session.flush()
    offer.placement_id = placement.id
    session.add(offer)
    audit.record(session, AuditAction.MATCHING_OFFER_APPROVED, offer, placement_id=placement.id,
                 foster_household_id=offer.foster_household_id, start_date=start_date, weekly_cost=weekly_cost,
                 funding="spot")
    notices.placement_approved(session, offer, placement)
    return placement


def _funding(session: Session, offer: Offer, now: datetime) -> tuple[str, int | None]:
    """Block if the offer was for a block place that is still free, otherwise spot."""
    if offer.funding == "block" and offer.block_contract_id is not None:
        block = free_block_places(session, now.date()).get(offer.home_id)
        if block is not None and block.contract_id == offer.block_contract_id:
            return "block", block.contract_id
    return "spot", None


def reject_offer(session: Session, offer: Offer, reason: str, now: datetime | None = None) -> Offer:
    """The council rejects the home; the child goes back to matching with this home excluded."""
    now = now or utcnow()
    _check_childs_council(session, offer)
    reason = (reason or "").strip()
    if not reason:
        raise FieldErrors({"reason": "Say why you are rejecting this home"})
    if len(reason) > MAX_DETAILS:
        raise FieldErrors({"reason": f"The reason must be {MAX_DETAILS:,} characters or fewer"})
    if offer.status not in (SENT, PROVIDER_ACCEPTED):
        raise Conflict(f"This offer is '{offer.status.replace('_', ' ')}' and can no longer be rejected")
    referral = lock_referral(session, offer.referral_id)
    was = offer.status
    move_offer(session, offer, offer.status, REJECTED, decided_at=now, decision_reason=reason,
          decided_by_user_id=audit.current_actor(session).user_id)
    release_household_place(session, offer, was)
    return_to_matching(session, referral, offer.home_id, f"Council rejected the home: {reason}")
    audit.record(session, AuditAction.MATCHING_OFFER_REJECTED, offer, reason=reason, home_id=offer.home_id,
                 foster_household_id=offer.foster_household_id)
    return offer


def end_reasons() -> dict[str, str]:
    """SSDA903 reasons for a placement ending (commissioning reads them from the reference data)."""
    return placement_end_reasons()


def list_placements(session: Session, current_only: bool = False) -> list[Placement]:
    query = select(Placement).order_by(col(Placement.start_date).desc(), col(Placement.id).desc())
    if current_only:
        query = query.where(Placement.end_date.is_(None))
    return list(session.scalars(query))
