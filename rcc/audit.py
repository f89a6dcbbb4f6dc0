"""The audit trail: one row per change or read of a record, in the change's own transaction.

Services call ``record``; they never commit on their own, so the audit row and the
change it describes are committed, or rolled back, together.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from rcc.models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, an API client, or the platform itself."""

    user_id: int | None
    organisation_id: int | None
    rcc_id: int | None
    request_id: str | None = None

    @classmethod
    def platform(cls, request_id: str | None = None) -> Actor:
        return cls(None, None, None, request_id)


def on_behalf_of_account(session: Session, organisation_id: int, rcc_id: int) -> Actor:
    """An unidentified person acting on an organisation's account, e.g. failing to sign in to it."""
    return Actor(None, organisation_id, rcc_id, current_actor(session).request_id)


def set_actor(session: Session, actor: Actor) -> None:
    session.info["actor"] = actor


def current_actor(session: Session) -> Actor:
    return session.info.get("actor") or Actor.platform()


def record(session: Session, action: str, target: Any, actor: Actor | None = None, **detail: Any) -> AuditEvent:
    """Add an audit row for ``action`` on ``target`` (a model instance) to the session.

    ``actor`` overrides the session's actor, for events that belong to an organisation's
    trail although no one from it acted (a stranger's failed sign-in to one of its accounts).
    """
    session.flush()  # so a new target has its id
    actor = actor or current_actor(session)
    event = AuditEvent(
        rcc_id=actor.rcc_id,
        organisation_id=actor.organisation_id,
        user_id=actor.user_id,
        action=action,
        object_type=type(target).__tablename__,
        object_id=str(target.id) if target.id is not None else None,
        request_id=actor.request_id,
        detail={key: _plain(value) for key, value in detail.items()},
    )
    held = session.info.get(_HELD)
    if held is not None:
        held.append(event)
    else:
        session.add(event)
    return event


_HELD = "audit_rows_held"


@contextlib.contextmanager
def held_until_after(session: Session) -> Iterator[None]:
    """Audit rows recorded inside are added to the session only when the block ends: for work done
    in a wider scope on an actor's behalf, whose rows belong in the actor's own trail."""
    held: list[AuditEvent] = []
    session.info[_HELD] = held
    try:
        yield
    finally:
        session.info.pop(_HELD, None)
    session.add_all(held)


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
