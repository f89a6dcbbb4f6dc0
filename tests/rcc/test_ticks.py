"""The tick's one-off actions are claimed once: a second claimant, racing or later, is refused."""

from __future__ import annotations

from sqlalchemy import func, select

from rcc.db import transaction
from rcc.notification_models import ScheduledAction
from rcc.ticks import claim, run_tick
from tests.factories import make_region


def test_a_one_off_action_is_claimed_once(app, setup_session):
    region = make_region(setup_session, "K", ("Coventry", "Warwickshire"))
    make = app.extensions["rcc_sessions"]
    with system_like(make, region.rcc.id) as first, system_like(make, region.rcc.id) as second:
        with transaction(first):
            assert claim(first, region.rcc.id, "tender_closed", "tender:1")
        with transaction(second):
            assert not claim(second, region.rcc.id, "tender_closed", "tender:1")  # the other tick got there first
            assert claim(second, region.rcc.id, "tender_closed", "tender:2")  # and the transaction goes on
    assert setup_session.scalar(select(func.count(ScheduledAction.id))) == 2


def test_a_failing_task_does_not_stop_the_others(app):
    calls: list[str] = []

    def broken(_make, _now):
        raise RuntimeError("boom")

    def fine(_make, _now):
        calls.append("fine")
        return 3

    app.extensions["rcc_tick_tasks"] = [("broken", broken), ("fine", fine)]
    from rcc.models import utcnow  # noqa: PLC0415

    assert run_tick(app, app.extensions["rcc_sessions"], utcnow()) == {"broken": -1, "fine": 3}
    assert calls == ["fine"]
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code != 0 and "A task failed" in result.output


def system_like(make, rcc_id):
    """The web's sessions cannot act as the system on PostgreSQL; the RCC's scope is enough to claim."""
    from rcc.tenancy import TenantScope, set_scope  # noqa: PLC0415

    session = make()
    set_scope(session, TenantScope.for_organisation("rcc", rcc_id, rcc_id))
    return session


