"""The tick chases a vacancy nobody has confirmed for a week: its provider is told once; confirmed and
gone stale again, it is chased again."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, timedelta

from sqlalchemy import func, select, update

from commissioning.models import Vacancy
from commissioning.vocabulary import STALE_AFTER_DAYS
from rcc.models import AuditEvent
from rcc.notification_models import Notification
from rcc.roles import Role
from tests.factories import make_region
from tests.matching import builders
from tests.rcc.outbox import outbox  # noqa: E402,F401 - every test here uses the outbox


def tick(app, at) -> str:
    result = app.test_cli_runner().invoke(args=["tick", "--now", at.astimezone(UTC).replace(tzinfo=None).isoformat()])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_stale_vacancy_is_chased_once_per_staleness(app, setup_session):
    s = setup_session
    region = make_region(s, "V", ("Coventry", "Warwickshire"))
    home = builders.add_home(s, region.provider, "Elm House")
    s.commit()
    vacancy = s.scalars(select(Vacancy).where(Vacancy.home_id == home.id)).one()
    confirmed = vacancy.last_confirmed_at.replace(tzinfo=UTC)
    stale_at = confirmed + timedelta(days=STALE_AFTER_DAYS, minutes=1)

    assert "stale vacancies chased: 0" in tick(app, stale_at - timedelta(minutes=2))
    assert "stale vacancies chased: 1" in tick(app, stale_at)
    assert "stale vacancies chased: 0" in tick(app, stale_at + timedelta(days=1))
    manager = region.people[Role.PROVIDER_MANAGER]
    s.expire_all()
    [chase] = s.scalars(select(Notification).where(Notification.event == "vacancy_stale"))
    assert (chase.user_id, chase.title) == (manager.id, "Confirm the places at Elm House")

    # Confirmed later, then stale again: chased again, once.
    reconfirmed = stale_at + timedelta(days=2)
    s.execute(update(Vacancy).where(Vacancy.id == vacancy.id).values(last_confirmed_at=reconfirmed))
    s.commit()
    assert "stale vacancies chased: 0" in tick(app, reconfirmed + timedelta(days=1))
    assert "stale vacancies chased: 1" in tick(app, reconfirmed + timedelta(days=STALE_AFTER_DAYS, minutes=1))
    assert "stale vacancies chased: 0" in tick(app, reconfirmed + timedelta(days=STALE_AFTER_DAYS, minutes=2))
    s.expire_all()
    assert Counter(n.user_id for n in s.scalars(select(Notification).where(
        Notification.event == "vacancy_stale"))) == Counter({manager.id: 2})
    assert s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "vacancy.chased")) == 2
