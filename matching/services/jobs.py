"""Runs a matching run, stage by stage: inline in the request, or as a background job on RQ.

Each stage commits on its own, so the run's page (and the API's status) shows where it is.
A background job opens its own database session, scoped to the run's RCC and acting as the
officer who started the run, exactly as the request would have.

With ``REDIS_URL`` set the web app enqueues ``run_matching_job`` on the "matching" queue; start a
worker with ``rq worker matching --url $REDIS_URL`` in the app's environment (it reads
``DATABASE_URL`` and ``DATABASE_APP_ROLE`` like the app). Without Redis the run happens inline.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rcc.audit import Actor, set_actor
from rcc.db import Session, make_engine, session_factory, transaction
from rcc.errors import ServiceError
from rcc.tenancy import OrgKind, TenantScope, set_scope

QUEUE_NAME = "matching"
JOB_TIMEOUT_SECONDS = 15 * 60
log = logging.getLogger(__name__)


def perform_run(make_session: Callable[[], Session], run_id: int, rcc_id: int, user_id: int | None,
                request_id: str | None = None) -> bool:
    """Take the snapshot, solve it and store the explained result, committing after every stage.

    Returns whether the run finished; a failure is recorded on the run (stage "failed") for the officer.
    """
    from matching.models import CANDIDATES, DONE, EXPLAINING, SNAPSHOT, SOLVING  # noqa: PLC0415
    from matching.services import runs  # noqa: PLC0415

    with make_session() as session:
        set_scope(session, TenantScope.for_organisation(OrgKind.RCC, rcc_id, rcc_id))
        set_actor(session, Actor(user_id, rcc_id, rcc_id, request_id))
        try:
            with transaction(session):
                run = runs.get_run(session, run_id)
                runs.enter_stage(session, run, SNAPSHOT)
            started = time.perf_counter()
            with transaction(session):
                problem = runs.take_snapshot(session, run)
                runs.enter_stage(session, run, CANDIDATES, time.perf_counter() - started, SNAPSHOT)
            with transaction(session):
                runs.enter_stage(session, run, SOLVING)
            result = runs.solve_snapshot(problem)
            with transaction(session):
                # The engine finds candidates and solves in one call; keep its own split of the time.
                run.stage_seconds = {**run.stage_seconds, CANDIDATES: round(result.seconds.candidates, 3),
                                     SOLVING: round(result.seconds.total - result.seconds.candidates, 3)}
                runs.enter_stage(session, run, EXPLAINING)
            started = time.perf_counter()
            with transaction(session):
                runs.store_result(session, run, result)
                runs.enter_stage(session, run, DONE, time.perf_counter() - started, EXPLAINING)
        except Exception as error:  # noqa: BLE001 - any failure is recorded on the run for the officer
            if not isinstance(error, ServiceError):
                log.exception("Matching run %s failed", run_id)
            _record_failure(session, run_id, error)
            return False
    return True


def _record_failure(session: Session, run_id: int, error: Exception) -> None:
    from matching.services import runs  # noqa: PLC0415

    message = error.message if isinstance(error, ServiceError) else "The run failed unexpectedly. Try again."
    session.rollback()
    with transaction(session):
        runs.record_failure(session, runs.get_run(session, run_id), message)


def run_matching_job(run_id: int, rcc_id: int, user_id: int | None, request_id: str | None = None) -> None:
    """The RQ job: connects to the database named by the environment, like the app does."""
    instance = os.environ.get("RCC_INSTANCE_PATH") or str(Path.cwd() / "instance")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance) / 'rcc.db'}"
    # The same login as the web's, refused in production if it could see past row-level security.
    engine = make_engine(url, os.environ.get("DATABASE_APP_ROLE", "rcc_app"),
                         check_login="refuse" if os.environ.get("RCC_ENV", "production") == "production" else "warn")
    try:
        perform_run(session_factory(engine), run_id, rcc_id, user_id, request_id)
    finally:
        engine.dispose()


def enqueue_run(redis_url: str, run_id: int, rcc_id: int, user_id: int | None, request_id: str | None = None,
                queue_name: str = QUEUE_NAME) -> str:
    """Put the run on the queue; returns the job id."""
    from redis import Redis  # noqa: PLC0415
    from rq import Queue  # noqa: PLC0415

    queue = Queue(queue_name, connection=Redis.from_url(redis_url))
    job = queue.enqueue(run_matching_job, run_id, rcc_id, user_id, request_id, job_timeout=JOB_TIMEOUT_SECONDS)
    return str(job.id)


def dispatch_run(session: Session, make_session: Callable[[], Session], run: Any, redis_url: str | None,
                 user_id: int | None, request_id: str | None = None, queue_name: str = QUEUE_NAME) -> None:
    """Queue the run when Redis is configured (recording the job on the run); otherwise run it now."""
    if redis_url:
        job_id = enqueue_run(redis_url, run.id, run.rcc_id, user_id, request_id, queue_name)
        with transaction(session):
            run.background, run.job_id = True, job_id
            session.add(run)
        return
    perform_run(make_session, run.id, run.rcc_id, user_id, request_id)
