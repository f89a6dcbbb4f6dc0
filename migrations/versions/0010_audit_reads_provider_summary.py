"""audit reads and the provider summary

Every read of a child's data is audited against the council whose child it is
(``subject_organisation_id``), naming the records read (``record_ids``); the audit
trail's row-level security lets that council see those rows. Referrals gain the
council's summary for providers, the only free text about a child providers see; the
child's own words are removed from the profiles stored on offers already made.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rcc.migration_support import enable_row_level_security, is_postgres
from rcc.tenancy import OWN_ORGANISATION, TenantPolicy

# Written out here rather than imported, so a later change to the model cannot rewrite history.
AUDIT_TRAIL = TenantPolicy(owner_columns=("organisation_id", "subject_organisation_id"))

revision: str = '0010'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_organisation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('record_ids', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_event_subject_organisation_id'), ['subject_organisation_id'],
                              unique=False)
        batch_op.create_foreign_key('fk_audit_event_subject_organisation_id', 'organisation',
                                    ['subject_organisation_id'], ['id'])
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_summary', sa.String(length=2000), nullable=False,
                                      server_default=''))
    enable_row_level_security(op, "audit_event", AUDIT_TRAIL)
    # Offers already made carry the child's own words in their stored profile; providers are shown
    # only the summary from now on, and the words are removed from what is stored as well.
    if is_postgres(op):
        op.execute("SELECT set_config('rcc.org_kind', 'system', true)")
        op.execute("UPDATE matching_offer SET profile = (profile::jsonb - 'wishes')::json "
                   "WHERE profile::jsonb ? 'wishes'")
    else:
        op.execute("UPDATE matching_offer SET profile = json_remove(profile, '$.wishes') "
                   "WHERE json_extract(profile, '$.wishes') IS NOT NULL")


def downgrade() -> None:
    enable_row_level_security(op, "audit_event", OWN_ORGANISATION)
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_column('provider_summary')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint('fk_audit_event_subject_organisation_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_event_subject_organisation_id'))
        batch_op.drop_column('record_ids')
        batch_op.drop_column('subject_organisation_id')
