"""a council's SSDA903 cohort and placement history, and its uploads

Revision ID: 0018
Revises: 0014

``looked_after_child`` and ``care_episode`` hold a council's looked-after children and their episodes of
care from its SSDA903 return, pseudonymised (the council's CHILD id, month and year of birth, no UPN);
``ssda903_upload`` is a 903 import checked and saved in the background.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role
from rcc.tenancy import COUNCIL_AND_RCC

revision: str = '0018'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('looked_after_child', 'care_episode', 'ssda903_upload')


def _tenant_columns() -> list[sa.Column]:
    return [sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('rcc_id', sa.Integer(), sa.ForeignKey('organisation.id'), nullable=False),
            sa.Column('council_id', sa.Integer(), sa.ForeignKey('organisation.id'), nullable=False)]


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('looked_after_child', *_tenant_columns(),
    sa.Column('child_ref', text(length=10), nullable=False),
    sa.Column('sex', text(length=1), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('birth_month', sa.Integer(), nullable=False),
    sa.Column('ethnicity', text(length=4), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('council_id', 'child_ref', name='uq_looked_after_child_ref'),
    sa.CheckConstraint('birth_month BETWEEN 1 AND 12', name='ck_looked_after_child_birth_month'),
    sa.CheckConstraint("sex IN ('F', 'M', 'U')", name='ck_looked_after_child_sex'),
    )
    op.create_table('care_episode', *_tenant_columns(),
    sa.Column('child_ref', text(length=10), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=True),
    sa.Column('rne', text(length=2), nullable=False),
    sa.Column('legal_status', text(length=2), nullable=False),
    sa.Column('cin', text(length=2), nullable=False),
    sa.Column('place', text(length=2), nullable=False),
    sa.Column('place_provider', text(length=3), nullable=False),
    sa.Column('rec', text(length=3), nullable=False),
    sa.Column('reason_place_change', text(length=6), nullable=False),
    sa.Column('home_post', text(length=8), nullable=False),
    sa.Column('pl_post', text(length=8), nullable=False),
    sa.Column('urn', text(length=10), nullable=False),
    sa.Column('source_year', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('council_id', 'child_ref', 'start', name='uq_care_episode_start'),
    sa.CheckConstraint('"end" IS NULL OR "end" >= start', name='ck_care_episode_dates'),
    sa.CheckConstraint('("end" IS NULL) = (rec = \'\')', name='ck_care_episode_rec_with_end'),
    )
    op.create_table('ssda903_upload', *_tenant_columns(),
    sa.Column('created_by_user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=True),
    sa.Column('file_name', text(length=200), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('header_content', sa.LargeBinary(), nullable=True),
    sa.Column('episodes_content', sa.LargeBinary(), nullable=True),
    sa.Column('status', text(length=20), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_checked', sa.Integer(), nullable=False),
    sa.Column('children', sa.Integer(), nullable=False),
    sa.Column('episodes', sa.Integer(), nullable=False),
    sa.Column('message', text(length=2000), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint("status IN ('queued', 'checking', 'saving', 'done', 'failed')",
                       name='ck_ssda903_upload_status'),
    sa.CheckConstraint('rows_checked >= 0 AND rows_checked <= rows_total', name='ck_ssda903_upload_progress'),
    )
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f'ix_{table}_council_id'), ['council_id'], unique=False)
            batch_op.create_index(batch_op.f(f'ix_{table}_rcc_id'), ['rcc_id'], unique=False)
    grant_app_role(op, *TABLES)
    for table in TABLES:
        enable_row_level_security(op, table, COUNCIL_AND_RCC)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
