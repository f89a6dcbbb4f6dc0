"""Matching's notifications, through its services, with the local outbox as the email backend: each
event once, to the right people only (never another provider, never another council)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select

from commissioning.services import placements
from matching.models import Proposal
from matching.services import approvals, jobs, offers, review, runs
from rcc import users
from rcc.db import transaction
from rcc.notification_models import EMAIL_SENT, Notification
from rcc.roles import Role
from tests.factories import make_user
from tests.rcc.outbox import outbox  # noqa: E402,F401 - every test here uses the outbox


@pytest.fixture
def other_provider_manager(setup_session, scenario):
    other = users.add_provider(setup_session, scenario.region.rcc, "Elsewhere Care Ltd", "private")
    setup_session.flush()
    manager = make_user(setup_session, other, Role.PROVIDER_MANAGER, "elsewhere-manager")
    setup_session.commit()
    return manager


@pytest.fixture
def run(app, session_for, scenario):
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        started = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    jobs.perform_run(app.extensions["rcc_sessions"], started.id, officer.rcc_id, officer.id)
    return started


def told(setup_session) -> Counter:
    setup_session.expire_all()
    return Counter((n.event, n.user_id) for n in setup_session.scalars(select(Notification)))


def _offer(session_for, scenario):
    session = session_for(scenario.officer)
    with transaction(session):
        proposal = session.scalars(select(Proposal).where(Proposal.referral_id == scenario.referrals[0].id)).one()
        return review.accept_proposal(session, proposal)


def test_an_offer_accepted_approved_and_ended_tells_each_person_once(
        run, session_for, scenario, setup_session, other_provider_manager):
    region = scenario.region
    manager, officer, council = scenario.provider_manager, scenario.officer, scenario.council_officer
    offer = _offer(session_for, scenario)
    assert told(setup_session) == Counter({("offer_sent", manager.id): 1})
    [sent] = setup_session.scalars(select(Notification))
    assert sent.email_status == EMAIL_SENT and sent.email_backend == "outbox"
    assert "COV-0001" not in sent.body + sent.title + str(sent.personalisation)  # no child's reference
    assert sent.link == f"/offers-for-your-homes/{offer.id}"

    provider = session_for(manager)
    with transaction(provider):
        offers.accept_offer(provider, offers.get_offer(provider, offer.id))
    council_session = session_for(council)
    with transaction(council_session):
        placement = approvals.approve_offer(council_session, offers.get_offer(council_session, offer.id),
                                            date.today(), 480_000)
    with transaction(council_session):
        placements.end_placement(council_session, placement, date.today(), "CARPL")

    assert told(setup_session) == Counter({
        ("offer_sent", manager.id): 1,
        ("offer_answered", officer.id): 1,
        ("proposal_to_approve", council.id): 1,
        ("placement_approved", manager.id): 1, ("placement_approved", officer.id): 1,
        ("placement_ended", manager.id): 1, ("placement_ended", officer.id): 1,
    })
    everyone_told = {user_id for _, user_id in told(setup_session)}
    assert other_provider_manager.id not in everyone_told
    assert region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER].id not in everyone_told
    assert region.people[Role.RCC_COMMISSIONER].id not in everyone_told  # the role named, only


def test_a_declined_offer_tells_the_rcc_and_asks_no_council_to_approve(run, session_for, scenario, setup_session):
    offer = _offer(session_for, scenario)
    provider = session_for(scenario.provider_manager)
    with transaction(provider):
        offers.decline_offer(provider, offers.get_offer(provider, offer.id), "no_place", "")
    assert told(setup_session) == Counter({("offer_sent", scenario.provider_manager.id): 1,
                                           ("offer_answered", scenario.officer.id): 1})
    [answered] = setup_session.scalars(select(Notification).where(Notification.event == "offer_answered"))
    assert "declined" in answered.title


def test_a_failed_run_tells_the_rcc_placement_team_once(app, session_for, scenario, setup_session):
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        started = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    with transaction(session):
        assert runs.record_failure(session, started, "the solver crashed")
    with transaction(session):
        assert not runs.record_failure(session, started, "again")  # already failed: nothing more
    assert told(setup_session) == Counter({("run_failed", officer.id): 1})
