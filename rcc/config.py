"""Configuration from the environment.

DATABASE_URL            where the data lives, as the web and the workers log in to it (on PostgreSQL
                        a login role that is neither owner nor superuser); default: a SQLite file under instance/
MIGRATION_DATABASE_URL  the tables' owner, for `upgrade-db`; default: DATABASE_URL
SYSTEM_DATABASE_URL     the platform's trusted commands (create-rcc, create-user, demo, import-ofsted): a
                        login role that is a member of rcc_system; default: MIGRATION_DATABASE_URL
REDIS_URL      optional; long jobs run inline without it
RCC_ENV        development, testing or production (the default); anything else is refused
SECRET_KEY     required outside development and testing, at least 32 characters;
               testing without one runs on a random key made for the process
RCC_TOTP_KEY   the key that encrypts two-factor secrets; required in production
RCC_BASE_URL   the service's public address (https://rcc.example.gov.uk), which every link in an email
               starts with; set it in production (without it emails carry no link); development and
               testing default to http://localhost:5000
RCC_SUPPORT_EMAIL the address people write to about the service (privacy, accessibility); shown on
               the privacy notice and accessibility statement when set
RCC_IDLE_MINUTES  minutes of inactivity after which a signed-in session ends (default 30)
RCC_INSTANCE_PATH where the SQLite file and other local files go (default: instance/ in the working directory)
RCC_LOG_FORMAT json (the default outside development) or text: how log lines are written
RCC_PROXY_HOPS how many reverse proxies (nginx, a load balancer) stand in front of the app (default 0):
               the client's address is then taken from that many X-Forwarded-For entries, so the
               back-off on public forms counts each visitor, not the proxy; see docs/deployment.md
RCC_RETENTION_UNPLACED_YEARS  years after closing that a referral never placed keeps the child's details
               (default 6); see docs/retention.md
NOTIFY_API_KEY, NOTIFY_BASE_URL, NOTIFY_TEMPLATE_<EVENT>, NOTIFY_RETRY_SECONDS  email (rcc/notifications.py)
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path


def _proxy_hops(value: str | None) -> int:
    if not value:
        return 0
    if not value.strip().isdigit() or int(value) > 5:
        raise ConfigurationError(f"RCC_PROXY_HOPS is {value!r}. Set it to the number of reverse proxies in front "
                                 "of the app, from 0 to 5.")
    return int(value)


# A signed-in session ends this long after sign-in, however busy it is.
SESSION_LIFETIME = timedelta(hours=12)


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


def default_sqlite_url(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'rcc.db'}"


ENVIRONMENTS = ("development", "testing", "production")
MIN_SECRET_KEY_LENGTH = 32
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-not-for-production"


def environment(overrides: dict | None = None) -> str:
    """RCC_ENV, refused unless it is exactly one of ``ENVIRONMENTS`` (default: production)."""
    mode = (overrides or {}).get("RCC_ENV", os.environ.get("RCC_ENV", "production"))
    if mode not in ENVIRONMENTS:
        raise ConfigurationError(
            f"RCC_ENV is {mode!r}, which is not an environment this service knows. "
            f"Set RCC_ENV to one of: {', '.join(ENVIRONMENTS)}."
        )
    return str(mode)


def _secret_key(mode: str, secret: str | None) -> str:
    if not secret:
        if mode == "testing":
            return secrets.token_urlsafe(48)  # never a published key, even in tests
        if mode == "development":
            return DEVELOPMENT_SECRET_KEY
        raise ConfigurationError(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string, or set RCC_ENV=development to run with a development key."
        )
    if len(secret) < MIN_SECRET_KEY_LENGTH and mode != "testing":
        raise ConfigurationError(
            f"SECRET_KEY is {len(secret)} characters long. It must be at least {MIN_SECRET_KEY_LENGTH} "
            "random characters, for example the output of: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return secret


DEVELOPMENT_BASE_URL = "http://localhost:5000"


def _base_url(mode: str, value: str | None) -> str | None:
    if not value:
        return DEVELOPMENT_BASE_URL if mode in ("development", "testing") else None
    if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?", value):
        raise ConfigurationError(f"RCC_BASE_URL is {value!r}, which is not a web address. Set it to the service's "
                                 "public address, for example https://rcc.example.gov.uk")
    return value.rstrip("/")


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    env = os.environ
    overrides = overrides or {}
    mode = environment(overrides)
    secret = _secret_key(mode, overrides.get("SECRET_KEY", env.get("SECRET_KEY")))
    production = mode == "production"
    config = {
        "RCC_ENV": mode,
        "SECRET_KEY": secret,
        "DATABASE_URL": env.get("DATABASE_URL") or default_sqlite_url(instance_path),
        "MIGRATION_DATABASE_URL": env.get("MIGRATION_DATABASE_URL") or None,
        "SYSTEM_DATABASE_URL": env.get("SYSTEM_DATABASE_URL") or None,
        # The group role holding the app's table rights; the web's login role is a member and also
        # switches to it (harmless: RESET ROLE gives back only the login role, which has no more).
        "DATABASE_APP_ROLE": env.get("DATABASE_APP_ROLE", "rcc_app"),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        # Sessions are server-side (``user_session``): the cookie carries only a token, lives as long
        # as a session may, and is sent once, at sign-in. The idle time-out is checked on the server.
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=int(env.get("RCC_IDLE_MINUTES", "30"))),
        "PERMANENT_SESSION_LIFETIME": SESSION_LIFETIME,
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        "SERVICE_NAME": "Regional Care Cooperative",
        "API_TITLE": "Regional Care Cooperative API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "TESTING": mode == "testing",
        "RCC_TOTP_KEY": env.get("RCC_TOTP_KEY") or None,
        "RCC_BASE_URL": _base_url(mode, overrides.get("RCC_BASE_URL", env.get("RCC_BASE_URL"))),
        "RCC_SUPPORT_EMAIL": env.get("RCC_SUPPORT_EMAIL") or None,
        "RCC_LOG_FORMAT": env.get("RCC_LOG_FORMAT") or ("text" if mode == "development" else "json"),
        "RCC_PROXY_HOPS": _proxy_hops(env.get("RCC_PROXY_HOPS")),
    }
    config.update(overrides)
    config["MIGRATION_DATABASE_URL"] = config["MIGRATION_DATABASE_URL"] or config["DATABASE_URL"]
    config["SYSTEM_DATABASE_URL"] = config["SYSTEM_DATABASE_URL"] or config["MIGRATION_DATABASE_URL"]
    config["SECRET_KEY"] = secret
    config["RCC_BASE_URL"] = _base_url(mode, str(config["RCC_BASE_URL"] or "") or None)
    if production:  # no override can send a production session cookie over plain HTTP
        config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = True
    return config
