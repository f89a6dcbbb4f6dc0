"""matching runs: one active run per RCC, heartbeats, cancel and retry

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 11:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import see_every_row

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here rather than imported, so a later change to the model cannot rewrite history.
ACTIVE = sa.text("stage IN ('queued', 'snapshot', 'candidates', 'solving', 'explaining')")


def upgrade() -> None:
    see_every_row(op)
    # Runs left active by a worker that died before this migration can never finish: end them, so
    # the one-active-run rule below can hold.
    op.execute(sa.text("UPDATE matching_run SET stage = 'failed', error = 'The matching worker stopped' "
                       "WHERE stage IN ('queued', 'snapshot', 'candidates', 'solving', 'explaining') "
                       "AND id NOT IN (SELECT MAX(id) FROM matching_run GROUP BY rcc_id)"))
    with op.batch_alter_table('matching_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('retry_of_run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_matching_run_retry_of_run_id', 'matching_run', ['retry_of_run_id'], ['id'])
        batch_op.create_foreign_key('fk_matching_run_cancelled_by_user_id', 'user_account',
                                    ['cancelled_by_user_id'], ['id'])
        batch_op.create_index('uq_matching_run_one_active_per_rcc', ['rcc_id'], unique=True,
                              sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    with op.batch_alter_table('matching_run', schema=None) as batch_op:
        batch_op.drop_index('uq_matching_run_one_active_per_rcc', sqlite_where=ACTIVE, postgresql_where=ACTIVE)
        batch_op.drop_constraint('fk_matching_run_cancelled_by_user_id', type_='foreignkey')
        batch_op.drop_constraint('fk_matching_run_retry_of_run_id', type_='foreignkey')
        batch_op.drop_column('cancelled_by_user_id')
        batch_op.drop_column('retry_of_run_id')
        batch_op.drop_column('heartbeat_at')
