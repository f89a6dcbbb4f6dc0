"""The database: one engine per app, one session per request, tenancy always on."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import create_engine, event, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session as SQLModelSession
from sqlmodel import SQLModel

from rcc.errors import Conflict
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
    """Commit everything done inside, including its audit rows, or nothing at all.

    The services check their rules first (under the locks they take), so the database refusing a
    duplicate or an impossible value (a unique index or CHECK of migration 0011) means another
    request got there at the same moment: that is a Conflict with a plain message, not a 500.
    """
    try:
        yield session
        session.commit()
    except IntegrityError as error:
        session.rollback()
        if _refused_as_a_race(error):
            raise Conflict(RACE_LOST) from error
        raise
    except BaseException:
        session.rollback()
        raise


RACE_LOST = ("Someone else changed this at the same moment, so nothing was saved. "
             "Reload the page to see what it is now, and try again if you still need to.")


def _refused_as_a_race(error: IntegrityError) -> bool:
    sqlstate = getattr(error.orig, "sqlstate", None)  # PostgreSQL: unique or check violation
    if sqlstate is not None:
        return sqlstate in ("23505", "23514")
    return str(error.orig).startswith(("UNIQUE constraint failed", "CHECK constraint failed"))


# Changing state when two people act at once -----------------------------------------------------
#
# Every change of state is conditional on the state it starts from, so of two requests racing
# to change the same row exactly one wins and the other is told so (a Conflict: a 409 from the
# API, a plain message on the page), never a silent success. Rules that read several rows lock
# them first with ``lock``, always in the same order — referral, then the home's vacancy, then
# the offer or placement — so that two requests never wait for each other.

def transition(session: Any, row: Any, column: str, expected: Any, new: Any,
               refused: str | Callable[[Any], str], **values: Any) -> None:
    """Set ``row.column`` to ``new`` (and ``values``) only if it is still ``expected``.

    ``expected`` is a value, a tuple of values, or None (the column is still empty). One
    ``UPDATE ... WHERE id = :id AND column = :expected``: the database applies it atomically,
    so whoever comes second finds the row changed and gets ``Conflict(refused)``; ``refused``
    may be a function of the row as it now is, to say what it became.
    """
    model = type(row)
    attribute = getattr(model, column)
    if expected is None:
        condition = attribute.is_(None)
    elif isinstance(expected, tuple):
        condition = attribute.in_(expected)
    else:
        condition = attribute == expected
    changes = {column: new, **values}
    versioned = hasattr(model, "row_version")  # a record people edit (rcc.versions): a move is a change too
    statement = update(model).where(model.id == row.id, condition).values(
        {**changes, "row_version": model.row_version + 1} if versioned else changes)
    found = session.execute((statement.returning(model.row_version) if versioned else statement.returning(model.id))
                            .execution_options(synchronize_session=False)).first()
    if found is None:
        session.refresh(row)
        raise Conflict(refused(row) if callable(refused) else refused)
    for key, value in changes.items():
        set_committed_value(row, key, value)
    if versioned:
        set_committed_value(row, "row_version", found[0])


def lock(session: Any, model: Any, *conditions: Any) -> Any:
    """The first row of ``model`` matching ``conditions``, locked until the transaction ends.

    PostgreSQL: ``SELECT ... FOR UPDATE`` (and the row is read afresh, not from the session).
    SQLite has no row locks: a no-op UPDATE of the row takes the database's write lock first,
    so the read that follows sees every earlier writer's work and no later writer gets in.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(model).where(*conditions).values(id=model.id)
                        .execution_options(synchronize_session=False))
    return session.scalars(select(model).where(*conditions).with_for_update()
                           .execution_options(populate_existing=True)).first()


def insert_many(session: Session, table: Any, rows: list[dict[str, Any]], batch: int = 5_000) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``, fast, through the session's transaction.

    On PostgreSQL each batch is one ``INSERT … SELECT FROM unnest(…)`` with one array a column: one
    statement and one round trip however many rows, still checked row by row by the table's
    constraints and row-level security (COPY would be faster but PostgreSQL refuses COPY FROM on a
    table with row-level security). Elsewhere SQLAlchemy's many-rows INSERT.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        for at in range(0, len(rows), batch):
            session.execute(table.insert(), rows[at:at + batch])
        return
    columns = list(rows[0])
    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.quote(c) for c in columns)
    arrays = ", ".join(f"CAST(:c{i} AS {table.c[c].type.compile(dialect=dialect)}[])" for i, c in enumerate(columns))
    statement = text(f"INSERT INTO {preparer.format_table(table)} ({names}) SELECT * FROM unnest({arrays})")
    for at in range(0, len(rows), batch):
        chunk = rows[at:at + batch]
        session.execute(statement, {f"c{i}": [r[c] for r in chunk] for i, c in enumerate(columns)})
