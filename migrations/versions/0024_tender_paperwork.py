"""tender paperwork: tender settings and documents, award letters, contract variations, IPAs

Revision ID: 0024
Revises: 0023
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role
from rcc.tenancy import COUNCIL_PROVIDER_AND_RCC, PROVIDER_AND_RCC, SUPPLY_REGISTER, WHOLE_RCC

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICIES = {
    "tender_settings": WHOLE_RCC,
    "tender_document": WHOLE_RCC,
    "award_letter": PROVIDER_AND_RCC,
    "block_contract_variation": SUPPLY_REGISTER,
    "placement_agreement": COUNCIL_PROVIDER_AND_RCC,
}


def _indexes(table: str, *columns: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def upgrade() -> None:
    op.create_table('tender_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('min_tender_days', sa.Integer(), nullable=False),
    sa.Column('standstill_days', sa.Integer(), nullable=False),
    sa.Column('updated_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rcc_id', name='uq_tender_settings_rcc'),
    sa.CheckConstraint('min_tender_days >= 1 AND min_tender_days <= 365', name='ck_tender_settings_min_days'),
    sa.CheckConstraint('standstill_days >= 0 AND standstill_days <= 60', name='ck_tender_settings_standstill'),
    )
    _indexes('tender_settings', 'rcc_id')
    op.create_table('tender_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tender_id', 'kind', name='uq_tender_document_kind'),
    sa.CheckConstraint("kind IN ('specification', 'terms', 'pricing_schedule')", name='ck_tender_document_kind'),
    sa.CheckConstraint('size_bytes > 0', name='ck_tender_document_size'),
    )
    _indexes('tender_document', 'rcc_id', 'tender_id')
    op.create_table('award_letter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('successful', sa.Boolean(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['bid.id'], ),
    sa.ForeignKeyConstraint(['provider_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bid_id', name='uq_award_letter_bid'),
    )
    _indexes('award_letter', 'provider_id', 'rcc_id', 'tender_id')
    op.create_table('block_contract_variation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['block_contract.id'], ),
    sa.ForeignKeyConstraint(['provider_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contract_id', 'sequence', name='uq_block_contract_variation_sequence'),
    sa.CheckConstraint("kind IN ('price', 'places', 'term', 'end')", name='ck_block_contract_variation_kind'),
    )
    _indexes('block_contract_variation', 'contract_id', 'provider_id', 'rcc_id')
    op.create_table('placement_agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('placement_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('weekly_fee', sa.Integer(), nullable=False),
    sa.Column('additional_support', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('additional_support_weekly', sa.Integer(), nullable=False),
    sa.Column('review_date', sa.Date(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['block_contract.id'], ),
    sa.ForeignKeyConstraint(['council_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['placement_id'], ['placement.id'], ),
    sa.ForeignKeyConstraint(['provider_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('placement_id', name='uq_placement_agreement_placement'),
    sa.CheckConstraint('weekly_fee > 0', name='ck_placement_agreement_fee'),
    sa.CheckConstraint('additional_support_weekly >= 0', name='ck_placement_agreement_support'),
    )
    _indexes('placement_agreement', 'contract_id', 'council_id', 'provider_id', 'rcc_id')
    op.create_index('uq_block_contract_lot', 'block_contract', ['lot_id'], unique=True,
                    sqlite_where=sa.text('lot_id IS NOT NULL'), postgresql_where=sa.text('lot_id IS NOT NULL'))
    grant_app_role(op, *POLICIES)
    for table, policy in POLICIES.items():
        enable_row_level_security(op, table, policy)


def downgrade() -> None:
    op.drop_index('uq_block_contract_lot', table_name='block_contract')
    for table in reversed(list(POLICIES)):
        op.drop_table(table)
