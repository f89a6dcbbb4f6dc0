"""row versions: optimistic locking on every record people edit

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 11:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here rather than read from the models, so a later change to them cannot rewrite history.
# Existing rows start at version 1; the app's role already has UPDATE on these tables, and row-level
# security is per row, so neither needs changing for a new column.
TABLES = ("sibling_group", "referral", "home", "vacancy", "tender", "tender_lot", "block_contract",
          "cost_settings", "cost_record", "cost_publication")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('row_version', sa.Integer(), server_default=sa.text('1'), nullable=False))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('row_version')
