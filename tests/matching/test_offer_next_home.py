"""After a provider declines, the RCC offers the child the next home the run found (issue 19 item 13)."""

from __future__ import annotations

from bs4 import BeautifulSoup
from sqlalchemy import select

from commissioning.models import Referral
from matching.models import Offer, Proposal
from rcc.models import AuditEvent
from tests.matching import builders


def _soup(response) -> BeautifulSoup:
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def test_after_a_decline_the_rcc_offers_the_next_home(signed_in_client, setup_session, scenario):
    builders.add_home(setup_session, scenario.region.provider, "Ash Court", postcode="CV3 4AA", places_free=2)
    setup_session.commit()
    officer = signed_in_client(scenario.officer)
    assert officer.post("/matching/runs/new", data={"scope": "all", "note": "Weekly run"}).status_code == 302
    proposal = setup_session.scalars(select(Proposal).where(Proposal.home_id.is_not(None))
                                     .order_by(Proposal.id)).first()
    assert officer.post(f"/matching/proposals/{proposal.id}/accept").status_code == 302
    first = setup_session.scalars(select(Offer).where(Offer.proposal_id == proposal.id)).one()
    provider = signed_in_client(scenario.provider_manager)
    declined = provider.post(f"/offers-for-your-homes/{first.id}/decline",
                             data={"reason": "other", "details": "No staff for this child"})
    assert declined.status_code == 302

    page = _soup(officer.get(f"/matching/offers/{first.id}"))
    heading = page.find("h2", string="Offer the next home")
    assert heading is not None
    choices = {label.get_text(strip=True): label for label in page.select("#next-home ~ form .govuk-radios__label")}
    assert choices and all(f"H{first.home_id}" != label.find_previous("input")["value"] for label in choices.values())

    refused = officer.post(f"/matching/offers/{first.id}/offer-next-home", data={"next-home_id": f"H{first.home_id}"})
    assert refused.status_code == 400  # the home that declined is not a next home

    key = page.select_one("#next-home ~ form input[type=radio]")["value"]
    assert key.startswith(("H", "F"))
    sent = officer.post(f"/matching/offers/{first.id}/offer-next-home", data={"next-home_id": key})
    assert sent.status_code == 302, sent.get_data(as_text=True)[:2000]
    setup_session.expire_all()
    second = setup_session.scalars(select(Offer).where(Offer.referral_id == first.referral_id,
                                                       Offer.id != first.id)).one()
    assert (second.place_key, second.status, second.proposal_id) == (key, "sent", proposal.id)
    assert setup_session.get(Referral, first.referral_id).status == "offered"
    assert setup_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "matching.offer.next_home_offered")).one().object_id == str(second.id)
    # Once the child has an offer waiting, the declined offer offers no next home.
    assert _soup(officer.get(f"/matching/offers/{first.id}")).find("h2", string="Offer the next home") is None
    again = officer.post(f"/matching/offers/{first.id}/offer-next-home", data={"next-home_id": key})
    assert again.status_code == 409
