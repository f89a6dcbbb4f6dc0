"""Onboarding a region: member councils, first admins, invitations and password resets by email (the
outbox), changing a password and the authenticator app."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from rcc import onboarding, users
from rcc.errors import Conflict, FieldErrors
from rcc.models import AuditEvent, Organisation, User
from rcc.roles import Role
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import make_region
from tests.rcc.outbox import emails_to, link_sent_to
from tests.totp import fresh_code


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "A", ("Coventry", "Warwickshire"))


def _actions(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    found = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
    session.commit()  # ends the read (SQLite would make the app's next write wait)
    return found


# Member councils -----------------------------------------------------------------------------

@pytest.mark.parametrize(("ons", "dfe", "field"), [
    ("E07000026", "331", "ons_code"),  # a district, not a children's services authority
    ("E0800002", "331", "ons_code"),
    ("W06000015", "331", "ons_code"),
    ("E08000099", "33", "dfe_code"),
    ("E08000099", "33a", "dfe_code"),
])
def test_council_codes_are_checked_and_the_field_named(setup_session, region, ons, dfe, field):
    with pytest.raises(FieldErrors) as raised:
        onboarding.add_council(setup_session, region.rcc, "Somewhere", ons, dfe)
    assert set(raised.value.errors) == {field}


def test_council_codes_are_unique_within_the_rcc(setup_session, region):
    coventry = region.councils[0]
    with pytest.raises(FieldErrors) as raised:
        onboarding.add_council(setup_session, region.rcc, "Another", coventry.ons_code, coventry.dfe_code)
    assert set(raised.value.errors) == {"ons_code", "dfe_code"}


def test_the_database_refuses_a_second_member_with_the_same_code(setup_session, region):
    from sqlalchemy.exc import IntegrityError

    setup_session.add(Organisation(kind="council", name="Copy", rcc_id=region.rcc.id,
                                   ons_code=region.councils[0].ons_code, dfe_code="999"))
    with pytest.raises(IntegrityError):
        setup_session.flush()
    setup_session.rollback()


def test_an_rcc_takes_twenty_councils_through_onboarding_and_no_more(setup_session, region):
    for n in range(18):
        onboarding.add_council(setup_session, region.rcc, f"Council {n}", f"E06{n:06d}", f"{n + 100:03d}")
    with pytest.raises(Conflict, match="already has 20 member councils"):
        onboarding.add_council(setup_session, region.rcc, "One too many", "E06999999", "999")


def test_rcc_admin_adds_a_council_and_its_first_admin_is_emailed_an_invitation(app, region, setup_session):
    client = sign_in(app.test_client(), region.people[Role.RCC_ADMIN])
    bad = client.post("/admin/organisations/add-council", data={"name": "Solihull", "ons_code": "X", "dfe_code": "1"})
    assert bad.status_code == 400
    assert "The ONS code must be E06, E08, E09 or E10" in bad.get_data(as_text=True)
    done = client.post("/admin/organisations/add-council",
                       data={"name": "Solihull", "ons_code": "e08000029", "dfe_code": "334"})
    assert done.status_code == 302
    setup_session.expire_all()
    council = setup_session.scalars(select(Organisation).where(Organisation.name == "Solihull")).one()
    assert (council.kind, council.ons_code, council.dfe_code, council.rcc_id) == ("council", "E08000029", "334",
                                                                                   region.rcc.id)
    invited = client.post(f"/admin/organisations/{council.id}/invite-admin",
                          data={"admin_name": "Sol Admin", "admin_email": "sol.admin@example.org"})
    assert invited.status_code == 302
    page = client.get("/admin/organisations").get_data(as_text=True)
    assert "Invitation sent to sol.admin@example.org" in page and "/invite/" not in page
    person = setup_session.scalars(select(User).where(User.email == "sol.admin@example.org")).one()
    assert (person.organisation_id, person.roles) == (council.id, ["council_admin"])
    [email] = emails_to(setup_session, "sol.admin@example.org", "invitation")
    assert email.email_backend == "outbox" and email.email_status == "sent"
    assert _actions(setup_session, "organisation.admin_invited")[0].object_id == str(council.id)
    # Only the first: after that the council's admins invite their own people.
    again = client.post(f"/admin/organisations/{council.id}/invite-admin",
                        data={"admin_name": "Second", "admin_email": "second@example.org"})
    assert "already has people" in again.get_data(as_text=True)

    newcomer = app.test_client()
    newcomer.get(link_sent_to(setup_session, "sol.admin@example.org", "invitation"), follow_redirects=True)
    with newcomer.session_transaction() as flask_session:
        secret = next(v for k, v in flask_session.items() if k.startswith("invite_secret_"))
    assert newcomer.post("/invite/accept", data={"password": "a-good-long-password",
                                                 "code": fresh_code(secret)}).status_code == 302


def test_only_the_rcc_admin_adds_councils(app, region):
    for role in (Role.COUNCIL_ADMIN, Role.RCC_PLACEMENT_OFFICER, Role.PROVIDER_MANAGER):
        client = sign_in(app.test_client(), region.people[role])
        assert client.get("/admin/organisations/add-council").status_code == 403


def test_a_provider_manager_invites_their_own_people_by_email(app, region, setup_session):
    client = sign_in(app.test_client(), region.people[Role.PROVIDER_MANAGER])
    page = client.post("/admin/people/invite", data={"name": "Colleague", "email": "colleague@example.org",
                                                     "roles": ["provider_manager"]})
    assert "We have emailed colleague@example.org" in page.get_data(as_text=True)
    assert link_sent_to(setup_session, "colleague@example.org", "invitation").startswith("/invite/")


# Forgot password -----------------------------------------------------------------------------

def test_forgot_password_emails_a_single_use_link_and_says_the_same_for_unknown_addresses(app, region,
                                                                                          setup_session):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    known = app.test_client().post("/forgot-password", data={"email": officer.email.upper()})
    unknown = app.test_client().post("/forgot-password", data={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
    assert emails_to(setup_session, "nobody@example.org") == []
    path = link_sent_to(setup_session, officer.email, "password_reset")
    setup_session.expire_all()
    stored = setup_session.get(User, officer.id)
    token = path.rsplit("/", 1)[1]
    assert stored.reset_token_hash == users.hash_token(token) and token not in stored.reset_token_hash

    other_browser = sign_in(app.test_client(), officer)
    browser = app.test_client()
    assert browser.get(path).status_code == 302
    assert browser.post("/reset-password", data={"password": "short"}).status_code == 400
    assert browser.post("/reset-password", data={"password": "a-brand-new-password"}).status_code == 302
    assert other_browser.get("/").status_code == 302, "a new password ends every session from before"
    assert app.test_client().get(path, follow_redirects=True).status_code == 404, "the link works once"
    assert browser.post("/sign-in", data={"email": officer.email, "password": TEST_PASSWORD}).status_code == 200
    assert browser.post("/sign-in", data={"email": officer.email,
                                          "password": "a-brand-new-password"}).status_code == 302
    assert len(_actions(setup_session, "user.password_reset")) == 1


def test_a_reset_link_expires(app, region, setup_session):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    app.test_client().post("/forgot-password", data={"email": officer.email})
    path = link_sent_to(setup_session, officer.email, "password_reset")
    stored = setup_session.get(User, officer.id)
    stored.reset_expires_at = stored.reset_expires_at - onboarding.RESET_LIFETIME - timedelta(seconds=1)
    setup_session.commit()
    assert app.test_client().get(path, follow_redirects=True).status_code == 404


def test_forgot_password_is_throttled_like_sign_in(app, region):
    client = app.test_client()
    answers = [client.post("/forgot-password", data={"email": f"n{i}@example.org"}) for i in range(6)]
    assert [a.status_code for a in answers[:4]] == [200] * 4
    assert "Try again in" in answers[-1].get_data(as_text=True)


# Your account --------------------------------------------------------------------------------

def test_changing_a_password_needs_the_current_one(app, region, setup_session):
    finance = region.people[Role.COUNCIL_FINANCE_LEAD]
    client = sign_in(app.test_client(), finance)
    wrong = client.post("/account/password", data={"current_password": "not-it-at-all",
                                                   "password": "another-long-password"})
    assert wrong.status_code == 400 and "Your current password is not right" in wrong.get_data(as_text=True)
    assert client.post("/account/password", data={"current_password": TEST_PASSWORD,
                                                   "password": "another-long-password"}).status_code == 302
    assert len(_actions(setup_session, "user.password_changed")) == 1
    sign_in(app.test_client(), finance, password="another-long-password")


def test_a_new_authenticator_needs_a_code_from_the_current_one(app, region, setup_session):
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    client = sign_in(app.test_client(), officer)
    client.get("/account/authenticator")
    with client.session_transaction() as flask_session:
        new_secret = flask_session["reenrol_totp_secret"]
    wrong = client.post("/account/authenticator", data={"current_code": "000000",
                                                        "code": fresh_code(new_secret)})
    assert wrong.status_code == 400 and "The code is not right" in wrong.get_data(as_text=True)
    done = client.post("/account/authenticator", data={"current_code": fresh_code(officer.totp_secret),
                                                       "code": fresh_code(new_secret)})
    assert done.status_code == 302
    setup_session.expire_all()
    assert setup_session.get(User, officer.id).totp_secret == new_secret
    setup_session.commit()
    assert len(_actions(setup_session, "user.two_factor_reenrolled")) == 1
    sign_in(app.test_client(), SimpleNamespace(email=officer.email, totp_secret=new_secret))  # the new app's code


def test_changing_a_password_or_authenticator_ends_every_other_session(app, region, setup_session):
    """Someone who fears a stolen session changes their password: the other session is signed out."""
    officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    here, elsewhere = sign_in(app.test_client(), officer), sign_in(app.test_client(), officer)
    assert elsewhere.get("/account").status_code == 200
    assert here.post("/account/password", data={"current_password": TEST_PASSWORD,
                                                 "password": "another-long-password"}).status_code == 302
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302  # back to sign in
    other = sign_in(app.test_client(), officer, password="another-long-password")
    here.get("/account/authenticator")
    with here.session_transaction() as flask_session:
        new_secret = flask_session["reenrol_totp_secret"]
    assert here.post("/account/authenticator", data={"current_code": fresh_code(officer.totp_secret),
                                                     "code": fresh_code(new_secret)}).status_code == 302
    assert here.get("/account").status_code == 200
    assert other.get("/account").status_code == 302


def test_a_reset_link_is_redacted_from_the_access_log():
    from rcc.logs import INVITE_PATH  # noqa: PLC0415

    line = '127.0.0.1 - - "GET /reset-password/abcDEF123_-xyz HTTP/1.1" 302 -'
    assert "abcDEF123" not in INVITE_PATH.sub(r"\1[redacted]", line)
    assert "/reset-password/[redacted]" in INVITE_PATH.sub(r"\1[redacted]", line)


def test_behind_a_proxy_one_visitor_asking_for_resets_does_not_lock_the_form_for_everyone(app, region):
    """Behind nginx every request comes from the proxy's address: with the proxy's hops set, the back-off
    counts each visitor's own address (X-Forwarded-For), so one visitor never locks everyone out."""
    from werkzeug.middleware.proxy_fix import ProxyFix  # noqa: PLC0415

    from rcc.app import create_app  # noqa: PLC0415

    assert isinstance(create_app({"RCC_ENV": "testing", "RCC_PROXY_HOPS": 1, "DATABASE_URL": app.config["DATABASE_URL"],
                                  "REDIS_URL": None}).wsgi_app, ProxyFix)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    pest, neighbour = app.test_client(), app.test_client()
    answers = [pest.post("/forgot-password", data={"email": f"n{i}@example.org"}, environ_base=proxy,
                         headers={"X-Forwarded-For": "198.51.100.9"}) for i in range(6)]
    assert "Try again in" in answers[-1].get_data(as_text=True)
    other = neighbour.post("/forgot-password", data={"email": "someone@example.org"}, environ_base=proxy,
                           headers={"X-Forwarded-For": "198.51.100.10"})
    assert other.status_code == 200 and "Try again in" not in other.get_data(as_text=True)
