"""The database: one engine per app, one session per request, tenancy always on."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session as SQLModelSession
from sqlmodel import SQLModel

from rcc.tenancy import install_tenancy


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


@event.listens_for(Session, "after_commit")
def _note_commit(session: Any) -> None:
    session.info["committed"] = True


def has_committed(session: Session) -> bool:
    """Whether anything done through this session has been committed (so redoing its work is not safe)."""
    return bool(session.info.get("committed"))


def lost_connection(error: BaseException) -> bool:
    """The error is the database connection dropping (server restart, terminated backend, network).

    SQLAlchemy has already invalidated that connection and, for a disconnect, every pooled
    connection older than it, so the next checkout gets a fresh one.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, DisconnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def make_engine(url: str, app_role: str | None = None) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(_psycopg_url(url), pool_size=10, max_overflow=20)
    event.listen(engine, "checkout", _ping_if_idle(engine))
    event.listen(engine, "checkin", _note_checkin)
    if app_role:
        event.listen(engine, "connect", _switch_role(app_role))
    return engine


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
