"""What-if market shaping: save a scenario, replay it beside the baseline as a background job.

``start`` checks the scenario against the region (a field that is wrong is a ``FieldError`` naming
it), saves the run as queued and audits it; the view then hands ``run_job`` to ``rcc.jobs``. The
job builds the region (``cost_transparency.whatif.region``), replays the baseline and the scenario
with the same seed (``replay.run_scenarios``: with ``RCC_WHATIF_WORKERS`` > 1, in that many worker
processes), and stores both with each council's share. A job moves its run on only from the state
it expects (conditional UPDATEs), so a run is never finished twice.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlmodel import col

from cost_transparency.models import WhatifRun
from cost_transparency.whatif import region as whatif_region
from cost_transparency.whatif.replay import (
    MONTHS,
    Replay,
    Scenario,
    ScenarioError,
    SupplyChange,
    replay,
    replay_to_json,
    run_scenarios,
    scenario_to_json,
    validate_scenario,
)
from rcc import audit
from rcc.audit import Actor, AuditAction, set_actor
from rcc.db import Session, transaction
from rcc.errors import FieldError
from rcc.models import utcnow
from rcc.tenancy import OrgKind, TenantScope, set_scope

log = logging.getLogger(__name__)
JOB = "cost_transparency.services.whatif:run_job"
MAX_SEED = 2**31 - 1
FAILED = "The replay failed unexpectedly. Start it again; if it fails again, tell your RCC's administrator."


def workers() -> int:
    raw = os.environ.get("RCC_WHATIF_WORKERS", "1")
    return max(1, min(int(raw), 16)) if raw.isdigit() else 1


def region_for(session: Session, rcc_id: int, start: date, today: date | None = None) -> whatif_region.RegionData:
    today = today or date.today()
    return whatif_region.build_region(session, start, today, growth(session, rcc_id, today))


def growth(session: Session, rcc_id: int, today: date) -> list[float] | None:
    """From this month on, the region's forecast children looked after at each month's end against
    now (None without a forecast: demand then stays at the recorded rate)."""
    from cost_transparency.services import forecast  # noqa: PLC0415

    found = forecast.forecast_for(session, rcc_id, None, 24, today)
    now = found.children_now
    if not found.total or not now:
        return None
    by_month = {(p.month.year, p.month.month): p.expected for p in found.total}
    months = [whatif_region.add_months(whatif_region.month_start(today), k) for k in range(MONTHS)]
    values = [by_month.get((m.year, m.month)) for m in months]
    known = [v for v in values if v is not None]
    if not known:
        return None
    return [float((v if v is not None else known[-1]) / now) for v in values]


def start(session: Session, rcc_id: int, user_id: int | None, name: str, change: SupplyChange, seed: int,
          start_month: date, today: date | None = None) -> WhatifRun:
    """Check the scenario against the region and save it as a queued run (audited). The caller starts
    the job after the transaction commits."""
    if not 0 <= seed <= MAX_SEED:
        raise FieldError("seed", f"The seed must be a whole number from 0 to {MAX_SEED}")
    scenario = Scenario(name.strip()[:120] or "Scenario", (change,))
    data = region_for(session, rcc_id, start_month, today)
    try:
        validate_scenario(data.region, scenario)
    except ScenarioError as error:
        raise FieldError(error.field, str(error)) from error
    run = WhatifRun(rcc_id=rcc_id, name=scenario.name, scenario=scenario_to_json(scenario), seed=seed,
                    start=data.start, months=len(data.region.months), created_by_user_id=user_id)
    session.add(run)
    session.flush()
    audit.record(session, AuditAction.WHATIF_RUN_STARTED, run, scenario=run.scenario, seed=seed,
                 start=data.start.isoformat())
    return run


def _scoped(make_session: Callable[[], Session], rcc_id: int, user_id: int | None) -> Session:
    session = make_session()
    set_scope(session, TenantScope.for_organisation(OrgKind.RCC, rcc_id, rcc_id))
    set_actor(session, Actor(user_id, rcc_id, rcc_id))
    return session


def _move(session: Session, run_id: int, expected: str, **values: Any) -> bool:
    done = session.execute(update(WhatifRun).where(col(WhatifRun.id) == run_id, col(WhatifRun.status) == expected)
                           .values(**values))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def run_job(make_session: Callable[[], Session], run_id: int, rcc_id: int, user_id: int | None) -> None:
    """The background job: replay the baseline and the scenario and store them."""
    session = _scoped(make_session, rcc_id, user_id)
    try:
        with transaction(session):
            if not _move(session, run_id, "queued", status="running"):
                return  # already taken (or finished) by another worker
        run = session.get(WhatifRun, run_id)
        assert run is not None
        try:
            result = _replays(session, run)
        except Exception as error:  # noqa: BLE001 - the run records its own failure for its page
            log.exception("What-if run %s failed", run_id)
            session.rollback()
            with transaction(session):
                if _move(session, run_id, "running", status="failed", error=FAILED, finished_at=utcnow()):
                    failed = session.get(WhatifRun, run_id)
                    audit.record(session, AuditAction.WHATIF_RUN_FAILED, failed, error=type(error).__name__)
            return
        with transaction(session):
            if _move(session, run_id, "running", status="done", result=result, months_done=2 * run.months,
                     finished_at=utcnow()):
                session.expire_all()
                audit.record(session, AuditAction.WHATIF_RUN_FINISHED, session.get(WhatifRun, run_id),
                             placed=result["scenario"]["totals"]["placed"],
                             baseline_placed=result["baseline"]["totals"]["placed"])
    finally:
        session.close()


def _replays(session: Session, run: WhatifRun) -> dict[str, Any]:
    data = region_for(session, run.rcc_id, run.start)
    change = run.scenario["changes"][0]
    scenario = Scenario(run.name, (SupplyChange(**change),))
    baseline = Scenario("Baseline")
    count = workers()
    replays: list[Replay]
    if count > 1:
        replays = run_scenarios(data.region, [baseline, scenario], run.seed, workers=count)
    else:  # one after the other in this process, with progress between them
        replays = [replay(data.region, baseline, run.seed)]
        with transaction(session):
            _move(session, int(run.id or 0), "running", months_done=len(data.region.months))
        replays.append(replay(data.region, scenario, run.seed))
    names = data.council_keys
    found = {"notes": list(data.notes), "workers": count, "councils": names}
    for key, item in zip(("baseline", "scenario"), replays, strict=True):
        found[key] = replay_to_json(item)
    return found


def council_share(result: dict[str, Any], council_name: str) -> dict[str, dict[str, float]]:
    """The baseline's and the scenario's figures for one council's children."""
    keys = [k for k, name in result.get("councils", {}).items() if name == council_name]
    empty = {"placed": 0, "placed_within": 0, "unplaced": 0, "spend": 0.0}
    return {which: next((result[which]["by_council"][k] for k in keys if k in result[which]["by_council"]), empty)
            for which in ("baseline", "scenario")}


def default_start(today: date | None = None) -> date:
    return whatif_region.default_start(today or date.today())


def start_choices(today: date | None = None) -> list[tuple[str, str]]:
    """The first months a replay may start from: the last 12 months (recorded referrals), or from this
    month (the forecast's demand)."""
    today = today or date.today()
    past, now = whatif_region.default_start(today), whatif_region.month_start(today)
    return [(past.isoformat(), f"The last {MONTHS} months, from {past:%B %Y} (recorded referrals)"),
            (now.isoformat(), f"The next {MONTHS} months, from {now:%B %Y} (the forecast's demand)")]


def abandon(session: Session, run_id: int, message: str) -> None:
    """The job could not be handed to a worker: the run fails at once, saying why."""
    if _move(session, run_id, "queued", status="failed", error=message[:500], finished_at=utcnow()):
        audit.record(session, AuditAction.WHATIF_RUN_FAILED, session.get(WhatifRun, run_id), error="queue down")
