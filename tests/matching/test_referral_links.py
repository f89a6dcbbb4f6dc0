"""A council's referral page links to its latest proposal, its offer and the home they name
(issue 19, item 10); commissioning's page gets them from matching through ``rcc.layout.record_links``."""

from __future__ import annotations

from bs4 import BeautifulSoup
from sqlalchemy import select

from matching.models import Proposal
from matching.services import jobs, review, runs
from rcc.db import transaction


def _links(client, referral_id):  # type: ignore[no-untyped-def]
    response = client.get(f"/referrals/{referral_id}")
    assert response.status_code == 200
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    heading = page.find("h2", string="Matching")
    return {} if heading is None else {a.get_text(strip=True): a["href"]
                                       for a in heading.find_next("ul").select("a")}


def test_the_referral_page_links_to_its_proposal_offer_and_home(app, session_for, scenario, signed_in_client):
    referral = scenario.referrals[0]
    council = signed_in_client(scenario.council_officer)
    assert _links(council, referral.id) == {}
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        started = runs.start_run(session, officer.rcc_id, runs.RunRequest())
    jobs.perform_run(app.extensions["rcc_sessions"], started.id, officer.rcc_id, officer.id)
    with transaction(session):
        proposal = session.scalars(select(Proposal).where(Proposal.referral_id == referral.id)).one()
        offer = review.accept_proposal(session, proposal)
    links = _links(council, referral.id)
    home = next(h for h in scenario.homes if h.id == offer.home_id)
    assert links == {f"The proposal from matching run {started.id}": f"/matching/proposals/{proposal.id}",
                     "The offer (awaiting provider)": f"/matching/offers/{offer.id}",
                     f"The home: {home.name}": f"/supply/homes/{home.id}"}
    for href in links.values():
        assert council.get(href).status_code == 200, href
