from datetime import date, timedelta

import pytest

from contracts.models import Bid
from rcc import users
from rcc.models import utcnow
from rcc.roles import Role
from tests.contracts.helpers import make_home, published_tender
from tests.factories import make_region


@pytest.fixture
def world(app, setup_session):
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    tender, lot = published_tender(setup_session, region, now=utcnow())
    home = make_home(setup_session, region.provider, "Oak House")
    tokens = {role: users.create_api_token(setup_session, region.people[role], "test")[1]
              for role in (Role.PROVIDER_MANAGER, Role.RCC_COMMISSIONER, Role.COUNCIL_FINANCE_LEAD)}
    setup_session.commit()
    return region, tender, lot, home, tokens


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_provider_bids_through_the_api_and_the_rcc_gets_404_until_bids_close(world, client, setup_session):
    region, tender, lot, home, tokens = world
    provider, rcc = auth(tokens[Role.PROVIDER_MANAGER]), auth(tokens[Role.RCC_COMMISSIONER])
    listed = client.get("/api/v1/tenders", headers=provider).get_json()
    assert [t["status"] for t in listed] == ["open"]
    questions = listed[0]["lots"][0]["questions"]
    body = {"weekly_price": 480000, "places_offered": 2, "home_ids": [home.id],
            "answers": {str(q["id"]): "Our answer" for q in questions}}
    response = client.put(f"/api/v1/lots/{lot.id}/bid", json=body, headers=provider)
    assert response.status_code == 200, response.get_json()
    bid_id = response.get_json()["id"]
    assert response.get_json()["result"] is None

    refused = client.put(f"/api/v1/lots/{lot.id}/bid", json={**body, "weekly_price": 9900000}, headers=provider)
    assert refused.status_code == 422
    assert "weekly_price" in refused.get_json()["errors"]["json"]

    assert client.get(f"/api/v1/bids/{bid_id}", headers=rcc).status_code == 404
    assert client.get(f"/api/v1/lots/{lot.id}/bids", headers=rcc).status_code == 404
    assert client.get(f"/api/v1/lots/{lot.id}/evaluation", headers=rcc).status_code == 404

    stored = setup_session.get(type(tender), tender.id)
    stored.clarification_closes_at = utcnow() - timedelta(days=2)
    stored.bids_close_at = utcnow() - timedelta(minutes=1)
    setup_session.commit()
    late = client.put(f"/api/v1/lots/{lot.id}/bid", json=body, headers=provider)
    assert late.status_code == 409
    assert client.get(f"/api/v1/bids/{bid_id}", headers=rcc).get_json()["weekly_price"] == 480000
    assert setup_session.get(Bid, bid_id).weekly_price == 480000


def test_the_commissioner_runs_a_tender_through_the_api(world, client, setup_session):
    region, _tender, _lot, home, tokens = world
    rcc = auth(tokens[Role.RCC_COMMISSIONER])
    now = utcnow()
    created = client.post("/api/v1/tenders", headers=rcc, json={
        "reference": "API-1", "title": "Through the API", "clarification_closes_at": (now + timedelta(days=10)).isoformat(),
        "bids_close_at": (now + timedelta(days=20)).isoformat(), "contract_start": str(date.today() + timedelta(days=60))})
    assert created.status_code == 201, created.get_json()
    tender_id = created.get_json()["id"]
    assert client.post(f"/api/v1/tenders/{tender_id}/publish", headers=rcc).status_code == 409  # no lots yet
    lot = client.post(f"/api/v1/tenders/{tender_id}/lots", headers=rcc, json={
        "title": "Lot", "placement_type": "childrens_home", "council_ids": [c.id for c in region.councils],
        "places": 2, "max_weekly_price": 500000, "term_months": 12, "price_weight": 70,
        "questions": [{"text": "Safety", "weight": 100}]})
    assert lot.status_code == 201, lot.get_json()
    published = client.post(f"/api/v1/tenders/{tender_id}/publish", headers=rcc)
    assert published.get_json()["status"] == "open"
    cancelled = client.post(f"/api/v1/tenders/{tender_id}/cancel", headers=rcc, json={"reason": "Test over"})
    assert cancelled.get_json()["status"] == "cancelled"


def test_contracts_through_the_api(world, client, setup_session):
    region, _tender, _lot, home, tokens = world
    rcc = auth(tokens[Role.RCC_COMMISSIONER])
    body = {"reference": "BC-1", "title": "Block", "provider_id": region.provider.id,
            "placement_type": "childrens_home", "start_date": "2026-04-01", "end_date": "2028-03-31",
            "weekly_price": 480000, "annual_uplift_bp": 250, "homes": {str(home.id): 2},
            "cost_shares_bp": {str(region.councils[0].id): 6000, str(region.councils[1].id): 3000}}
    refused = client.post("/api/v1/contracts", headers=rcc, json=body)
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["json"]["cost_shares"].endswith("they add up to 90%")
    body["cost_shares_bp"][str(region.councils[1].id)] = 4000
    created = client.post("/api/v1/contracts", headers=rcc, json=body)
    assert created.status_code == 201, created.get_json()
    contract_id = created.get_json()["id"]
    finance = auth(tokens[Role.COUNCIL_FINANCE_LEAD])
    assert [c["id"] for c in client.get("/api/v1/contracts", headers=finance).get_json()] == [contract_id]
    months = client.get(f"/api/v1/contracts/{contract_id}/utilisation", headers=finance).get_json()
    assert months[0]["month"] == "2026-04-01" and months[0]["occupied_place_days"] == 0
    places = client.get("/api/v1/block-places?on=2026-05-01", headers=rcc).get_json()
    assert places == [{"home_id": home.id, "contract_id": contract_id, "free_places": 2, "weekly_price": 480000}]


def test_a_contract_keyed_by_something_other_than_an_id_is_refused_by_field(world, client, setup_session):
    region, _tender, _lot, home, tokens = world
    body = {"reference": "BC-2", "title": "Block", "provider_id": region.provider.id,
            "placement_type": "childrens_home", "start_date": "2026-04-01", "end_date": "2028-03-31",
            "weekly_price": 480000, "homes": {"²": 2, str(2**40): 1},
            "cost_shares_bp": {str(region.councils[0].id): 10**12, str(region.councils[1].id): 10_000 - 10**12}}
    refused = client.post("/api/v1/contracts", headers=auth(tokens[Role.RCC_COMMISSIONER]), json=body)
    assert refused.status_code == 422
    assert set(refused.get_json()["errors"]["json"]) == {"homes", "cost_shares_bp"}
