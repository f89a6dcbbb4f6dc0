"""matching: group offers for siblings, contracted places, the RCC's matching policy

Revision ID: 0016
Revises: 0015

* ``matching_group_offer``: siblings offered to one provider, answered as a whole. Each offer of the
  group carries the group's answer (``group_answer``, a foreign key with ON UPDATE CASCADE) and may
  only be accepted or declined as its group was, so a partial answer cannot be stored.
* ``matching_policy``: versions of the RCC's matching weights; a run records the one it used
  (``policy_id``) and a run repeated with another policy names the run it repeats.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role
from rcc.tenancy import COUNCIL_PROVIDER_AND_RCC, OWN_ORGANISATION

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('matching_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('preset', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('home_miles', sa.Integer(), nullable=False),
    sa.Column('school_miles', sa.Integer(), nullable=False),
    sa.Column('cost_per_100_pounds', sa.Integer(), nullable=False),
    sa.Column('rating_percent', sa.Integer(), nullable=False),
    sa.Column('block_place_credit', sa.Integer(), nullable=False),
    sa.Column('sibling_split', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rcc_id', 'version', name='uq_matching_policy_version'),
    sa.CheckConstraint('home_miles >= 0 AND school_miles >= 0 AND cost_per_100_pounds >= 0 '
                       'AND rating_percent >= 0 AND block_place_credit >= 0 AND sibling_split >= 0',
                       name='ck_matching_policy_weights'),
    )
    with op.batch_alter_table('matching_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matching_policy_rcc_id'), ['rcc_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matching_policy_organisation_id'), ['organisation_id'], unique=False)
    grant_app_role(op, 'matching_policy')
    enable_row_level_security(op, 'matching_policy', OWN_ORGANISATION)

    with op.batch_alter_table('matching_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('repeat_of_run_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_matching_run_policy_id', 'matching_policy', ['policy_id'], ['id'])
        batch_op.create_foreign_key('fk_matching_run_repeat_of_run_id', 'matching_run', ['repeat_of_run_id'], ['id'])

    op.create_table('matching_group_offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('sibling_group_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('respond_by', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('answered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('decline_details', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['council_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['provider_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['sibling_group_id'], ['sibling_group.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['matching_run.id'], ),
    sa.ForeignKeyConstraint(['answered_by_user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('id', 'answer', name='uq_matching_group_offer_id_answer'),
    sa.CheckConstraint("answer IN ('sent', 'accepted', 'declined', 'withdrawn')",
                       name='ck_matching_group_offer_answer'),
    )
    with op.batch_alter_table('matching_group_offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matching_group_offer_rcc_id'), ['rcc_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matching_group_offer_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_matching_group_offer_provider_id'), ['provider_id'], unique=False)
    grant_app_role(op, 'matching_group_offer')
    enable_row_level_security(op, 'matching_group_offer', COUNCIL_PROVIDER_AND_RCC)

    with op.batch_alter_table('matching_offer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_offer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('group_answer', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.create_index(batch_op.f('ix_matching_offer_group_offer_id'), ['group_offer_id'], unique=False)
        batch_op.create_foreign_key('fk_matching_offer_group_answer', 'matching_group_offer',
                                    ['group_offer_id', 'group_answer'], ['id', 'answer'], onupdate='CASCADE')
        batch_op.create_check_constraint('ck_matching_offer_group_answer_set',
                                         sa.text('(group_offer_id IS NULL) = (group_answer IS NULL)'))
        batch_op.create_check_constraint('ck_matching_offer_group_answered_whole',
                                         sa.text("group_offer_id IS NULL OR status NOT IN ('accepted', 'declined') "
                                                 "OR status = group_answer"))


def downgrade() -> None:
    with op.batch_alter_table('matching_offer', schema=None) as batch_op:
        batch_op.drop_constraint('ck_matching_offer_group_answered_whole', type_='check')
        batch_op.drop_constraint('ck_matching_offer_group_answer_set', type_='check')
        batch_op.drop_constraint('fk_matching_offer_group_answer', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_matching_offer_group_offer_id'))
        batch_op.drop_column('group_answer')
        batch_op.drop_column('group_offer_id')
    op.drop_table('matching_group_offer')
    with op.batch_alter_table('matching_run', schema=None) as batch_op:
        batch_op.drop_constraint('fk_matching_run_repeat_of_run_id', type_='foreignkey')
        batch_op.drop_constraint('fk_matching_run_policy_id', type_='foreignkey')
        batch_op.drop_column('repeat_of_run_id')
        batch_op.drop_column('policy_id')
    op.drop_table('matching_policy')
