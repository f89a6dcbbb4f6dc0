"""Helpers that migrations call: the database URL, the app's role, row-level security.

Migrations name tables and policies literally, so a later change to a model cannot
rewrite history; the SQL for a policy comes from ``rcc.tenancy`` so there is one rule.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from rcc.config import default_sqlite_url
from rcc.db import _psycopg_url
from rcc.tenancy import TenantPolicy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "rcc_app")


def database_url(config: Any) -> str:
    url = (context_x_args(config).get("url") or config.get_main_option("sqlalchemy.url")
           or os.environ.get("DATABASE_URL") or default_sqlite_url(str(PROJECT_ROOT / "instance")))
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


def enable_row_level_security(op: Any, table: str, policy: TenantPolicy) -> None:
    if not is_postgres(op):
        return
    expression = policy.postgres_expression()
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
    op.execute(f'CREATE POLICY tenant_isolation ON "{table}" USING {expression} WITH CHECK {expression}')


def make_append_only(op: Any, table: str) -> None:
    """Rows can be added but never changed or removed, whoever asks."""
    if not is_postgres(op):
        return
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON "{table}" FROM {APP_ROLE}')
    op.execute("""
        CREATE OR REPLACE FUNCTION refuse_change_to_append_only() RETURNS trigger AS $$
        BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql""")
    op.execute(f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
               "FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only()")
