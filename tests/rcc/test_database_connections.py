"""Pooled PostgreSQL connections: a request after the server dropped them still works."""

import pytest
from sqlalchemy import text

from rcc import db as database
from tests.conftest import sign_in
from tests.factories import make_region


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("dropped server connections are a PostgreSQL matter; run with TEST_DATABASE_URL=postgresql://...")


def _drop_the_pooled_connection(app, owner_engine):
    with app.extensions["rcc_engine"].connect() as pooled:
        backend = pooled.execute(text("SELECT pg_backend_pid()")).scalar()
    with owner_engine.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend}).scalar()


def test_a_page_still_opens_after_the_server_dropped_idle_connections(
        postgres_only, app, client, setup_session, owner_engine, monkeypatch):
    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    sign_in(client, next(iter(region.people.values())))
    assert client.get("/").status_code == 200
    _drop_the_pooled_connection(app, owner_engine)
    monkeypatch.setattr(database, "IDLE_SECONDS_BEFORE_PING", 0.0)  # every pooled connection counts as idle

    assert client.get("/").status_code == 200


def test_a_connection_used_moments_ago_is_not_pinged(postgres_only, app, monkeypatch):
    pings = []
    engine = app.extensions["rcc_engine"]
    monkeypatch.setattr(engine.dialect, "do_ping", lambda connection: pings.append(connection) or True)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert len(pings) <= 1  # at most the first checkout, if that connection had sat idle
