"""Alembic environment: plain Alembic on SQLModel's metadata.

The URL comes from MIGRATION_DATABASE_URL, else DATABASE_URL (or the -x url=... option), and
migrations run as the database owner; the app itself connects as its own login role on PostgreSQL
(README, "Database roles").
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

from rcc.metadata import load_all_models
from rcc.migration_support import database_url

load_all_models()
target_metadata = SQLModel.metadata
config = context.config


def run_migrations_offline() -> None:
    context.configure(url=database_url(config), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = engine_from_config({"sqlalchemy.url": database_url(config)}, prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
