"""referral packs and expressions of interest

Revision ID: 0025
Revises: 0024

A council's anonymised pack for a referral, its documents (stored encrypted: the column holds a
Fernet token), which provider each document was released to, and each provider home's answer
("can meet needs" with a date and weekly price, or "cannot" with a reason): one per home per referral.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role
from rcc.tenancy import COUNCIL_AND_RCC, COUNCIL_PROVIDER_AND_RCC

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('referral_pack',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('respond_by', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['council_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('referral_id', name='uq_referral_pack_referral')
    )
    with op.batch_alter_table('referral_pack', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_pack_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_pack_rcc_id'), ['rcc_id'], unique=False)
    op.create_table('expression_of_interest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('home_id', sa.Integer(), nullable=False),
    sa.Column('pack_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('respond_by', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('released_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('available_from', sa.Date(), nullable=True),
    sa.Column('weekly_price', sa.Integer(), nullable=True),
    sa.Column('cannot_reason', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('cannot_details', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('answered_by_user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("answer != 'can_meet' OR (available_from IS NOT NULL AND weekly_price > 0)", name='ck_expression_of_interest_can_meet'),
    sa.CheckConstraint("answer != 'cannot' OR (cannot_reason IS NOT NULL AND weekly_price IS NULL)", name='ck_expression_of_interest_cannot'),
    sa.CheckConstraint("answer IN ('awaiting', 'can_meet', 'cannot')", name='ck_expression_of_interest_answer'),
    sa.ForeignKeyConstraint(['answered_by_user_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['council_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['home_id'], ['home.id'], ),
    sa.ForeignKeyConstraint(['pack_id'], ['referral_pack.id'], ),
    sa.ForeignKeyConstraint(['provider_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('referral_id', 'home_id', name='uq_expression_of_interest_home')
    )
    with op.batch_alter_table('expression_of_interest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_expression_of_interest_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expression_of_interest_home_id'), ['home_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expression_of_interest_pack_id'), ['pack_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expression_of_interest_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expression_of_interest_rcc_id'), ['rcc_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_expression_of_interest_referral_id'), ['referral_id'], unique=False)
    op.create_table('referral_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('pack_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('uploaded_by_user_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('care_plan_summary', 'risk_assessment', 'other')", name='ck_referral_document_kind'),
    sa.CheckConstraint('size_bytes > 0 AND size_bytes <= 5242880', name='ck_referral_document_size'),
    sa.ForeignKeyConstraint(['council_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['pack_id'], ['referral_pack.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by_user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('referral_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_document_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_document_pack_id'), ['pack_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_document_rcc_id'), ['rcc_id'], unique=False)
    op.create_table('referral_document_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('pack_id', sa.Integer(), nullable=False),
    sa.Column('released_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['council_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['document_id'], ['referral_document.id'], ),
    sa.ForeignKeyConstraint(['pack_id'], ['referral_pack.id'], ),
    sa.ForeignKeyConstraint(['provider_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_id', 'provider_id', name='uq_referral_document_release')
    )
    with op.batch_alter_table('referral_document_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_document_release_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_document_release_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_document_release_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_document_release_rcc_id'), ['rcc_id'], unique=False)

    grant_app_role(op, 'referral_pack', 'expression_of_interest', 'referral_document', 'referral_document_release')
    enable_row_level_security(op, 'referral_pack', COUNCIL_AND_RCC)
    enable_row_level_security(op, 'referral_document', COUNCIL_AND_RCC)
    enable_row_level_security(op, 'expression_of_interest', COUNCIL_PROVIDER_AND_RCC)
    enable_row_level_security(op, 'referral_document_release', COUNCIL_PROVIDER_AND_RCC)


def downgrade() -> None:
    with op.batch_alter_table('referral_document_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_document_release_rcc_id'))
        batch_op.drop_index(batch_op.f('ix_referral_document_release_provider_id'))
        batch_op.drop_index(batch_op.f('ix_referral_document_release_document_id'))
        batch_op.drop_index(batch_op.f('ix_referral_document_release_council_id'))
    op.drop_table('referral_document_release')
    with op.batch_alter_table('referral_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_document_rcc_id'))
        batch_op.drop_index(batch_op.f('ix_referral_document_pack_id'))
        batch_op.drop_index(batch_op.f('ix_referral_document_council_id'))
    op.drop_table('referral_document')
    with op.batch_alter_table('expression_of_interest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_expression_of_interest_referral_id'))
        batch_op.drop_index(batch_op.f('ix_expression_of_interest_rcc_id'))
        batch_op.drop_index(batch_op.f('ix_expression_of_interest_provider_id'))
        batch_op.drop_index(batch_op.f('ix_expression_of_interest_pack_id'))
        batch_op.drop_index(batch_op.f('ix_expression_of_interest_home_id'))
        batch_op.drop_index(batch_op.f('ix_expression_of_interest_council_id'))
    op.drop_table('expression_of_interest')
    with op.batch_alter_table('referral_pack', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_pack_rcc_id'))
        batch_op.drop_index(batch_op.f('ix_referral_pack_council_id'))
    op.drop_table('referral_pack')
