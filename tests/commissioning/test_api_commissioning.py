from __future__ import annotations

from datetime import date, timedelta

from rcc import users
from rcc.roles import Role
from tests.commissioning.world import home_details


def token_client(app, setup_session, user):
    _token, secret = users.create_api_token(setup_session, user, "test")
    setup_session.commit()
    return app.test_client(), {"Authorization": f"Bearer {secret}"}


def test_a_council_creates_and_submits_a_referral_through_the_api(app, region, setup_session):
    client, headers = token_client(app, setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    body = {"child": {"reference": "API-1", "initials": "JS", "birth_month": 3, "birth_year": date.today().year - 10,
                      "sex": "F", "legal_status": "C2", "category_of_need": "N1", "home_postcode": "CV1 2AB"},
            "placement_type": "foster_care", "urgency": "planned",
            "date_needed": (date.today() + timedelta(days=7)).isoformat(), "additional_support": "therapeutic_support"}
    created = client.post("/api/v1/referrals", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    referral = created.get_json()
    assert referral["status"] == "draft" and referral["child"]["initials"] == "JS"
    submitted = client.post(f"/api/v1/referrals/{referral['id']}/submit", headers=headers)
    assert submitted.get_json()["status"] == "submitted"
    again = client.post(f"/api/v1/referrals/{referral['id']}/submit", headers=headers)
    assert again.status_code == 409 and "cannot become 'Submitted'" in again.get_json()["message"]

    rcc, rcc_headers = token_client(app, setup_session, region.people[Role.RCC_PLACEMENT_OFFICER])
    seen = rcc.get("/api/v1/referrals", headers=rcc_headers).get_json()
    assert [r["id"] for r in seen] == [referral["id"]] and "initials" not in seen[0]["child"]


def test_the_api_names_bad_fields(app, region, setup_session):
    client, headers = token_client(app, setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    body = {"child": {"reference": "API-2", "birth_month": 13, "birth_year": 2015, "sex": "F", "legal_status": "C2",
                      "category_of_need": "N1", "home_postcode": "ZZ99 9ZZ"},
            "placement_type": "foster_care", "urgency": "planned", "date_needed": str(date.today())}
    response = client.post("/api/v1/referrals", json=body, headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"birth_month", "home_postcode"}


def test_a_provider_keeps_its_vacancy_up_to_date_through_the_api(app, region, setup_session):
    client, headers = token_client(app, setup_session, region.people[Role.PROVIDER_MANAGER])
    home = client.post("/api/v1/homes", json=vars(home_details("SC55", "Api House")),
                       headers=headers)
    assert home.status_code == 201, home.get_json()
    home_id = home.get_json()["id"]
    vacancy = client.put(f"/api/v1/homes/{home_id}/vacancy", json={"places_free": 2,
                                                                   "available_from": date.today().isoformat()},
                         headers=headers)
    assert vacancy.get_json()["places_free"] == 2 and vacancy.get_json()["stale"] is False
    renamed = client.put(f"/api/v1/homes/{home_id}", json={"name": "Renamed House"}, headers=headers)
    assert renamed.get_json()["name"] == "Renamed House" and renamed.get_json()["registered_places"] == 4
    council, council_headers = token_client(app, setup_session, region.people[Role.COUNCIL_FINANCE_LEAD])
    assert [h["name"] for h in council.get("/api/v1/homes", headers=council_headers).get_json()] == ["Renamed House"]
    assert council.put(f"/api/v1/homes/{home_id}/vacancy", json={}, headers=council_headers).status_code == 403


def test_ids_and_text_the_database_cannot_hold_are_refused_by_field(app, region, setup_session):
    client, headers = token_client(app, setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    body = {"child": {"reference": "API-3", "birth_month": 3, "birth_year": date.today().year - 10, "sex": "F",
                      "legal_status": "C2", "category_of_need": "N1", "home_postcode": "CV1 2AB"},
            "placement_type": "foster_care", "urgency": "planned", "date_needed": str(date.today()),
            "excluded_provider_ids": [2**40], "sibling_group_id": 2**31, "max_weekly_cost": 10**15,
            "child_wishes": "Near my school\x00"}
    response = client.post("/api/v1/referrals", json=body, headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"excluded_provider_ids", "sibling_group_id",
                                                          "max_weekly_cost", "child_wishes"}
    group = client.post("/api/v1/sibling-groups", json={"name": "Family \x00", "plan": "together"}, headers=headers)
    assert group.status_code == 422 and "NUL" in group.get_json()["errors"]["json"]["name"][0]


def test_a_homes_postcode_is_validated_by_the_directory_and_seen_only_by_the_rcc_and_its_provider(
        app, region, setup_session):
    client, headers = token_client(app, setup_session, region.people[Role.PROVIDER_MANAGER])
    outcode_only = client.post("/api/v1/homes", json=vars(home_details("SC56", "Vague House", postcode="CV1")),
                               headers=headers)
    assert outcode_only.status_code == 422 and "full postcode" in str(outcode_only.get_json())
    home = client.post("/api/v1/homes", json=vars(home_details("SC57", "Exact House", postcode="cv1 2ab")),
                       headers=headers).get_json()
    assert (home["postcode"], home["location_precision"]) == ("CV1 2AB", "postcode")
    assert (home["latitude"], home["longitude"]) == (52.403317, -1.499704)  # CV1 2AB's own centroid
    rcc, rcc_headers = token_client(app, setup_session, region.people[Role.RCC_PLACEMENT_OFFICER])
    assert rcc.get(f"/api/v1/homes/{home['id']}", headers=rcc_headers).get_json()["postcode"] == "CV1 2AB"
    council, council_headers = token_client(app, setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    seen = council.get(f"/api/v1/homes/{home['id']}", headers=council_headers).get_json()
    assert seen["name"] == "Exact House" and seen["local_authority"] == "Coventry"
    assert (seen["postcode"], seen["latitude"], seen["longitude"]) == (None, None, None)
    listed = council.get("/api/v1/homes", headers=council_headers).get_json()
    assert [h["postcode"] for h in listed] == [None]
