"""The cost API: same rules as the pages; a released report answers 409; a correction is a new version."""

from datetime import timedelta

import pytest

from rcc import users
from rcc.roles import Role
from tests.cost_transparency.conftest import TODAY


@pytest.fixture
def token(setup_session, region):
    def make(role):
        _token, secret = users.create_api_token(setup_session, region.people[role], "tests")
        setup_session.commit()
        return {"Authorization": f"Bearer {secret}"}
    return make


def test_publication_lifecycle_and_409_on_any_change_once_published(client, token, costed):
    headers = token(Role.RCC_COMMISSIONER)
    response = client.post("/api/v1/publications", headers=headers, json={
        "title": "Unit costs", "period_start": (TODAY - timedelta(days=364)).isoformat(),
        "period_end": TODAY.isoformat()})
    assert response.status_code == 201, response.json
    publication = response.json
    assert publication["status"] == "draft" and publication["snapshot"]["sections"]
    pid = publication["id"]
    assert client.patch(f"/api/v1/publications/{pid}", headers=headers, json={"title": "Renamed"}).status_code == 200
    assert client.post(f"/api/v1/publications/{pid}/publish", headers=headers).status_code == 409
    assert client.post(f"/api/v1/publications/{pid}/approve", headers=headers).status_code == 200
    assert client.patch(f"/api/v1/publications/{pid}", headers=headers, json={"title": "X"}).status_code == 409
    assert client.post(f"/api/v1/publications/{pid}/publish", headers=headers).json["status"] == "published"
    for method, path, body in (("patch", "", {"title": "X"}), ("delete", "", None), ("post", "/approve", None),
                               ("post", "/publish", None)):
        response = getattr(client, method)(f"/api/v1/publications/{pid}{path}", headers=headers, json=body)
        assert response.status_code == 409, (method, path, response.status_code)
    assert client.get(f"/api/v1/publications/{pid}", headers=headers).json["title"] == "Renamed"
    response = client.post(f"/api/v1/publications/{pid}/corrections", headers=headers, json={})
    assert response.status_code == 422
    response = client.post(f"/api/v1/publications/{pid}/corrections", headers=headers,
                           json={"changes": "Recounted Warwickshire"})
    assert response.status_code == 201 and response.json["version"] == 2


def test_cost_records_through_the_api_respect_the_council(client, token, region, costed):
    headers = token(Role.COUNCIL_FINANCE_LEAD)
    records = client.get("/api/v1/cost-records", headers=headers).json
    assert {r["council_id"] for r in records} == {region.councils[0].id}
    theirs = next(p for p in costed if p.council_id == region.councils[1].id)
    response = client.post("/api/v1/cost-records", headers=headers, json={
        "placement_id": theirs.id, "start_date": TODAY.isoformat(), "core_weekly": 500_000})
    assert response.status_code == 404
    ours = records[0]
    response = client.put(f"/api/v1/cost-records/{ours['id']}", headers=headers, json={
        "start_date": ours["start_date"], "core_weekly": 640_000, "additional_support_weekly": 20_000,
        "nhs_contribution_weekly": 10_000})
    assert response.status_code == 200, response.json
    assert response.json["gross_weekly"] == 660_000 and response.json["net_weekly"] == 650_000
    response = client.put(f"/api/v1/cost-records/{ours['id']}", headers=headers, json={
        "start_date": ours["start_date"], "core_weekly": 0})
    assert response.status_code == 422


def test_comparison_for_a_council_applies_disclosure_control(client, token, costed):
    own = client.get("/api/v1/cost-comparison", headers=token(Role.COUNCIL_FINANCE_LEAD)).json
    assert own["own"][0]["count"] == 7 and own["region"][0]["count"] == 12
    shifted = client.get(f"/api/v1/cost-comparison?from={own['from']}&to={own['to'][:-2]}{int(own['to'][-2:]) - 1:02d}",
                         headers=token(Role.COUNCIL_FINANCE_LEAD))
    assert shifted.status_code == 422 and "whole months and quarters" in shifted.json["errors"]["query"]["from"][0]
    assert client.get("/api/v1/provider-risk", headers=token(Role.COUNCIL_FINANCE_LEAD)).status_code == 403
    risk = client.get("/api/v1/provider-risk", headers=token(Role.RCC_COMMISSIONER)).json
    assert risk["spend_hhi"] > 0 and len(risk["groups"]) == 4  # three groups and the region's own provider


def test_amounts_and_ids_the_database_cannot_hold_are_refused_by_field(client, token, costed):
    response = client.post("/api/v1/cost-records", headers=token(Role.COUNCIL_FINANCE_LEAD), json={
        "placement_id": 2**40, "start_date": "0001-01-01", "core_weekly": 580000,
        "education_weekly": 5474397058131678, "notes": "Night staff\x00"})
    assert response.status_code == 422
    assert set(response.json["errors"]["json"]) == {"placement_id", "start_date", "education_weekly", "notes"}


def test_sufficiency_gives_each_type_and_its_forecast(client, token, costed):
    assert client.get("/api/v1/sufficiency", headers=token(Role.COUNCIL_FINANCE_LEAD)).status_code == 403
    response = client.get(f"/api/v1/sufficiency?on={TODAY.isoformat()}&horizon=12",
                          headers=token(Role.RCC_COMMISSIONER))
    assert response.status_code == 200, response.json
    snapshot = response.json
    assert snapshot["on"] == TODAY.isoformat()
    homes = next(row for row in snapshot["by_type"] if row["placement_type"] == "childrens_home")
    assert homes["placed"] == len(costed) and homes["in_area"] + homes["out_of_area"] == len(costed)
    # every type (and "other") has a forecast or the reason it has none (here: no 903 history imported)
    assert {f["placement_type"] for f in snapshot["forecast"]} == {row["placement_type"] for row in snapshot["by_type"]} | {"other"}
    assert all(f["points"] or "No SSDA903 history" in f["reason"] for f in snapshot["forecast"])
    assert client.get("/api/v1/sufficiency?on=9999-12-31", headers=token(Role.RCC_COMMISSIONER)).status_code == 422
