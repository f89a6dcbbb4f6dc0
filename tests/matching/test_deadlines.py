"""Deadlines that act (``flask tick``), travelling in time: an unanswered offer expires at its deadline
and frees its place; the RCC is warned first; an emergency with no offer is escalated; a second tick,
or a tick racing another, does nothing more."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from commissioning.lifecycle import IN_MATCHING, OFFERED
from commissioning.models import Referral
from matching import deadlines
from matching.models import SENT, WITHDRAWN, Offer, Proposal
from matching.services import jobs, review, runs
from matching.services.capacity import free_unheld_places
from rcc.db import transaction
from rcc.errors import Conflict
from rcc.models import AuditEvent, utcnow
from rcc.notification_models import Notification
from rcc.tenancy import TenantScope, set_scope
from tests.rcc.outbox import outbox  # noqa: E402,F401 - every test here uses the outbox


@pytest.fixture
def offer(app, session_for, scenario):
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        started = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    jobs.perform_run(app.extensions["rcc_sessions"], started.id, officer.rcc_id, officer.id)
    with transaction(session):
        proposal = session.scalars(select(Proposal).where(Proposal.referral_id == scenario.referrals[0].id)).one()
        return review.accept_proposal(session, proposal)


def make_emergency(setup_session, referral_id: int) -> Referral:
    setup_session.execute(update(Referral).where(Referral.id == referral_id).values(urgency="emergency"))
    setup_session.commit()
    setup_session.expire_all()
    return setup_session.get(Referral, referral_id)


def tick(app, at) -> str:
    result = app.test_cli_runner().invoke(args=["tick", "--now", at.replace(tzinfo=None).isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def counts(setup_session, action: str, event: str) -> tuple[int, Counter]:
    setup_session.expire_all()
    audited = setup_session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))
    return audited, Counter(n.user_id for n in setup_session.scalars(select(Notification).where(
        Notification.event == event)))


def test_an_unanswered_offer_expires_at_its_deadline_and_frees_its_place(app, offer, scenario, setup_session):
    deadline = offer.respond_by
    assert free_unheld_places(setup_session, offer.home_id, utcnow()) == 0  # held for the child
    output = tick(app, deadline - timedelta(minutes=1))
    assert "offers expired: 0" in output and "offers about to expire: 1" in output
    setup_session.expire_all()
    assert setup_session.get(Offer, offer.id).status == SENT
    assert counts(setup_session, "matching.offer.expired", "offer_expiring")[1] == Counter({scenario.officer.id: 1})

    assert "offers expired: 1" in tick(app, deadline)
    setup_session.expire_all()
    expired = setup_session.get(Offer, offer.id)
    assert expired.status == WITHDRAWN and expired.decision_reason == deadlines.EXPIRED_REASON
    referral = setup_session.get(Referral, offer.referral_id)
    assert referral.status == IN_MATCHING and offer.home_id in referral.excluded_home_ids
    assert free_unheld_places(setup_session, offer.home_id, deadline) == 1  # the place is free again
    assert counts(setup_session, "matching.offer.expired", "offer_expired") == (1, Counter({scenario.officer.id: 1}))

    # A second tick, an hour later, changes nothing more.
    assert "offers expired: 0" in tick(app, deadline + timedelta(hours=1))
    assert counts(setup_session, "matching.offer.expired", "offer_expired") == (1, Counter({scenario.officer.id: 1}))
    assert counts(setup_session, "matching.offer.expired", "offer_expiring")[1] == Counter({scenario.officer.id: 1})


def test_two_ticks_racing_expire_the_offer_once(app, offer, setup_session):
    make = app.extensions["rcc_sessions"]
    deadline = offer.respond_by
    with make() as slow, make() as fast:
        for session in (slow, fast):
            set_scope(session, TenantScope.for_organisation("rcc", offer.rcc_id, offer.rcc_id))
        # Both ticks found the offer still waiting...
        seen_by_slow = slow.get(Offer, offer.id)
        assert seen_by_slow.status == SENT
        slow.commit()
        # ...one expires it...
        with transaction(fast):
            assert deadlines.expire_offer(fast, fast.get(Offer, offer.id), deadline)
        # ...and the other, acting on what it read, is refused by the conditional update.
        with pytest.raises(Conflict, match="Someone else has just acted"), transaction(slow):
            deadlines.expire_offer(slow, seen_by_slow, deadline)
    assert counts(setup_session, "matching.offer.expired", "offer_expired")[0] == 1


def test_an_answered_offer_does_not_expire(app, offer, session_for, scenario, setup_session):
    from matching.services import offers  # noqa: PLC0415

    provider = session_for(scenario.provider_manager)
    with transaction(provider):
        offers.accept_offer(provider, offers.get_offer(provider, offer.id))
    assert "offers expired: 0" in tick(app, offer.respond_by + timedelta(hours=1))
    setup_session.expire_all()
    assert setup_session.get(Offer, offer.id).status == "accepted"


def test_an_emergency_with_no_offer_is_escalated_once(app, scenario, setup_session, monkeypatch):
    monkeypatch.setenv("EMERGENCY_ESCALATION_HOURS", "3")
    referral = make_emergency(setup_session, scenario.referrals[1].id)
    submitted = referral.submitted_at
    assert "emergencies escalated: 0" in tick(app, submitted + timedelta(hours=2, minutes=59))
    assert "emergencies escalated: 1" in tick(app, submitted + timedelta(hours=3))
    assert "emergencies escalated: 0" in tick(app, submitted + timedelta(hours=5))
    audited, told = counts(setup_session, "referral.escalated", "emergency_escalation")
    assert audited == 1
    assert told == Counter({scenario.officer.id: 1, scenario.council_officer.id: 1})


def test_an_offered_emergency_is_not_escalated(app, offer, scenario, setup_session):
    referral = make_emergency(setup_session, offer.referral_id)
    assert referral.status == OFFERED
    assert "emergencies escalated: 0" in tick(app, referral.submitted_at + timedelta(hours=10))
