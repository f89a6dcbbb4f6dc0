"""On PostgreSQL, row-level security backs up the ORM filters on every tenant-owned table."""

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from rcc.tenancy import tenant_models
from tests.factories import make_region


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("row-level security is a PostgreSQL feature; run with TEST_DATABASE_URL=postgresql://...")


def test_every_tenant_table_has_row_level_security_enabled_and_forced(postgres_only, owner_engine):
    tables = {model.__tablename__ for model in tenant_models(SQLModel._sa_registry)}
    with owner_engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relname = ANY(:tables)"), {"tables": list(tables)}).all()
    found = {name: (enabled, forced) for name, enabled, forced in rows}
    assert set(found) == tables
    assert all(found[t] == (True, True) for t in tables), found


def test_app_role_with_no_organisation_set_sees_no_rows(postgres_only, app, setup_session):
    make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    engine = app.extensions["rcc_engine"]  # connects as the app's non-owner role
    tables = [model.__tablename__ for model in tenant_models(SQLModel._sa_registry)]
    with engine.connect() as connection:
        assert connection.execute(text("SELECT current_user")).scalar() == "rcc_app"
        for table in tables:
            assert connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() == 0, table
        assert connection.execute(text("SELECT count(*) FROM organisation")).scalar() == 0


def test_app_role_sees_only_its_own_rcc_when_scoped(postgres_only, app, setup_session):
    first = make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    make_region(setup_session, "B", ("Leicester", "Leicestershire"))
    engine = app.extensions["rcc_engine"]
    with engine.begin() as connection:
        for name, value in (("rcc.org_kind", "council"), ("rcc.org_id", str(first.councils[0].id)),
                            ("rcc.rcc_id", str(first.rcc.id))):
            connection.execute(text("SELECT set_config(:n, :v, true)"), {"n": name, "v": value})
        rcc_ids = set(connection.execute(text("SELECT rcc_id FROM organisation")).scalars())
        user_orgs = set(connection.execute(text("SELECT organisation_id FROM user_account")).scalars())
    assert rcc_ids == {first.rcc.id}
    assert user_orgs == {first.councils[0].id}


def test_audit_rows_cannot_be_changed_or_deleted_by_the_app(postgres_only, app, setup_session):
    make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    engine = app.extensions["rcc_engine"]
    with engine.connect() as connection:
        connection.execute(text("SELECT set_config('rcc.org_kind', 'system', false)"))
        with pytest.raises(Exception, match="permission denied|append-only"):
            connection.execute(text("DELETE FROM audit_event"))
        connection.rollback()
