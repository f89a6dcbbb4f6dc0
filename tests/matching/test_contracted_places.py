"""Contracted void places: a live block contract's unused place reaches matching with no vacancy
recorded, at the contract's price, and a place a live placement or an open offer holds is not offered twice."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, select

from commissioning.models import Vacancy
from matching.models import Proposal
from matching.services import jobs, review, runs
from matching.services.keys import home_key
from rcc.db import transaction
from tests.contracts.helpers import make_contract, make_placement
from tests.matching import builders

CONTRACT_PRICE = 380_000  # pence; the home's spot price is 500_000


def _void_home(setup_session, scenario, places: int = 1):
    """A home with no vacancy row at all, whose only free places are a block contract's."""
    home = builders.add_home(setup_session, scenario.region.provider, "Contracted House", postcode="CV2 4AA",
                             places_free=0, weekly_price=500_000)
    setup_session.execute(delete(Vacancy).where(Vacancy.home_id == home.id))
    for other in scenario.homes:  # the scenario's homes are full: only the contracted place is free
        setup_session.execute(delete(Vacancy).where(Vacancy.home_id == other.id))
    contract = make_contract(setup_session, scenario.region, scenario.region.provider, [(home, places)],
                             date.today() - timedelta(days=30), date.today() + timedelta(days=300), CONTRACT_PRICE)
    setup_session.commit()
    return home, contract


def _run(app, session, officer):
    with transaction(session):
        run = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    jobs.perform_run(app.extensions["rcc_sessions"], run.id, officer.rcc_id, officer.id)
    session.expire_all()
    return runs.get_run(session, run.id)


def test_a_contracted_void_place_is_proposed_with_no_vacancy_at_the_contract_price(app, session_for, scenario,
                                                                                   setup_session):
    home, contract = _void_home(setup_session, scenario)
    officer = scenario.officer
    session = session_for(officer)
    run = _run(app, session, officer)
    homes = {h["id"]: h for h in run.problem["homes"]}
    assert set(homes) == {home_key(home.id)}
    assert homes[home_key(home.id)]["free_places"] == 1
    assert homes[home_key(home.id)]["block_places"] == 1
    assert homes[home_key(home.id)]["weekly_cost"] == CONTRACT_PRICE / 100

    proposal = session.scalars(select(Proposal).where(Proposal.run_id == run.id,
                                                      Proposal.home_id == home.id)).one()
    assert proposal.parts["block_place_used"] is True
    assert proposal.parts["weekly_cost"] == CONTRACT_PRICE / 100
    with transaction(session):
        offer = review.accept_proposal(session, proposal)
    assert (offer.funding, offer.block_contract_id, offer.weekly_cost) == ("block", contract.id, CONTRACT_PRICE)

    # The open offer holds the only contracted place: the next run has no home to propose.
    run = _run(app, session, officer)
    assert run.problem["homes"] == []
    assert run.placed == 0


def test_a_place_held_by_a_live_block_placement_is_not_offered(app, session_for, scenario, setup_session):
    home, contract = _void_home(setup_session, scenario, places=2)
    make_placement(setup_session, scenario.region, home, date.today() - timedelta(days=10), None,
                   contract_id=contract.id)
    setup_session.commit()
    officer = scenario.officer
    session = session_for(officer)
    run = _run(app, session, officer)
    homes = {h["id"]: h for h in run.problem["homes"]}
    assert homes[home_key(home.id)]["free_places"] == 1
    assert homes[home_key(home.id)]["block_places"] == 1


def test_the_proposal_page_says_contracted_place(app, signed_in_client, session_for, scenario, setup_session):
    home, _contract = _void_home(setup_session, scenario)
    officer = scenario.officer
    session = session_for(officer)
    run = _run(app, session, officer)
    proposal = session.scalars(select(Proposal).where(Proposal.run_id == run.id,
                                                      Proposal.home_id == home.id)).one()
    page = signed_in_client(officer).get(f"/matching/proposals/{proposal.id}")
    assert page.status_code == 200
    assert "Contracted place" in page.get_data(as_text=True)
    assert "£3,800 a week" in page.get_data(as_text=True)
