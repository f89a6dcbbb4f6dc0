"""Issue 13, item 6: through the app's own PostgreSQL login, nothing gets past row-level security.

The attacker has the web's connection (SQL injection, a stolen DATABASE_URL): they try to drop the
switched role, become the owner or the system role, claim system scope by a setting, and wipe or
rewrite the audit trail. Every attempt fails or sees nothing.
"""

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from rcc.db import PrivilegedLogin, make_engine, privileges_of_login
from rcc.models import User
from rcc.tenancy import SYSTEM_ROLE, tenant_models
from tests.factories import make_region


@pytest.fixture
def postgres_only(is_postgres):
    if not is_postgres:
        pytest.skip("database roles are a PostgreSQL matter; run with TEST_DATABASE_URL=postgresql://...")


@pytest.fixture
def web_login(postgres_only, database_url, setup_session):
    """A connection exactly as the web's (its DATABASE_URL, no switch of role), over a region's data."""
    make_region(setup_session, "A", ("Coventry", "Warwickshire"))
    make_region(setup_session, "B", ("Leicester", "Leicestershire"))
    setup_session.commit()
    engine = create_engine(make_url(database_url))
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def _tenant_tables():
    return [model.__tablename__ for model in tenant_models(SQLModel._sa_registry)]


def _rows_seen(connection):
    return {table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar() for table in _tenant_tables()}


def _refused(connection, statement, match="permission denied|append-only"):
    with pytest.raises(DBAPIError, match=match):
        connection.execute(text(statement))
    connection.rollback()


def test_the_web_login_is_neither_owner_nor_superuser_nor_system(web_login, owner_engine):
    assert web_login.execute(text("SELECT session_user")).scalar() == "rcc_test_web"
    assert privileges_of_login(web_login.connection.dbapi_connection) == []
    with owner_engine.connect() as owner:
        assert owner.execute(text("SELECT count(*) FROM audit_event")).scalar() > 0  # there is a trail to attack
        assert owner.execute(text("SELECT count(*) FROM user_account")).scalar() > 0


def test_reset_role_and_a_claimed_system_scope_see_nothing(web_login):
    web_login.execute(text("RESET ROLE"))
    web_login.execute(text("SELECT set_config('rcc.org_kind', 'system', false)"))
    seen = _rows_seen(web_login)
    assert seen and all(count == 0 for count in seen.values()), seen
    web_login.rollback()


def test_the_web_login_cannot_become_the_owner_or_the_system_role(web_login, owner_engine):
    with owner_engine.connect() as owner:
        table_owner = owner.execute(text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_event'")).scalar()
    for role in (table_owner, SYSTEM_ROLE, "postgres"):
        _refused(web_login, f'SET ROLE "{role}"', match="permission denied")
    _refused(web_login, "SET SESSION AUTHORIZATION postgres", match="permission denied")


@pytest.mark.parametrize("statement", ["TRUNCATE audit_event", "UPDATE audit_event SET action = 'tampered'",
                                       "DELETE FROM audit_event"])
def test_the_audit_trail_cannot_be_wiped_or_rewritten_by_the_app(web_login, owner_engine, statement):
    with owner_engine.connect() as owner:
        before = owner.execute(text("SELECT count(*), count(*) FILTER (WHERE action = 'tampered') FROM audit_event")).one()
    for switch in ("RESET ROLE", "SET ROLE rcc_app"):
        web_login.execute(text(switch))
        web_login.execute(text("SELECT set_config('rcc.org_kind', 'system', false)"))
        _refused(web_login, statement)
    with owner_engine.connect() as owner:
        after = owner.execute(text("SELECT count(*), count(*) FILTER (WHERE action = 'tampered') FROM audit_event")).one()
    assert after == before


@pytest.mark.parametrize("statement", ["TRUNCATE audit_event", "UPDATE audit_event SET action = 'tampered'",
                                       "DELETE FROM audit_event"])
def test_not_even_the_owner_can_change_the_audit_trail(web_login, owner_engine, statement):
    with owner_engine.connect() as owner:
        _refused(owner, statement, match="append-only")


def test_the_platform_login_has_system_scope_and_the_web_login_does_not(web_login, database_urls):
    platform = create_engine(make_url(database_urls.platform))
    try:
        with platform.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM user_account")).scalar() == 0  # no scope: nothing
            connection.execute(text("SELECT set_config('rcc.org_kind', 'system', false)"))
            assert connection.execute(text("SELECT count(*) FROM user_account")).scalar() > 0
            _refused(connection, "TRUNCATE audit_event")
    finally:
        platform.dispose()


def test_the_sign_in_look_up_tells_the_web_only_which_organisation(web_login, setup_session):
    person = setup_session.scalars(select(User).order_by(User.id)).first()
    row = web_login.execute(text("SELECT * FROM rcc_account_scope('email', :email)"), {"email": person.email}).one()
    assert tuple(row) == (person.organisation_kind, person.organisation_id, person.rcc_id, person.id)
    assert web_login.execute(text("SELECT * FROM rcc_account_scope('email', 'nobody@example.org')")).first() is None
    # and the function's system setting does not outlive the call
    assert web_login.execute(text("SELECT count(*) FROM user_account")).scalar() == 0


def test_in_production_the_app_refuses_an_owner_login(postgres_only, database_urls):
    engine = make_engine(database_urls.owner, "rcc_app", check_login="refuse")
    try:
        with pytest.raises(PrivilegedLogin, match="DATABASE_URL must log in as the app's own role"), engine.connect():
            pass
    finally:
        engine.dispose()
    engine = make_engine(database_urls.web, "rcc_app", check_login="refuse")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar() == "rcc_app"
    finally:
        engine.dispose()


def test_create_db_roles_keeps_existing_roles_and_sets_their_memberships(postgres_only, app, owner_engine):
    result = app.test_cli_runner().invoke(args=["create-db-roles", "--web-role", "rcc_test_web",
                                                "--platform-role", "rcc_test_platform"])
    assert result.exit_code == 0, result.output
    assert "rcc_test_web already exists" in result.output and "Set DATABASE_URL" not in result.output
    with owner_engine.connect() as connection:
        member = connection.execute(text(
            "SELECT pg_has_role('rcc_test_web', 'rcc_system', 'MEMBER'), pg_has_role('rcc_test_platform', "
            "'rcc_system', 'MEMBER'), pg_has_role('rcc_test_web', 'rcc_app', 'MEMBER')")).one()
    assert tuple(member) == (False, True, True)


def test_create_db_roles_refuses_a_bad_role_name(postgres_only, app):
    result = app.test_cli_runner().invoke(args=["create-db-roles", "--web-role", 'x"; DROP TABLE audit_event; --'])
    assert result.exit_code != 0 and "not a plain role name" in result.output


def test_every_tenant_table_honours_system_scope_only_for_rcc_system(postgres_only, owner_engine):
    with owner_engine.connect() as connection:
        guarded = set(connection.execute(text(
            "SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'system_scope_needs_role' "
            "AND permissive = 'RESTRICTIVE' AND qual LIKE '%pg_has_role%' AND with_check LIKE '%pg_has_role%'")).scalars())
    assert set(_tenant_tables()) <= guarded
