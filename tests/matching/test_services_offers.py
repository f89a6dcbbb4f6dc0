"""Review decisions, offers to providers, council approval and the end of a placement."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from commissioning.lifecycle import ENDED, IN_MATCHING, OFFERED, PLACED
from commissioning.models import Placement, Referral, Vacancy
from commissioning.services import placements
from matching.models import (
    ACCEPTED,
    ALTERNATIVE_CHOSEN,
    APPROVED,
    DECLINED,
    LEFT_UNMATCHED,
    REJECTED,
    SENT,
    Offer,
    Proposal,
)
from matching.services import approvals, jobs, offers, review, runs
from matching.services.keys import home_key
from rcc.db import transaction
from rcc.errors import Conflict, FieldErrors
from rcc.models import AuditEvent, utcnow
from tests.matching import builders


@pytest.fixture
def run(app, session_for, scenario):
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        started = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    jobs.perform_run(app.extensions["rcc_sessions"], started.id, officer.rcc_id, officer.id)
    return started


def _proposal(session, scenario, index: int) -> Proposal:
    return session.scalars(select(Proposal).where(Proposal.referral_id == scenario.referrals[index].id)).one()


def _offer_for(session_for, scenario, index=0) -> Offer:
    session = session_for(scenario.officer)
    with transaction(session):
        return review.accept_proposal(session, _proposal(session, scenario, index))


def _accepted_offer(session_for, scenario, index=0) -> Offer:
    offer = _offer_for(session_for, scenario, index)
    provider = session_for(scenario.provider_manager)
    with transaction(provider):
        offers.accept_offer(provider, offers.get_offer(provider, offer.id))
    return offer


def test_accepting_a_proposal_sends_an_offer_with_a_deadline(run, session_for, scenario, setup_session):
    offer = _offer_for(session_for, scenario)

    assert offer.status == SENT and offer.provider_id == scenario.region.provider.id
    hours = (offer.respond_by - offer.sent_at).total_seconds() / 3600
    assert hours == offers.RESPONSE_HOURS["planned"]
    referral = setup_session.get(Referral, scenario.referrals[0].id)
    setup_session.refresh(referral)
    assert referral.status == OFFERED
    proposal = _proposal(setup_session, scenario, 0)
    setup_session.refresh(proposal)
    assert proposal.status == ACCEPTED and proposal.decided_by_user_id == scenario.officer.id
    actions = set(setup_session.scalars(select(AuditEvent.action)))
    assert {"matching.proposal.accepted", "matching.offer.sent", "referral.offered"} <= actions


def test_a_proposal_is_decided_only_once(run, session_for, scenario):
    _offer_for(session_for, scenario)
    session = session_for(scenario.officer)
    with pytest.raises(Conflict, match="already been decided"):
        review.leave_unmatched(session, _proposal(session, scenario, 0), "Changed my mind")


def test_choosing_an_alternative_or_leaving_unmatched_needs_a_reason(run, session_for, scenario):
    session = session_for(scenario.officer)
    proposal = _proposal(session, scenario, 0)
    with pytest.raises(FieldErrors) as missing:
        review.choose_alternative(session, proposal, None, "")
    assert set(missing.value.errors) == {"home_id", "reason"}
    with pytest.raises(FieldErrors) as no_reason:
        review.leave_unmatched(session, proposal, "  ")
    assert no_reason.value.errors == {"reason": "Say why you are leaving this child unmatched"}


def test_leaving_a_child_unmatched_records_the_reason(run, session_for, scenario, setup_session):
    session = session_for(scenario.officer)
    with transaction(session):
        review.leave_unmatched(session, _proposal(session, scenario, 2), "No secure places in the region")
    proposal = _proposal(setup_session, scenario, 2)
    setup_session.refresh(proposal)
    assert proposal.status == LEFT_UNMATCHED and proposal.decision_reason == "No secure places in the region"
    assert "matching.proposal.left_unmatched" in set(setup_session.scalars(select(AuditEvent.action)))


def test_choosing_an_alternative_offers_that_home_instead(session_for, scenario, setup_session, app):
    builders.add_home(setup_session, scenario.region.provider, "Birch View", postcode="CV3 1AB")
    setup_session.commit()
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        started = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    jobs.perform_run(app.extensions["rcc_sessions"], started.id, officer.rcc_id, officer.id)
    session = session_for(officer)
    proposal = _proposal(session, scenario, 0)
    other_home = int(proposal.alternatives[0]["home"][1:])
    with transaction(session):
        offer = review.choose_alternative(session, proposal, other_home, "Closer to her grandmother")
    assert offer.home_id == other_home
    assert proposal.status == ALTERNATIVE_CHOSEN and proposal.chosen_home_id == other_home


def test_the_anonymised_profile_has_bands_and_labels_only(run, session_for, scenario):
    offer = _offer_for(session_for, scenario)
    profile = offers.anonymised_profile(offer)

    assert profile.age_band == "13–15" and profile.sex == "Female"
    assert profile.needs == ("Therapeutic support",)
    assert profile.distance_band in {"Under 5 miles", "5–10 miles"}
    assert profile.summary == "Settled at school; a home within reach of it would help."
    stored = str(offer.profile)
    for secret in ("COV-0001", "AB", "CV2 4AA", "CV2", "netball"):  # netball: the child's own words
        assert secret not in stored


def test_provider_accepts_then_council_approves_and_the_placement_takes_the_place(
        run, session_for, scenario, setup_session):
    offer = _accepted_offer(session_for, scenario)
    council = session_for(scenario.council_officer)
    start = date.today() + timedelta(days=7)
    with transaction(council):
        placement = approvals.approve_offer(council, offers.get_offer(council, offer.id), start, 480_000)

    setup_session.expire_all()
    stored = setup_session.get(Offer, offer.id)
    assert stored.status == APPROVED and stored.placement_id == placement.id
    assert (placement.start_date, placement.weekly_cost, placement.funding) == (start, 480_000, "spot")
    assert setup_session.scalars(select(Vacancy).where(Vacancy.home_id == offer.home_id)).one().places_free == 0
    assert setup_session.get(Referral, offer.referral_id).status == PLACED
    actions = set(setup_session.scalars(select(AuditEvent.action)))
    assert {"matching.offer.accepted", "matching.offer.approved", "placement.started"} <= actions


def test_an_offer_cannot_be_approved_twice(run, session_for, scenario, setup_session):
    offer = _accepted_offer(session_for, scenario)
    first, second = session_for(scenario.council_officer), session_for(scenario.council_officer)
    stale_copy = offers.get_offer(second, offer.id)
    with transaction(first):
        approvals.approve_offer(first, offers.get_offer(first, offer.id), date.today(), 480_000)
    with pytest.raises(Conflict), transaction(second):
        approvals.approve_offer(second, stale_copy, date.today(), 480_000)
    assert len(setup_session.scalars(select(Placement)).all()) == 1


def test_a_second_acceptance_for_the_last_place_is_refused(session_for, scenario, setup_session):
    home = scenario.homes[0]
    made = []
    for referral in scenario.referrals[:2]:
        referral.status = OFFERED
        made.append(Offer(rcc_id=referral.rcc_id, council_id=referral.council_id, provider_id=home.provider_id,
                          home_id=home.id, referral_id=referral.id, weekly_cost=500_000, profile={},
                          respond_by=utcnow() + timedelta(hours=4)))
    setup_session.add_all([*made, *scenario.referrals[:2]])
    setup_session.commit()
    provider = session_for(scenario.provider_manager)
    with transaction(provider):
        offers.accept_offer(provider, offers.get_offer(provider, made[0].id))
    with pytest.raises(Conflict, match="no free place left"), transaction(provider):
        offers.accept_offer(provider, offers.get_offer(provider, made[1].id))


def test_declining_returns_the_child_to_matching_without_that_home(run, session_for, scenario, setup_session):
    offer = _offer_for(session_for, scenario)
    provider = session_for(scenario.provider_manager)
    with pytest.raises(FieldErrors) as no_reason:
        offers.decline_offer(provider, offers.get_offer(provider, offer.id), "", "")
    assert "reason" in no_reason.value.errors
    with transaction(provider):
        offers.decline_offer(provider, offers.get_offer(provider, offer.id), "group_mix", "Two boys aged 16")

    setup_session.expire_all()
    referral = setup_session.get(Referral, offer.referral_id)
    assert referral.status == IN_MATCHING and offer.home_id in referral.excluded_home_ids
    assert setup_session.get(Offer, offer.id).status == DECLINED


def test_the_next_run_proposes_another_home_after_a_decline(app, run, session_for, scenario, setup_session):
    offer = _offer_for(session_for, scenario)
    provider = session_for(scenario.provider_manager)
    with transaction(provider):
        offers.decline_offer(provider, offers.get_offer(provider, offer.id), "staffing", "")
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        second = runs.start_run(session, officer.rcc_id, runs.RunRequest(referral_ids=[offer.referral_id]))
    jobs.perform_run(app.extensions["rcc_sessions"], second.id, officer.rcc_id, officer.id)
    session.expire_all()
    proposals = runs.stored_proposals(runs.get_run(session, second.id))
    assert list(proposals.values()) != [home_key(offer.home_id)]


def test_an_expired_offer_cannot_be_accepted_and_shows_as_expired(run, session_for, scenario):
    offer = _offer_for(session_for, scenario)
    later = utcnow() + timedelta(hours=49)
    assert offers.status_label(offer, later) == "Expired"
    provider = session_for(scenario.provider_manager)
    with pytest.raises(Conflict, match="deadline"):
        offers.accept_offer(provider, offers.get_offer(provider, offer.id), now=later)


def test_council_rejection_excludes_the_home(run, session_for, scenario, setup_session):
    offer = _accepted_offer(session_for, scenario)
    council = session_for(scenario.council_officer)
    with pytest.raises(FieldErrors):
        approvals.reject_offer(council, offers.get_offer(council, offer.id), "")
    with transaction(council):
        approvals.reject_offer(council, offers.get_offer(council, offer.id), "Too far from his brother")
    setup_session.expire_all()
    assert setup_session.get(Offer, offer.id).status == REJECTED
    referral = setup_session.get(Referral, offer.referral_id)
    assert referral.status == IN_MATCHING and offer.home_id in referral.excluded_home_ids


def test_ending_a_placement_frees_the_place(run, session_for, scenario, setup_session):
    offer = _accepted_offer(session_for, scenario)
    council = session_for(scenario.council_officer)
    with transaction(council):
        placement = approvals.approve_offer(council, offers.get_offer(council, offer.id), date.today(), 480_000)
    with pytest.raises(FieldErrors):
        placements.end_placement(council, placement, date.today(), "NOPE")
    with transaction(council):
        placements.end_placement(council, placement, date.today(), "CARPL")
    setup_session.expire_all()
    assert setup_session.scalars(select(Vacancy).where(Vacancy.home_id == offer.home_id)).one().places_free == 1
    assert setup_session.get(Referral, offer.referral_id).status == ENDED
    assert setup_session.get(Offer, offer.id).status == APPROVED
