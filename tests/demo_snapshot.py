"""The demo region built once per test run and put back, row for row, for each test that wants it.

Building the demo (20 councils, their homes, 903 histories, tenders, costs) takes far longer than
copying its rows, and a dozen tests read or act on the demo. ``demo_snapshot`` builds it once,
through ``build_demo`` exactly as ``flask demo`` does (tests/rcc/test_demo.py still builds it for
real, through the command), copies every table, and leaves the database empty again. ``demo_region``
puts the rows back before a test (the test's ``clean_database`` empties them after, as for any
test) and gives the ``DemoRegion`` with its organisations and people loaded in ``setup_session``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from rcc.demo import DemoRegion, build_demo
from rcc.models import Organisation, User
from rcc.tenancy import TenantScope, set_scope

ROWS_PER_STATEMENT = 2_000


@dataclass(frozen=True)
class DemoSnapshot:
    rcc_id: int
    council_ids: list[int]
    provider_ids: list[int]
    people_ids: list[int]
    manager_ids: list[int]
    rows: dict[str, list[dict[str, Any]]]


def _copy_rows(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in SQLModel.metadata.sorted_tables:
        key = list(table.primary_key.columns)
        found = connection.execute(select(table).order_by(*key)).mappings().all()
        if found:
            rows[table.name] = [dict(r) for r in found]
    return rows


def restore(engine: Engine, snapshot: DemoSnapshot) -> None:
    """Insert the demo's rows into the (empty) database, skipping triggers and foreign-key checks
    only while they go in (every row came out of a consistent database), then set the sequences."""
    tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
    with engine.begin() as connection:
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for name, rows in snapshot.rows.items():
            for at in range(0, len(rows), ROWS_PER_STATEMENT):
                connection.execute(insert(tables[name]), rows[at:at + ROWS_PER_STATEMENT])
        if postgres:
            for name in snapshot.rows:
                for column in tables[name].primary_key.columns:
                    sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                                 {"t": f'"{name}"', "c": column.name})
                    if sequence:
                        connection.execute(text(f'SELECT setval(:s, (SELECT max("{column.name}") FROM "{name}"))'),
                                           {"s": sequence})


@pytest.fixture(scope="session")
def demo_snapshot(database_urls, owner_engine: Engine) -> Iterator[DemoSnapshot]:  # type: ignore[no-untyped-def]
    from rcc.app import create_app
    from rcc.db import session_factory
    from tests.conftest import _empty_every_table

    app: Flask = create_app({"RCC_ENV": "testing", "DATABASE_URL": database_urls.web,
                             "MIGRATION_DATABASE_URL": database_urls.owner,
                             "SYSTEM_DATABASE_URL": database_urls.platform,
                             "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost", "REDIS_URL": None})
    _empty_every_table(owner_engine)  # a test before this one may have failed half-way
    try:
        with session_factory(owner_engine)() as session, app.app_context():
            set_scope(session, TenantScope.system())
            region = build_demo(session, app)
            session.commit()
            ids = (int(region.rcc.id or 0), [int(c.id or 0) for c in region.councils],
                   [int(p.id or 0) for p in region.providers], [int(p.id or 0) for p in region.people],
                   [int(p.id or 0) for p in region.provider_managers])
        with owner_engine.connect() as connection:
            rows = _copy_rows(connection)
    finally:
        _empty_every_table(owner_engine)
        for engine in ("rcc_engine", "rcc_system_engine"):
            if engine in app.extensions:
                app.extensions[engine].dispose()
    yield DemoSnapshot(*ids, rows=rows)


@pytest.fixture
def demo_region(demo_snapshot: DemoSnapshot, owner_engine: Engine, setup_session) -> DemoRegion:  # type: ignore[no-untyped-def]
    """The demo region, as ``build_demo`` left it, in this test's (otherwise empty) database."""
    restore(owner_engine, demo_snapshot)

    def organisation(org_id: int) -> Organisation:
        found = setup_session.get(Organisation, org_id)
        assert found is not None
        return found

    people = [setup_session.get(User, i) for i in demo_snapshot.people_ids]
    managers = [setup_session.get(User, i) for i in demo_snapshot.manager_ids]
    assert all(p is not None for p in people + managers)
    return DemoRegion(organisation(demo_snapshot.rcc_id), [organisation(i) for i in demo_snapshot.council_ids],
                      [organisation(i) for i in demo_snapshot.provider_ids], people,  # type: ignore[arg-type]
                      managers)  # type: ignore[arg-type]
