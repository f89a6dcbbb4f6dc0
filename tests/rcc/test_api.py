"""The JSON API: token authentication, tenancy, and its OpenAPI document."""

import pytest
from bs4 import BeautifulSoup

from rcc.roles import Role
from tests.conftest import sign_in
from tests.factories import make_region


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "A", ("Coventry", "Warwickshire"))


def _token_for(app, admin) -> str:
    client = sign_in(app.test_client(), admin)
    page = client.post("/admin/api-tokens", data={"name": "Case system", "scope": "read_write", "days": "90"})
    return BeautifulSoup(page.data, "html.parser").select_one("#new-token").text.strip()


def test_openapi_document_is_served_as_openapi_3_1(client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/me" in document["paths"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_api_needs_a_token_and_a_browser_session_is_not_enough(app, region):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert "Authorization" in response.get_json()["message"]


def test_token_acts_as_its_user_within_their_organisation(app, region, setup_session):
    other = make_region(setup_session, "B", ("Leicester", "Leicestershire"))
    admin = region.people[Role.COUNCIL_ADMIN]
    headers = {"Authorization": f"Bearer {_token_for(app, admin)}"}
    client = app.test_client()
    assert client.get("/api/v1/me", headers=headers).get_json()["email"] == admin.email
    names = {o["name"] for o in client.get("/api/v1/organisations", headers=headers).get_json()}
    assert "Coventry" in names and "Leicester" not in names and other.rcc.name not in names


def test_revoked_token_is_refused(app, region):
    admin = region.people[Role.RCC_ADMIN]
    token = _token_for(app, admin)
    client = sign_in(app.test_client(), admin)
    page = BeautifulSoup(client.get("/admin/api-tokens").data, "html.parser")
    client.post(page.select_one("form[action*=revoke]")["action"])
    assert app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_wrong_role_gets_403_json(app, region):
    admin = region.people[Role.RCC_ADMIN]
    token = _token_for(app, admin)
    # An RCC admin may read the audit trail, so use a token of someone who may not.
    from rcc import users
    from rcc.db import session_factory

    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    # The app's own login cannot act as the system, so the token is made in the officer's own scope.
    with session_factory(app.extensions["rcc_engine"])() as session, users.account_access(session, user_id=officer.id):
        _t, officer_token = users.create_api_token(session, officer, "officer")
        session.commit()
    client = app.test_client()
    assert client.get("/api/v1/audit-events", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    refused = client.get("/api/v1/audit-events", headers={"Authorization": f"Bearer {officer_token}"})
    assert refused.status_code == 403 and refused.is_json


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["code"] == 404
