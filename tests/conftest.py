"""Fixtures for every test: a migrated database (SQLite, or PostgreSQL when TEST_DATABASE_URL
names a server), an app on it, a clean slate after each test, and signed-in clients."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from rcc.app import create_app
from rcc.db import Session, make_engine, session_factory
from rcc.metadata import load_all_models
from rcc.migration_support import create_login_roles, upgrade_database
from rcc.models import User
from rcc.tenancy import TenantScope, set_scope
from tests.totp import fresh_code

TEST_PASSWORD = "a-long-test-password-1"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at production cost takes ~0.1 s a hash; tests make hundreds of users."""
    from argon2 import PasswordHasher

    from rcc import users

    production_hasher = users._hasher
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    users._hasher = production_hasher


def _postgres_server_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "")
    return url if url.startswith("postgres") else None


# On PostgreSQL the app logs in as its own roles, as in production (README, "Database roles"). Roles
# belong to the server, not to one database, so they are made once, idempotently, and never dropped:
# the password is only ever used on a test server.
WEB_LOGIN_ROLE = "rcc_test_web"
PLATFORM_LOGIN_ROLE = "rcc_test_platform"
TEST_ROLE_PASSWORD = "rcc-test-login-role-password"


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str     # the server's URL as given (migrations, arranging and cleaning up)
    web: str       # the web's and workers' login role: neither owner nor superuser, no system scope
    platform: str  # the trusted commands' login role, a member of rcc_system


@pytest.fixture(scope="session")
def database_urls() -> Iterator[DatabaseUrls]:
    """A freshly migrated database for this test run, removed at the end."""
    load_all_models()
    server = _postgres_server_url()
    if server is None:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'test.db'}"
            upgrade_database(url)
            yield DatabaseUrls(url, url, url)
        return
    name = f"rcc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(server).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    owner = make_url(server).set(drivername="postgresql+psycopg", database=name)
    try:
        upgrade_database(owner.render_as_string(hide_password=False))
        migrated = create_engine(owner)
        with migrated.begin() as connection:
            create_login_roles(connection, WEB_LOGIN_ROLE, PLATFORM_LOGIN_ROLE,
                               {WEB_LOGIN_ROLE: TEST_ROLE_PASSWORD, PLATFORM_LOGIN_ROLE: TEST_ROLE_PASSWORD})
        migrated.dispose()
        yield DatabaseUrls(*(url.render_as_string(hide_password=False) for url in (
            owner, owner.set(username=WEB_LOGIN_ROLE, password=TEST_ROLE_PASSWORD),
            owner.set(username=PLATFORM_LOGIN_ROLE, password=TEST_ROLE_PASSWORD))))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(database_urls: DatabaseUrls) -> str:
    """What the app's DATABASE_URL is: on PostgreSQL, the web's own login role."""
    return database_urls.web


@pytest.fixture(scope="session")
def owner_engine(database_urls: DatabaseUrls) -> Iterator[Engine]:
    """Connects as the database owner (no row-level security): for setting up and cleaning up."""
    engine = make_engine(database_urls.owner, app_role=None)
    yield engine
    engine.dispose()


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def clean_database(owner_engine: Engine) -> Iterator[None]:
    """Every test that touches the database leaves it empty for the next, and breaks no invariant."""
    yield
    from tests.concurrency.invariants import always_violations  # noqa: PLC0415 - only when a test used the DB

    broken = always_violations(owner_engine)
    _empty_every_table(owner_engine)
    assert not broken, "the test left the database in an impossible state:\n" + "\n".join(broken)


@pytest.fixture
def app(database_urls: DatabaseUrls, clean_database: None) -> Iterator[Flask]:
    # Jobs run inline unless a test sets REDIS_URL itself, whatever the environment says.
    app = create_app({"RCC_ENV": "testing", "DATABASE_URL": database_urls.web,
                      "MIGRATION_DATABASE_URL": database_urls.owner, "SYSTEM_DATABASE_URL": database_urls.platform,
                      "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost", "REDIS_URL": None})
    yield app
    for engine in ("rcc_engine", "rcc_system_engine"):
        if engine in app.extensions:
            app.extensions[engine].dispose()


def _empty_every_table(engine: Engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # The audit trail refuses TRUNCATE whoever asks (a trigger); only a superuser's
            # replica mode, which skips triggers, lets the tests start each one empty.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(f"TRUNCATE {', '.join(f'{chr(34)}{t}{chr(34)}' for t in tables)} "
                                    "RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def setup_session(owner_engine: Engine, clean_database: None) -> Iterator[Session]:
    """A session for arranging test data, acting as the platform itself."""
    with session_factory(owner_engine)() as session:
        set_scope(session, TenantScope.system())
        yield session


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def sign_in(client: FlaskClient, user: User, password: str = TEST_PASSWORD) -> FlaskClient:
    """Sign in through the real pages, security code included."""
    response = client.post("/sign-in", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    if user.totp_secret:
        response = client.post("/sign-in/security-code", data={"code": fresh_code(user.totp_secret)})
        assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/"), response.headers["Location"]
    return client


@pytest.fixture
def signed_in_client(app: Flask):  # type: ignore[no-untyped-def]
    """``signed_in_client(user)`` gives a fresh client signed in as ``user``."""

    def make(user: User) -> FlaskClient:
        return sign_in(app.test_client(), user)

    return make


from tests.browser_support import browser_page, chromium, live_server  # noqa: E402,F401 - shared fixtures
from tests.demo_snapshot import demo_region, demo_snapshot  # noqa: E402,F401 - shared fixtures


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``), every test that uses the demo runs on one worker, so the
    demo is built once a run, not once a worker."""
    for item in items:
        if "demo_region" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("demo"))
