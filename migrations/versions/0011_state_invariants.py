"""state invariants held by the database

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07

Whatever requests interleave, the database itself refuses an impossible state:
at most one open referral per child, one open offer (sent or accepted) per referral,
one live placement per referral and per child; a placement ends on or after its start;
a home never has fewer than no free places. Partial unique indexes and CHECK
constraints, on SQLite and PostgreSQL alike. The statuses are written out here rather
than imported, so a later change to the models cannot rewrite history.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rcc.migration_support import see_every_row

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_REFERRAL = "status IN ('draft', 'submitted', 'in_matching', 'offered', 'proposal_approved')"
OPEN_OFFER = "status IN ('sent', 'accepted')"
LIVE_PLACEMENT = "end_date IS NULL"


def _where(where: str) -> dict[str, object]:
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


# Rows that already break a rule (left by the races this migration closes) must be put right by
# hand first; the migration names them rather than failing on an index error.
EXISTING_BREACHES = {
    "children with two open referrals": f"SELECT child_id FROM referral WHERE {OPEN_REFERRAL} "
                                        "GROUP BY child_id HAVING COUNT(*) > 1",
    "referrals with two open offers": f"SELECT referral_id FROM matching_offer WHERE {OPEN_OFFER} "
                                      "GROUP BY referral_id HAVING COUNT(*) > 1",
    "referrals with two live placements": f"SELECT referral_id FROM placement WHERE {LIVE_PLACEMENT} "
                                          "GROUP BY referral_id HAVING COUNT(*) > 1",
    "children with two live placements": f"SELECT child_id FROM placement WHERE {LIVE_PLACEMENT} "
                                         "GROUP BY child_id HAVING COUNT(*) > 1",
    "homes with negative free places": "SELECT home_id FROM vacancy WHERE places_free < 0",
    "placements ending before they start": "SELECT id FROM placement WHERE end_date < start_date",
}


def _refuse_existing_breaches() -> None:
    bind = op.get_bind()
    found = {rule: [row[0] for row in bind.execute(sa.text(sql))] for rule, sql in EXISTING_BREACHES.items()}
    found = {rule: ids for rule, ids in found.items() if ids}
    if found:
        listed = "; ".join(f"{rule}: ids {ids[:20]}" for rule, ids in found.items())
        raise RuntimeError(f"Put these rows right before upgrading (end, withdraw or correct them): {listed}")


def upgrade() -> None:
    see_every_row(op)
    _refuse_existing_breaches()
    with op.batch_alter_table('vacancy', schema=None) as batch_op:
        batch_op.create_check_constraint('ck_vacancy_places_free_not_negative', 'places_free >= 0')
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.create_check_constraint('ck_placement_ends_after_start',
                                         'end_date IS NULL OR end_date >= start_date')
    op.create_index('uq_referral_open_per_child', 'referral', ['child_id'], unique=True, **_where(OPEN_REFERRAL))
    op.create_index('uq_matching_offer_open_per_referral', 'matching_offer', ['referral_id'], unique=True,
                    **_where(OPEN_OFFER))
    op.create_index('uq_placement_live_per_referral', 'placement', ['referral_id'], unique=True,
                    **_where(LIVE_PLACEMENT))
    op.create_index('uq_placement_live_per_child', 'placement', ['child_id'], unique=True,
                    **_where(LIVE_PLACEMENT))


def downgrade() -> None:
    op.drop_index('uq_placement_live_per_child', table_name='placement')
    op.drop_index('uq_placement_live_per_referral', table_name='placement')
    op.drop_index('uq_matching_offer_open_per_referral', table_name='matching_offer')
    op.drop_index('uq_referral_open_per_child', table_name='referral')
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.drop_constraint('ck_placement_ends_after_start', type_='check')
    with op.batch_alter_table('vacancy', schema=None) as batch_op:
        batch_op.drop_constraint('ck_vacancy_places_free_not_negative', type_='check')
