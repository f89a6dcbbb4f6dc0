"""Runs a matching run, stage by stage: inline in the request, or as a background job on RQ.

Each stage commits on its own, so the run's page (and the API's status) shows where it is.
A background job opens its own database session, scoped to the run's RCC and acting as the
officer who started the run, exactly as the request would have.

While a run is worked on, a background thread touches its heartbeat every
``runs.heartbeat_seconds()``; if the worker dies, the heartbeat stops and the reaper fails the run.
Between stages the run moves on only if it is still in the stage the worker left it in, so a
cancelled (or reaped) run stops there and nothing after it is kept.

With ``REDIS_URL`` set the web app enqueues ``run_matching_job`` on the "matching" queue; run the
worker with ``flask --app wsgi matching-worker`` (see ``work``) in the app's environment (it reads
``DATABASE_URL`` and ``DATABASE_APP_ROLE`` like the app). Without Redis the run happens inline.
If Redis is configured but not answering, the run is failed at once with ``QUEUE_DOWN`` and the
person is told; nothing is left queued.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import update

from rcc.audit import Actor, set_actor
from rcc.db import Session, make_engine, session_factory, transaction
from rcc.errors import ServiceError
from rcc.models import utcnow
from rcc.tenancy import OrgKind, TenantScope, set_scope

QUEUE_NAME = "matching"
JOB_TIMEOUT_SECONDS = 15 * 60
QUEUE_DOWN = ("The matching queue is not available at the moment, so the run could not start. "
              "Nothing was changed. Try again in a few minutes.")
TOO_LONG = "The run took too long and was stopped. Try again."
FAILED_UNEXPECTEDLY = "The run failed unexpectedly. Try again."
# For fault tests only: "solving:5" holds the worker for 5 seconds after it enters the solving stage.
PAUSE_HOOK = "RCC_TEST_PAUSE_IN_STAGE"
log = logging.getLogger(__name__)


class QueueUnavailable(ServiceError):
    """Redis did not answer; the run was failed (never left queued) and can be retried later."""

    def __init__(self) -> None:
        super().__init__(QUEUE_DOWN)


def _scoped(make_session: Callable[[], Session], rcc_id: int, user_id: int | None,
            request_id: str | None) -> Session:
    session = make_session()
    set_scope(session, TenantScope.for_organisation(OrgKind.RCC, rcc_id, rcc_id))
    set_actor(session, Actor(user_id, rcc_id, rcc_id, request_id))
    return session


class Heartbeat:
    """Touches the run's ``heartbeat_at`` every few seconds from a thread, on its own connection."""

    def __init__(self, make_session: Callable[[], Session], run_id: int, rcc_id: int,
                 interval: float | None = None):
        from matching.services import runs  # noqa: PLC0415

        self.make_session, self.run_id, self.rcc_id = make_session, run_id, rcc_id
        self.interval = interval or runs.heartbeat_seconds()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"run-{run_id}-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        from matching.models import RUNNING_STAGES, MatchingRun  # noqa: PLC0415

        while not self.stopped.wait(self.interval):
            try:
                with _scoped(self.make_session, self.rcc_id, None, None) as session, transaction(session):
                    session.execute(update(MatchingRun)
                                    .where(MatchingRun.id == self.run_id,
                                           MatchingRun.stage.in_(RUNNING_STAGES))  # type: ignore[attr-defined]
                                    .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))
            except Exception:  # noqa: BLE001 - a missed beat is retried next time; the reaper allows several
                log.warning("Could not touch the heartbeat of matching run %s", self.run_id, exc_info=True)


def _pause_for_tests(stage: str) -> None:
    hook = os.environ.get(PAUSE_HOOK, "")
    name, _, seconds = hook.partition(":")
    if name == stage:
        time.sleep(float(seconds or 5))


def perform_run(make_session: Callable[[], Session], run_id: int, rcc_id: int, user_id: int | None,
                request_id: str | None = None) -> bool:
    """Take the snapshot, solve it and store the explained result, committing after every stage.

    Returns whether the run finished; a failure is recorded on the run (stage "failed") for the officer.
    A run cancelled or reaped meanwhile stops at the next stage and keeps its stage.
    """
    from matching.models import CANDIDATES, DONE, EXPLAINING, SNAPSHOT, SOLVING  # noqa: PLC0415
    from matching.services import runs  # noqa: PLC0415

    with _scoped(make_session, rcc_id, user_id, request_id) as session, \
            Heartbeat(make_session, run_id, rcc_id):
        try:
            with transaction(session):
                run = runs.get_run(session, run_id)
                runs.enter_stage(session, run, SNAPSHOT)
            _pause_for_tests(SNAPSHOT)
            started = time.perf_counter()
            with transaction(session):
                problem = runs.take_snapshot(session, run)
                runs.enter_stage(session, run, CANDIDATES, time.perf_counter() - started, SNAPSHOT)
            with transaction(session):
                runs.enter_stage(session, run, SOLVING)
            _pause_for_tests(SOLVING)
            result = runs.solve_snapshot(problem)
            with transaction(session):
                # The engine finds candidates and solves in one call; keep its own split of the time.
                run.stage_seconds = {**run.stage_seconds, CANDIDATES: round(result.seconds.candidates, 3),
                                     SOLVING: round(result.seconds.total - result.seconds.candidates, 3)}
                runs.enter_stage(session, run, EXPLAINING)
            _pause_for_tests(EXPLAINING)
            started = time.perf_counter()
            with transaction(session):
                runs.store_result(session, run, result)
                runs.enter_stage(session, run, DONE, time.perf_counter() - started, EXPLAINING)
        except runs.RunStopped:
            log.info("Matching run %s was stopped (cancelled, or failed by the reaper)", run_id)
            return False
        except Exception as error:  # noqa: BLE001 - any failure is recorded on the run for the officer
            if not isinstance(error, ServiceError):
                log.exception("Matching run %s failed", run_id)
            _record_failure(session, run_id, error)
            return False
    return True


def _record_failure(session: Session, run_id: int, error: BaseException | str) -> None:
    from matching.services import runs  # noqa: PLC0415

    if isinstance(error, str):
        message = error
    elif isinstance(error, ServiceError):
        message = error.message
    else:
        message = TOO_LONG if type(error).__name__ == "JobTimeoutException" else FAILED_UNEXPECTEDLY
    session.rollback()
    with transaction(session):
        runs.record_failure(session, runs.get_run(session, run_id), message)


def _engine_from_environment() -> Any:
    instance = os.environ.get("RCC_INSTANCE_PATH") or str(Path.cwd() / "instance")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance) / 'rcc.db'}"
    # The same login as the web's, refused in production if it could see past row-level security.
    return make_engine(url, os.environ.get("DATABASE_APP_ROLE", "rcc_app"),
                       check_login="refuse" if os.environ.get("RCC_ENV", "production") == "production" else "warn")


def run_matching_job(run_id: int, rcc_id: int, user_id: int | None, request_id: str | None = None) -> None:
    """The RQ job: connects to the database named by the environment, like the app does."""
    engine = _engine_from_environment()
    try:
        perform_run(session_factory(engine), run_id, rcc_id, user_id, request_id)
    finally:
        engine.dispose()


def job_failed(job: Any, connection: Any, exc_type: Any = None, exc_value: Any = None, traceback: Any = None) -> None:
    """RQ's ``on_failure`` callback: the job itself failed (a timeout, a crash outside the run), so fail the run."""
    run_id, rcc_id, user_id, request_id = (list(job.args) + [None, None, None, None])[:4]
    reason = TOO_LONG if exc_type is not None and exc_type.__name__ == "JobTimeoutException" else FAILED_UNEXPECTEDLY
    engine = _engine_from_environment()
    try:
        with _scoped(session_factory(engine), rcc_id, user_id, request_id) as session:
            _record_failure(session, run_id, reason)
    finally:
        engine.dispose()


def job_id_for(run_id: int) -> str:
    """Unique across databases sharing one Redis (job ids are global there, run ids are not)."""
    return f"matching-run-{run_id}-{uuid.uuid4().hex[:12]}"


def enqueue_run(redis_url: str, run_id: int, rcc_id: int, user_id: int | None, request_id: str | None = None,
                queue_name: str = QUEUE_NAME, job_id: str | None = None) -> str:
    """Put the run on the queue; returns the job id. Raises redis' ConnectionError if Redis is down."""
    from redis import Redis  # noqa: PLC0415
    from rq import Callback, Queue  # noqa: PLC0415

    connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    queue = Queue(queue_name, connection=connection)
    job = queue.enqueue(run_matching_job, run_id, rcc_id, user_id, request_id, job_timeout=JOB_TIMEOUT_SECONDS,
                        job_id=job_id or job_id_for(run_id), on_failure=Callback(job_failed), failure_ttl=7 * 86_400)
    return str(job.id)


def cancel_job(redis_url: str | None, job_id: str | None) -> None:
    """Take a cancelled run's job off the queue if it has not started (a started one stops between stages)."""
    if not redis_url or not job_id:
        return
    from redis import Redis  # noqa: PLC0415
    from redis.exceptions import RedisError  # noqa: PLC0415
    from rq.exceptions import InvalidJobOperation, NoSuchJobError  # noqa: PLC0415
    from rq.job import Job, JobStatus  # noqa: PLC0415

    try:
        connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        job = Job.fetch(job_id, connection=connection)
        if job.get_status() in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
            job.cancel()
    except (RedisError, NoSuchJobError, InvalidJobOperation):
        log.warning("Could not take job %s off the queue; the worker will find its run cancelled", job_id)


def dispatch_run(session: Session, make_session: Callable[[], Session], run: Any, redis_url: str | None,
                 user_id: int | None, request_id: str | None = None, queue_name: str = QUEUE_NAME) -> None:
    """Queue the run when Redis is configured (recording the job on the run); otherwise run it now.

    If Redis does not answer, the run is failed with ``QUEUE_DOWN`` and ``QueueUnavailable`` raised:
    nothing is left queued, and the run can be retried once the queue is back.
    """
    if redis_url:
        from redis.exceptions import RedisError  # noqa: PLC0415

        from matching.services import runs  # noqa: PLC0415

        try:
            with transaction(session):
                # Recorded first, so a worker that picks the job up at once finds the job on the run.
                run.background, run.job_id = True, job_id_for(run.id)
                session.add(run)
            enqueue_run(redis_url, run.id, run.rcc_id, user_id, request_id, queue_name, run.job_id)
        except RedisError as error:
            log.warning("Could not queue matching run %s: %s", run.id, error)
            session.rollback()
            with transaction(session):
                runs.record_failure(session, runs.get_run(session, run.id), QUEUE_DOWN)
            raise QueueUnavailable() from error
        return
    perform_run(make_session, run.id, run.rcc_id, user_id, request_id)


def work(redis_url: str, queue_name: str = QUEUE_NAME, burst: bool = False, max_backoff: float = 30.0,
         reap: Callable[[], Any] | None = None) -> None:
    """Run an RQ worker on the queue and keep it running: if Redis goes away, retry with back-off.

    The worker is RQ's SimpleWorker (the job runs in the worker's own process), so killing the
    worker stops its heartbeat too. ``reap`` is called before each (re)connection and every
    ``runs.stale_seconds() / 2`` seconds from a thread, to fail runs whose worker died.
    """
    from redis import Redis  # noqa: PLC0415
    from redis.exceptions import RedisError  # noqa: PLC0415
    from rq import Queue, SimpleWorker  # noqa: PLC0415

    from matching.services import runs  # noqa: PLC0415

    stop = threading.Event()
    if reap is not None:
        def reaper() -> None:
            while not stop.wait(max(runs.stale_seconds() / 2, 0.5)):
                try:
                    reap()
                except Exception:  # noqa: BLE001 - the next round tries again
                    log.warning("Reaping abandoned matching runs failed", exc_info=True)

        threading.Thread(target=reaper, name="matching-run-reaper", daemon=True).start()
    backoff = 1.0
    try:
        while True:
            try:
                connection = Redis.from_url(redis_url, socket_connect_timeout=5, health_check_interval=30)
                connection.ping()
                backoff = 1.0
                log.info("Matching worker connected to Redis; waiting for runs on %r", queue_name)
                worker = SimpleWorker([Queue(queue_name, connection=connection)], connection=connection)
                worker.work(burst=burst, with_scheduler=False)
                if burst or getattr(worker, "_shutdown_requested_date", None) is not None:
                    return  # the queue is empty (burst), or the worker was asked to stop (SIGTERM/SIGINT)
                # RQ's loop gives up on an error it does not handle (such as Redis going away mid-way).
                log.warning("The matching worker's loop stopped unexpectedly; starting it again in %.0f s", backoff)
            except RedisError as error:
                log.warning("Redis is not answering (%s); trying again in %.0f s", error, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff)
    finally:
        stop.set()
