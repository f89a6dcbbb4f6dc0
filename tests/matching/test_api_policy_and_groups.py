"""The API for this round: the matching policy, a run's policy, accepting first choices in one step,
and a group offer answered whole through either child's offer."""

from __future__ import annotations

from sqlalchemy import delete, select

from commissioning.models import Vacancy
from matching.models import Offer
from rcc import users
from tests.matching import builders
from tests.matching.test_run_page import big_run  # noqa: F401 - the 183-proposal run fixture


def _headers(setup_session, user) -> dict[str, str]:
    _token, secret = users.create_api_token(setup_session, user, "test")
    setup_session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_the_policy_through_the_api(client, setup_session, scenario):
    officer = _headers(setup_session, scenario.officer)
    provider = _headers(setup_session, scenario.provider_manager)
    current = client.get("/api/v1/matching/policy", headers=officer).get_json()
    assert (current["id"], current["preset"], current["home_miles"]) == (None, "balanced", 10)
    assert current["trade_off"] == "1 mile nearer the child's home is worth £100 a week."

    bad = client.post("/api/v1/matching/policy", json={"home_miles": "far", "school_miles": [1],
                                                      "cost_per_100_pounds": 10, "rating_percent": 100,
                                                      "block_place_credit": 200, "sibling_split": 1000},
                      headers=officer)
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]["json"]) == {"home_miles", "school_miles"}, bad.get_json()

    saved = client.post("/api/v1/matching/policy", json={"home_miles": 30, "school_miles": 15,
                                                        "cost_per_100_pounds": 3, "rating_percent": 100,
                                                        "block_place_credit": 200, "sibling_split": 1000},
                        headers=officer)
    assert saved.status_code == 201, saved.get_json()
    assert (saved.get_json()["version"], saved.get_json()["preset"]) == (1, "closest")
    assert client.get("/api/v1/matching/policy", headers=provider).status_code == 403

    run = client.post("/api/v1/matching/runs", json={"note": "API run"}, headers=officer).get_json()
    assert run["policy_id"] == saved.get_json()["id"] and run["repeat_of_run_id"] is None


def test_first_choices_through_the_api(client, setup_session, scenario, big_run):  # noqa: F811
    run, expected = big_run
    officer = _headers(setup_session, scenario.officer)
    wrong = client.post(f"/api/v1/matching/runs/{run.id}/accept-first-choices", json={"expected": 3},
                        headers=officer)
    assert wrong.status_code == 409
    done = client.post(f"/api/v1/matching/runs/{run.id}/accept-first-choices", json={"expected": 95},
                       headers=officer)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["accepted"] == 95
    referral_of = dict(setup_session.execute(select(Offer.id, Offer.proposal_id)).all())
    assert sorted(referral_of[i] for i in done.get_json()["offer_ids"]) == sorted(expected)


def test_a_group_offer_through_the_api(client, setup_session, scenario):
    for home in scenario.homes:
        setup_session.execute(delete(Vacancy).where(Vacancy.home_id == home.id))
    council = scenario.region.councils[0]
    group = builders.add_sibling_group(setup_session, council, "Brothers")
    for n in (1, 2):
        builders.add_referral(setup_session, council, f"BRO-{n}", sibling_group=group, sex="M", age=12 + n)
    builders.add_home(setup_session, scenario.region.provider, "Ash House", places_free=2, max_sibling_group=2)
    for referral in scenario.referrals:
        referral.status = "draft"
    setup_session.commit()
    officer = _headers(setup_session, scenario.officer)
    provider = _headers(setup_session, scenario.provider_manager)
    run = client.post("/api/v1/matching/runs", json={"note": "Brothers"}, headers=officer).get_json()
    proposals = client.get(f"/api/v1/matching/runs/{run['id']}/result", headers=officer).get_json()["proposals"]
    assert len(proposals) == 2 and all(p["home_id"] for p in proposals)
    offer = client.post(f"/api/v1/matching/proposals/{proposals[0]['id']}/accept", headers=officer).get_json()
    assert offer["group_offer_id"] is not None
    seen = client.get("/api/v1/provider/offers", headers=provider).get_json()
    assert len(seen) == 2 and {o["group_offer_id"] for o in seen} == {offer["group_offer_id"]}
    other = next(o for o in seen if o["id"] != offer["id"])
    declined = client.post(f"/api/v1/provider/offers/{other['id']}/decline", json={"reason": "staffing"},
                           headers=provider)
    assert declined.status_code == 200, declined.get_json()
    after = client.get("/api/v1/provider/offers", headers=provider).get_json()
    assert {o["status"] for o in after} == {"declined"}
    assert client.post(f"/api/v1/provider/offers/{offer['id']}/accept", headers=provider).status_code == 409
