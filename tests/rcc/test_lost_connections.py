"""A database connection dropped between requests or mid-request: no 500 the pool could have avoided,
no partial write, and the next request works (issue 14, defect 10 and acceptance 2)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select, text

from commissioning.models import Referral
from commissioning.services import imports
from rcc.roles import Role
from tests.conftest import sign_in
from tests.factories import make_region


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("terminating a server connection is a PostgreSQL matter; run with TEST_DATABASE_URL=postgresql://")


def _pooled_backends(app) -> list[int]:
    """The server process ids of the connections sitting in the app's pool."""
    pool = app.extensions["rcc_engine"].pool
    return [record.dbapi_connection.info.backend_pid for record in list(pool._pool.queue)  # noqa: SLF001
            if record.dbapi_connection is not None]


def _terminate(owner_engine, pids: list[int]) -> None:
    with owner_engine.connect() as connection:
        for pid in pids:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()


def test_a_request_right_after_the_server_dropped_its_pooled_connection_succeeds(
        postgres_only, app, client, setup_session, owner_engine):
    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    sign_in(client, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert client.get("/").status_code == 200
    pooled = _pooled_backends(app)
    assert pooled

    _terminate(owner_engine, pooled)  # moments after use: the idle ping would not look

    assert client.get("/").status_code == 200
    assert client.get("/referrals").status_code == 200


def _upload(client, rows: int):  # type: ignore[no-untyped-def]
    template = client.get("/referrals/template.csv").get_data(as_text=True)
    header, example = template.splitlines()[:2]
    lines = [example.replace("ABC-1234", f"ABC-{1000 + n}") for n in range(rows)]
    data = "\n".join([header, *lines]).encode() + b"\n"
    return client.post("/referrals/upload", data={"file": (io.BytesIO(data), "r.csv")},
                       content_type="multipart/form-data")


def _kill_own_connection_mid_import(monkeypatch, owner_engine, times: int) -> list[int]:
    """After the import has written its rows (not yet committed), terminate the request's own connection."""
    killed: list[int] = []
    write = imports._write_referrals  # noqa: SLF001

    def write_then_lose_the_connection(session, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = write(session, *args, **kwargs)
        session.flush()
        if len(killed) < times:
            pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
            killed.append(pid)
            _terminate(owner_engine, [pid])
        return result

    monkeypatch.setattr(imports, "_write_referrals", write_then_lose_the_connection)
    return killed


def _referrals(setup_session) -> int:
    setup_session.expire_all()
    return int(setup_session.scalar(select(func.count()).select_from(Referral)) or 0)


def test_a_connection_lost_mid_import_is_retried_once_and_the_rows_are_written_once(
        postgres_only, app, setup_session, signed_in_client, monkeypatch, owner_engine):
    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    killed = _kill_own_connection_mid_import(monkeypatch, owner_engine, times=1)

    response = _upload(officer, 5)  # the upload's job (inline in tests) loses its connection while saving

    assert len(killed) == 1
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    assert "5 referrals" in officer.get(response.headers["Location"]).get_data(as_text=True)
    assert _referrals(setup_session) == 5


def test_a_connection_lost_twice_mid_import_writes_nothing_and_the_next_request_succeeds(
        postgres_only, app, setup_session, signed_in_client, monkeypatch, owner_engine):
    region = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    killed = _kill_own_connection_mid_import(monkeypatch, owner_engine, times=2)

    response = _upload(officer, 5)

    assert len(killed) == 2 and response.status_code == 302  # retried once only, then a plain message
    assert "nothing was saved" in officer.get(response.headers["Location"]).get_data(as_text=True)
    assert _referrals(setup_session) == 0  # the server rolled the half-written import back
    assert officer.get("/referrals").status_code == 200
    monkeypatch.undo()
    assert _upload(officer, 3).status_code == 302 and _referrals(setup_session) == 3
