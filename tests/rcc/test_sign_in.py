from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import select

from rcc import users
from rcc.models import AuditEvent, UserSession, utcnow
from rcc.roles import Role
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import make_region


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "North", ("Coventry", "Warwickshire"))


def test_wrong_password_is_refused_with_a_message_on_the_email_field(client, region):
    user = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    response = client.post("/sign-in", data={"email": user.email, "password": "not-the-password"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "Enter a correct email address and password" in page
    assert 'href="#email"' in page
    assert client.get("/").status_code == 302  # still not signed in


def test_unknown_email_gets_the_same_message_as_a_wrong_password(client, region):
    response = client.post("/sign-in", data={"email": "nobody@example.org", "password": "whatever-it-is"})
    assert "Enter a correct email address and password" in response.get_data(as_text=True)


def test_empty_form_names_each_missing_field(client, region):
    page = client.post("/sign-in", data={}).get_data(as_text=True)
    assert "Enter your email address" in page
    assert "Enter your password" in page


def test_repeated_failures_make_the_address_wait_rather_than_lock_it_for_good(client, region, setup_session):
    user = region.people[Role.RCC_PLACEMENT_OFFICER]
    for _ in range(users.FREE_ATTEMPTS):
        client.post("/sign-in", data={"email": user.email, "password": "wrong-password-here"})
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    assert "You have tried to sign in too many times. Try again in 1 minute." in response.get_data(as_text=True)
    actions = setup_session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))).all()
    assert "user.locked" in actions


def test_two_factor_is_required_for_council_and_rcc_users(client, region):
    user = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"].endswith("/sign-in/security-code")
    assert client.get("/").status_code == 302, "password alone must not sign a council user in"
    wrong = client.post("/sign-in/security-code", data={"code": "000000"})
    assert "The code is not right" in wrong.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # A wrong code ends the half-signed-in state: the password comes first again.
    client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    right = client.post("/sign-in/security-code", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert right.status_code == 302
    assert client.get("/").status_code == 200


def test_council_user_without_authenticator_must_set_one_up(client, region, setup_session):
    user = region.people[Role.COUNCIL_ADMIN]
    user.totp_secret = None
    setup_session.commit()
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"].endswith("/sign-in/set-up-authenticator")
    page = client.get("/sign-in/set-up-authenticator").get_data(as_text=True)
    assert "Set up your authenticator app" in page
    with client.session_transaction() as flask_session:
        secret = flask_session["pending_totp_secret"]
    response = client.post("/sign-in/set-up-authenticator", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    setup_session.refresh(user)
    assert user.totp_secret == secret


def test_provider_signs_in_with_password_alone(client, region):
    sign_in(client, region.people[Role.PROVIDER_MANAGER])
    assert "Provider manager" in client.get("/").get_data(as_text=True)


def test_csrf_token_missing_is_rejected(database_url, region):
    from rcc.app import create_app

    app = create_app({"RCC_ENV": "testing", "DATABASE_URL": database_url, "WTF_CSRF_ENABLED": True})
    try:
        user = region.people[Role.PROVIDER_MANAGER]
        response = app.test_client().post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
        assert response.status_code == 400
        assert "This page has expired" in response.get_data(as_text=True)
    finally:
        app.extensions["rcc_engine"].dispose()


def test_responses_carry_security_headers(client):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"]
    assert "<script>" not in response.get_data(as_text=True), "no inline script may appear"


def test_session_cookie_is_httponly_and_samesite(client, region):
    response = client.post("/sign-in", data={"email": region.people[Role.PROVIDER_MANAGER].email,
                                              "password": TEST_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure(database_url):
    from rcc.app import create_app

    app = create_app({"RCC_ENV": "production", "SECRET_KEY": "x" * 40, "DATABASE_URL": database_url,
                      "RCC_TOTP_KEY": "A" * 43 + "="})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    app.extensions["rcc_engine"].dispose()


def later(monkeypatch, **shift):  # type: ignore[no-untyped-def]
    """Move the platform's clock on by ``shift`` (as if that much time had passed)."""
    monkeypatch.setattr(users, "utcnow", lambda: utcnow() + timedelta(**shift))


def test_idle_session_is_signed_out(client, region, monkeypatch):
    sign_in(client, region.people[Role.PROVIDER_MANAGER])
    later(monkeypatch, minutes=31)
    response = client.get("/")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out because you had not used the service for a while" in page


def test_using_the_service_keeps_the_session_alive_without_a_new_cookie_on_every_page(client, region,
                                                                                      setup_session, monkeypatch):
    sign_in(client, region.people[Role.PROVIDER_MANAGER])
    later(monkeypatch, minutes=29)
    first = client.get("/")
    assert first.status_code == 200
    record = setup_session.scalars(select(UserSession)).one()
    assert users.utcnow() - record.last_seen_at < timedelta(seconds=5), "last seen moved on, on the server"
    later(monkeypatch, minutes=29 + 29)
    again = client.get("/")
    assert again.status_code == 200, "29 minutes after the last use is not idle for 30"
    assert "Set-Cookie" not in again.headers


def test_next_page_is_followed_only_within_the_site(client, region):
    user = region.people[Role.PROVIDER_MANAGER]
    response = client.post("/sign-in?next=https://evil.example.com/", data={"email": user.email,
                                                                           "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/"


def test_sign_out_ends_the_session(client, region):
    sign_in(client, region.people[Role.PROVIDER_MANAGER])
    client.post("/sign-out")
    assert client.get("/").status_code == 302


def test_deactivated_user_cannot_sign_in(client, region, setup_session):
    user = region.people[Role.PROVIDER_MANAGER]
    user.active = False
    setup_session.commit()
    page = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD}).get_data(as_text=True)
    assert "deactivated" in page
