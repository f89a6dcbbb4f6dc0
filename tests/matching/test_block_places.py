"""Free block-contract places reach the snapshot, the offer and the placement (funding "block")."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from matching.models import Proposal
from matching.services import approvals, jobs, offers, review, runs
from matching.services.keys import home_key
from rcc.db import transaction
from tests.contracts.helpers import make_contract


def test_a_block_place_is_offered_at_the_contract_price_and_placed_as_block(app, session_for, scenario,
                                                                            setup_session):
    block_home = scenario.homes[1]
    contract = make_contract(setup_session, scenario.region, scenario.region.provider, [(block_home, 1)],
                             date.today() - timedelta(days=30), date.today() + timedelta(days=300), 420_000)
    setup_session.commit()
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        run = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    jobs.perform_run(app.extensions["rcc_sessions"], run.id, officer.rcc_id, officer.id)
    session.expire_all()
    run = runs.get_run(session, run.id)
    homes = {h["id"]: h for h in run.problem["homes"]}
    assert homes[home_key(block_home.id)]["block_places"] == 1
    assert homes[home_key(scenario.homes[0].id)]["block_places"] == 0

    proposal = session.scalars(select(Proposal).where(Proposal.home_id == block_home.id)).one()
    assert proposal.parts["block_place_used"] is True
    with transaction(session):
        offer = review.accept_proposal(session, proposal)
    assert (offer.funding, offer.block_contract_id, offer.weekly_cost) == ("block", contract.id, 420_000)
    provider = session_for(scenario.provider_manager)
    with transaction(provider):
        offers.accept_offer(provider, offers.get_offer(provider, offer.id))
    council = session_for(scenario.council_officer)
    with transaction(council):
        placement = approvals.approve_offer(council, offers.get_offer(council, offer.id), date.today(), 420_000)
    assert (placement.funding, placement.block_contract_id) == ("block", contract.id)
