"""What people see when they lose a race: a 409 page saying plainly what happened, nothing written.

Sequential (the second request comes after the first), so these hold the same on SQLite and
PostgreSQL; the races themselves are in test_races.py.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from commissioning.lifecycle import OFFERED, WITHDRAWN
from commissioning.models import Placement, Referral, Vacancy
from matching.models import PROVIDER_ACCEPTED, Offer, Proposal
from matching.models import WITHDRAWN as OFFER_WITHDRAWN
from tests.concurrency import world


def _end_form(today: date) -> dict[str, str]:
    return {"end_day": str(today.day), "end_month": str(today.month), "end_year": str(today.year),
            "reason_code": "CHILD"}


def test_ending_a_placement_someone_has_just_ended_is_a_409_and_frees_one_place(
        setup_session, region, council_officers, signed_in_client):
    home = world.home(setup_session, region.provider, places=2)
    placement = world.placed(setup_session, region.councils[0], home)
    setup_session.commit()
    first, second = (signed_in_client(person) for person in council_officers)
    # The second officer opened the page before the first ended the placement.
    assert second.get(f"/matching/placements/{placement.id}/end").status_code == 200
    assert first.post(f"/matching/placements/{placement.id}/end", data=_end_form(date.today())).status_code == 302
    response = second.post(f"/matching/placements/{placement.id}/end", data=_end_form(date.today()))
    assert response.status_code == 409
    assert "already ended" in response.get_data(as_text=True)
    setup_session.expire_all()
    assert setup_session.scalars(select(Vacancy.places_free).where(Vacancy.home_id == home.id)).one() == 2


def test_a_superseded_proposal_shows_no_accept_and_refuses_a_decision(setup_session, region, rcc_officers,
                                                                      signed_in_client):
    child = world.referral(setup_session, region.councils[0])
    homes = [world.home(setup_session, region.provider), world.home(setup_session, region.provider)]
    older = world.finished_run(setup_session, region.rcc, [(child, homes[0])])[0]
    newer = world.finished_run(setup_session, region.rcc, [(child, homes[1])])[0]
    setup_session.commit()
    client = signed_in_client(rcc_officers[0])
    page = client.get(f"/matching/proposals/{older.id}").get_data(as_text=True)
    assert "Accept and send offer" not in page
    assert "A newer matching run has replaced this one" in page
    assert "Accept and send offer" in client.get(f"/matching/proposals/{newer.id}").get_data(as_text=True)
    response = client.post(f"/matching/proposals/{older.id}/accept")
    assert response.status_code == 409
    assert "A newer matching run has replaced this one" in response.get_data(as_text=True)
    setup_session.expire_all()
    assert setup_session.get(Proposal, older.id).status == "proposed"
    assert setup_session.scalars(select(Offer).where(Offer.referral_id == child.id)).all() == []
    assert client.post(f"/matching/proposals/{newer.id}/accept").status_code == 302


def test_withdrawing_a_referral_someone_has_just_placed_is_a_409(setup_session, region, council_officers,
                                                                 signed_in_client):
    home = world.home(setup_session, region.provider)
    offer = world.offered(setup_session, region.councils[0], home, PROVIDER_ACCEPTED)
    setup_session.commit()
    approver, withdrawer = (signed_in_client(person) for person in council_officers)
    assert withdrawer.get(f"/referrals/{offer.referral_id}/withdraw").status_code == 200
    today = date.today()
    approved = approver.post(f"/matching/approvals/{offer.id}/approve", data={
        "start_day": today.day, "start_month": today.month, "start_year": today.year, "weekly_cost": "5000"})
    assert approved.status_code == 302, approved.get_data(as_text=True)
    response = withdrawer.post(f"/referrals/{offer.referral_id}/withdraw", data={"reason": "Moving to her aunt"})
    assert response.status_code == 409
    assert "A referral that is &#39;Placed&#39; cannot become &#39;Withdrawn&#39;" in response.get_data(as_text=True)
    setup_session.expire_all()
    assert setup_session.get(Referral, offer.referral_id).status == "placed"


def test_an_offer_for_a_withdrawn_child_can_be_withdrawn_to_release_its_place(setup_session, region, rcc_officers,
                                                                             signed_in_client):
    home = world.home(setup_session, region.provider)
    offer = world.offered(setup_session, region.councils[0], home, PROVIDER_ACCEPTED)
    referral = setup_session.get(Referral, offer.referral_id)
    assert referral.status == OFFERED
    referral.status = WITHDRAWN  # the council withdrew the child while the provider's acceptance stood
    setup_session.commit()
    response = signed_in_client(rcc_officers[0]).post(f"/matching/offers/{offer.id}/withdraw",
                                                      data={"reason": "The council withdrew the child"})
    assert response.status_code == 302, response.get_data(as_text=True)
    setup_session.expire_all()
    assert setup_session.get(Offer, offer.id).status == OFFER_WITHDRAWN
    assert setup_session.get(Referral, offer.referral_id).status == WITHDRAWN
    assert setup_session.scalars(select(Placement)).all() == []
