"""sibling plans (together, together if possible, apart) and the RCC's Inadequate override

Revision ID: 0021
Revises: 0020

``sibling_group.keep_together`` becomes ``plan``: true -> 'together', false ->
'together_if_possible' (what the engine did with it). ``separation_reason`` becomes
``plan_reason``, which the database requires for 'apart'. ``home.inadequate_override_reason``
is the RCC's recorded reason for letting matching propose a home rated Inadequate (null: excluded).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import see_every_row

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAN_CHECK = "plan IN ('together', 'together_if_possible', 'apart')"
REASON_CHECK = "plan <> 'apart' OR (plan_reason IS NOT NULL AND length(trim(plan_reason)) > 0)"


def upgrade() -> None:
    see_every_row(op)
    with op.batch_alter_table('sibling_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True))
        batch_op.alter_column('separation_reason', new_column_name='plan_reason',
                              existing_type=sa.String(length=2000), existing_nullable=True)
    op.execute("UPDATE sibling_group SET plan = CASE WHEN keep_together THEN 'together' "
               "ELSE 'together_if_possible' END")
    with op.batch_alter_table('sibling_group', schema=None) as batch_op:
        batch_op.alter_column('plan', existing_type=sa.String(length=30), nullable=False)
        batch_op.drop_column('keep_together')
        batch_op.create_check_constraint('ck_sibling_group_plan', PLAN_CHECK)
        batch_op.create_check_constraint('ck_sibling_group_apart_reason', REASON_CHECK)
    with op.batch_alter_table('home', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inadequate_override_reason', sqlmodel.sql.sqltypes.AutoString(length=2000),
                                      nullable=True))


def downgrade() -> None:
    see_every_row(op)
    with op.batch_alter_table('home', schema=None) as batch_op:
        batch_op.drop_column('inadequate_override_reason')
    with op.batch_alter_table('sibling_group', schema=None) as batch_op:
        batch_op.drop_constraint('ck_sibling_group_apart_reason', type_='check')
        batch_op.drop_constraint('ck_sibling_group_plan', type_='check')
        batch_op.add_column(sa.Column('keep_together', sa.Boolean(), nullable=True))
    op.execute("UPDATE sibling_group SET keep_together = (plan = 'together')")
    with op.batch_alter_table('sibling_group', schema=None) as batch_op:
        batch_op.alter_column('keep_together', existing_type=sa.Boolean(), nullable=False)
        batch_op.drop_column('plan')
        batch_op.alter_column('plan_reason', new_column_name='separation_reason',
                              existing_type=sa.String(length=2000), existing_nullable=True)
