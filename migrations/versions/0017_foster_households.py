"""foster households and councils' in-house preference

Revision ID: 0017
Revises: 0016

Approved foster carers as households (a council's in-house carers or an agency's), placed by their
postcode's centroid in the ONS Postcode Directory and seen only by the RCC and their owner; and the
points a council takes off its own in-house households' scores for its children.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role
from rcc.tenancy import COUNCIL_AND_RCC, OWNER_AND_RCC

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('foster_household',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('postcode', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('location_precision', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('local_authority', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('age_min', sa.Integer(), nullable=False),
    sa.Column('age_max', sa.Integer(), nullable=False),
    sa.Column('max_children', sa.Integer(), nullable=False),
    sa.Column('siblings', sa.Boolean(), nullable=False),
    sa.Column('places_free', sa.Integer(), nullable=False),
    sa.Column('needs_met', sa.JSON(), nullable=False),
    sa.Column('weekly_cost', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('row_version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner_id', 'reference', name='uq_foster_household_owner_reference'),
    sa.CheckConstraint('age_min >= 0 AND age_min <= age_max AND age_max <= 17', name='ck_foster_household_ages'),
    sa.CheckConstraint('max_children >= 1 AND max_children <= 6', name='ck_foster_household_max_children'),
    sa.CheckConstraint('places_free >= 0 AND places_free <= max_children', name='ck_foster_household_places'),
    sa.CheckConstraint("status IN ('approved', 'on_hold', 'deregistered')", name='ck_foster_household_status'),
    sa.CheckConstraint('weekly_cost IS NULL OR weekly_cost >= 0', name='ck_foster_household_weekly_cost'),
    )
    with op.batch_alter_table('foster_household', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_foster_household_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_foster_household_rcc_id'), ['rcc_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_foster_household_status'), ['status'], unique=False)
    op.create_table('in_house_preference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('row_version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.ForeignKeyConstraint(['council_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('council_id'),
    sa.CheckConstraint('points >= 0 AND points <= 10000', name='ck_in_house_preference_points'),
    )
    with op.batch_alter_table('in_house_preference', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_in_house_preference_rcc_id'), ['rcc_id'], unique=False)
    grant_app_role(op, 'foster_household', 'in_house_preference')
    enable_row_level_security(op, 'foster_household', OWNER_AND_RCC)
    enable_row_level_security(op, 'in_house_preference', COUNCIL_AND_RCC)


def downgrade() -> None:
    op.drop_table('in_house_preference')
    op.drop_table('foster_household')
