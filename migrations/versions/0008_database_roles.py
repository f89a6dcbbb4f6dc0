"""database roles: system scope only for members of rcc_system, an append-only audit trail
TRUNCATE included, published reports readable by everyone, and the sign-in look-up function

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""
from collections.abc import Sequence

from alembic import op

from rcc.migration_support import (
    create_account_scope_function,
    create_system_role,
    is_postgres,
    make_append_only,
    require_system_role,
)

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if not is_postgres(op):
        return
    create_system_role(op)
    # Every table under row-level security so far: the 'system' setting now counts only for
    # members of rcc_system (the tables made later get the same from enable_row_level_security).
    tables = op.get_bind().exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND rowsecurity ORDER BY tablename").scalars()
    for table in list(tables):
        require_system_role(op, table)
    make_append_only(op, "audit_event")
    op.execute("DROP POLICY IF EXISTS published_to_everyone ON cost_publication")
    op.execute("CREATE POLICY published_to_everyone ON cost_publication FOR SELECT USING (status = 'published')")
    create_account_scope_function(op)


def downgrade() -> None:
    if not is_postgres(op):
        return
    op.execute("DROP FUNCTION IF EXISTS rcc_account_scope(text, text)")
    op.execute("DROP POLICY IF EXISTS published_to_everyone ON cost_publication")
    op.execute("DROP TRIGGER IF EXISTS audit_event_never_truncated ON audit_event")
    tables = op.get_bind().exec_driver_sql(
        "SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'system_scope_needs_role'"
    ).scalars()
    for table in list(tables):
        op.execute(f'DROP POLICY IF EXISTS system_scope_needs_role ON "{table}"')
    # rcc_system is cluster-wide (other databases may use it), so it is left in place.
