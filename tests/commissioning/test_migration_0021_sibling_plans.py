"""Migration 0021: keep_together becomes the plan, with the data carried over and apart's reason enforced."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from rcc.migration_support import alembic_config

INSERT = ("INSERT INTO sibling_group (id, rcc_id, council_id, name, keep_together, separation_reason, created_at, "
          "row_version) VALUES (:id, 1, 2, :name, :keep, :reason, '2026-01-01', 1)")


def test_keep_together_true_becomes_together_and_false_together_if_possible(tmp_path):
    url = f"sqlite:///{tmp_path / 'before.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0014")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("PRAGMA foreign_keys = OFF"))
        connection.execute(text(INSERT), [{"id": 1, "name": "Kept", "keep": True, "reason": None},
                                          {"id": 2, "name": "Split", "keep": False, "reason": "Court plan"}])
    command.upgrade(config, "0021")
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT id, plan, plan_reason FROM sibling_group ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, "together", None), (2, "together_if_possible", "Court plan")]
        columns = {r[1] for r in connection.execute(text("PRAGMA table_info(home)"))}
        assert "inadequate_override_reason" in columns
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE sibling_group SET plan = 'apart' WHERE id = 1"))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE sibling_group SET plan = 'keep_together' WHERE id = 2"))
    command.downgrade(config, "0014")
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT id, keep_together, separation_reason FROM sibling_group ORDER BY id"))
        assert [tuple(r) for r in rows] == [(1, 1, None), (2, 0, "Court plan")]
    engine.dispose()
