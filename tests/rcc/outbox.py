"""Reading what the notification service 'sent' to the local outbox, as a person would read their email."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rcc.notification_models import Notification
from rcc.tenancy import system_access

LINK = re.compile(r"https?://\S+")


def emails_to(session: Session, address: str, event: str | None = None) -> list[Notification]:
    session.expire_all()
    with system_access(session):
        query = select(Notification).where(Notification.to_email == address.lower())
        if event is not None:
            query = query.where(Notification.event == event)
        found = list(session.scalars(query.order_by(Notification.id)))
    session.commit()  # ends the read, so the app's next write does not wait on it (SQLite)
    return found


def link_sent_to(session: Session, address: str, event: str) -> str:
    """The path of the link in the latest email of ``event`` to ``address`` (it must be the only link)."""
    found = emails_to(session, address, event)
    assert found, f"no {event} email to {address}"
    links = LINK.findall(found[-1].body)
    assert len(links) == 1, found[-1].body
    return re.sub(r"^https?://[^/]+", "", links[0])


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch):  # type: ignore[no-untyped-def]
    """Emails go to the database outbox (no Notify key), retried at once, in the app's context: for every
    test of a module that imports this fixture by name (an autouse fixture applies where it is visible)."""
    monkeypatch.delenv("NOTIFY_API_KEY", raising=False)
    monkeypatch.setenv("NOTIFY_RETRY_SECONDS", "0")
    with app.app_context():
        yield
