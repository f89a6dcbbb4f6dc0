"""provider parent groups for provider risk; who acted on a referral, by organisation; the referral
list's order as an index that row-level security can use

Revision ID: 0029
Revises: 0028
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role
from rcc.tenancy import RCC_ONLY

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('provider_parent_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('parent_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_id', name='uq_provider_parent_group_provider'),
    )
    with op.batch_alter_table('provider_parent_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_parent_group_rcc_id'), ['rcc_id'], unique=False)
    grant_app_role(op, 'provider_parent_group')
    enable_row_level_security(op, 'provider_parent_group', RCC_ONLY)
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_referral_event_organisation_id', 'organisation', ['organisation_id'], ['id'])
    # Earlier steps: the organisation of the person who took them (rows RLS hides from this role stay empty).
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index('ix_referral_list_order', ['date_needed', 'id'], unique=False,
                              postgresql_include=['rcc_id', 'council_id', 'status', 'urgency', 'placement_type'])
    op.execute('UPDATE referral_event SET organisation_id = (SELECT u.organisation_id FROM user_account u '
               'WHERE u.id = referral_event.user_id) WHERE user_id IS NOT NULL')


def downgrade() -> None:
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_list_order')
    with op.batch_alter_table('referral_event', schema=None) as batch_op:
        batch_op.drop_constraint('fk_referral_event_organisation_id', type_='foreignkey')
        batch_op.drop_column('organisation_id')
    op.drop_table('provider_parent_group')
