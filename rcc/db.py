"""The database: one engine per app, one session per request, tenancy always on."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session as SQLModelSession
from sqlmodel import SQLModel

from rcc.tenancy import SYSTEM_ROLE, install_tenancy

log = logging.getLogger(__name__)


class Session(SQLModelSession):
    """A session whose ``get`` always asks the database, so tenant filters apply.

    The identity map would otherwise hand back an object loaded earlier under a
    wider scope (for example during sign-in) without checking who is asking now.
    """

    def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if getattr(entity, "__tenant_policy__", None) is None:
            return super().get(entity, ident, **kwargs)
        return self.scalars(select(entity).where(entity.id == ident)).first()


install_tenancy(Session, SQLModel._sa_registry)  # type: ignore[attr-defined]


def make_engine(url: str, app_role: str | None = None, check_login: str = "off") -> Engine:
    """An engine for ``url``. ``app_role``: switch to that role on connecting. ``check_login``
    ("off", "warn" or "refuse"): on PostgreSQL, whether to warn or refuse to work when the login
    role could see past row-level security (``privileges_of_login``); the web app refuses in production."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(_psycopg_url(url), pool_size=10, max_overflow=20)
    event.listen(engine, "checkout", _ping_if_idle(engine))
    event.listen(engine, "checkin", _note_checkin)
    if app_role:
        event.listen(engine, "connect", _switch_role(app_role))
    if check_login != "off":
        event.listen(engine, "first_connect", _check_login(refuse=check_login == "refuse"))
    return engine


class PrivilegedLogin(RuntimeError):
    """The web logged in to PostgreSQL as a role that could escape row-level security."""


def privileges_of_login(dbapi_connection: Any) -> list[str]:
    """What the connection's login role (``session_user``, which SET ROLE does not change) could use
    to see past row-level security: superuser, BYPASSRLS, rcc_system, or owning the tables."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("""
            SELECT r.rolname, r.rolsuper, r.rolbypassrls,
                   EXISTS (SELECT 1 FROM pg_roles s WHERE s.rolname = %s AND pg_has_role(session_user, s.oid, 'MEMBER')),
                   EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
                           AND c.relkind = 'r' AND pg_has_role(session_user, c.relowner, 'MEMBER'))
            FROM pg_roles r WHERE r.rolname = session_user""", (SYSTEM_ROLE,))
        name, superuser, bypass, system, owner = cursor.fetchone()
    dbapi_connection.rollback()
    found = [f"{name} is a superuser"] if superuser else []
    found += [f"{name} has BYPASSRLS"] if bypass else []
    found += [f"{name} is a member of {SYSTEM_ROLE}"] if system else []
    found += [f"{name} owns the tables (or can become their owner)"] if owner else []
    return found


def _check_login(refuse: bool) -> Any:
    def check(dbapi_connection: Any, _record: Any) -> None:
        found = privileges_of_login(dbapi_connection)
        if not found:
            return
        message = ("DATABASE_URL must log in as the app's own role, not one that can see past row-level "
                   f"security: {'; '.join(found)}. See the README, \"Database roles\".")
        if refuse:
            raise PrivilegedLogin(message)
        log.warning(message)

    return check


# A connection used moments ago is alive; one idle longer may have been dropped by a server
# restart or a firewall, so it is pinged first (and replaced if dead). Pinging every checkout
# would add a round trip to every request.
IDLE_SECONDS_BEFORE_PING = 10.0


def _ping_if_idle(engine: Engine) -> Any:
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get("checked_in_at")
        if last_used is not None and time.monotonic() - last_used < IDLE_SECONDS_BEFORE_PING:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError("the database connection was lost") from error
        if not alive:
            raise DisconnectionError("the database connection was lost")

    return ping


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _psycopg_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _switch_role(role: str) -> Any:
    def switch(dbapi_connection: Any, _record: Any) -> None:
        # The app works as a non-owner role so that PostgreSQL's row-level security applies to it.
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f'SET ROLE "{role}"')
        dbapi_connection.commit()

    return switch


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


@contextlib.contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Commit everything done inside, including its audit rows, or nothing at all."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
