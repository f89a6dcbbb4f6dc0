"""Acceptance: a free place bought under an awarded block contract is proposed by matching
ahead of an equal spot place, through the platform's own pages."""

from datetime import timedelta

from bs4 import BeautifulSoup
from sqlalchemy import select

from contracts.services import contracts as contract_service
from contracts.services import evaluation, tenders
from matching.models import Proposal
from rcc.models import utcnow
from rcc.roles import Role
from tests.contracts.helpers import bid_for, moderate_all, published_tender
from tests.factories import make_region
from tests.matching.builders import add_home, add_referral


def _award_block_contract(session, region, block_home):
    """A tender run from publication to contract, all in the past, reserving one place at ``block_home``."""
    start = utcnow() - timedelta(days=100)
    tender, lot = published_tender(session, region, now=start)
    bid = bid_for(session, region.provider, lot, 480000, [block_home], now=start, places=1)
    evaluated = tender.bids_close_at + timedelta(days=1)
    tenders.start_evaluation(session, tender, evaluated)
    moderate_all(session, lot, region.people[Role.RCC_COMMISSIONER].id, {bid.id: [4, 4]}, evaluated)
    evaluation.decide_lot_award(session, lot, bid.id, "Only bid, good quality", evaluated)
    evaluation.award_tender(session, tender, evaluated)
    made = evaluated + timedelta(days=tenders.STANDSTILL_DAYS + 1)
    details = contract_service.details_from_award(session, lot, made)
    contract = contract_service.create_contract_from_award(session, lot, details, None, made)
    assert contract_service.is_live(contract, utcnow().date())
    return contract


def test_matching_proposes_the_free_block_place_ahead_of_an_equal_spot_place(app, setup_session, signed_in_client):
    s = setup_session
    region = make_region(s, "T", ("Coventry", "Warwickshire"))
    # Two homes alike in every way the engine weighs; the spot one is older, so an id tie-break would pick it.
    spot = add_home(s, region.provider, "Spot House")
    block = add_home(s, region.provider, "Block House")
    contract = _award_block_contract(s, region, block)
    referral = add_referral(s, region.councils[0], "BLOCK-TEST-1")
    s.commit()

    officer = signed_in_client(region.people[Role.RCC_PLACEMENT_OFFICER])
    started = officer.post("/matching/runs/new", data={"scope": "all", "note": "Block places first"})
    assert started.status_code == 302, started.get_data(as_text=True)[:1000]
    result = BeautifulSoup(officer.get(started.headers["Location"]).get_data(as_text=True), "html.parser")
    rows = result.select("#proposals tbody tr")
    assert len(rows) == 1 and "Block House" in rows[0].get_text() and "Spot House" not in rows[0].get_text()

    proposal = s.scalars(select(Proposal).where(Proposal.referral_id == referral.id)).one()
    assert proposal.home_id == block.id != spot.id
    assert contract.id is not None
