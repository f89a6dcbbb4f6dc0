from __future__ import annotations

from datetime import date, timedelta

import pytest

from commissioning.services import placements, referrals, supply
from rcc.errors import Conflict, FieldErrors
from tests.commissioning.world import child_details, home_details, referral_details


def approved(session, region, reference):
    referral = referrals.create_referral(session, region.councils[0], child_details(reference), referral_details())
    session.flush()
    for step in (referrals.submit_referral, referrals.start_matching, referrals.mark_offered,
                 referrals.approve_proposal):
        step(session, referral)
    return referral


def home_with_places(session, region, places):
    home = supply.create_home(session, region.provider, home_details("SC900", "Birch House"))
    session.flush()
    supply.set_vacancy(session, home, places, date.today())
    return home


def test_recording_a_placement_takes_a_place_and_marks_the_referral_placed(session, region):
    home = home_with_places(session, region, 1)
    referral = approved(session, region, "P-1")
    placement = placements.record_placement(session, referral, home, date.today(), 95000, "spot")
    assert referral.status == "placed"
    assert supply.vacancy_of(session, home).places_free == 0
    assert placement.provider_id == region.provider.id and placement.council_id == region.councils[0].id


def test_the_last_place_is_never_given_twice(session, region):
    home = home_with_places(session, region, 1)
    placements.record_placement(session, approved(session, region, "P-2"), home, date.today(), 95000, "spot")
    second = approved(session, region, "P-3")
    with pytest.raises(Conflict, match="no free place"):
        placements.record_placement(session, second, home, date.today(), 95000, "spot")
    assert second.status == "proposal_approved"


def test_a_placement_needs_an_approved_proposal_and_valid_terms(session, region):
    home = home_with_places(session, region, 2)
    referral = referrals.create_referral(session, region.councils[0], child_details("P-4"), referral_details())
    session.flush()
    with pytest.raises(Conflict):
        placements.record_placement(session, referral, home, date.today(), 95000, "spot")
    with pytest.raises(FieldErrors) as refused:
        placements.record_placement(session, referral, home, date.today(), 0, "block")
    assert {"weekly_cost", "block_contract_id"} <= set(refused.value.errors)


def test_ending_a_placement_frees_the_place_and_ends_the_referral(session, region):
    home = home_with_places(session, region, 1)
    referral = approved(session, region, "P-5")
    placement = placements.record_placement(session, referral, home, date.today() - timedelta(days=30), 95000, "spot")
    with pytest.raises(FieldErrors) as refused:
        placements.end_placement(session, placement, date.today() - timedelta(days=60), "NOPE")
    assert {"end_date", "reason_code"} <= set(refused.value.errors)
    placements.end_placement(session, placement, date.today(), "CARPL")
    assert supply.vacancy_of(session, home).places_free == 1
    assert referral.status == "ended" and placement.end_reason == "CARPL"
    with pytest.raises(Conflict):
        placements.end_placement(session, placement, date.today(), "CARPL")


def test_both_routes_end_a_placement_one_way_and_refuse_a_future_end_date(app, session, region, signed_in_client):
    """Issue 19, item 3: only matching's route refused an end date in the future."""
    from bs4 import BeautifulSoup
    from sqlalchemy import select

    from commissioning.models import Placement
    from rcc.notification_models import Notification
    from rcc.roles import Role

    home = home_with_places(session, region, 2)
    made = [placements.record_placement(session, approved(session, region, f"P-F{n}"), home,
                                        date.today() - timedelta(days=30), 95000, "spot") for n in (1, 2)]
    session.commit()
    tomorrow = date.today() + timedelta(days=1)
    council = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    pages = [(f"/placements/{made[0].id}/end", {"end_date": tomorrow.strftime("%d/%m/%Y"), "reason_code": "CARPL"}),
             (f"/matching/placements/{made[1].id}/end", {"end_day": str(tomorrow.day), "end_month": str(tomorrow.month),
                                                         "end_year": str(tomorrow.year), "reason_code": "CARPL"})]
    for url, data in pages:
        response = council.post(url, data=data)
        assert response.status_code in (200, 400), url
        summary = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(".govuk-error-summary")
        assert summary is not None and "cannot be in the future" in summary.get_text(), url
    session.expire_all()
    assert [p.end_date for p in session.scalars(select(Placement).order_by(Placement.id))] == [None, None]
    today = date.today()
    for url, data in pages:
        data = {**data, "end_date": today.strftime("%d/%m/%Y"), "end_day": str(today.day),
                "end_month": str(today.month), "end_year": str(today.year)}
        assert council.post(url, data=data).status_code == 302, url
    session.expire_all()
    assert [p.end_date for p in session.scalars(select(Placement).order_by(Placement.id))] == [today, today]
    told = session.scalars(select(Notification).where(Notification.event == "placement_ended")).all()
    assert sorted({n.dedupe_key for n in told}) == sorted(f"placement:{p.id}" for p in made)
