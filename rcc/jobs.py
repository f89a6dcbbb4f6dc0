"""Background jobs: work too long for a web request, run where it cannot time the request out.

``start(app, "package.module:function", *args)`` runs ``function(make_session, *args)``:

* on RQ, when ``REDIS_URL`` is set: the job goes on the ``jobs`` queue, and a worker started with
  ``rq worker jobs --url $REDIS_URL`` in the app's environment connects to the database named by
  the environment, as the app does. If Redis cannot be reached the caller gets ``JobsUnavailable``
  (a plain message) and should write nothing that waits for the job;
* otherwise in a thread of the web process (``RCC_JOBS=thread``, the default without Redis), so
  the page can show progress; or in the request itself when testing (``RCC_JOBS=inline``).

A job owns its transactions and records its own progress and failure on its own row; a job
whose process dies leaves that row's heartbeat behind, which its pages read as "stopped".
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from rcc.db import Session, make_engine, session_factory
from rcc.errors import ServiceError

QUEUE_NAME = "jobs"
JOB_TIMEOUT_SECONDS = 30 * 60
log = logging.getLogger(__name__)


class JobsUnavailable(ServiceError):
    """The job could not be handed to a worker; nothing was started."""


def _function(name: str) -> Callable[..., Any]:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


def start(app: Flask, name: str, *args: Any) -> str:
    """Run the job named ``module:function`` in the background; returns how it runs ("rq", "thread"
    or "inline")."""
    redis_url = app.config.get("REDIS_URL")
    mode = app.config.get("RCC_JOBS") or ("rq" if redis_url else "inline" if app.testing else "thread")
    if mode == "rq":
        _enqueue(str(redis_url), name, args)
    elif mode == "thread":
        make_session = app.extensions["rcc_sessions"]
        threading.Thread(target=_run_logged, args=(name, make_session, args), daemon=True,
                         name=f"job {name}").start()
    else:
        _function(name)(app.extensions["rcc_sessions"], *args)
    return str(mode)


def _enqueue(redis_url: str, name: str, args: tuple[Any, ...]) -> None:
    from redis import Redis  # noqa: PLC0415
    from redis.exceptions import RedisError  # noqa: PLC0415
    from rq import Queue  # noqa: PLC0415

    try:
        connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        Queue(QUEUE_NAME, connection=connection).enqueue(run_job, name, *args, job_timeout=JOB_TIMEOUT_SECONDS)
    except RedisError as error:
        log.warning("Could not queue job %s: %s", name, error)
        raise JobsUnavailable("The service that runs long tasks is not answering, so nothing was started. "
                              "Try again in a few minutes; if it keeps happening, tell your RCC's "
                              "administrator.") from error


def _run_logged(name: str, make_session: Callable[[], Session], args: tuple[Any, ...]) -> None:
    try:
        _function(name)(make_session, *args)
    except Exception:  # noqa: BLE001 - a thread has no one to raise to; the job records its own failure
        log.exception("Background job %s failed", name)


def run_job(name: str, *args: Any) -> None:
    """The RQ entry point: connects to the database named by the environment, like the app does."""
    instance = os.environ.get("RCC_INSTANCE_PATH") or str(Path.cwd() / "instance")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance) / 'rcc.db'}"
    engine = make_engine(url, os.environ.get("DATABASE_APP_ROLE", "rcc_app"))
    try:
        _function(name)(session_factory(engine), *args)
    finally:
        engine.dispose()
