"""Admins invite people (a one-time link, emailed), deactivate them and reset their 2FA."""

import re

import pyotp
import pytest
from bs4 import BeautifulSoup

from rcc.roles import Role
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import make_region
from tests.rcc.outbox import link_sent_to
from tests.totp import fresh_code


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "A", ("Coventry", "Warwickshire"))


def test_invited_person_creates_an_account_with_the_link_once(app, region, setup_session):
    admin_client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    invite_form = BeautifulSoup(admin_client.get("/admin/people/invite").data, "html.parser")
    offered_roles = {box["value"] for box in invite_form.select("input[name=roles]")}
    assert offered_roles == {"council_placement_officer", "council_finance_lead", "council_admin"}

    page = admin_client.post("/admin/people/invite", data={"name": "Jo Bloggs", "email": "jo@example.org",
                                                           "roles": ["council_finance_lead"]})
    assert "We have emailed jo@example.org" in page.get_data(as_text=True)
    assert "/invite/" not in page.get_data(as_text=True), "the link is emailed, never shown to the admin"
    link = path = link_sent_to(setup_session, "jo@example.org", "invitation")

    newcomer = app.test_client()
    assert "Create your account" in newcomer.get(path, follow_redirects=True).get_data(as_text=True)
    path = "/invite/accept"  # the token has moved from the address into the session
    with newcomer.session_transaction() as flask_session:
        secret = next(v for k, v in flask_session.items() if k.startswith("invite_secret_"))
    too_short = newcomer.post(path, data={"password": "short", "code": pyotp.TOTP(secret).now()})
    assert "Password must be 12 characters or more" in too_short.get_data(as_text=True)
    done = newcomer.post(path, data={"password": "a-good-long-password", "code": fresh_code(secret)})
    assert done.status_code == 302
    assert newcomer.get(re.sub(r"^https?://[^/]+", "", link)).status_code == 404, "the link works once"
    assert newcomer.get(path).status_code == 404

    newcomer.post("/sign-in", data={"email": "jo@example.org", "password": "a-good-long-password"})
    newcomer.post("/sign-in/security-code", data={"code": fresh_code(secret)})
    assert "Council finance lead" in newcomer.get("/").get_data(as_text=True)


def test_invite_form_errors_name_each_field(app, region):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    page = BeautifulSoup(client.post("/admin/people/invite", data={}).data, "html.parser")
    summary = [a.text for a in page.select(".govuk-error-summary a")]
    assert summary == ["Enter the person's full name", "Enter their email address", "Select at least one role"]


def test_deactivated_person_is_signed_out_on_their_next_request(app, region, setup_session):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    officer_client = sign_in(app.test_client(), officer)
    admin_client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    admin_client.post(f"/admin/people/{officer.id}/deactivate")
    assert officer_client.get("/").status_code == 302


def test_resetting_two_factor_makes_them_set_up_a_new_app(app, region, setup_session):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN]).post(
        f"/admin/people/{officer.id}/reset-authenticator")
    response = app.test_client().post("/sign-in", data={"email": officer.email, "password": "a-long-test-password-1"})
    assert response.headers["Location"].endswith("/sign-in/set-up-authenticator")


def test_admin_unlocks_a_locked_account(app, region, setup_session):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    for _ in range(10):
        app.test_client().post("/sign-in", data={"email": officer.email, "password": "wrong-password!"})
    refused = app.test_client().post("/sign-in", data={"email": officer.email, "password": TEST_PASSWORD})
    assert "Try again in" in refused.get_data(as_text=True)
    admin_client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    assert "Locked" in admin_client.get("/admin/people").get_data(as_text=True)
    assert "Unlock account" in admin_client.get(f"/admin/people/{officer.id}").get_data(as_text=True)
    admin_client.post(f"/admin/people/{officer.id}/unlock")
    assert "Unlock account" not in admin_client.get(f"/admin/people/{officer.id}").get_data(as_text=True)
    sign_in(app.test_client(), officer)  # at once, without waiting for the back-off


def test_admins_cannot_deactivate_themselves(app, region):
    admin = region.people[Role.RCC_ADMIN]
    client = sign_in(app.test_client(), admin)
    client.post(f"/admin/people/{admin.id}/deactivate")
    assert "cannot deactivate your own account" in client.get(f"/admin/people/{admin.id}").get_data(as_text=True)


def test_non_admins_are_refused_the_admin_pages(app, region):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert client.get("/admin/people").status_code == 403
