"""supply history: every change to a home's registered places, activity and vacancy, dated

Revision ID: 0020
Revises: 0019

``supply_change`` is append-only (on PostgreSQL a trigger refuses updates, deletes and truncation)
and carries the supply register's row-level security. Each home in the register gets one row for
the supply it has when the migration runs: the history starts then.
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role, make_append_only, see_every_row
from rcc.tenancy import SUPPLY_REGISTER

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text = sqlmodel.sql.sqltypes.AutoString
    op.create_table('supply_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), sa.ForeignKey('organisation.id'), nullable=False),
    sa.Column('provider_id', sa.Integer(), sa.ForeignKey('organisation.id'), nullable=False),
    sa.Column('home_id', sa.Integer(), sa.ForeignKey('home.id'), nullable=False),
    sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('changed_on', sa.Date(), nullable=False),
    sa.Column('cause', text(length=30), nullable=False),
    sa.Column('placement_type', text(length=30), nullable=False),
    sa.Column('local_authority', text(length=80), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('registered_places', sa.Integer(), nullable=False),
    sa.Column('places_free', sa.Integer(), nullable=False),
    sa.Column('available_from', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.CheckConstraint('registered_places >= 0', name='ck_supply_change_places_not_negative'),
    sa.CheckConstraint('places_free >= 0', name='ck_supply_change_free_not_negative'),
    )
    with op.batch_alter_table('supply_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supply_change_rcc_id'), ['rcc_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_change_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_change_changed_on'), ['changed_on'], unique=False)
        batch_op.create_index('ix_supply_change_home_changed', ['home_id', 'changed_at'], unique=False)
    grant_app_role(op, 'supply_change')
    enable_row_level_security(op, 'supply_change', SUPPLY_REGISTER)
    make_append_only(op, 'supply_change')

    see_every_row(op)
    now = datetime.now(UTC)
    rows = op.get_bind().execute(sa.text(
        "SELECT h.id, h.rcc_id, h.provider_id, h.placement_type, h.local_authority, h.active, h.registered_places, "
        "v.places_free, v.available_from FROM home h LEFT JOIN vacancy v ON v.home_id = h.id")).all()
    if rows:
        table = sa.table('supply_change', *(sa.column(n) for n in (
            'rcc_id', 'provider_id', 'home_id', 'changed_at', 'changed_on', 'cause', 'placement_type',
            'local_authority', 'active', 'registered_places', 'places_free', 'available_from')))
        op.bulk_insert(table, [  # type: ignore[arg-type]
            {'rcc_id': r.rcc_id, 'provider_id': r.provider_id, 'home_id': r.id, 'changed_at': now,
             'changed_on': now.date(), 'cause': 'history_started', 'placement_type': r.placement_type,
             'local_authority': r.local_authority, 'active': bool(r.active),
             'registered_places': r.registered_places, 'places_free': r.places_free or 0,
             'available_from': r.available_from} for r in rows])


def downgrade() -> None:
    op.drop_table('supply_change')
