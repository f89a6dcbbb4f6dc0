"""hardening: API token expiry and scope, Ofsted rating provenance, two-factor secrets encrypted

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 11:50:00
"""
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.encryption import KEY_SETTING, key_for
from rcc.encryption import LEGACY_PREFIX as PREFIX
from rcc.encryption import LegacyBox as SecretBox  # 0007 wrote the earlier scheme; 0015 re-encrypts it
from rcc.migration_support import is_postgres

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tokens made before expiry existed keep working for this long after the upgrade, then stop.
EXISTING_TOKEN_DAYS = 90


def _act_as_platform() -> None:
    """Row-level security is forced even for the owner: say this is the platform for the data changes."""
    if is_postgres(op):
        op.execute("SELECT set_config('rcc.org_kind', 'system', true)")


def upgrade() -> None:
    _act_as_platform()
    plain, box = _secrets_to_encrypt()  # first, so a missing key stops the upgrade before any change
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True))
        batch_op.add_column(sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Existing tokens could do everything their creator could: they stay read-and-change until they expire.
    op.execute(sa.text("UPDATE api_token SET scope = 'read_write', expires_at = :until").bindparams(
        sa.bindparam("until", datetime.now(UTC) + timedelta(days=EXISTING_TOKEN_DAYS),
                     type_=sqlmodel.sql.sqltypes.UTCDateTime())))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.alter_column('scope', existing_type=sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False)
        batch_op.alter_column('expires_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False)

    # A rating already in the register has no known source (a provider may have typed it): it stays,
    # shown as not yet confirmed, until the next Ofsted import or an RCC user sets it.
    with op.batch_alter_table('home', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating_source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('rating_recorded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('rating_recorded_by', sqlmodel.sql.sqltypes.AutoString(length=120),
                                      nullable=True))

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
                              type_=sa.String(length=255), existing_nullable=True)
    for user_id, secret in plain:
        assert box is not None  # there is one whenever there are secrets to encrypt
        op.get_bind().execute(sa.text("UPDATE user_account SET totp_secret = :secret WHERE id = :id").bindparams(
            secret=box.encrypt(secret), id=user_id))


def _secrets_to_encrypt() -> tuple[list, SecretBox | None]:
    plain = list(op.get_bind().execute(sa.text(
        "SELECT id, totp_secret FROM user_account WHERE totp_secret IS NOT NULL AND totp_secret NOT LIKE :prefix"
    ).bindparams(prefix=PREFIX + "%")).all())
    if not plain:
        return [], None
    # Refuses (naming RCC_TOTP_KEY) outside development and testing when the key is not set.
    return plain, SecretBox(key_for(os.environ.get("RCC_ENV", "production"), os.environ.get(KEY_SETTING)))


def downgrade() -> None:
    _act_as_platform()
    connection = op.get_bind()
    encrypted = connection.execute(sa.text(
        "SELECT id, totp_secret FROM user_account WHERE totp_secret LIKE :prefix").bindparams(prefix=PREFIX + "%")).all()
    if encrypted:
        box = SecretBox(key_for(os.environ.get("RCC_ENV", "production"), os.environ.get(KEY_SETTING)))
        for user_id, secret in encrypted:
            connection.execute(sa.text("UPDATE user_account SET totp_secret = :secret WHERE id = :id").bindparams(
                secret=box.decrypt(secret), id=user_id))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=64), existing_nullable=True)
    with op.batch_alter_table('home', schema=None) as batch_op:
        batch_op.drop_column('rating_recorded_by')
        batch_op.drop_column('rating_recorded_at')
        batch_op.drop_column('rating_source')
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
