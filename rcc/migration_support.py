"""Helpers that migrations call: the database URL, the app's role, row-level security.

Migrations name tables and policies literally, so a later change to a model cannot
rewrite history; the SQL for a policy comes from ``rcc.tenancy`` so there is one rule.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from rcc.config import default_sqlite_url
from rcc.db import _psycopg_url
from rcc.tenancy import SYSTEM_ROLE, TenantPolicy, postgres_system_guard

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "rcc_app")


def database_url(config: Any) -> str:
    url = (context_x_args(config).get("url") or config.get_main_option("sqlalchemy.url")
           or os.environ.get("MIGRATION_DATABASE_URL") or os.environ.get("DATABASE_URL")
           or default_sqlite_url(str(PROJECT_ROOT / "instance")))
    return _psycopg_url(url)


def context_x_args(config: Any) -> dict[str, str]:
    opts = getattr(config, "cmd_opts", None)
    pairs = getattr(opts, "x", None) or []
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def is_postgres(op: Any) -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_app_role(op: Any) -> None:
    """The non-owner role the app works as, with rights on everything migrations create."""
    if not is_postgres(op):
        return
    op.execute(f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
          END IF;
        END $$;""")
    op.execute(f"GRANT {APP_ROLE} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}")


def grant_app_role(op: Any, *tables: str) -> None:
    """Rights on tables this migration made (default privileges cover later ones too)."""
    if not is_postgres(op):
        return
    for table in tables:
        op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO {APP_ROLE}')
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def create_system_role(op: Any) -> None:
    """The role whose members may act with system scope; the migrating owner is one, the web's
    login role never is (see the README's "Database roles")."""
    if not is_postgres(op):
        return
    op.execute(f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SYSTEM_ROLE}') THEN
            CREATE ROLE {SYSTEM_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS;
          END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;  -- made meanwhile by another
        END $$;""")
    op.execute(f"""
        DO $$ BEGIN
          IF NOT pg_has_role(current_user, '{SYSTEM_ROLE}', 'MEMBER') THEN  -- a superuser already is
            GRANT {SYSTEM_ROLE} TO CURRENT_USER;
          END IF;
        END $$;""")


def enable_row_level_security(op: Any, table: str, policy: TenantPolicy) -> None:
    if not is_postgres(op):
        return
    expression = policy.postgres_expression()
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
    op.execute(f'CREATE POLICY tenant_isolation ON "{table}" USING {expression} WITH CHECK {expression}')
    require_system_role(op, table)
    public = policy.postgres_public_expression()
    if public is not None:
        op.execute(f'DROP POLICY IF EXISTS published_to_everyone ON "{table}"')
        op.execute(f'CREATE POLICY published_to_everyone ON "{table}" FOR SELECT USING {public}')


def require_system_role(op: Any, table: str) -> None:
    """No session can claim system scope by a setting: the claim counts only for ``SYSTEM_ROLE``'s members."""
    if not is_postgres(op):
        return
    create_system_role(op)
    guard = postgres_system_guard()
    op.execute(f'DROP POLICY IF EXISTS system_scope_needs_role ON "{table}"')
    op.execute(f'CREATE POLICY system_scope_needs_role ON "{table}" AS RESTRICTIVE '
               f"USING {guard} WITH CHECK {guard}")


def make_append_only(op: Any, table: str) -> None:
    """Rows can be added but never changed or removed, whoever asks, TRUNCATE included."""
    if not is_postgres(op):
        return
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{table}" FROM PUBLIC, {APP_ROLE}')
    op.execute("""
        CREATE OR REPLACE FUNCTION refuse_change_to_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql""")
    op.execute(f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}"')
    op.execute(f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
               "FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only()")
    op.execute(f'DROP TRIGGER IF EXISTS {table}_never_truncated ON "{table}"')
    op.execute(f'CREATE TRIGGER {table}_never_truncated BEFORE TRUNCATE ON "{table}" '
               "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_append_only()")


# Sign-in must find a person before anyone is signed in, in whichever organisation they are. The
# web's login role cannot read across organisations, so this one function, run with its owner's
# rights, answers exactly that: which organisation (kind, id, RCC) an address, an invite, an API
# token or a user id belongs to, and the person's id. Nothing else about them leaves it; the web then reads and
# changes the person within that organisation's scope, under row-level security as usual.
ACCOUNT_SCOPE_FUNCTION = """
CREATE OR REPLACE FUNCTION rcc_account_scope(p_by text, p_value text)
RETURNS TABLE(kind text, organisation_id integer, rcc_id integer, user_id integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET rcc.org_kind = 'system'  -- for the call only; counts because the owner is a member of rcc_system
AS $$
BEGIN
  IF p_by = 'email' THEN
    RETURN QUERY SELECT o.kind::text, u.organisation_id, u.rcc_id, u.id FROM user_account u
      JOIN organisation o ON o.id = u.organisation_id WHERE lower(u.email) = lower(btrim(p_value)) LIMIT 1;
  ELSIF p_by = 'id' AND p_value ~ '^[0-9]{1,9}$' THEN
    RETURN QUERY SELECT o.kind::text, u.organisation_id, u.rcc_id, u.id FROM user_account u
      JOIN organisation o ON o.id = u.organisation_id WHERE u.id = p_value::integer;
  ELSIF p_by = 'invite' THEN
    RETURN QUERY SELECT o.kind::text, u.organisation_id, u.rcc_id, u.id FROM user_account u
      JOIN organisation o ON o.id = u.organisation_id WHERE u.invite_token_hash = p_value LIMIT 1;
  ELSIF p_by = 'api_token' THEN
    RETURN QUERY SELECT o.kind::text, t.organisation_id, t.rcc_id, t.user_id FROM api_token t
      JOIN organisation o ON o.id = t.organisation_id WHERE t.token_hash = p_value AND t.revoked_at IS NULL;
  END IF;
END $$"""


def create_account_scope_function(op: Any) -> None:
    if not is_postgres(op):
        return
    op.execute(ACCOUNT_SCOPE_FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION rcc_account_scope(text, text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION rcc_account_scope(text, text) TO {APP_ROLE}")


# Login roles -----------------------------------------------------------------------------------
# Roles belong to the PostgreSQL server (the cluster), not to one database, so these are made once
# per server by `flask create-db-roles` (run with the owner's URL), or by the tests for themselves.

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
SAFE_PASSWORD = re.compile(r"^[A-Za-z0-9_\-]{16,200}$")
_ROLES_LOCK = 72_716_003  # an advisory lock, so two runs making the roles at once do not collide


def create_login_roles(connection: Any, web_role: str, platform_role: str,
                       passwords: dict[str, str]) -> list[str]:
    """Make (if missing) the web's login role, a member of the app role only, and the platform's,
    a member of the app role and ``SYSTEM_ROLE``; returns the roles made. An existing role keeps its
    password; its memberships are set right (the web's login is taken out of ``SYSTEM_ROLE``).

    ``connection`` is a SQLAlchemy connection in a transaction, as a role that may create roles,
    to a database already upgraded (so the app role and ``SYSTEM_ROLE`` exist).
    """
    for role in (web_role, platform_role):
        if not ROLE_NAME.match(role):
            raise ValueError(f"{role!r} is not a plain role name (lower-case letters, digits, underscores)")
        if not SAFE_PASSWORD.match(passwords[role]):
            raise ValueError(f"The password for {role} must be 16 or more letters, digits, '-' or '_'")
    if web_role == platform_role:
        raise ValueError("The web's login role and the platform's must differ")
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ROLES_LOCK})")
    made = []
    for role in (web_role, platform_role):
        if connection.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).first() is None:
            connection.exec_driver_sql(
                f"CREATE ROLE {role} LOGIN INHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE "
                f"PASSWORD '{passwords[role]}'")
            made.append(role)
        connection.exec_driver_sql(f"GRANT {APP_ROLE} TO {role}")
    connection.exec_driver_sql(f"REVOKE {SYSTEM_ROLE} FROM {web_role}")
    connection.exec_driver_sql(f"GRANT {SYSTEM_ROLE} TO {platform_role}")
    return made


def see_every_row(op: Any) -> None:
    """For a migration that reads or changes rows: act with system scope for the rest of its
    transaction (row-level security is forced on the owner too; the owner is a member of
    rcc_system). Each migration that touches rows calls it itself, so it works run on its own."""
    if is_postgres(op):
        op.execute("SELECT set_config('rcc.org_kind', 'system', true)")
