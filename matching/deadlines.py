"""Matching's deadlines, acted on by ``flask tick``: offers expire at their deadline (their place is
freed and the child goes back to matching without that home), the RCC is warned an hour before, and an
emergency referral with no offer after ``EMERGENCY_ESCALATION_HOURS`` (environment; default 2) is escalated."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.lifecycle import IN_MATCHING, OFFERED, SUBMITTED
from commissioning.models import Referral
from commissioning.services.referrals import lock_referral, return_to_matching
from matching import notices
from matching.models import SENT, WITHDRAWN, Offer
from matching.services.offers import is_expired, move_offer
from rcc import audit
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.errors import Conflict
from rcc.notifications import Event, To, notify
from rcc.roles import Role
from rcc.ticks import claim, on_behalf_of, system

EXPIRING_WARNING = timedelta(hours=1)
EXPIRED_REASON = "Not answered by its deadline"


def escalation_hours() -> int:
    return int(os.environ.get("EMERGENCY_ESCALATION_HOURS", "2"))


def _each(make_session: Callable[[], Any], ids: list[int], act: Callable[[Session, int], bool]) -> int:
    """Act on each id in its own transaction; one another request or tick got to first is skipped."""
    done = 0
    for found_id in ids:
        with system(make_session) as session:
            try:
                with transaction(session):
                    done += act(session, found_id)
            except Conflict:
                continue
    return done


def expire_offers(make_session: Callable[[], Any], now: datetime) -> int:
    with system(make_session) as session:
        ids = list(session.scalars(select(Offer.id).where(Offer.status == SENT, Offer.respond_by <= now)
                                   .order_by(Offer.id)))
    return _each(make_session, ids, lambda session, offer_id: expire_offer(session, session.get(Offer, offer_id), now))


def expire_offer(session: Session, offer: Offer | None, now: datetime) -> bool:
    """Withdraw an unanswered offer (as read) past its deadline: its place is free again and the child goes
    back to matching, that home excluded. Conditional: an offer answered or expired meanwhile is refused
    (``Conflict``) and left as it is."""
    if offer is None or not is_expired(offer, now):
        return False
    audit.set_actor(session, on_behalf_of(offer.rcc_id))  # every row this writes is in the RCC's trail
    referral = lock_referral(session, offer.referral_id)  # the referral first, as everywhere
    move_offer(session, offer, SENT, WITHDRAWN, decided_at=now, decision_reason=EXPIRED_REASON)
    if referral.status == OFFERED:
        return_to_matching(session, referral, offer.home_id, "The provider did not answer the offer by its deadline")
    audit.record(session, AuditAction.MATCHING_OFFER_EXPIRED, offer, home_id=offer.home_id, respond_by=offer.respond_by.isoformat())
    notices.offer_expired(session, offer)
    return True


def warn_expiring_offers(make_session: Callable[[], Any], now: datetime) -> int:
    with system(make_session) as session:
        ids = list(session.scalars(select(Offer.id).where(
            Offer.status == SENT, Offer.respond_by > now, Offer.respond_by <= now + EXPIRING_WARNING)))

    def warn(session: Session, offer_id: int) -> bool:
        offer = session.get(Offer, offer_id)
        if offer is None or not claim(session, offer.rcc_id, "offer_expiring", f"offer:{offer.id}"):
            return False
        notices.offer_expiring(session, offer)
        return True

    return _each(make_session, ids, warn)


def escalate_emergencies(make_session: Callable[[], Any], now: datetime) -> int:
    hours = escalation_hours()
    with system(make_session) as session:
        ids = list(session.scalars(select(Referral.id).where(
            Referral.urgency == "emergency", Referral.status.in_((SUBMITTED, IN_MATCHING)),  # type: ignore[attr-defined]
            Referral.submitted_at <= now - timedelta(hours=hours))))  # type: ignore[operator]

    def escalate(session: Session, referral_id: int) -> bool:
        referral = session.get(Referral, referral_id)
        if referral is None or not claim(session, referral.rcc_id, "emergency_escalation", f"referral:{referral.id}"):
            return False
        audit.record(session, AuditAction.REFERRAL_ESCALATED, referral, actor=on_behalf_of(referral.rcc_id),
                     hours=hours)
        notify(session, Event.EMERGENCY_ESCALATION, referral.rcc_id,
               [To(referral.rcc_id, (Role.RCC_PLACEMENT_OFFICER,)),
                To(referral.council_id, (Role.COUNCIL_PLACEMENT_OFFICER,))],
               {"referral": f"#{referral.id}", "hours": hours}, about=f"referral:{referral.id}")
        return True

    return _each(make_session, ids, escalate)
