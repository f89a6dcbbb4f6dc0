"""The database itself refuses an impossible state, whoever writes (migration 0011).

Written as the database owner, past every service check: these hold even if a service forgets
a rule or two requests slip between a check and a write. And a request that loses such a race
is told so plainly (a Conflict), not given a 500.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import IntegrityError

from commissioning.lifecycle import SUBMITTED
from commissioning.models import Placement, Referral, Vacancy
from matching.models import PROVIDER_ACCEPTED, SENT, WITHDRAWN
from rcc.db import transaction
from rcc.errors import Conflict
from rcc.migration_support import alembic_config
from tests.concurrency import world
from tests.concurrency.invariants import always_violations


def _refused(session, change) -> None:
    with pytest.raises(IntegrityError):
        change()
        session.flush()
    session.rollback()


def test_a_referral_has_one_open_offer(setup_session, region):
    home = world.home(setup_session, region.provider, places=3)
    offer = world.offered(setup_session, region.councils[0], home)
    other_home = world.home(setup_session, region.provider)
    setup_session.commit()
    referral = setup_session.get(Referral, offer.referral_id)
    _refused(setup_session, lambda: world.offer(setup_session, referral, other_home, PROVIDER_ACCEPTED))
    # A closed offer does not count: once withdrawn, the child can be offered again.
    setup_session.execute(update(type(offer)).where(type(offer).id == offer.id).values(status=WITHDRAWN))
    world.offer(setup_session, referral, other_home, SENT)
    setup_session.commit()


def test_a_child_has_one_live_placement_and_one_open_referral(setup_session, region):
    home = world.home(setup_session, region.provider, places=3)
    placement = world.placed(setup_session, region.councils[0], home)
    setup_session.commit()
    second = Placement(**{**placement.model_dump(exclude={"id"}), "home_id": world.home(setup_session,
                                                                                        region.provider).id})
    _refused(setup_session, lambda: setup_session.add(second))
    waiting = world.referral(setup_session, region.councils[0])
    setup_session.commit()
    again = Referral(**{**waiting.model_dump(exclude={"id"}), "status": SUBMITTED})
    _refused(setup_session, lambda: setup_session.add(again))
    assert always_violations(setup_session.get_bind()) == []


def test_a_placement_ends_on_or_after_its_start_and_places_are_never_negative(setup_session, region):
    home = world.home(setup_session, region.provider, places=2)
    placement = world.placed(setup_session, region.councils[0], home)
    setup_session.commit()
    _refused(setup_session, lambda: setup_session.execute(
        update(Placement).where(Placement.id == placement.id).values(end_date=placement.start_date - timedelta(1))))
    _refused(setup_session, lambda: setup_session.execute(
        update(Vacancy).where(Vacancy.home_id == home.id).values(places_free=-1)))
    setup_session.execute(update(Placement).where(Placement.id == placement.id).values(end_date=date.today()))
    setup_session.commit()


def test_a_write_the_database_refuses_is_a_conflict_not_an_error(setup_session, region):
    home = world.home(setup_session, region.provider)
    setup_session.commit()
    with pytest.raises(Conflict, match="Someone else changed this at the same moment"), transaction(setup_session):
        setup_session.execute(update(Vacancy).where(Vacancy.home_id == home.id).values(places_free=-1))
    # Nothing was written, and the session can carry on.
    assert setup_session.scalars(select(Vacancy.places_free).where(Vacancy.home_id == home.id)).one() == 1


def test_the_migration_names_rows_that_already_break_a_rule(tmp_path):
    """An existing database left double-booked by the old races is named, not failed on an index error."""
    url = f"sqlite:///{tmp_path / 'before.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0005")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO vacancy (id, rcc_id, provider_id, home_id, places_free, available_from, "
                                "last_confirmed_at) VALUES (7, 1, 1, 1, -1, '2026-01-01', '2026-01-01')"))
    engine.dispose()
    with pytest.raises(RuntimeError, match=r"homes with negative free places: ids \[1\]"):
        command.upgrade(config, "0011")
