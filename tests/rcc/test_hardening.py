"""Issue 13 items 5, 10 and 11: each attack performed through HTTP, pages and API, and refused."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from rcc.models import AuditEvent, User
from rcc.roles import Role
from tests.conftest import TEST_PASSWORD, sign_in
from tests.factories import make_region
from tests.rcc.outbox import emails_to

HUGE = str(2**63 + 5)  # more than any integer column, SQLite's included, can hold


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "A", ("Coventry", "Warwickshire"))


def _text(response) -> str:
    return " ".join(BeautifulSoup(response.data, "html.parser").get_text(" ").split())


# Inviting an address another organisation uses ---------------------------------------------

def _invite_page(response) -> str:
    """The invite page's text: the link is emailed, never on the page."""
    text = _text(response)
    assert "/invite/" not in text
    return text


def test_inviting_another_organisations_address_answers_exactly_as_an_invite_made(app, region, setup_session):
    import time

    other = make_region(setup_session, "B", ("Leicester", "Leicestershire"))
    elsewhere = other.people[Role.PROVIDER_MANAGER].email
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])

    def invite(address: str) -> tuple[object, float]:
        started = time.perf_counter()
        response = client.post("/admin/people/invite", data={"name": "Jo Bloggs", "email": address,
                                                              "roles": ["council_finance_lead"]})
        return response, time.perf_counter() - started

    made, refused, made_times, refused_times = [], [], [], []
    for attempt in range(3):
        response, seconds = invite(f"jo.bloggs{attempt}@new-address.example")
        made.append(response)
        made_times.append(seconds)
        response, seconds = invite(elsewhere.upper() if attempt else elsewhere)
        refused.append(response)
        refused_times.append(seconds)
    for fresh, taken in zip(made, refused, strict=True):
        assert taken.status_code == fresh.status_code == 200, "was a 500 naming nothing, which told the admin"
        assert _invite_page(taken).replace(elsewhere, "<address>") == \
            _invite_page(fresh).replace(_email_on(fresh), "<address>")
        assert other.provider.name not in _text(taken) and "B RCC" not in _text(taken)
    # The same order of magnitude of time: no slow or fast path gives it away.
    made_median, refused_median = sorted(made_times)[1], sorted(refused_times)[1]
    assert made_median / 10 < refused_median < made_median * 10
    # Nothing was written for the address elsewhere: its owner is untouched, and no invite was made.
    setup_session.expire_all()
    assert setup_session.scalars(select(User).where(User.email == elsewhere)).one().organisation_id \
        == other.provider.id
    invited = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.invited")).all()
    assert len(invited) == 3
    assert all(str(e.object_id) != str(other.people[Role.PROVIDER_MANAGER].id) for e in invited)
    # Nothing was emailed to the address elsewhere; each real invitation was.
    assert emails_to(setup_session, elsewhere) == []
    assert all(len(emails_to(setup_session, f"jo.bloggs{n}@new-address.example", "invitation")) == 1 for n in range(3))


def _email_on(response) -> str:
    return next(word for word in _text(response).split() if "@new-address.example" in word).rstrip(".")


def test_an_address_in_your_own_organisation_is_named_as_taken(app, region):
    own = region.people[Role.COUNCIL_FINANCE_LEAD].email
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_ADMIN])
    response = client.post("/admin/people/invite", data={"name": "Jo Bloggs", "email": own,
                                                          "roles": ["council_finance_lead"]})
    assert response.status_code == 200
    assert "This email address cannot be used for a new account" in _text(response)


# X-Request-Id ---------------------------------------------------------------------------------

@pytest.mark.parametrize("supplied", ["<script>alert(1)</script>", "a" * 41, "id with spaces", "x\u00e9"])
def test_a_clients_bad_request_id_is_replaced_not_stored(app, region, setup_session, supplied):
    person = region.people[Role.PROVIDER_MANAGER]
    app.test_client().post("/sign-in", data={"email": person.email, "password": "wrong-password-here"},
                           headers={"X-Request-Id": supplied})
    event = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.sign_in_failed")).one()
    assert event.request_id != supplied and len(event.request_id) == 32 and event.request_id.isalnum()


def test_a_clients_plain_request_id_is_kept_for_tracing(app, region, setup_session):
    person = region.people[Role.PROVIDER_MANAGER]
    app.test_client().post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD},
                           headers={"X-Request-Id": "gateway-7f3a.2_b"})
    event = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "user.signed_in")).one()
    assert event.request_id == "gateway-7f3a.2_b"


# Out-of-range pages, ids and dates --------------------------------------------------------------

@pytest.mark.parametrize("role, path, status", [
    (Role.RCC_ADMIN, f"/admin/audit-trail?page={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/referrals?page={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/referrals?council_id={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/supply?page={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/supply?provider_id={HUGE}", 404),
    (Role.PROVIDER_MANAGER, f"/your-homes?page={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/sufficiency?council={HUGE}", 404),
    (Role.RCC_COMMISSIONER, f"/supply/homes/{HUGE}", 404),
    (Role.RCC_COMMISSIONER, "/referrals?page=\u00b2", 200),  # '²' passes str.isdigit but not int()
])
def test_out_of_range_numbers_in_links_are_404_not_500(app, region, role, path, status):
    client = sign_in(app.test_client(), region.people[role])
    assert client.get(path).status_code == status


@pytest.mark.parametrize("role, path", [
    # A council's own view takes only fixed windows from a list (free dates are refused, 400:
    # tests/cost_transparency/test_views_costs.py), so it has no free date to bound.
    (Role.RCC_COMMISSIONER, "/costs/comparison?from=0001-01-01&to=9999-12-31"),
    (Role.RCC_COMMISSIONER, "/sufficiency?on=0001-01-01"),
])
def test_dates_no_service_can_count_from_are_refused_with_a_message(app, region, role, path):
    client = sign_in(app.test_client(), region.people[role])
    response = client.get(path)
    assert response.status_code == 200
    assert "Enter a date between 1 January 2000 and 31 December 2099" in _text(response)


def test_a_form_posting_a_huge_record_id_is_404_not_500(app, region):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert client.post(f"/sibling-groups/{HUGE}/add", data={"referral_id": "1"}).status_code == 404


# Ofsted ratings: only the import or the RCC sets them -------------------------------------------

def _provider_home(setup_session, region, rating="good"):
    from commissioning.services import supply
    from tests.commissioning.world import home_details

    home = supply.create_home(setup_session, region.provider, home_details("SC4242", "Good House"))
    home.ofsted_rating, home.rating_date = rating, None
    setup_session.commit()
    return home


def test_a_provider_cannot_rate_its_own_home_through_the_pages(app, region, setup_session):
    from commissioning.models import Home

    home = _provider_home(setup_session, region)
    provider = sign_in(app.test_client(), region.people[Role.PROVIDER_MANAGER])
    form = BeautifulSoup(provider.get(f"/supply/homes/{home.id}/edit").data, "html.parser")
    assert form.select("[name=ofsted_rating]") == [] and form.select("[name=rating_date]") == []
    fields = {"ofsted_urn": "SC4242", "name": "Good House", "placement_type": "foster_care",
              "local_authority": "Coventry", "registered_places": "4", "age_min": "0", "age_max": "17",
              "sexes": ["F", "M"], "max_sibling_group": "3", "active": "y",
              "ofsted_rating": "outstanding", "rating_date": "1/12/2026"}
    assert provider.post(f"/supply/homes/{home.id}/edit", data=fields).status_code == 302
    assert provider.post(f"/supply/homes/{home.id}/rating",
                         data={"ofsted_rating": "outstanding"}).status_code == 403
    setup_session.expire_all()
    assert setup_session.get(Home, home.id).ofsted_rating == "good"


def test_a_provider_cannot_rate_its_own_home_through_the_api(app, region, setup_session):
    from rcc import users

    home = _provider_home(setup_session, region)
    _token, secret = users.create_api_token(setup_session, region.people[Role.PROVIDER_MANAGER], "case system")
    setup_session.commit()
    client, headers = app.test_client(), {"Authorization": f"Bearer {secret}"}
    changed = client.put(f"/api/v1/homes/{home.id}", json={"ofsted_rating": "outstanding"}, headers=headers)
    assert changed.status_code == 422 and "ofsted_rating" in changed.get_json()["errors"]["json"]
    created = client.post("/api/v1/homes", headers=headers, json={
        "ofsted_urn": "SC4343", "name": "New House", "placement_type": "childrens_home",
        "local_authority": "Coventry", "registered_places": 4, "age_min": 11, "age_max": 17,
        "ofsted_rating": "outstanding"})
    assert created.status_code == 422 and "ofsted_rating" in created.get_json()["errors"]["json"]
    shown = client.get(f"/api/v1/homes/{home.id}", headers=headers).get_json()
    assert shown["ofsted_rating"] == "good"
    assert shown["rating_source"] == "Not yet confirmed by the Ofsted import or the RCC"


def test_the_service_refuses_a_rating_from_anyone_but_the_rcc(setup_session, region):
    from commissioning.services import supply
    from rcc.errors import Conflict

    home = _provider_home(setup_session, region)
    for role in (Role.PROVIDER_MANAGER, Role.COUNCIL_ADMIN):
        with pytest.raises(Conflict, match="Only the Ofsted import or someone at the RCC"):
            supply.set_rating(setup_session, home, "outstanding", None, region.people[role])
    assert home.ofsted_rating == "good"


def test_an_rcc_user_sets_a_rating_and_everyone_sees_who_and_when(app, region, setup_session):
    from datetime import date

    home = _provider_home(setup_session, region)
    rcc_person = region.people[Role.RCC_COMMISSIONER]
    client = sign_in(app.test_client(), rcc_person)
    bad = client.post(f"/supply/homes/{home.id}/rating", data={"ofsted_rating": "good", "rating_date": "1/1/2999"})
    assert "Date of the inspection" in _text(bad) or "31 December 2099" in _text(bad)
    done = client.post(f"/supply/homes/{home.id}/rating",
                       data={"ofsted_rating": "requires_improvement", "rating_date": "3/11/2026"})
    assert done.status_code == 302
    today = f"{date.today():%-d %B %Y}"
    for person in (region.people[Role.PROVIDER_MANAGER], region.people[Role.COUNCIL_PLACEMENT_OFFICER]):
        page = BeautifulSoup(sign_in(app.test_client(), person).get(f"/supply/homes/{home.id}").data, "html.parser")
        assert page.select_one("#rating-source").text == f"Set by {rcc_person.name} on {today}"
        assert "Requires improvement" in page.get_text()
    event = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "home.rating_set")).one()
    assert event.user_id == rcc_person.id and event.detail["previous"] == "good"


def test_the_ofsted_import_records_itself_as_the_source(app, region, setup_session):
    from datetime import date

    from commissioning.models import Home
    from commissioning.services.imports import import_ofsted

    import_ofsted(setup_session, region.rcc)
    setup_session.commit()
    home = setup_session.scalars(select(Home).where(Home.rating_date.is_not(None)).limit(1)).first()
    assert home is not None and home.rating_provenance == f"Ofsted import {date.today():%-d %B %Y}"


# API tokens: expiry, scope, and the 401 challenge ------------------------------------------------

def _token(app, admin, scope: str, days: str = "90") -> str:
    client = sign_in(app.test_client(), admin)
    page = client.post("/admin/api-tokens", data={"name": "Case system", "scope": scope, "days": days})
    return BeautifulSoup(page.data, "html.parser").select_one("#new-token").text.strip()


def test_a_read_only_token_reads_but_every_change_is_refused(app, region, setup_session):
    officer = region.people[Role.COUNCIL_ADMIN]
    headers = {"Authorization": f"Bearer {_token(app, officer, 'read_only')}"}
    client = app.test_client()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)("/api/v1/referrals", json={}, headers=headers)
        assert response.status_code == 403 and "read-only" in response.get_json()["message"], method
    refused = client.post("/api/v1/sibling-groups", json={"name": "Family Z"}, headers=headers)
    assert refused.status_code == 403


def test_a_token_stops_working_when_it_expires(app, region, setup_session):
    from datetime import timedelta

    from rcc.models import ApiToken, utcnow

    secret = _token(app, region.people[Role.RCC_ADMIN], "read_write", "30")
    token = setup_session.scalars(select(ApiToken)).one()
    assert timedelta(days=29) < token.expires_at - utcnow() <= timedelta(days=30)
    token.expires_at = utcnow() - timedelta(seconds=1)
    setup_session.commit()
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_a_token_cannot_be_made_to_last_more_than_a_year(app, region, setup_session):
    from rcc import users
    from rcc.errors import FieldError
    from rcc.models import ApiToken

    client = sign_in(app.test_client(), region.people[Role.RCC_ADMIN])
    page = client.post("/admin/api-tokens", data={"name": "Forever", "scope": "read_write", "days": "36500"})
    assert page.status_code == 200 and "#new-token" not in page.get_data(as_text=True)
    assert BeautifulSoup(page.data, "html.parser").select_one(".govuk-error-summary") is not None
    with pytest.raises(FieldError, match="1 year"):
        users.create_api_token(setup_session, region.people[Role.RCC_ADMIN], "Forever", days=367)
    assert setup_session.scalars(select(ApiToken)).all() == []


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer rcc_not-a-real-token"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_every_api_401_says_how_to_authenticate(client, headers):
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="RCC API"'


# Two-factor secrets at rest -----------------------------------------------------------------------

def test_two_factor_secrets_are_not_in_the_database_in_plain_text(app, region, owner_engine):
    import pyotp
    from sqlalchemy import text

    person = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    with owner_engine.connect() as connection:
        stored = connection.execute(text("SELECT totp_secret FROM user_account WHERE id = :id"),
                                    {"id": person.id}).scalar_one()
    assert person.totp_secret and person.totp_secret not in stored and stored.startswith("enc2:")
    # The app decrypts it with the key, so its owner still signs in with their authenticator.
    client = app.test_client()
    client.post("/sign-in", data={"email": person.email, "password": TEST_PASSWORD})
    assert client.post("/sign-in/security-code", data={"code": pyotp.TOTP(person.totp_secret).now()}).status_code == 302


def test_the_stored_secret_refuses_the_wrong_key_and_any_change():
    from rcc.encryption import DEVELOPMENT_KEY, SecretBox, WrongKey

    box = SecretBox(DEVELOPMENT_KEY)
    stored = box.encrypt("JBSWY3DPEHPK3PXP")
    assert box.decrypt(stored) == "JBSWY3DPEHPK3PXP" and box.encrypt("JBSWY3DPEHPK3PXP") != stored
    with pytest.raises(WrongKey, match="RCC_TOTP_KEY cannot decrypt"):
        SecretBox(b"k" * 32).decrypt(stored)
    flipped = stored[:-5] + ("A" if stored[-5] != "A" else "B") + stored[-4:]
    with pytest.raises(WrongKey):
        box.decrypt(flipped)


def test_production_refuses_to_start_without_a_two_factor_key(database_url, monkeypatch):
    from rcc.app import create_app
    from rcc.config import ConfigurationError

    monkeypatch.delenv("RCC_TOTP_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="RCC_TOTP_KEY is not set"):
        create_app({"RCC_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": database_url})
    with pytest.raises(ConfigurationError, match="RCC_TOTP_KEY"):
        create_app({"RCC_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": database_url,
                    "RCC_TOTP_KEY": "too-short"})


# Invite tokens stay out of access logs -------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_invite_token_is_not_in_the_servers_access_log(app, region, setup_session):
    """Through a real server: the logged request line for the emailed link names no token, and the
    form the person fills in has no token in its address."""
    import threading

    from werkzeug.serving import make_server

    from rcc import users

    _user, token = users.invite_user(setup_session, region.councils[0], "new.person@example.org", "New Person",
                                     ["council_finance_lead"])
    setup_session.commit()
    log, captured = logging.getLogger("werkzeug"), _Lines()
    log.addHandler(captured)
    previous_level = log.level
    log.setLevel(logging.INFO)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            opener.open(f"http://127.0.0.1:{server.port}/invite/{token}")
        except urllib.error.HTTPError as redirect:
            assert redirect.code == 302 and redirect.headers["Location"].endswith("/invite/accept")
    finally:
        server.shutdown()
        thread.join()
        log.removeHandler(captured)
        log.setLevel(previous_level)
    request_lines = [line for line in captured.lines if "/invite/" in line]
    assert request_lines and all(token not in line for line in request_lines), request_lines
    assert any("/invite/[redacted]" in line for line in request_lines)


def test_gunicorns_access_log_line_is_redacted_too(app):
    captured = _Lines()
    log = logging.getLogger("gunicorn.access")
    log.addHandler(captured)
    log.setLevel(logging.INFO)
    try:
        log.info('%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": "GET /invite/s3cr3t-T0ken_x HTTP/1.1", "s": "302"})
        log.info('%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": "POST /invite/accept HTTP/1.1", "s": "200"})
    finally:
        log.removeHandler(captured)
    assert captured.lines == ['10.0.0.1 "GET /invite/[redacted] HTTP/1.1" 302',
                              '10.0.0.1 "POST /invite/accept HTTP/1.1" 200']


def test_the_migration_encrypts_secrets_already_stored_and_dates_old_tokens(tmp_path, monkeypatch):
    """A database from before 0007 with a plain-text secret and a never-expiring token."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from rcc.encryption import DEVELOPMENT_KEY, SecretBox
    from rcc.migration_support import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0005")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO organisation (id, rcc_id, kind, name, created_at) "
                                "VALUES (1, 1, 'rcc', 'Old RCC', '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO user_account (id, rcc_id, organisation_id, email, name, roles, totp_secret, active, "
            "failed_sign_ins, created_at) VALUES (1, 1, 1, 'a@example.org', 'A', '[\"rcc_admin\"]', "
            "'JBSWY3DPEHPK3PXP', 1, 0, '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO api_token (id, rcc_id, organisation_id, user_id, name, token_hash, created_at) "
            "VALUES (1, 1, 1, 1, 'old', 'h', '2026-01-01 00:00:00')"))
    monkeypatch.setenv("RCC_ENV", "production")
    monkeypatch.delenv("RCC_TOTP_KEY", raising=False)
    with pytest.raises(Exception, match="RCC_TOTP_KEY is not set"):
        command.upgrade(alembic_config(url), "head")  # production never encrypts with a made-up key
    monkeypatch.setenv("RCC_ENV", "development")
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT totp_secret FROM user_account")).scalar_one()
        scope, expires_at = connection.execute(text("SELECT scope, expires_at FROM api_token")).one()
    engine.dispose()
    # 0007 encrypted it with the earlier scheme; 0015 re-encrypted it with Fernet, same key.
    assert stored.startswith("enc2:") and SecretBox(DEVELOPMENT_KEY).decrypt(stored) == "JBSWY3DPEHPK3PXP"
    assert scope == "read_write" and expires_at is not None


# Two-factor secrets under Fernet ----------------------------------------------------------------

def test_migration_0015_re_encrypts_stored_secrets_with_fernet_and_its_downgrade_turns_them_back(tmp_path,
                                                                                                   monkeypatch):
    from alembic import command
    from sqlalchemy import create_engine, text

    from rcc.encryption import DEVELOPMENT_KEY, LegacyBox, SecretBox
    from rcc.migration_support import alembic_config

    monkeypatch.setenv("RCC_ENV", "development")
    monkeypatch.delenv("RCC_TOTP_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'before_0015.db'}"
    command.upgrade(alembic_config(url), "0014")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO organisation (id, rcc_id, kind, name, created_at) "
                                "VALUES (1, 1, 'rcc', 'Old RCC', '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO user_account (id, rcc_id, organisation_id, email, name, roles, totp_secret, active, "
            "created_at) VALUES (1, 1, 1, 'a@example.org', 'A', '[\"rcc_admin\"]', :secret, 1, "
            "'2026-01-01 00:00:00')"), {"secret": LegacyBox(DEVELOPMENT_KEY).encrypt("JBSWY3DPEHPK3PXP")})

    def stored() -> str:
        with engine.connect() as connection:
            return connection.execute(text("SELECT totp_secret FROM user_account")).scalar_one()

    command.upgrade(alembic_config(url), "0015")
    assert stored().startswith("enc2:") and SecretBox(DEVELOPMENT_KEY).decrypt(stored()) == "JBSWY3DPEHPK3PXP"
    command.downgrade(alembic_config(url), "0014")
    assert stored().startswith("enc1:") and LegacyBox(DEVELOPMENT_KEY).decrypt(stored()) == "JBSWY3DPEHPK3PXP"
    command.upgrade(alembic_config(url), "head")
    assert SecretBox(DEVELOPMENT_KEY).decrypt(stored()) == "JBSWY3DPEHPK3PXP"
    engine.dispose()


def test_the_wrong_two_factor_key_is_a_clear_start_up_error(database_urls, region):
    import base64

    from cryptography.fernet import Fernet

    from rcc.app import create_app
    from rcc.encryption import DEVELOPMENT_KEY, WrongKey

    settings = {"RCC_ENV": "testing", "DATABASE_URL": database_urls.web,
                "MIGRATION_DATABASE_URL": database_urls.owner, "SYSTEM_DATABASE_URL": database_urls.platform}
    with pytest.raises(WrongKey, match="RCC_TOTP_KEY cannot decrypt the two-factor secrets stored"):
        create_app({**settings, "RCC_TOTP_KEY": Fernet.generate_key().decode()})
    # The key the secrets were written with starts, and its people sign in as ever.
    right = create_app({**settings, "RCC_TOTP_KEY": base64.urlsafe_b64encode(DEVELOPMENT_KEY).decode(),
                        "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost", "REDIS_URL": None})
    sign_in(right.test_client(), region.people[Role.COUNCIL_ADMIN])
    for engine in ("rcc_engine", "rcc_system_engine"):
        if engine in right.extensions:
            right.extensions[engine].dispose()
