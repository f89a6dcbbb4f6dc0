"""whatif: what-if market shaping runs (a scenario, its seed, and its replay beside the baseline)

Revision ID: 0028
Revises: 0027
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role
from rcc.tenancy import RCC_AND_COUNCILS

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('whatif_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('scenario', sa.JSON(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('months_done', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name='ck_whatif_run_status'),
    sa.CheckConstraint('months_done >= 0 AND months_done <= months * 2', name='ck_whatif_run_progress'),
    sa.CheckConstraint('months >= 1 AND months <= 24', name='ck_whatif_run_months'),
    )
    with op.batch_alter_table('whatif_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_whatif_run_rcc_id'), ['rcc_id'], unique=False)
    grant_app_role(op, 'whatif_run')
    enable_row_level_security(op, 'whatif_run', RCC_AND_COUNCILS)


def downgrade() -> None:
    op.drop_table('whatif_run')
