"""Runs that cannot hang: a real worker process killed in each stage, Redis gone before and during a run.

Each test starts its own Redis (``redis-server`` on a free port, killed by the test) and its own
worker process (``flask --app wsgi matching-worker``) on the test's database, with a short
heartbeat so the reaper's window is seconds, not a minute. The shared Redis is never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from matching.models import CANCELLED, DONE, FAILED, QUEUED, MatchingRun, Proposal
from matching.services import jobs, runs
from rcc.db import transaction

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT, STALE = 0.3, 3.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own, without persistence, that the test may stop and start again."""

    def __init__(self, folder: Path):
        self.port, self.folder, self.process = _free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: _answers(self.port), 10, "the private Redis to start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_for(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds} s for {what}")


@pytest.fixture
def short_heartbeat(monkeypatch):
    monkeypatch.setenv("RCC_RUN_HEARTBEAT_SECONDS", str(HEARTBEAT))
    monkeypatch.setenv("RCC_RUN_STALE_SECONDS", str(STALE))


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed, so a worker cannot be faulted")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def start_worker(database_url, private_redis, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """``start_worker(pause="solving:30")`` starts the project's worker command as its own process."""
    started: list[subprocess.Popen] = []
    queue = f"matching-{uuid.uuid4().hex[:8]}"

    def start(pause: str = "") -> subprocess.Popen:
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": private_redis.url, "RCC_ENV": "development",
               "RCC_RUN_HEARTBEAT_SECONDS": str(HEARTBEAT), "RCC_RUN_STALE_SECONDS": str(STALE),
               "RCC_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONPATH": str(ROOT),
               jobs.PAUSE_HOOK: pause}
        log = open(tmp_path / f"worker-{len(started)}.log", "w")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "matching-worker",
                                    "--queue", queue], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    start.queue = queue  # type: ignore[attr-defined]
    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.fixture
def officer_client(signed_in_client, scenario):
    return signed_in_client(scenario.officer)


def _use_queue(app, url: str, queue: str | None = None) -> None:
    app.config.update(REDIS_URL=url, MATCHING_QUEUE=queue or f"matching-{uuid.uuid4().hex[:8]}")


def _run_row(owner_engine, run_id: int) -> MatchingRun:
    from sqlmodel import Session as Plain

    with Plain(owner_engine) as session:
        return session.scalars(select(MatchingRun).where(MatchingRun.id == run_id)).one()


def _start(client) -> int:
    response = client.post("/matching/runs/new", data={"scope": "all"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


@pytest.mark.parametrize("stage", ["snapshot", "solving", "explaining"])
def test_a_worker_killed_in_any_stage_leaves_a_failed_run_that_can_be_retried(
        stage, app, officer_client, owner_engine, short_heartbeat, start_worker, private_redis):
    _use_queue(app, private_redis.url, start_worker.queue)
    worker = start_worker(pause=f"{stage}:60")
    run_id = _start(officer_client)
    _wait_for(lambda: _run_row(owner_engine, run_id).stage == stage, 60, f"the worker to reach {stage}")
    time.sleep(STALE + 1)  # longer than the reaper allows: only the heartbeat keeps the run alive
    alive = officer_client.get(f"/matching/runs/{run_id}").get_data(as_text=True)
    assert _run_row(owner_engine, run_id).stage == stage and 'id="progress-status"' in alive

    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    killed_at = time.monotonic()
    page = _wait_for(lambda: (lambda text: text if runs.WORKER_STOPPED in text else None)(
        officer_client.get(f"/matching/runs/{run_id}").get_data(as_text=True)), STALE + 10, "the run to fail")

    took = time.monotonic() - killed_at
    print(f"\n{stage}: failed {took:.1f} s after the kill (heartbeat {HEARTBEAT} s, stale after {STALE} s)")
    assert took < STALE + 3
    failed = _run_row(owner_engine, run_id)
    assert failed.stage == FAILED and failed.error == runs.WORKER_STOPPED and failed.finished_at is not None
    assert 'id="progress-status"' not in page and "Try the run again" in page
    assert not _proposals(owner_engine, run_id)

    start_worker()  # a fresh worker, as the supervisor would start
    retried = officer_client.post(f"/matching/runs/{run_id}/retry")
    assert retried.status_code == 302, retried.get_data(as_text=True)[:2000]
    new_id = int(retried.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    _wait_for(lambda: _run_row(owner_engine, new_id).stage in (DONE, FAILED), 60, "the retry to finish")
    again = _run_row(owner_engine, new_id)
    assert (again.stage, again.retry_of_run_id, again.children) == (DONE, run_id, 3)
    assert f"tries <a class=\"govuk-link\" href=\"/matching/runs/{run_id}\">run {run_id}</a> again" in \
        officer_client.get(f"/matching/runs/{new_id}").get_data(as_text=True)


def _proposals(owner_engine, run_id: int) -> list[Proposal]:
    from sqlmodel import Session as Plain

    with Plain(owner_engine) as session:
        return list(session.scalars(select(Proposal).where(Proposal.run_id == run_id)))


def test_an_abandoned_run_shows_as_failed_in_the_api_before_the_reaper_has_written_it(
        app, officer_client, owner_engine, short_heartbeat, private_redis, session_for, scenario):
    """No worker at all: the queued job never starts; the SQL-derived stage says failed once it is stale."""
    _use_queue(app, private_redis.url)
    run_id = _start(officer_client)
    with owner_engine.begin() as connection:  # as if the worker had started it and then died
        connection.execute(MatchingRun.__table__.update().where(MatchingRun.__table__.c.id == run_id)
                           .values(stage="solving"))
    session = session_for(scenario.officer)
    run = runs.get_run(session, run_id)
    assert runs.shown_stage(session, run) == "solving"
    time.sleep(STALE + 0.5)

    assert runs.shown_stage(session, run) == FAILED  # derived in SQL, nothing written yet
    assert _run_row(owner_engine, run_id).stage == "solving"


def test_redis_down_before_a_run_gives_a_clear_message_and_leaves_nothing_queued(
        app, officer_client, owner_engine, scenario, signed_in_client):
    _use_queue(app, f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there

    page = officer_client.post("/matching/runs/new", data={"scope": "all"})
    assert page.status_code == 503
    assert jobs.QUEUE_DOWN in page.get_data(as_text=True)
    api = app.test_client()
    token = _api_token(app, scenario.officer)
    refused = api.post("/api/v1/matching/runs", json={"note": ""}, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 503 and refused.get_json()["message"] == jobs.QUEUE_DOWN

    from sqlmodel import Session as Plain

    with Plain(owner_engine) as session:
        stages = [r.stage for r in session.scalars(select(MatchingRun))]
    assert stages == [FAILED, FAILED]  # recorded, retryable, never left queued
    app.config.update(REDIS_URL=None)  # the queue is back (here: inline), and a new run is not blocked
    assert _run_row(owner_engine, _start(officer_client)).stage == DONE


def _api_token(app, user) -> str:
    from rcc import users
    from rcc.cli import system_session

    with app.app_context(), system_session() as session, transaction(session):
        _token_row, token = users.create_api_token(session, session.get(type(user), user.id), "faults")
    return str(token)


def test_redis_stopped_during_a_run_neither_sticks_the_run_nor_stops_the_worker(
        app, officer_client, owner_engine, short_heartbeat, start_worker, private_redis):
    _use_queue(app, private_redis.url, start_worker.queue)
    worker = start_worker(pause="solving:3")
    first = _start(officer_client)
    _wait_for(lambda: _run_row(owner_engine, first).stage == "solving", 60, "the worker to reach solving")

    private_redis.stop()
    _wait_for(lambda: _run_row(owner_engine, first).stage in (DONE, FAILED), 30, "the run to end")
    time.sleep(2)
    assert worker.poll() is None, "the worker exited when Redis went away"
    assert _run_row(owner_engine, first).stage == DONE  # the run needs only the database once started

    private_redis.start()  # Redis is back (empty, as after a restart without persistence)
    second = _start(officer_client)
    _wait_for(lambda: _run_row(owner_engine, second).stage in (DONE, FAILED), 60, "the worker to reconnect")
    assert _run_row(owner_engine, second).stage == DONE


def test_cancelling_a_working_run_stops_it_at_the_next_stage_and_keeps_nothing_after(
        app, officer_client, owner_engine, short_heartbeat, start_worker, private_redis):
    _use_queue(app, private_redis.url, start_worker.queue)
    worker = start_worker(pause="solving:3")
    run_id = _start(officer_client)
    _wait_for(lambda: _run_row(owner_engine, run_id).stage == "solving", 60, "the worker to reach solving")

    cancelled = officer_client.post(f"/matching/runs/{run_id}/cancel")
    assert cancelled.status_code == 302
    time.sleep(5)  # the worker wakes, finds the run cancelled and stops

    run = _run_row(owner_engine, run_id)
    assert (run.stage, run.result, run.placed) == (CANCELLED, None, 0) and not _proposals(owner_engine, run_id)
    assert worker.poll() is None
    again = officer_client.post(f"/matching/runs/{run_id}/cancel")
    assert again.status_code == 409 and "already finished" in again.get_data(as_text=True)


def test_cancelling_a_queued_run_takes_its_job_off_the_queue(app, officer_client, owner_engine, private_redis):
    from redis import Redis
    from rq import Queue

    _use_queue(app, private_redis.url)
    run_id = _start(officer_client)
    queue = Queue(app.config["MATCHING_QUEUE"], connection=Redis.from_url(private_redis.url))
    assert len(queue) == 1 and _run_row(owner_engine, run_id).stage == QUEUED

    assert officer_client.post(f"/matching/runs/{run_id}/cancel").status_code == 302
    assert len(queue) == 0 and _run_row(owner_engine, run_id).stage == CANCELLED


def test_the_jobs_failure_callback_fails_the_run_with_the_reason(app, session_for, scenario, database_url,
                                                                 monkeypatch):
    from rq.timeouts import JobTimeoutException

    monkeypatch.setenv("DATABASE_URL", database_url)
    session = session_for(scenario.officer)
    with transaction(session):
        run = runs.start_run(session, scenario.officer.rcc_id, runs.RunRequest())

    class Job:
        args = (run.id, scenario.officer.rcc_id, scenario.officer.id, "r1")

    jobs.job_failed(Job(), None, JobTimeoutException, JobTimeoutException("late"), None)
    session.expire_all()
    failed = runs.get_run(session, run.id)
    assert failed.stage == FAILED and "took too long" in (failed.error or "")


def test_a_run_cut_off_by_the_job_timeout_says_so(app, session_for, scenario, monkeypatch):
    from rq.timeouts import JobTimeoutException

    def too_slow(problem):  # type: ignore[no-untyped-def]
        raise JobTimeoutException("Task exceeded maximum timeout value (900 seconds)")

    monkeypatch.setattr(runs, "solve_snapshot", too_slow)
    session = session_for(scenario.officer)
    with transaction(session):
        run = runs.start_run(session, scenario.officer.rcc_id, runs.RunRequest())

    assert not jobs.perform_run(app.extensions["rcc_sessions"], run.id, scenario.officer.rcc_id, scenario.officer.id)
    session.expire_all()
    failed = runs.get_run(session, run.id)
    assert (failed.stage, failed.error) == (FAILED, jobs.TOO_LONG)
