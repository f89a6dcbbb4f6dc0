"""Deadlines that act: ``flask tick``, run every minute by cron or a systemd timer (README, "Operating it").

Each capability registers its tasks (``add_tick_task``); a task is ``task(make_session, now)`` giving how
many things it did. Tasks act one record at a time, each in its own transaction, and every action is
conditional (``rcc.db.transition``) or claimed once (``claim``): running the tick twice, or two ticks at
the same moment, does nothing more than running it once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rcc.audit import Actor, set_actor
from rcc.notification_models import ScheduledAction
from rcc.tenancy import TenantScope, set_scope

log = logging.getLogger(__name__)

TickTask = Callable[[Callable[[], Any], datetime], int]


def add_tick_task(app: Flask, name: str, task: TickTask) -> None:
    app.extensions.setdefault("rcc_tick_tasks", []).append((name, task))


def tick_tasks(app: Flask) -> list[tuple[str, TickTask]]:
    return list(app.extensions.get("rcc_tick_tasks", []))


def run_tick(app: Flask, make_session: Callable[[], Any], now: datetime) -> dict[str, int]:
    """Run every task; one failing task is logged and does not stop the others. Gives each task's count."""
    done: dict[str, int] = {}
    for name, task in tick_tasks(app):
        try:
            done[name] = task(make_session, now)
        except Exception:  # noqa: BLE001 - the next minute's tick tries again; the log says why
            log.exception("Tick task %s failed", name)
            done[name] = -1
    return done


def claim(session: Session, rcc_id: int, kind: str, subject: str) -> bool:
    """Claim the one-off action ``kind`` on ``subject`` (in the caller's transaction): False if it was
    claimed already, by an earlier tick or by one running now (the unique constraint decides)."""
    savepoint = session.begin_nested()
    try:
        session.add(ScheduledAction(rcc_id=rcc_id, kind=kind, subject=subject))
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def system(make_session: Callable[[], Any]) -> Any:
    """A session acting as the platform (``make_session`` must log in as a member of rcc_system)."""
    session = make_session()
    set_scope(session, TenantScope.system())
    set_actor(session, Actor.platform("tick"))
    return session


def on_behalf_of(rcc_id: int) -> Actor:
    """The tick's actions go in the RCC's own audit trail, done by nobody in particular."""
    return Actor(None, rcc_id, rcc_id, "tick")
