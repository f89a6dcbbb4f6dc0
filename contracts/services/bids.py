"""Sealed bids: a provider's offer for a lot, editable until bids close and locked after.

The seal is enforced here, not only in pages: before the deadline a bid is invisible to
everyone at the RCC (``NotFound``, so a page or API answers 404, never 403).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Home
from contracts.models import Bid, Lot, Tender
from contracts.services import tenders
from contracts.services.common import aware, is_rcc, provider_id_of
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.numbers import pounds


@dataclass
class BidDetails:
    weekly_price: int | None  # pence
    places_offered: int | None
    home_ids: list[int]
    answers: dict[int, str] = field(default_factory=dict)  # question id -> answer
    summary: str = ""


def provider_homes(session: Session, lot: Lot) -> list[Home]:
    """The provider's own active homes of the lot's placement type, from the supply register."""
    provider_id = provider_id_of(session)
    query = select(Home).where(Home.provider_id == provider_id, col(Home.active).is_(True),
                               Home.placement_type == lot.placement_type).order_by(Home.name)
    return list(session.scalars(query))


def check_bid(session: Session, lot: Lot, details: BidDetails) -> dict[str, str]:
    errors: dict[str, str] = {}
    if details.weekly_price is None or details.weekly_price <= 0:
        errors["weekly_price"] = "Enter your price per place per week in pounds, more than £0"
    elif details.weekly_price > lot.max_weekly_price:
        errors["weekly_price"] = (f"Price per place per week must be no more than {pounds(lot.max_weekly_price)}, "
                                  "the lot's maximum")
    if details.places_offered is None or details.places_offered <= 0:
        errors["places_offered"] = "Enter the number of places you offer, 1 or more"
    elif details.places_offered > lot.places:
        errors["places_offered"] = f"Offer no more than the lot's {lot.places} places"
    own = {home.id for home in provider_homes(session, lot)}
    if not details.home_ids:
        errors["home_ids"] = "Select at least one of your homes"
    elif not set(details.home_ids) <= own:
        errors["home_ids"] = "Select only your own homes of the lot's placement type"
    for question in tenders.questions_of(session, lot):
        answer = (details.answers.get(question.id) or "").strip()
        if not answer:
            errors[f"answer_{question.id}"] = f"Answer quality question {question.number}"
        elif len(answer) > 4000:
            errors[f"answer_{question.id}"] = f"Answer to question {question.number} must be 4,000 characters or fewer"
    if len(details.summary) > 2000:
        errors["summary"] = "Summary must be 2,000 characters or fewer"
    return errors


def submit_bid(session: Session, lot: Lot, details: BidDetails, user_id: int | None, now: datetime) -> Bid:
    """Make or replace the provider's bid for ``lot``; refused once bids have closed."""
    provider_id = provider_id_of(session)
    tender = tenders.get_tender(session, lot.tender_id)
    if not tenders.accepts_bids(tender, now):
        raise Conflict(f"Bids for this tender closed on {aware(tender.bids_close_at):%d %B %Y at %H:%M}; "
                       "it no longer accepts bids or changes to them")
    errors = check_bid(session, lot, details)
    if errors:
        raise FieldErrors(errors)
    bid = own_bid(session, lot)
    answers = {str(q.id): (details.answers.get(q.id) or "").strip() for q in tenders.questions_of(session, lot)}
    if bid is None:
        bid = Bid(rcc_id=lot.rcc_id, provider_id=provider_id, tender_id=tender.id, lot_id=lot.id,
                  weekly_price=details.weekly_price or 0, places_offered=details.places_offered or 0,
                  home_ids=sorted(set(details.home_ids)), answers=answers, summary=details.summary.strip(),
                  submitted_by_user_id=user_id, submitted_at=now, updated_at=now)
        session.add(bid)
        action = AuditAction.BID_SUBMITTED
    else:
        bid.weekly_price = details.weekly_price or 0
        bid.places_offered = details.places_offered or 0
        bid.home_ids = sorted(set(details.home_ids))
        bid.answers = answers
        bid.summary = details.summary.strip()
        bid.submitted_by_user_id = user_id
        bid.updated_at = now
        action = AuditAction.BID_UPDATED
    audit.record(session, action, bid, lot_id=lot.id, weekly_price=bid.weekly_price, places=bid.places_offered)
    return bid


def withdraw_bid(session: Session, bid: Bid, now: datetime) -> None:
    provider_id = provider_id_of(session)
    tender = tenders.get_tender(session, bid.tender_id)
    if bid.provider_id != provider_id:
        raise NotFound()
    if not tenders.accepts_bids(tender, now):
        raise Conflict("Bids have closed, so this bid can no longer be withdrawn")
    audit.record(session, AuditAction.BID_WITHDRAWN, bid, lot_id=bid.lot_id)
    session.delete(bid)


def own_bid(session: Session, lot: Lot) -> Bid | None:
    provider_id = provider_id_of(session)
    return session.scalars(select(Bid).where(Bid.lot_id == lot.id, Bid.provider_id == provider_id)).first()


def own_bids(session: Session) -> list[Bid]:
    provider_id = provider_id_of(session)
    return list(session.scalars(select(Bid).where(Bid.provider_id == provider_id).order_by(Bid.id)))


def get_bid(session: Session, bid_id: int, now: datetime) -> Bid:
    """The bid if the asker may read it now: its own provider any time, the RCC only after bids close."""
    bid = session.get(Bid, bid_id)
    if bid is None:
        raise NotFound()
    tender = tenders.get_tender(session, bid.tender_id)
    if is_rcc(session) and not tenders.bids_unsealed(tender, now):
        raise NotFound()
    return bid


def bids_for_lot(session: Session, lot: Lot, now: datetime) -> list[Bid]:
    """Every bid on the lot for the RCC once unsealed (NotFound before); a provider's own bid for a provider."""
    tender = tenders.get_tender(session, lot.tender_id)
    if is_rcc(session) and not tenders.bids_unsealed(tender, now):
        raise NotFound()
    return list(session.scalars(select(Bid).where(Bid.lot_id == lot.id).order_by(Bid.id)))


def result_visible(bid: Bid, tender: Tender) -> bool:
    """A provider sees its result and score from the award on, not before."""
    return tenders.is_awarded(tender) and bid.total_score is not None
