"""onboarding a region: forgot-password tokens, member councils' codes unique within their RCC,
providers asking to join by Ofsted URN, and the sign-in look-up finding a person by reset link

Revision ID: 0023
Revises: 0022
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import (
    ACCOUNT_SCOPE_FUNCTION,
    create_account_scope_function,
    enable_row_level_security,
    grant_app_role,
    is_postgres,
)
from rcc.tenancy import RCC_ONLY

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNCIL = "kind = 'council'"
RESET_BRANCH = """  ELSIF p_by = 'reset' THEN
    RETURN QUERY SELECT o.kind::text, u.organisation_id, u.rcc_id, u.id FROM user_account u
      JOIN organisation o ON o.id = u.organisation_id WHERE u.reset_token_hash = p_value LIMIT 1;
  END IF;"""


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reset_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('reset_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_account_reset_token_hash'), ['reset_token_hash'], unique=False)
    op.create_index('uq_member_council_ons_code', 'organisation', ['rcc_id', 'ons_code'], unique=True,
                    sqlite_where=sa.text(COUNCIL), postgresql_where=sa.text(COUNCIL))
    op.create_index('uq_member_council_dfe_code', 'organisation', ['rcc_id', 'dfe_code'], unique=True,
                    sqlite_where=sa.text(COUNCIL), postgresql_where=sa.text(COUNCIL))
    op.create_table('provider_join_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('ofsted_urn', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('provider_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('requester_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('requester_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['decided_by'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint("status IN ('pending', 'approved', 'refused')", name='ck_provider_join_request_status'),
    sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name='ck_provider_join_request_decided'),
    )
    with op.batch_alter_table('provider_join_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_join_request_rcc_id'), ['rcc_id'], unique=False)
    grant_app_role(op, 'provider_join_request')
    enable_row_level_security(op, 'provider_join_request', RCC_ONLY)
    if is_postgres(op):
        op.execute(ACCOUNT_SCOPE_FUNCTION.replace("  END IF;", RESET_BRANCH))


def downgrade() -> None:
    if is_postgres(op):
        create_account_scope_function(op)
    op.drop_table('provider_join_request')
    op.drop_index('uq_member_council_dfe_code', table_name='organisation')
    op.drop_index('uq_member_council_ons_code', table_name='organisation')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_reset_token_hash'))
        batch_op.drop_column('reset_expires_at')
        batch_op.drop_column('reset_token_hash')
