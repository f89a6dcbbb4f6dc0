"""Commissioning's deadlines, acted on by ``flask tick``: a vacancy nobody has confirmed for
``STALE_AFTER_DAYS`` is chased once (its provider is told), and again only if it goes stale again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from commissioning.models import Home, Vacancy
from commissioning.vocabulary import STALE_AFTER_DAYS
from rcc import audit
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.notifications import Event, To, notify
from rcc.roles import Role
from rcc.ticks import claim, on_behalf_of, system


def chase_stale_vacancies(make_session: Callable[[], Any], now: datetime) -> int:
    with system(make_session) as session:
        ids = list(session.scalars(select(Vacancy.id).where(
            Vacancy.last_confirmed_at < now - timedelta(days=STALE_AFTER_DAYS)).order_by(Vacancy.id)))
    done = 0
    for vacancy_id in ids:
        with system(make_session) as session, transaction(session):
            vacancy = session.get(Vacancy, vacancy_id)
            if vacancy is None:
                continue
            confirmed = vacancy.last_confirmed_at
            occurrence = f"vacancy:{vacancy.id}:{confirmed:%Y-%m-%dT%H:%M:%S}"
            if not claim(session, vacancy.rcc_id, "vacancy_stale", occurrence):
                continue
            home = session.get(Home, vacancy.home_id)
            audit.record(session, AuditAction.VACANCY_CHASED, vacancy, actor=on_behalf_of(vacancy.rcc_id),
                         home_id=vacancy.home_id, last_confirmed_at=confirmed.isoformat())
            notify(session, Event.VACANCY_STALE, vacancy.rcc_id, [To(vacancy.provider_id, (Role.PROVIDER_MANAGER,))],
                   {"home": home.name if home else f"home {vacancy.home_id}", "confirmed_on": f"{confirmed:%-d %B %Y}"},
                   about=occurrence)
            done += 1
    return done
