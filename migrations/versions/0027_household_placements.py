"""proposals, offers and placements can name a foster household instead of a home

Revision ID: 0027
Revises: 0025

``matching_offer.home_id`` and ``placement.home_id`` become nullable; each gets a
``foster_household_id`` and a CHECK that exactly one of the two is set. A proposal names at most
one (none when no home was found), and so does its chosen alternative. The rules already held for
homes hold for households too: one live placement per child and per referral (the partial unique
indexes do not depend on the place), and a household's free places are never negative nor more
than it is approved for (``ck_foster_household_places``, migration 0017): accepting an offer takes
the place with a conditional UPDATE, so two acceptances of the last place cannot both succeed.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rcc.migration_support import see_every_row

revision: str = '0027'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_PLACE = "(home_id IS NULL) <> (foster_household_id IS NULL)"
AT_MOST_ONE_PLACE = "home_id IS NULL OR foster_household_id IS NULL"


def upgrade() -> None:
    see_every_row(op)
    with op.batch_alter_table('matching_proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('foster_household_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('chosen_foster_household_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_matching_proposal_foster_household_id', 'foster_household',
                                    ['foster_household_id'], ['id'])
        batch_op.create_foreign_key('fk_matching_proposal_chosen_foster_household_id', 'foster_household',
                                    ['chosen_foster_household_id'], ['id'])
        batch_op.create_check_constraint('ck_matching_proposal_one_place', AT_MOST_ONE_PLACE)
        batch_op.create_check_constraint('ck_matching_proposal_one_chosen_place',
                                         'chosen_home_id IS NULL OR chosen_foster_household_id IS NULL')
    with op.batch_alter_table('matching_offer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('foster_household_id', sa.Integer(), nullable=True))
        batch_op.alter_column('home_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key('fk_matching_offer_foster_household_id', 'foster_household',
                                    ['foster_household_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_matching_offer_foster_household_id'), ['foster_household_id'],
                              unique=False)
        batch_op.create_check_constraint('ck_matching_offer_one_place', ONE_PLACE)
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('foster_household_id', sa.Integer(), nullable=True))
        batch_op.alter_column('home_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key('fk_placement_foster_household_id', 'foster_household',
                                    ['foster_household_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_placement_foster_household_id'), ['foster_household_id'],
                              unique=False)
        batch_op.create_check_constraint('ck_placement_one_place', ONE_PLACE)


def downgrade() -> None:
    see_every_row(op)
    bind = op.get_bind()
    for table in ('placement', 'matching_offer'):
        left = bind.execute(sa.text(f"SELECT count(*) FROM {table} WHERE foster_household_id IS NOT NULL")).scalar()
        if left:
            raise RuntimeError(f"{left} rows of {table} name a foster household: remove them before downgrading")
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.drop_constraint('ck_placement_one_place', type_='check')
        batch_op.drop_index(batch_op.f('ix_placement_foster_household_id'))
        batch_op.drop_constraint('fk_placement_foster_household_id', type_='foreignkey')
        batch_op.alter_column('home_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('foster_household_id')
    with op.batch_alter_table('matching_offer', schema=None) as batch_op:
        batch_op.drop_constraint('ck_matching_offer_one_place', type_='check')
        batch_op.drop_index(batch_op.f('ix_matching_offer_foster_household_id'))
        batch_op.drop_constraint('fk_matching_offer_foster_household_id', type_='foreignkey')
        batch_op.alter_column('home_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('foster_household_id')
    with op.batch_alter_table('matching_proposal', schema=None) as batch_op:
        batch_op.drop_constraint('ck_matching_proposal_one_chosen_place', type_='check')
        batch_op.drop_constraint('ck_matching_proposal_one_place', type_='check')
        batch_op.drop_constraint('fk_matching_proposal_chosen_foster_household_id', type_='foreignkey')
        batch_op.drop_constraint('fk_matching_proposal_foster_household_id', type_='foreignkey')
        batch_op.drop_column('chosen_foster_household_id')
        batch_op.drop_column('foster_household_id')
