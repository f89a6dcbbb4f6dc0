"""referrals in the Placements Data Standard v2's terms; needs and risks in its vocabulary; SSD extract children

Revision ID: 0019
Revises: 0018

The six "areas of need" once credited to a "National Placements Standard v2" are not in the
Placements Data Standard v2 (SocialCareData/placements-standard). Referrals gain the standard's
placement recommendation (suitability of foster, residential and supported accommodation) and
placement requirements; needs and risk keys move to the standard's words, on referrals, homes'
``needs_met`` and tender lots' ``needs``, as the table below says (commissioning/README.md has it
too). Nothing a council wrote is lost: a key with no place in the standard goes into the
referral's "other risk" text, or, for needs, into the standard answer that says the same.

``ssd_child`` keeps a council's children in care from its Standard Safeguarding Dataset extract,
pseudonymised, to pre-fill referral forms (council and RCC rows, like ``child``).
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.migration_support import enable_row_level_security, grant_app_role, see_every_row
from rcc.tenancy import COUNCIL_AND_RCC

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUITABILITIES = ('preferred', 'suitable', 'unsuitable', 'not_specified')
STANDARD_TYPES = {'foster': ('foster_care',),
                  'residential': ('childrens_home', 'residential_school', 'secure', 'parent_and_child'),
                  'supported_accommodation': ('supported_accommodation',)}
CHECKS = {
    **{f'{key}_suitability': SUITABILITIES for key in STANDARD_TYPES},
    'communication_needs': ('yes', 'no', 'not_specified'),
    'cultural_needs': ('required', 'not_required', 'not_known', 'other'),
    'living_companions': ('solo', 'with_others', 'older_only', 'younger_only', 'no_preference'),
    'pets': ('must', 'can', 'no', 'not_known'),
}
ADDITIONAL_SUPPORT = ('additional_supervision', 'therapeutic_support', 'respite_worker', 'taxis_to_school',
                      'not_applicable', 'other')
# Old risk key -> the standard's risk (None: kept as words in the "other" text of the side named).
RISKS: dict[str, str | None] = {
    'child_sexual_exploitation': 'sexual_exploitation', 'criminal_exploitation': 'criminal_exploitation',
    'going_missing': 'going_missing', 'self_harm': 'self_harm', 'substance_misuse': 'drug_alcohol',
    'fire_setting': 'fire_setting', 'harmful_sexual_behaviour': 'sexual_harm_to_others',
    'violence': 'physical_harm_to_others', 'offending': None, 'radicalisation': None, 'trafficking': None}
OTHER_RISK_TEXT = {'offending': ('risk_to_others_other', 'Offending'),
                   'radicalisation': ('risk_to_child_other', 'Radicalisation'),
                   'trafficking': ('risk_to_child_other', 'Trafficking')}
# Old need key -> the matching need it becomes for homes (None: the standard has no such need).
NEEDS: dict[str, str | None] = {
    'emotional_behavioural': 'therapeutic_support', 'health_disability': 'home_adaptation',
    'communication': 'communication_other', 'education': None, 'living_with_others': None, 'pets': None}
NEW_RISK_ORDER = ('self_harm', 'sexual_exploitation', 'criminal_exploitation', 'drug_alcohol', 'eating_disorder',
                  'going_missing', 'physical_harm_to_others', 'sexual_harm_to_others', 'fire_setting',
                  'harm_to_animals', 'criminal_exploitation_of_others')
NEW_NEED_ORDER = ('communication_esol', 'communication_bsl', 'communication_makaton', 'communication_other',
                  'home_adaptation', 'cultural_needs', 'solo_placement', 'lives_with_pets', 'no_pets',
                  'additional_supervision', 'therapeutic_support', 'respite_worker', 'taxis_to_school')
NEW_KEYS = NEW_NEED_ORDER + NEW_RISK_ORDER


def _in(column: str, keys: Sequence[str], nullable: bool = False) -> str:
    condition = f"{column} IN ({', '.join(repr(k) for k in keys)})"
    return f"{column} IS NULL OR {condition}" if nullable else condition


def upgrade() -> None:
    see_every_row(op)
    op.create_table('ssd_child',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rcc_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('birth_month', sa.Integer(), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('sex', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=True),
    sa.Column('legal_status', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('category_of_need', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('episode_start', sa.Date(), nullable=True),
    sa.Column('placement_code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True),
    sa.Column('placement_start', sa.Date(), nullable=True),
    sa.Column('imported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['council_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['rcc_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('council_id', 'reference', name='uq_ssd_child_council_reference'),
    sa.CheckConstraint('birth_month BETWEEN 1 AND 12', name='ck_ssd_child_birth_month'),
    )
    with op.batch_alter_table('ssd_child', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ssd_child_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ssd_child_rcc_id'), ['rcc_id'], unique=False)
    grant_app_role(op, 'ssd_child')
    enable_row_level_security(op, 'ssd_child', COUNCIL_AND_RCC)
    with op.batch_alter_table('referral', schema=None) as batch_op:
        for key in STANDARD_TYPES:
            batch_op.add_column(sa.Column(f'{key}_suitability', sqlmodel.sql.sqltypes.AutoString(length=20),
                                          nullable=False, server_default='not_specified'))
        batch_op.add_column(sa.Column('communication_needs', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default='not_specified'))
        batch_op.add_column(sa.Column('communication_requirements', sa.JSON(), nullable=False,
                                      server_default='["none"]'))
        batch_op.add_column(sa.Column('home_adaptation', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('cultural_needs', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default='not_known'))
        batch_op.add_column(sa.Column('living_companions', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default='no_preference'))
        batch_op.add_column(sa.Column('pets', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default='not_known'))
        batch_op.add_column(sa.Column('additional_support', sqlmodel.sql.sqltypes.AutoString(length=30),
                                      nullable=True))
        batch_op.add_column(sa.Column('risk_to_child_other', sqlmodel.sql.sqltypes.AutoString(length=2000),
                                      nullable=True))
        batch_op.add_column(sa.Column('risk_to_others_other', sqlmodel.sql.sqltypes.AutoString(length=2000),
                                      nullable=True))
        batch_op.add_column(sa.Column('preferred_location', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=True))
        batch_op.add_column(sa.Column('education_continuity', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    _move_referrals()
    _move_keys('home', 'needs_met')
    _move_keys('tender_lot', 'needs')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        for column, keys in CHECKS.items():
            batch_op.create_check_constraint(f'ck_referral_{column}', _in(column, keys))
        batch_op.create_check_constraint('ck_referral_additional_support',
                                         _in('additional_support', ADDITIONAL_SUPPORT, nullable=True))


def _keys(value: Any) -> list[str]:
    if isinstance(value, str):
        value = sa.types.JSON().result_processor(op.get_bind().dialect, None)(value) if value else []  # type: ignore[misc]
    return list(value or [])


def _json(value: Any) -> Any:
    return sa.type_coerce(value, sa.JSON())


def _move_referrals() -> None:
    referral = sa.table('referral', sa.column('id', sa.Integer()), sa.column('placement_type', sa.String()),
                        sa.column('needs', sa.JSON()), sa.column('risk_flags', sa.JSON()),
                        *(sa.column(f'{key}_suitability', sa.String()) for key in STANDARD_TYPES),
                        sa.column('communication_needs', sa.String()), sa.column('communication_requirements', sa.JSON()),
                        sa.column('home_adaptation', sa.Boolean()), sa.column('additional_support', sa.String()),
                        sa.column('risk_to_child_other', sa.String()), sa.column('risk_to_others_other', sa.String()),
                        sa.column('education_continuity', sa.Boolean()))
    bind = op.get_bind()
    rows = bind.execute(sa.select(referral.c.id, referral.c.placement_type, referral.c.needs,
                                  referral.c.risk_flags)).all()
    for referral_id, placement_type, needs, risks in rows:
        needs, risks = _keys(needs), _keys(risks)
        values: dict[str, Any] = {
            f'{key}_suitability': 'preferred' if placement_type in types else 'unsuitable'
            for key, types in STANDARD_TYPES.items()}
        if not any(placement_type in types for types in STANDARD_TYPES.values()):
            values = {f'{key}_suitability': 'not_specified' for key in STANDARD_TYPES}
        new_needs = [NEEDS[n] for n in needs if NEEDS.get(n)]
        if 'communication' in needs:
            values.update(communication_needs='yes', communication_requirements=['other'])
        values['home_adaptation'] = 'health_disability' in needs
        values['additional_support'] = 'therapeutic_support' if 'emotional_behavioural' in needs else None
        values['education_continuity'] = 'education' in needs
        values['needs'] = [k for k in NEW_NEED_ORDER if k in new_needs]
        values['risk_flags'] = [k for k in NEW_RISK_ORDER if k in {RISKS.get(r) for r in risks}]
        for old, (column, words) in OTHER_RISK_TEXT.items():
            if old in risks:
                values[column] = f"{values[column]}; {words}" if values.get(column) else words
        bind.execute(referral.update().where(referral.c.id == referral_id).values(**values))


def _move_keys(table_name: str, column: str) -> None:
    table = sa.table(table_name, sa.column('id', sa.Integer()), sa.column(column, sa.JSON()))
    bind = op.get_bind()
    for row_id, keys in bind.execute(sa.select(table.c.id, table.c[column])).all():
        old = _keys(keys)
        moved = {NEEDS.get(k) or RISKS.get(k) for k in old} | {k for k in old if k in NEW_KEYS}
        new = [k for k in NEW_KEYS if k in moved]
        if new != old:
            bind.execute(table.update().where(table.c.id == row_id).values({column: new}))


def downgrade() -> None:
    see_every_row(op)
    back_needs = {new: old for old, new in NEEDS.items() if new}
    back_risks = {new: old for old, new in RISKS.items() if new}
    for table_name, column in (('referral', 'needs'), ('referral', 'risk_flags'), ('home', 'needs_met'),
                               ('tender_lot', 'needs')):
        table = sa.table(table_name, sa.column('id', sa.Integer()), sa.column(column, sa.JSON()))
        bind = op.get_bind()
        for row_id, keys in bind.execute(sa.select(table.c.id, table.c[column])).all():
            old = [back_needs.get(k) or back_risks.get(k) for k in _keys(keys)]
            bind.execute(table.update().where(table.c.id == row_id).values({column: [k for k in old if k]}))
    with op.batch_alter_table('referral', schema=None) as batch_op:
        for column in (*CHECKS, 'additional_support'):
            batch_op.drop_constraint(f'ck_referral_{column}', type_='check')
        for column in ('education_continuity', 'preferred_location', 'risk_to_others_other', 'risk_to_child_other',
                       'additional_support', 'pets', 'living_companions', 'cultural_needs', 'home_adaptation',
                       'communication_requirements', 'communication_needs',
                       *(f'{key}_suitability' for key in STANDARD_TYPES)):
            batch_op.drop_column(column)
    op.drop_table('ssd_child')
