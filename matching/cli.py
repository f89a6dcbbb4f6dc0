"""Matching's commands: ``flask --app wsgi matching-worker`` and ``flask --app wsgi reap-runs``."""

from __future__ import annotations

import logging
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from matching.services import jobs, runs
from rcc.audit import Actor, set_actor
from rcc.cli import system_session
from rcc.db import transaction


def register(app: Flask) -> None:
    app.cli.add_command(matching_worker)
    app.cli.add_command(reap_runs)


def reap_every_region(app: Flask) -> list[int]:
    """Fail every region's runs whose worker stopped; returns their ids."""
    with app.app_context():
        # Across regions, so with the platform's own login (SYSTEM_DATABASE_URL): on PostgreSQL the
        # web's login cannot act with system scope, and would see no run to reap.
        session: Any = system_session()
        set_actor(session, Actor.platform("reaper"))
        with session, transaction(session):
            return runs.reap_stale_runs(session)


@click.command("reap-runs")
@with_appcontext
def reap_runs() -> None:
    """Mark failed every matching run whose worker stopped (its heartbeat is too old)."""
    reaped = reap_every_region(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"Marked {len(reaped)} abandoned run(s) failed{': ' + ', '.join(map(str, reaped)) if reaped else ''}.")


@click.command("matching-worker")
@with_appcontext
@click.option("--queue", "queue_name", default=None, help="Queue to work on (default: MATCHING_QUEUE or 'matching')")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty")
def matching_worker(queue_name: str | None, burst: bool) -> None:
    """Work matching runs from Redis; reconnects with back-off if Redis goes away, and reaps abandoned runs."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    redis_url = app.config.get("REDIS_URL")
    if not redis_url:
        raise click.ClickException("REDIS_URL is not set: without Redis, runs happen inside the web request")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    jobs.work(redis_url, queue_name or app.config.get("MATCHING_QUEUE") or jobs.QUEUE_NAME, burst=burst,
              reap=lambda: reap_every_region(app))
