"""Two-factor secrets encrypted at rest with Fernet (the ``cryptography`` package), with a key
from the environment (RCC_TOTP_KEY).

Fernet is AES-128-CBC with HMAC-SHA256 (encrypt-then-MAC) and a random IV: a changed byte or the
wrong key is refused, never decrypted into a different secret. A stored value looks like
``enc2:<Fernet token>``. Values written before (``enc1:``, an HMAC-SHA256 keystream construction
from the standard library: ``LegacyBox``) are re-encrypted by migration 0015 with the same key;
its downgrade turns them back.

The key is a Fernet key: 32 random bytes, URL-safe base64 (44 characters), e.g. from
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``.
(Keys made for the earlier scheme have the same format and keep working.) Production refuses to
start without it, or when it cannot decrypt the secrets already stored (``check_stored_secrets``);
development and testing derive a fixed key (their secrets are test data).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import LargeBinary, String, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

from rcc.config import ConfigurationError
from rcc.db import PrivilegedLogin

log = logging.getLogger(__name__)

KEY_SETTING = "RCC_TOTP_KEY"
PREFIX = "enc2:"
LEGACY_PREFIX = "enc1:"
NONCE_BYTES, TAG_BYTES = 16, 32
DEVELOPMENT_KEY = hashlib.sha256(b"rcc development and testing two-factor key; never production").digest()
WRONG_KEY = (f"{KEY_SETTING} cannot decrypt the two-factor secrets stored in the database: it is not the key "
             "they were encrypted with (or a stored value was changed). Set it back to that key (see the README, "
             "\"Security model\").")


class WrongKey(ConfigurationError):
    """RCC_TOTP_KEY is not the key the stored secrets were encrypted with."""


class SecretBox:
    """Encrypts and decrypts one secret with Fernet."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigurationError(f"{KEY_SETTING} must be 32 bytes (44 characters of URL-safe base64)")
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode()).decode()

    def encrypt_bytes(self, plain: bytes) -> bytes:
        """A file's bytes as a Fernet token (for documents stored encrypted at rest)."""
        return self._fernet.encrypt(plain)

    def decrypt_bytes(self, stored: bytes) -> bytes:
        try:
            return self._fernet.decrypt(stored)
        except InvalidToken as error:
            raise WrongKey(WRONG_KEY) from error

    def decrypt(self, stored: str) -> str:
        if stored.startswith(LEGACY_PREFIX):
            raise ValueError("The stored two-factor secret uses the earlier encryption: run the migrations "
                             "(flask db upgrade; migration 0015 re-encrypts it)")
        if not stored.startswith(PREFIX):
            raise ValueError("The stored two-factor secret is not encrypted")
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken as error:
            raise WrongKey(WRONG_KEY) from error


class LegacyBox:
    """The earlier scheme (``enc1:``), kept only so migrations can read and write it: HMAC-SHA256
    in counter mode for the keystream, HMAC-SHA256 over the nonce and ciphertext for integrity."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigurationError(f"{KEY_SETTING} must be 32 bytes (44 characters of URL-safe base64)")
        self._encrypt_key = hmac.digest(key, b"rcc totp: encrypt", "sha256")
        self._mac_key = hmac.digest(key, b"rcc totp: authenticate", "sha256")

    def _keystream(self, nonce: bytes, length: int) -> bytes:
        blocks = (hmac.digest(self._encrypt_key, nonce + n.to_bytes(4, "big"), "sha256")
                  for n in range(-(-length // 32)))
        return b"".join(blocks)[:length]

    def _tag(self, nonce: bytes, ciphertext: bytes) -> bytes:
        return hmac.digest(self._mac_key, LEGACY_PREFIX.encode() + nonce + ciphertext, "sha256")

    def encrypt(self, text: str) -> str:
        plain = text.encode()
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = bytes(a ^ b for a, b in zip(plain, self._keystream(nonce, len(plain)), strict=True))
        return LEGACY_PREFIX + base64.urlsafe_b64encode(nonce + ciphertext + self._tag(nonce, ciphertext)).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(LEGACY_PREFIX):
            raise ValueError("The stored two-factor secret is not encrypted")
        try:
            raw = base64.urlsafe_b64decode(stored[len(LEGACY_PREFIX):])
        except (binascii.Error, ValueError) as error:
            raise ValueError("The stored two-factor secret is damaged") from error
        nonce, ciphertext, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        if len(raw) < NONCE_BYTES + TAG_BYTES or not hmac.compare_digest(tag, self._tag(nonce, ciphertext)):
            raise WrongKey(WRONG_KEY)
        return bytes(a ^ b for a, b in zip(ciphertext, self._keystream(nonce, len(ciphertext)), strict=True)).decode()


def parse_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError) as error:
        raise ConfigurationError(f"{KEY_SETTING} is not URL-safe base64") from error
    if len(key) != 32:
        raise ConfigurationError(f"{KEY_SETTING} must be 32 random bytes in URL-safe base64 (44 characters)")
    return key


def key_for(mode: str, setting: str | None) -> bytes:
    """The key for an environment: the setting if given; derived in development and testing; else refused."""
    if setting:
        return parse_key(setting)
    if mode in ("development", "testing"):
        return DEVELOPMENT_KEY
    raise ConfigurationError(
        f"{KEY_SETTING} is not set. Two-factor secrets are encrypted with it: set it to 32 random bytes in "
        "URL-safe base64 (a Fernet key), for example the output of: python -c \"from cryptography.fernet "
        "import Fernet; print(Fernet.generate_key().decode())\"")


def box_from_environment() -> SecretBox:
    """For code outside an app (migrations, scripts, test set-up): RCC_TOTP_KEY, else the derived
    key unless RCC_ENV says production."""
    mode = os.environ.get("RCC_ENV", "development")
    return SecretBox(key_for("production" if mode == "production" else "development",
                             os.environ.get(KEY_SETTING)))


def check_stored_secrets(engine: Engine, box: SecretBox) -> None:
    """At start-up: refuse (``WrongKey``, naming RCC_TOTP_KEY) if the key cannot decrypt a secret
    already stored, rather than failing each sign-in. On PostgreSQL the web's role sees no rows
    before anyone signs in, so one ciphertext comes from ``rcc_totp_secret_sample()`` (migration
    0015). A database not migrated yet, or not reachable, is left for the first request to find."""
    query = ("SELECT rcc_totp_secret_sample()" if engine.dialect.name == "postgresql" else
             "SELECT totp_secret FROM user_account WHERE totp_secret IS NOT NULL LIMIT 1")
    try:
        with engine.connect() as connection:
            stored = connection.execute(text(query)).scalar()
    except (DBAPIError, PrivilegedLogin) as error:  # the first request reports these as it always has
        log.info("two-factor key not checked at start-up: %s", type(error).__name__)
        return
    if stored and stored.startswith(PREFIX):
        box.decrypt(stored)  # WrongKey if it is not the key


def current_box() -> SecretBox:
    from flask import current_app, has_app_context  # noqa: PLC0415 - the core's models load without Flask too

    if has_app_context() and "rcc_secret_box" in current_app.extensions:
        return current_app.extensions["rcc_secret_box"]  # type: ignore[no-any-return]
    return box_from_environment()


class EncryptedSecret(TypeDecorator[str]):
    """A column that holds a secret encrypted: code reads and writes the plain value; the database
    (and any copy or backup of it) holds only ciphertext. This is the one place it is read or written."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else current_box().encrypt(value)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else current_box().decrypt(value)


class EncryptedFile(TypeDecorator[bytes]):
    """A column that holds a file encrypted (Fernet, the same key): code reads and writes the file's
    bytes; the database and its backups hold only the token."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        return None if value is None else current_box().encrypt_bytes(bytes(value))

    def process_result_value(self, value: Any, dialect: Any) -> bytes | None:
        return None if value is None else current_box().decrypt_bytes(bytes(value))
