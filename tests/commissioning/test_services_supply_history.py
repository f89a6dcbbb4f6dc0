"""Supply over time: every change to places and vacancies is dated, so a past day's snapshot is true."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from commissioning.models import SupplyChange
from commissioning.services import placements, supply, supply_history
from cost_transparency.services import sufficiency
from tests.commissioning.test_services_placements import approved
from tests.commissioning.world import home_details

TODAY = date.today()


def _on(monkeypatch, day: date) -> None:
    monkeypatch.setattr(supply_history, "utcnow", lambda: datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


def test_a_past_day_shows_the_vacancies_recorded_on_that_day(session, region, monkeypatch):
    _on(monkeypatch, TODAY - timedelta(days=10))
    home = supply.create_home(session, region.provider, home_details("SC41", "Oak House", registered_places=3,
                                                                     placement_type="childrens_home"))
    session.flush()
    supply.set_vacancy(session, home, 2, TODAY - timedelta(days=10))
    _on(monkeypatch, TODAY - timedelta(days=5))
    supply.set_vacancy(session, home, 1, TODAY - timedelta(days=5))
    _on(monkeypatch, TODAY - timedelta(days=3))
    supply.update_home(session, home, home_details("SC41", "Oak House", registered_places=4,
                                                   placement_type="childrens_home"))
    monkeypatch.undo()
    supply.set_vacancy(session, home, 0, TODAY)
    session.commit()

    def vacancies(day: date) -> int:
        return sufficiency.snapshot(session, day).by_type["childrens_home"].vacancies

    def places(day: date) -> int:
        return sufficiency.snapshot(session, day).by_type["childrens_home"].registered_places

    assert vacancies(TODAY - timedelta(days=11)) == 0 and places(TODAY - timedelta(days=11)) == 0  # not yet there
    assert vacancies(TODAY - timedelta(days=10)) == 2
    assert vacancies(TODAY - timedelta(days=7)) == 2
    assert vacancies(TODAY - timedelta(days=5)) == 1
    assert places(TODAY - timedelta(days=4)) == 3 and places(TODAY - timedelta(days=3)) == 4
    assert vacancies(TODAY) == 0 and places(TODAY) == 4
    causes = session.scalars(select(SupplyChange.cause).where(SupplyChange.home_id == home.id)
                             .order_by(SupplyChange.id)).all()
    assert causes == ["home_created", "vacancy_set", "vacancy_set", "home_updated", "vacancy_set"]


def test_a_vacancy_free_only_later_is_not_counted_before_then(session, region, monkeypatch):
    _on(monkeypatch, TODAY - timedelta(days=10))
    home = supply.create_home(session, region.provider, home_details("SC42", "Elm House"))
    session.flush()
    supply.set_vacancy(session, home, 2, TODAY - timedelta(days=4))
    session.commit()
    assert supply_history.on(session, TODAY - timedelta(days=6))[0].places_free == 0
    assert supply_history.on(session, TODAY - timedelta(days=4))[0].places_free == 2


def test_placements_taking_and_freeing_a_place_are_recorded(session, region):
    home = supply.create_home(session, region.provider, home_details("SC43", "Ash House"))
    session.flush()
    supply.set_vacancy(session, home, 1, TODAY)
    placement = placements.record_placement(session, approved(session, region, "H-1"), home, TODAY, 95000, "spot")
    placements.end_placement(session, placement, TODAY, "CARPL")
    session.commit()
    rows = session.scalars(select(SupplyChange).where(SupplyChange.home_id == home.id).order_by(SupplyChange.id)).all()
    assert [(r.cause, r.places_free) for r in rows][-2:] == [("placement_started", 0), ("placement_ended", 1)]


def test_history_cannot_be_rewritten_on_postgresql(session, region, is_postgres):
    if not is_postgres:
        pytest.skip("the append-only trigger is PostgreSQL's")
    home = supply.create_home(session, region.provider, home_details("SC44", "Yew House"))
    session.commit()
    with pytest.raises(DBAPIError):
        session.execute(text("UPDATE supply_change SET places_free = 9 WHERE home_id = :h"), {"h": home.id})
    session.rollback()
