"""referral uploads checked and saved in the background

Revision ID: 0014
Revises: 0013

A council's CSV of referrals becomes a ``referral_upload`` row that a background job checks and
saves, all rows or none, with its progress on the row.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role
from rcc.tenancy import COUNCIL_AND_RCC

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('referral_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('submit', sa.Boolean(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_checked', sa.Integer(), nullable=False),
    sa.Column('referrals_created', sa.Integer(), nullable=False),
    sa.Column('sibling_groups_created', sa.Integer(), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['council_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint("status IN ('queued', 'checking', 'saving', 'done', 'failed')",
                       name='ck_referral_upload_status'),
    sa.CheckConstraint('rows_checked >= 0 AND rows_checked <= rows_total', name='ck_referral_upload_progress'),
    )
    with op.batch_alter_table('referral_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_upload_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_upload_rcc_id'), ['rcc_id'], unique=False)
    grant_app_role(op, 'referral_upload')
    enable_row_level_security(op, 'referral_upload', COUNCIL_AND_RCC)


def downgrade() -> None:
    op.drop_table('referral_upload')
