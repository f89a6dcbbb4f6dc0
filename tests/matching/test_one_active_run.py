"""One active run per RCC: refused by the service, held by the database, and one winner when two start at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from matching.models import CANCELLED, FAILED, QUEUED, MatchingRun
from matching.services import runs
from rcc.audit import Actor, set_actor
from rcc.db import transaction
from rcc.errors import Conflict
from rcc.models import AuditEvent
from rcc.tenancy import set_scope
from rcc.web import scope_for


def _queued(session_for, scenario) -> MatchingRun:
    session = session_for(scenario.officer)
    with transaction(session):
        return runs.start_run(session, scenario.officer.rcc_id, runs.RunRequest())


def test_a_second_run_is_refused_while_one_is_active_and_names_it(app, session_for, scenario, signed_in_client):
    first = _queued(session_for, scenario)
    session = session_for(scenario.officer)
    with pytest.raises(runs.ActiveRunExists) as refused:
        runs.start_run(session, scenario.officer.rcc_id, runs.RunRequest())
    assert refused.value.run_id == first.id and f"Matching run {first.id} has not finished" in refused.value.message
    session.rollback()

    client = signed_in_client(scenario.officer)
    page = client.post("/matching/runs/new", data={"scope": "all"})
    assert page.status_code == 409
    assert f'href="/matching/runs/{first.id}"' in page.get_data(as_text=True)


def test_the_database_itself_refuses_a_second_active_run(setup_session, scenario):
    rcc_id = scenario.officer.rcc_id
    setup_session.add(MatchingRun(rcc_id=rcc_id, organisation_id=rcc_id, stage="solving"))
    setup_session.commit()
    setup_session.add(MatchingRun(rcc_id=rcc_id, organisation_id=rcc_id, stage=QUEUED))
    with pytest.raises(IntegrityError):
        setup_session.commit()
    setup_session.rollback()
    # Ended runs do not count: any number of them sit beside the active one.
    setup_session.add_all([MatchingRun(rcc_id=rcc_id, organisation_id=rcc_id, stage=s) for s in (FAILED, CANCELLED)])
    setup_session.commit()


def test_two_runs_started_at_the_same_moment_have_exactly_one_winner(app, scenario, is_postgres):
    tries = 20 if is_postgres else 5
    officer = scenario.officer
    for _ in range(tries):
        barrier = threading.Barrier(2)
        outcomes: list[object] = []

        def start(barrier: threading.Barrier = barrier, outcomes: list[object] = outcomes) -> None:
            session = app.extensions["rcc_sessions"]()
            set_scope(session, scope_for(officer))
            set_actor(session, Actor(officer.id, officer.organisation_id, officer.rcc_id, "race"))
            try:
                barrier.wait(5)
                with transaction(session):
                    outcomes.append(runs.start_run(session, officer.rcc_id, runs.RunRequest()).id)
            except Conflict as error:
                outcomes.append(error)
            finally:
                session.close()

        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        winners = [o for o in outcomes if isinstance(o, int)]
        assert len(winners) == 1 and len(outcomes) == 2, outcomes
        assert isinstance(next(o for o in outcomes if not isinstance(o, int)), runs.ActiveRunExists)
        session = app.extensions["rcc_sessions"]()
        set_scope(session, scope_for(officer))
        set_actor(session, Actor(officer.id, officer.organisation_id, officer.rcc_id, "race"))
        with session, transaction(session):
            runs.cancel_run(session, winners[0])


def test_a_cancelled_run_is_retried_as_a_new_run_linked_to_it(app, session_for, scenario):
    first = _queued(session_for, scenario)
    session = session_for(scenario.officer)
    with transaction(session):
        runs.cancel_run(session, first.id)
    with pytest.raises(Conflict, match="already finished"):
        runs.cancel_run(session, first.id)
    session.rollback()
    with transaction(session):
        retry = runs.retry_run(session, first.id)
    assert (retry.stage, retry.retry_of_run_id, retry.whole_region) == (QUEUED, first.id, True)
    with pytest.raises(Conflict, match="Only a failed or cancelled run"):
        runs.retry_run(session, retry.id)
    session.rollback()
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("matching.run.%"))).all()
    assert sorted(actions) == ["matching.run.cancelled", "matching.run.started", "matching.run.started"]


def test_a_cancelled_run_never_moves_on(app, session_for, scenario):
    run = _queued(session_for, scenario)
    worker = session_for(scenario.officer)
    seen = runs.get_run(worker, run.id)  # the worker has read the run as queued
    other = session_for(scenario.officer)
    with transaction(other):
        runs.cancel_run(other, run.id)

    with pytest.raises(runs.RunStopped):
        runs.enter_stage(worker, seen, "snapshot")
    worker.rollback()
    assert not runs.record_failure(worker, seen, "late")  # an ended run is not failed over
    worker.rollback()
    worker.expire_all()
    assert runs.get_run(worker, run.id).stage == CANCELLED


def test_reap_runs_fails_every_regions_abandoned_runs_and_leaves_live_ones(app, setup_session, scenario, monkeypatch):
    from datetime import timedelta

    from rcc.models import utcnow

    monkeypatch.setenv("RCC_RUN_STALE_SECONDS", "60")
    rcc_id = scenario.officer.rcc_id
    old = utcnow() - timedelta(seconds=61)
    setup_session.add_all([
        MatchingRun(rcc_id=rcc_id, organisation_id=rcc_id, stage="solving", heartbeat_at=old),
        MatchingRun(rcc_id=rcc_id, organisation_id=rcc_id, stage=FAILED, heartbeat_at=old),
    ])
    setup_session.commit()

    result = app.test_cli_runner().invoke(args=["reap-runs"])

    assert result.exit_code == 0 and "Marked 1 abandoned run(s) failed" in result.output, result.output
    setup_session.expire_all()
    reaped = setup_session.scalars(select(MatchingRun).order_by(MatchingRun.id)).first()
    assert (reaped.stage, reaped.error) == (FAILED, runs.WORKER_STOPPED)
    event = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "matching.run.failed")).one()
    assert event.rcc_id == rcc_id
    setup_session.add(MatchingRun(rcc_id=rcc_id, organisation_id=rcc_id, stage="solving", heartbeat_at=utcnow()))
    setup_session.commit()
    assert "Marked 0" in app.test_cli_runner().invoke(args=["reap-runs"]).output
