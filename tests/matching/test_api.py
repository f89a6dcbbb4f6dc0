"""Matching through the JSON API, with the same tenancy: run, proposals, offer, answer, approve, end."""

from __future__ import annotations

from datetime import date

from rcc import users
from rcc.roles import Role


def _headers(setup_session, user) -> dict[str, str]:
    _token, secret = users.create_api_token(setup_session, user, "test")
    setup_session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_the_whole_flow_through_the_api(client, setup_session, scenario):
    officer = _headers(setup_session, scenario.officer)
    provider = _headers(setup_session, scenario.provider_manager)
    council = _headers(setup_session, scenario.council_officer)
    other_council = _headers(setup_session, scenario.region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])

    started = client.post("/api/v1/matching/runs", json={"note": "API run"}, headers=officer)
    assert started.status_code == 201, started.get_json()
    run = started.get_json()
    assert (run["stage"], run["children"], run["placed"], run["unmatched"]) == ("done", 3, 2, 1)
    result = client.get(f"/api/v1/matching/runs/{run['id']}/result", headers=officer).get_json()
    assert result["result"]["status"] in ("optimal", "feasible") and len(result["proposals"]) == 3
    assert client.get(f"/api/v1/matching/runs/{run['id']}", headers=provider).status_code == 403

    proposal = next(p for p in result["proposals"] if p["home_id"] is not None)
    assert client.get(f"/api/v1/matching/proposals/{proposal['id']}", headers=council).status_code == 200
    assert client.get(f"/api/v1/matching/proposals/{proposal['id']}", headers=other_council).status_code == 404
    offer = client.post(f"/api/v1/matching/proposals/{proposal['id']}/accept", headers=officer)
    assert offer.status_code == 201, offer.get_json()
    offer_id = offer.get_json()["id"]
    again = client.post(f"/api/v1/matching/proposals/{proposal['id']}/accept", headers=officer)
    assert again.status_code == 409 and "already been decided" in again.get_json()["message"]

    seen = client.get("/api/v1/provider/offers", headers=provider).get_json()
    assert [o["id"] for o in seen] == [offer_id]
    assert "referral_id" not in seen[0] and "council_id" not in seen[0]
    assert set(seen[0]["profile"]) >= {"age_band", "sex", "needs", "summary", "distance_band", "date_needed"}
    assert client.get("/api/v1/matching/offers", headers=provider).status_code == 403
    accepted = client.post(f"/api/v1/provider/offers/{offer_id}/accept", headers=provider)
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"

    missing = client.post(f"/api/v1/matching/offers/{offer_id}/approve", json={}, headers=council)
    assert missing.status_code == 422 and set(missing.get_json()["errors"]["json"]) == {"start_date", "weekly_cost"}
    placed = client.post(f"/api/v1/matching/offers/{offer_id}/approve",
                         json={"start_date": date.today().isoformat(), "weekly_cost": 480_000}, headers=council)
    assert placed.status_code == 201, placed.get_json()
    placement = placed.get_json()
    assert placement["weekly_cost"] == 480_000 and placement["funding"] == "spot"

    ended = client.post(f"/api/v1/matching/placements/{placement['id']}/end",
                        json={"end_date": date.today().isoformat(), "reason_code": "CARPL"}, headers=council)
    assert ended.status_code == 200 and ended.get_json()["end_reason"] == "CARPL"
    shortage = client.get("/api/v1/matching/shortage", headers=officer).get_json()
    assert shortage["run_id"] == run["id"] and shortage["unmatched_children"] == 1


def test_a_provider_declines_through_the_api_with_a_reason(client, setup_session, scenario):
    officer = _headers(setup_session, scenario.officer)
    provider = _headers(setup_session, scenario.provider_manager)
    run = client.post("/api/v1/matching/runs", json={}, headers=officer).get_json()
    proposals = client.get(f"/api/v1/matching/runs/{run['id']}/result", headers=officer).get_json()["proposals"]
    proposal = next(p for p in proposals if p["home_id"] is not None)
    offer_id = client.post(f"/api/v1/matching/proposals/{proposal['id']}/accept", headers=officer).get_json()["id"]
    refused = client.post(f"/api/v1/provider/offers/{offer_id}/decline", json={"reason": "nonsense"},
                          headers=provider)
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]["json"]
    declined = client.post(f"/api/v1/provider/offers/{offer_id}/decline",
                           json={"reason": "staffing", "details": "Two staff on leave"}, headers=provider)
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
