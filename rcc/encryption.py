"""Two-factor secrets encrypted at rest, with a key from the environment (RCC_TOTP_KEY).

The ``cryptography`` package (Fernet) is not among the app's dependencies, so this uses only the
standard library: HMAC-SHA256 as a pseudo-random function in counter mode for the keystream, and
HMAC-SHA256 over the nonce and ciphertext for integrity (encrypt-then-MAC, separate derived keys).
A stored value looks like ``enc1:<base64 of nonce | ciphertext | tag>``; a changed byte or the wrong
key is refused, never decrypted into a different secret.

The key is 32 random bytes, URL-safe base64 (the same format as a Fernet key), e.g. from
``python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"``.
Production refuses to start without it; development and testing derive a fixed key (their
secrets are test data).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Any

from sqlalchemy import String
from sqlalchemy.types import TypeDecorator

from rcc.config import ConfigurationError

KEY_SETTING = "RCC_TOTP_KEY"
PREFIX = "enc1:"
NONCE_BYTES, TAG_BYTES = 16, 32
DEVELOPMENT_KEY = hashlib.sha256(b"rcc development and testing two-factor key; never production").digest()


class SecretBox:
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
        return hmac.digest(self._mac_key, PREFIX.encode() + nonce + ciphertext, "sha256")

    def encrypt(self, text: str) -> str:
        plain = text.encode()
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = bytes(a ^ b for a, b in zip(plain, self._keystream(nonce, len(plain)), strict=True))
        return PREFIX + base64.urlsafe_b64encode(nonce + ciphertext + self._tag(nonce, ciphertext)).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            raise ValueError("The stored two-factor secret is not encrypted")
        try:
            raw = base64.urlsafe_b64decode(stored[len(PREFIX):])
        except (binascii.Error, ValueError) as error:
            raise ValueError("The stored two-factor secret is damaged") from error
        nonce, ciphertext, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        if len(raw) < NONCE_BYTES + TAG_BYTES or not hmac.compare_digest(tag, self._tag(nonce, ciphertext)):
            raise ValueError(f"The stored two-factor secret does not match {KEY_SETTING}: wrong key, or changed")
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
        "URL-safe base64, for example the output of: python -c \"import base64, os; "
        "print(base64.urlsafe_b64encode(os.urandom(32)).decode())\"")


def box_from_environment() -> SecretBox:
    """For code outside an app (migrations, scripts, test set-up): RCC_TOTP_KEY, else the derived
    key unless RCC_ENV says production."""
    mode = os.environ.get("RCC_ENV", "development")
    return SecretBox(key_for("production" if mode == "production" else "development",
                             os.environ.get(KEY_SETTING)))


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
