"""two-factor secrets under Fernet; pending sign-ins held on the server

Revision ID: 0015
Revises: 0014

* ``user_account.totp_secret``: values of the earlier scheme (``enc1:``) are re-encrypted with
  Fernet (``enc2:``) under the same RCC_TOTP_KEY; the downgrade turns them back.
* ``user_account.pending_sign_in_hash`` / ``pending_sign_in_expires_at``: the half-signed-in state
  between the password and the security code, so it expires and can be cleared on the server.
* PostgreSQL: ``rcc_totp_secret_sample()`` hands the web one stored ciphertext (nothing else), so
  it can refuse to start with the wrong key (``rcc.encryption.check_stored_secrets``).
"""
import os
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from rcc.encryption import KEY_SETTING, LEGACY_PREFIX, PREFIX, LegacyBox, SecretBox, key_for
from rcc.migration_support import APP_ROLE, is_postgres, see_every_row

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SAMPLE_FUNCTION = """
CREATE OR REPLACE FUNCTION rcc_totp_secret_sample()
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
SET rcc.org_kind = 'system'  -- for the call only; counts because the owner is a member of rcc_system
AS $$ SELECT totp_secret FROM user_account WHERE totp_secret IS NOT NULL ORDER BY id LIMIT 1 $$"""


def _key() -> bytes:
    # Refuses (naming RCC_TOTP_KEY) outside development and testing when the key is not set.
    return key_for(os.environ.get("RCC_ENV", "production"), os.environ.get(KEY_SETTING))


def _rewrite(old_prefix: str, read: object, write: object) -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, totp_secret FROM user_account WHERE totp_secret LIKE :prefix")
                              .bindparams(prefix=old_prefix + "%")).all()
    for user_id, stored in rows:
        plain = read.decrypt(stored)  # type: ignore[attr-defined]
        connection.execute(sa.text("UPDATE user_account SET totp_secret = :secret WHERE id = :id")
                           .bindparams(secret=write.encrypt(plain), id=user_id))  # type: ignore[attr-defined]


def upgrade() -> None:
    see_every_row(op)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_sign_in_hash', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('pending_sign_in_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    if op.get_bind().execute(sa.text("SELECT count(*) FROM user_account WHERE totp_secret LIKE :prefix")
                             .bindparams(prefix=LEGACY_PREFIX + "%")).scalar():
        key = _key()
        _rewrite(LEGACY_PREFIX, LegacyBox(key), SecretBox(key))
    if is_postgres(op):
        op.execute(SAMPLE_FUNCTION)
        op.execute("REVOKE ALL ON FUNCTION rcc_totp_secret_sample() FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION rcc_totp_secret_sample() TO {APP_ROLE}")


def downgrade() -> None:
    see_every_row(op)
    if is_postgres(op):
        op.execute("DROP FUNCTION IF EXISTS rcc_totp_secret_sample()")
    if op.get_bind().execute(sa.text("SELECT count(*) FROM user_account WHERE totp_secret LIKE :prefix")
                             .bindparams(prefix=PREFIX + "%")).scalar():
        key = _key()
        _rewrite(PREFIX, SecretBox(key), LegacyBox(key))
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('pending_sign_in_expires_at')
        batch_op.drop_column('pending_sign_in_hash')
