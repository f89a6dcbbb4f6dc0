"""Runs: snapshot, solve, store, reproduce — inline, as the officer's request would."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from commissioning.lifecycle import IN_MATCHING, WITHDRAWN
from commissioning.models import Referral
from matching.models import DONE, FAILED, NO_HOME, PROPOSED, MatchingRun, Offer, Proposal
from matching.services import jobs, runs
from matching.services.keys import child_key, home_key
from rcc.db import transaction
from rcc.errors import FieldErrors
from rcc.models import AuditEvent, utcnow
from tests.matching import builders


def _run(app, session_for, scenario, request=None) -> MatchingRun:
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        run = runs.start_run(session, officer.rcc_id, request or runs.RunRequest())
    assert jobs.perform_run(app.extensions["rcc_sessions"], run.id, officer.rcc_id, officer.id)
    session.expire_all()
    return runs.get_run(session, run.id)


def test_a_run_proposes_homes_explains_them_and_records_its_stages(app, session_for, scenario, setup_session):
    run = _run(app, session_for, scenario)
    setup_session.expire_all()

    assert run.stage == DONE and run.finished_at is not None
    assert {"snapshot", "candidates", "solving", "explaining"} <= set(run.stage_seconds)
    assert (run.children, run.placed, run.unmatched) == (3, 2, 1)
    proposals = setup_session.scalars(select(Proposal).where(Proposal.run_id == run.id)).all()
    by_referral = {p.referral_id: p for p in proposals}
    secure_child = by_referral[scenario.referrals[2].id]
    assert secure_child.status == NO_HOME and secure_child.home_id is None
    assert secure_child.funnel[0]["rule"] == "placement_type" and secure_child.funnel[0]["remaining"] == 0
    placed = [p for p in proposals if p.status == PROPOSED]
    assert {p.home_id for p in placed} == {h.id for h in scenario.homes}
    assert all(set(p.parts["points"]) >= {"home_distance", "cost", "rating"} for p in placed)
    statuses = {r.status for r in setup_session.scalars(select(Referral)).all()}
    assert statuses == {IN_MATCHING}
    actions = set(setup_session.scalars(select(AuditEvent.action)).all())
    assert {"matching.run.started", "matching.run.finished", "referral.in_matching"} <= actions


def test_rerunning_a_stored_snapshot_reproduces_its_proposals_exactly(app, session_for, scenario):
    run = _run(app, session_for, scenario)

    assert runs.reproduced_proposals(run) == runs.stored_proposals(run)
    assert runs.stored_proposals(run)[child_key(scenario.referrals[2].id)] is None


def test_the_snapshot_names_children_by_pseudonym_only(app, session_for, scenario):
    run = _run(app, session_for, scenario)

    text = json.dumps(run.problem)
    for secret in ("COV-0001", "COV-0002", '"AB"', "CV2 4AA", "CV5", "netball"):
        assert secret not in text
    assert {c["id"] for c in run.problem["children"]} == {child_key(r.id) for r in scenario.referrals}
    assert {h["id"] for h in run.problem["homes"]} == {home_key(h.id) for h in scenario.homes}


def test_a_run_over_a_chosen_subset_matches_only_those_children(app, session_for, scenario):
    chosen = [scenario.referrals[1].id]
    run = _run(app, session_for, scenario, runs.RunRequest(referral_ids=chosen))

    assert not run.whole_region and run.referral_ids == chosen
    assert [c["id"] for c in run.problem["children"]] == [child_key(chosen[0])]


def test_starting_a_run_needs_open_referrals_from_the_list(session_for, scenario):
    session = session_for(scenario.officer)
    with pytest.raises(FieldErrors) as nothing_chosen:
        runs.start_run(session, scenario.officer.rcc_id, runs.RunRequest(referral_ids=[]))
    assert "Select at least one referral" in nothing_chosen.value.errors["referral_ids"]
    with pytest.raises(FieldErrors) as unknown:
        runs.start_run(session, scenario.officer.rcc_id, runs.RunRequest(referral_ids=[999_999]))
    assert "open referrals" in unknown.value.errors["referral_ids"]


def test_a_run_whose_children_were_all_withdrawn_fails_with_a_reason(app, session_for, scenario, setup_session):
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        run = runs.start_run(session, officer.rcc_id, runs.RunRequest(referral_ids=[scenario.referrals[0].id]))
    scenario.referrals[0].status = WITHDRAWN
    setup_session.add(scenario.referrals[0])
    setup_session.commit()

    assert not jobs.perform_run(app.extensions["rcc_sessions"], run.id, officer.rcc_id, officer.id)
    session.expire_all()
    failed = runs.get_run(session, run.id)
    assert failed.stage == FAILED
    assert failed.error == "None of the chosen referrals is open for matching any more"


def test_places_held_by_open_offers_are_not_offered_again(app, session_for, scenario, setup_session):
    elm = scenario.homes[0]
    other = builders.add_referral(setup_session, scenario.region.councils[1], "WAR-1", status=IN_MATCHING)
    setup_session.add(Offer(rcc_id=other.rcc_id, council_id=other.council_id, provider_id=elm.provider_id,
                            home_id=elm.id, referral_id=other.id, weekly_cost=500_000,
                            respond_by=utcnow().replace(year=utcnow().year + 1), status="sent",
                            profile={}))
    other.status = "offered"
    setup_session.commit()

    run = _run(app, session_for, scenario)

    assert home_key(elm.id) not in {h["id"] for h in run.problem["homes"]}


def test_excluded_areas_and_distance_become_exclusions(app, session_for, scenario, setup_session):
    far = builders.add_home(setup_session, scenario.region.provider, "Far Away", postcode="LA1 1AA",
                            local_authority="Lancashire")
    referral = scenario.referrals[0]
    referral.max_distance_miles = 30
    referral.excluded_areas = ["Coventry"]
    setup_session.add(referral)
    setup_session.commit()

    run = _run(app, session_for, scenario)

    child = next(c for c in run.problem["children"] if c["id"] == child_key(referral.id))
    assert set(child["excluded_homes"]) == {home_key(h.id) for h in [*scenario.homes, far]}
