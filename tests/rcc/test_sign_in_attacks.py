"""Issue 13, items 1-4: each attack on sign-in, made through the pages as an attacker would, fails.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from rcc import users
from rcc.models import AuditEvent, User, UserSession, utcnow
from rcc.roles import Role
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import make_region
from tests.totp import fresh_code


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "North", ("Coventry", "Warwickshire"))


def later(monkeypatch, **shift):  # type: ignore[no-untyped-def]
    """Move the platform's clock on by ``shift`` (as if that much time had passed)."""
    monkeypatch.setattr(users, "utcnow", lambda: utcnow() + timedelta(**shift))


def copy_of_cookie(app, client):  # type: ignore[no-untyped-def]
    """A second browser holding a copy of ``client``'s session cookie (stolen, or left behind)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    return thief


def signed_in(client) -> bool:  # type: ignore[no-untyped-def]
    return client.get("/").status_code == 200


def problem_on(page) -> str:  # type: ignore[no-untyped-def]
    return BeautifulSoup(page.data, "html.parser").select_one(".govuk-error-message").get_text(" ", strip=True)


# 1. Two-factor bypass and authenticator takeover --------------------------------------

def test_password_alone_cannot_enrol_a_new_authenticator_over_an_existing_one(client, region, setup_session):
    victim = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    original = victim.totp_secret
    client.post("/sign-in", data={"email": victim.email, "password": TEST_PASSWORD})  # the stolen password

    shown = client.get("/sign-in/set-up-authenticator")
    assert shown.status_code == 302 and shown.headers["Location"].endswith("/sign-in/security-code")
    assert original not in shown.get_data(as_text=True)

    attacker_secret = pyotp.random_base32()
    with client.session_transaction() as flask_session:
        flask_session["pending_totp_secret"] = attacker_secret
    posted = client.post("/sign-in/set-up-authenticator", data={"code": pyotp.TOTP(attacker_secret).now()})
    assert posted.headers["Location"].endswith("/sign-in/security-code")
    assert not signed_in(client)
    setup_session.expire_all()
    assert setup_session.get(User, victim.id).totp_secret == original
    sign_in(app_client := client.application.test_client(), victim)  # the owner still gets in
    assert signed_in(app_client)


def test_enrolling_refuses_to_replace_an_authenticator_set_up_meanwhile(client, region, setup_session):
    person = region.people[Role.COUNCIL_ADMIN]
    person.totp_secret = None
    setup_session.commit()
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    client.get("/sign-in/set-up-authenticator")
    person.totp_secret = owners = pyotp.random_base32()  # the owner enrolled in another browser first
    setup_session.commit()
    with client.session_transaction() as flask_session:
        secret = flask_session["pending_totp_secret"]
    client.post("/sign-in/set-up-authenticator", data={"code": pyotp.TOTP(secret).now()})
    assert not signed_in(client)
    setup_session.expire_all()
    assert setup_session.get(User, person.id).totp_secret == owners


def test_enrolment_is_audited_against_the_person_and_their_organisation(client, region, setup_session):
    person = region.people[Role.COUNCIL_ADMIN]
    person.totp_secret = None
    setup_session.commit()
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    client.get("/sign-in/set-up-authenticator")
    with client.session_transaction() as flask_session:
        secret = flask_session["pending_totp_secret"]
    client.post("/sign-in/set-up-authenticator", data={"code": pyotp.TOTP(secret).now()})
    assert signed_in(client)
    event = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.two_factor_set_up")).one()
    assert (event.user_id, event.organisation_id, event.rcc_id, event.object_id) == (
        person.id, person.organisation_id, person.rcc_id, str(person.id))
    assert "user: two factor set up" in client.get("/admin/audit-trail").get_data(as_text=True), \
        "the organisation's admins see it in their trail"


# 2. Sessions that end -------------------------------------------------------------------

def test_a_copied_cookie_stops_working_when_its_owner_signs_out(app, client, region):
    sign_in(client, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    thief = copy_of_cookie(app, client)
    assert signed_in(thief), "the copy works while the session is open (the attack is real)"
    client.post("/sign-out")
    assert not signed_in(thief)
    assert not signed_in(client)


def test_a_session_ends_12_hours_after_sign_in_however_busy(app, client, region, monkeypatch):
    app.config["SESSION_IDLE_TIMEOUT"] = timedelta(hours=24)  # so only the absolute lifetime can end it
    sign_in(client, region.people[Role.PROVIDER_MANAGER])
    thief = copy_of_cookie(app, client)
    later(monkeypatch, hours=11, minutes=59)
    assert signed_in(client)
    later(monkeypatch, hours=12, minutes=1)
    assert not signed_in(thief)
    response = client.get("/")
    assert response.status_code == 302
    assert "signed in more than 12 hours ago" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_deactivation_ends_sessions_for_good_even_if_the_person_is_reactivated(app, region):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    officer_client = sign_in(app.test_client(), officer)
    thief = copy_of_cookie(app, officer_client)
    admin_client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    admin_client.post(f"/admin/people/{officer.id}/deactivate")
    assert not signed_in(thief)
    admin_client.post(f"/admin/people/{officer.id}/reactivate")
    assert not signed_in(thief), "the old cookie must not come back to life"
    assert not signed_in(officer_client)


def test_resetting_the_authenticator_ends_the_persons_sessions(app, region):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    officer_client = sign_in(app.test_client(), officer)
    thief = copy_of_cookie(app, officer_client)
    admin_client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    admin_client.post(f"/admin/people/{officer.id}/reset-authenticator")
    assert not signed_in(thief)
    assert not signed_in(officer_client)


def test_signing_in_gives_a_new_session_id(app, client, region):
    person = region.people[Role.PROVIDER_MANAGER]
    sign_in(client, person)
    before = copy_of_cookie(app, client)
    client.post("/sign-out")
    sign_in(client, person)
    assert client.get_cookie("session").value != before.get_cookie("session").value
    assert not signed_in(before)
    assert signed_in(client)


def test_a_person_sees_their_sessions_and_ends_another_one(app, region, setup_session):
    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    laptop = sign_in(app.test_client(), person)
    phone = sign_in(app.test_client(), person)
    page = BeautifulSoup(laptop.get("/account/sessions").data, "html.parser")
    assert page.select_one("caption").get_text(strip=True) == "2 sessions"
    assert "This session" in page.get_text()
    forms = page.select("form[action*='/account/sessions/']")
    assert len(forms) == 1, "only the other session can be ended here; this one is ended by signing out"
    laptop.post(forms[0]["action"])
    assert not signed_in(phone)
    assert signed_in(laptop)
    ended = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "user_session.revoked")).one()
    assert ended.user_id == person.id


def test_nobody_can_end_someone_elses_session(app, region, setup_session):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    officer_client = sign_in(app.test_client(), officer)
    theirs = setup_session.scalars(select(UserSession.id).where(UserSession.user_id == officer.id)).one()
    other = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    assert other.post(f"/account/sessions/{theirs}/end").status_code == 404
    assert signed_in(officer_client)


# 3. A security code works once ----------------------------------------------------------

def test_a_security_code_cannot_be_used_twice(client, region):
    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    code = fresh_code(person.totp_secret)
    assert client.post("/sign-in/security-code", data={"code": code}).status_code == 302
    client.post("/sign-out")

    replayer = client.application.test_client()  # someone who saw the code over the person's shoulder
    replayer.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    replayed = replayer.post("/sign-in/security-code", data={"code": code})
    assert "The code is not right" in replayed.get_data(as_text=True)
    assert not signed_in(replayer)


def test_an_older_code_is_refused_once_a_newer_one_was_used(client, region):
    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    totp = pyotp.TOTP(person.totp_secret)
    step = totp.timecode(utcnow())
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    assert client.post("/sign-in/security-code", data={"code": totp.generate_otp(step + 1)}).status_code == 302
    client.post("/sign-out")
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    refused = client.post("/sign-in/security-code", data={"code": totp.generate_otp(step)})
    assert "The code is not right" in refused.get_data(as_text=True)


# 4. Back-off, not a permanent lock; one message whoever the address belongs to ----------

def test_ten_wrong_passwords_then_the_right_one_after_the_back_off_signs_in(client, region, monkeypatch):
    person = region.people[Role.PROVIDER_MANAGER]
    for _ in range(10):
        client.post("/sign-in", data={"email": person.email, "password": "wrong-password-here"})
    refused = client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    assert "Try again in" in refused.get_data(as_text=True)
    assert not signed_in(client)
    later(monkeypatch, hours=1, minutes=1)  # the longest wait is an hour
    sign_in(client, person)
    assert signed_in(client)


def test_the_wait_doubles_and_stops_at_an_hour(client, region, monkeypatch):
    person = region.people[Role.PROVIDER_MANAGER]

    def wrong() -> str:
        return problem_on(client.post("/sign-in", data={"email": person.email, "password": "wrong-password"}))

    messages = [wrong() for _ in range(users.FREE_ATTEMPTS)]
    assert messages[:-1] == ["Error: Enter a correct email address and password"] * (users.FREE_ATTEMPTS - 1)
    waits, elapsed = [messages[-1].split("Try again in ")[1]], 0
    for minutes in (1, 2, 4, 8, 16, 32, 60, 60):
        elapsed += minutes
        later(monkeypatch, minutes=elapsed, seconds=1)  # each wait over, the next wrong password
        waits.append(wrong().split("Try again in ")[1])
    assert waits == ["1 minute.", "2 minutes.", "4 minutes.", "8 minutes.", "16 minutes.", "32 minutes.",
                     "60 minutes.", "60 minutes.", "60 minutes."]


def test_failures_from_long_ago_are_forgotten(client, region, monkeypatch):
    person = region.people[Role.PROVIDER_MANAGER]
    for _ in range(users.FREE_ATTEMPTS):
        client.post("/sign-in", data={"email": person.email, "password": "wrong-password"})
    later(monkeypatch, days=1, minutes=1)
    typo = client.post("/sign-in", data={"email": person.email, "password": "wrong-password"})
    assert problem_on(typo) == "Error: Enter a correct email address and password"


def test_known_and_unknown_addresses_get_the_same_message_every_time(app, region):
    known = region.people[Role.COUNCIL_PLACEMENT_OFFICER].email
    unknown = "nobody-here@coventry.example.org"
    for attempt in range(11):
        for_known = problem_on(app.test_client().post("/sign-in", data={"email": known, "password": "wrong-pass-1"}))
        for_unknown = problem_on(app.test_client().post("/sign-in", data={"email": unknown,
                                                                          "password": "wrong-pass-1"}))
        assert for_known == for_unknown, f"attempt {attempt + 1}"
    assert "Try again in" in for_known


def test_wrong_security_codes_count_towards_the_back_off(client, region):
    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    for _ in range(users.FREE_ATTEMPTS):  # each wrong code ends the pending sign-in: password again
        client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
        last = client.post("/sign-in/security-code", data={"code": "000000"})
    assert "Try again in 1 minute" in last.get_data(as_text=True)
    refused = client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    assert "Try again in" in refused.get_data(as_text=True)
    assert client.post("/sign-in/security-code", data={"code": fresh_code(person.totp_secret)}).status_code == 302
    assert not signed_in(client)


# Half signed in: after the password, waiting for the code ---------------------------------

def test_a_pending_sign_in_expires_after_5_minutes(client, region, monkeypatch, setup_session):
    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    assert client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD}) \
        .headers["Location"].endswith("/sign-in/security-code")
    later(monkeypatch, minutes=5, seconds=1)
    # The right code for the (shifted) time is no use now: the password step must be done again.
    code = pyotp.TOTP(person.totp_secret).at(users.utcnow())
    refused = client.post("/sign-in/security-code", data={"code": code})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/sign-in")
    assert "You took more than 5 minutes" in client.get("/sign-in").get_data(as_text=True)
    assert not signed_in(client)
    setup_session.expire_all()
    stored = setup_session.get(User, person.id)
    assert stored.pending_sign_in_hash is None and stored.pending_sign_in_expires_at is None


def test_a_pending_sign_in_within_5_minutes_still_works(client, region, monkeypatch):
    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    later(monkeypatch, minutes=4, seconds=50)
    code = pyotp.TOTP(person.totp_secret).at(users.utcnow())
    assert client.post("/sign-in/security-code", data={"code": code}).status_code == 302
    assert signed_in(client)


def test_a_wrong_code_clears_the_pending_sign_in_on_the_server_too(app, client, region, setup_session):
    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    copy = copy_of_cookie(app, client)  # the half-signed-in cookie, copied before the wrong code
    wrong = client.post("/sign-in/security-code", data={"code": "000000"})
    assert wrong.status_code == 200 and "The code is not right. Sign in again" in wrong.get_data(as_text=True)
    setup_session.expire_all()
    assert setup_session.get(User, person.id).pending_sign_in_hash is None
    for browser in (client, copy):
        again = browser.post("/sign-in/security-code", data={"code": fresh_code(person.totp_secret)})
        assert again.headers["Location"].endswith("/sign-in")
        assert not signed_in(browser)


def test_a_pending_sign_in_is_bound_to_the_server_and_replaced_by_a_newer_one(app, client, region):
    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    old = copy_of_cookie(app, client)
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})  # a newer password step
    stale = old.post("/sign-in/security-code", data={"code": fresh_code(person.totp_secret)})
    assert stale.headers["Location"].endswith("/sign-in") and not signed_in(old)
    assert client.post("/sign-in/security-code", data={"code": fresh_code(person.totp_secret)}).status_code == 302
    assert signed_in(client)
    # Once signed in, the half-signed-in cookie from before can never be resumed.
    assert old.get("/sign-in/security-code").headers["Location"].endswith("/sign-in")


def test_a_forged_pending_cookie_without_the_password_step_gets_nowhere(app, region):
    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    forger = app.test_client()
    with forger.session_transaction() as flask_session:  # as if the secret key had leaked
        flask_session["pending_user_id"] = person.id
        flask_session["pending_sign_in"] = "guessed"
    response = forger.post("/sign-in/security-code", data={"code": fresh_code(person.totp_secret)})
    assert response.headers["Location"].endswith("/sign-in") and not signed_in(forger)
