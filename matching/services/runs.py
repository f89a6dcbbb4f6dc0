"""Matching runs: start one, take its snapshot, solve it, store the explained result.

A run moves through stages (``matching.models.RUN_STAGES``); ``services.jobs`` drives it,
committing after each stage so the run's page can show progress. Each function here does one
stage's work in the caller's transaction.

Every stage move is conditional on the stage the run is in (``UPDATE … WHERE stage = :expected``),
so a run that was cancelled, or failed by the reaper because its worker stopped, never moves on.
The database holds one active run per RCC (a partial unique index); a second start is refused
with a link to the active one. While a worker works on a run it touches ``heartbeat_at``; a run
whose heartbeat is older than ``stale_seconds()`` is failed by ``reap_stale_runs`` (run when run
pages are viewed, by the worker and by ``flask reap-runs``), and ``shown_stage`` derives the same
answer before the reaper has run. A failed or cancelled run can be retried: a new run over the
same referrals, linked to the old one.

A run stores the engine's problem exactly as solved (``problem_to_json``) and its result
(``result_to_json``), so re-solving ``run.problem`` reproduces ``run.result``'s proposals.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import ColumnElement

from commissioning.lifecycle import SUBMITTED
from commissioning.models import Referral
from commissioning.services.referrals import open_referrals_for_matching, start_matching
from matching import notices
from matching.engine import Problem, Result, problem_from_json, problem_to_json, result_to_json, solve
from matching.models import (
    ACTIVE_RUN_INDEX,
    CANCELLED,
    DONE,
    ENDED_STAGES,
    FAILED,
    NO_HOME,
    PROPOSED,
    QUEUED,
    RETRYABLE_STAGES,
    RUNNING_STAGES,
    MatchingPolicy,
    MatchingRun,
    Proposal,
)
from matching.services import policy
from matching.services.keys import CHILD, id_of
from matching.services.places import ids_of
from matching.services.snapshot import build_problem, referrals_for_run
from rcc import audit
from rcc.audit import Actor, AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import utcnow

MAX_NOTE = 200
WORKER_STOPPED = "The matching worker stopped. Try the run again."
NEVER_STARTED = "The run waited too long for the matching worker. Try the run again."

# How often a worker touches a run's heartbeat, and how old a heartbeat may get before the run
# counts as abandoned; a queued run with a job may wait longer, behind other regions' runs.
HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 60.0
QUEUE_WAIT_SECONDS = 15 * 60.0


def _seconds(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if 0 < value < 86_400 else default


def heartbeat_seconds() -> float:
    """``RCC_RUN_HEARTBEAT_SECONDS`` (default 10): how often the worker touches a run's heartbeat."""
    return _seconds("RCC_RUN_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS)


def stale_seconds() -> float:
    """``RCC_RUN_STALE_SECONDS`` (default 60): a run whose heartbeat is older has lost its worker."""
    return _seconds("RCC_RUN_STALE_SECONDS", STALE_SECONDS)


def queue_wait_seconds() -> float:
    """``RCC_RUN_QUEUE_WAIT_SECONDS`` (default 900): how long a queued job may wait for a worker."""
    return _seconds("RCC_RUN_QUEUE_WAIT_SECONDS", QUEUE_WAIT_SECONDS)


class ActiveRunExists(Conflict):
    """The RCC already has a run waiting or working; it names that run."""

    def __init__(self, run_id: int):
        super().__init__(f"Matching run {run_id} has not finished yet. Wait for it to finish, or cancel it, "
                         "before starting another run.")
        self.run_id = run_id


class RunStopped(Conflict):
    """The run left the stage the worker expected: it was cancelled, or failed because it lost its worker."""

    def __init__(self) -> None:
        super().__init__("The run was stopped before it finished")


@dataclass(frozen=True)
class RunRequest:
    """What the officer asked for: every open referral, or the chosen ones."""

    referral_ids: Sequence[int] | None = None  # None: the whole region
    note: str = ""


def start_run(session: Session, rcc_id: int, request: RunRequest) -> MatchingRun:
    """A queued run over the region's open referrals (or a chosen subset of them)."""
    errors: dict[str, str] = {}
    note = (request.note or "").strip()
    if len(note) > MAX_NOTE:
        errors["note"] = f"The note must be {MAX_NOTE} characters or fewer"
    open_ids = {r.id for r in open_referrals_for_matching(session)}
    if not open_ids:
        errors["referral_ids"] = "There are no submitted referrals to match"
    elif request.referral_ids is not None:
        chosen = set(request.referral_ids)
        if not chosen:
            errors["referral_ids"] = "Select at least one referral, or choose every open referral"
        elif chosen - open_ids:
            errors["referral_ids"] = "Select referrals from the list of open referrals"
    if errors:
        raise FieldErrors(errors)
    return _new_run(session, rcc_id, note, request.referral_ids)


def _new_run(session: Session, rcc_id: int, note: str, referral_ids: Sequence[int] | None,
             retry_of: MatchingRun | None = None, policy_id: int | None = None,
             repeat_of: MatchingRun | None = None) -> MatchingRun:
    reap_stale_runs(session)
    active = active_run(session)
    if active is not None:
        raise ActiveRunExists(int(active.id or 0))
    now = utcnow()
    run = MatchingRun(rcc_id=rcc_id, organisation_id=rcc_id, note=note,
                      started_by_user_id=audit.current_actor(session).user_id,
                      whole_region=referral_ids is None, referral_ids=sorted(set(referral_ids or [])),
                      created_at=now, stage_started_at=now, heartbeat_at=now,
                      retry_of_run_id=retry_of.id if retry_of is not None else None,
                      repeat_of_run_id=repeat_of.id if repeat_of is not None else None,
                      policy_id=policy_id if repeat_of is not None else _current_policy_id(session))
    try:
        with session.begin_nested():  # a savepoint: losing the race leaves the transaction usable
            session.add(run)
            session.flush()
    except IntegrityError as error:
        if ACTIVE_RUN_INDEX not in str(error.orig) and "matching_run.rcc_id" not in str(error.orig):
            raise
        active = active_run(session)
        raise ActiveRunExists(int(active.id or 0) if active is not None else 0) from error
    detail: dict[str, Any] = {"whole_region": run.whole_region, "referral_ids": run.referral_ids}
    if retry_of is not None:
        detail["retry_of_run_id"] = retry_of.id
    detail["policy_id"] = run.policy_id
    if repeat_of is not None:
        audit.record(session, AuditAction.MATCHING_RUN_REPEATED, run, repeat_of_run_id=repeat_of.id, **detail)
    else:
        audit.record(session, AuditAction.MATCHING_RUN_STARTED, run, **detail)
    return run


def _current_policy_id(session: Session) -> int | None:
    found = policy.current_policy(session)
    return found.id if found is not None else None


def repeat_run(session: Session, run_id: int, policy_id: int | None) -> MatchingRun:
    """A new run that re-solves the finished run's snapshot with another policy, to compare the two.

    The snapshot (children, homes, places) is the old run's exactly, so only the policy differs.
    The repeat is the newer run: its proposals are the ones to decide from then on.
    """
    old = get_run(session, run_id)
    if old.stage != DONE or old.problem is None:
        raise Conflict("Only a finished run can be repeated with another policy")
    if policy_id is None:
        raise FieldErrors({"policy_id": "Select the policy version to repeat the run with"})
    chosen = session.get(MatchingPolicy, policy_id)
    if chosen is None:
        raise FieldErrors({"policy_id": "Select one of the policy versions listed"})
    return _new_run(session, old.rcc_id, old.note, old.referral_ids, policy_id=chosen.id, repeat_of=old)


def active_run(session: Session) -> MatchingRun | None:
    """The RCC's run that is waiting or working, if there is one (there is at most one)."""
    return session.scalars(select(MatchingRun).where(MatchingRun.stage.in_(RUNNING_STAGES))  # type: ignore[attr-defined]
                           .order_by(MatchingRun.id).limit(1)).first()


def retry_run(session: Session, run_id: int) -> MatchingRun:
    """A new run over the failed or cancelled run's referrals (those still open), linked to it."""
    old = get_run(session, run_id)
    if old.stage not in RETRYABLE_STAGES:
        raise Conflict("Only a failed or cancelled run can be tried again")
    if old.whole_region:
        if not open_referrals_for_matching(session):
            raise Conflict("There are no submitted referrals to match")
        return _new_run(session, old.rcc_id, old.note, None, old)
    still_open = sorted({int(r.id or 0) for r in open_referrals_for_matching(session)} & set(old.referral_ids))
    if not still_open:
        raise Conflict("None of this run's referrals is open for matching any more")
    return _new_run(session, old.rcc_id, old.note, still_open, old)


def cancel_run(session: Session, run_id: int) -> MatchingRun:
    """Stop a waiting or working run. The worker stops at its next stage; nothing it did later is kept."""
    run = get_run(session, run_id)
    actor = audit.current_actor(session)
    moved = _move(session, run, RUNNING_STAGES, CANCELLED, error="Cancelled", cancelled_by_user_id=actor.user_id)
    if not moved:
        raise Conflict("This run has already finished, so it cannot be cancelled")
    audit.record(session, AuditAction.MATCHING_RUN_CANCELLED, run, stage_when_cancelled=moved)
    return run


def _move(session: Session, run: MatchingRun, expected: Sequence[str], stage: str, **values: Any) -> str | None:
    """Move the run to ``stage`` if it is in one of the ``expected`` stages; returns the stage it left.

    One conditional UPDATE: if someone else moved the run first, nothing is written and None comes back.
    """
    session.flush()
    before = session.scalar(select(MatchingRun.stage).where(MatchingRun.id == run.id))
    if before not in expected:
        return None
    now = utcnow()
    values = {"stage": stage, "stage_started_at": now, **values}
    if stage in ENDED_STAGES:
        values["finished_at"] = now
    else:
        values["heartbeat_at"] = now
    result = session.execute(
        update(MatchingRun).where(MatchingRun.id == run.id, MatchingRun.stage == before)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    for name, value in values.items():
        set_committed_value(run, name, value)
    return before


def enter_stage(session: Session, run: MatchingRun, stage: str, seconds_in_previous: float | None = None,
                previous: str | None = None) -> None:
    """Move the run on from the stage it is in; raises RunStopped if it was cancelled or failed meanwhile."""
    values: dict[str, Any] = {}
    if previous is not None and seconds_in_previous is not None:
        values["stage_seconds"] = {**run.stage_seconds, previous: round(seconds_in_previous, 3)}
    if _move(session, run, (run.stage,), stage, **values) is None:
        raise RunStopped()


def take_snapshot(session: Session, run: MatchingRun, now: datetime | None = None) -> dict[str, Any]:
    """Freeze the run's inputs: the referrals (moved into matching), homes, places and the policy's weights.

    A run repeated with another policy takes the repeated run's snapshot as it was, with its own weights.
    """
    now = now or utcnow()
    weights = policy.weights_of(policy.values_of_run(session, run)[0])
    repeated = session.get(MatchingRun, run.repeat_of_run_id) if run.repeat_of_run_id else None
    if repeated is not None and repeated.problem is not None:
        document = {**repeated.problem,
                    "weights": problem_to_json(Problem(children=(), homes=(), weights=weights))["weights"]}
        run.problem = problem_to_json(problem_from_json(document))
        run.referral_ids = list(repeated.referral_ids)
        run.children = len(repeated.referral_ids)
        session.add(run)
        return run.problem
    referrals = referrals_for_run(session, None if run.whole_region else run.referral_ids)
    if not referrals:
        raise Conflict("None of the chosen referrals is open for matching any more")
    for referral in referrals:
        if referral.status == SUBMITTED:
            start_matching(session, referral)
    problem = build_problem(session, referrals, now, weights)
    document = problem_to_json(problem)
    run.problem = document
    run.referral_ids = sorted(int(r.id or 0) for r in referrals)
    run.children = len(referrals)
    session.add(run)
    return document


def solve_snapshot(problem: dict[str, Any]) -> Result:
    """Solve a stored snapshot. The same snapshot always gives the same proposals."""
    return solve(problem_from_json(problem))


def store_result(session: Session, run: MatchingRun, result: Result) -> list[Proposal]:
    """Keep the engine's result and write one proposal per child for the officer to review."""
    run.result = result_to_json(result)
    run.placed = result.placed
    run.unmatched = len(result.unmatched)
    referrals = {r.id: r for r in session.scalars(select(Referral).where(Referral.id.in_(run.referral_ids)))}
    document = run.result
    proposals = []
    for assignment in document["assignments"]:
        referral = referrals[id_of(assignment["child"], CHILD)]
        home_id, household_id = ids_of(assignment["home"])  # a home ("H7") or a foster household ("F4")
        proposals.append(Proposal(
            rcc_id=run.rcc_id, council_id=referral.council_id, run_id=run.id, referral_id=referral.id,
            child_key=assignment["child"], home_id=home_id, foster_household_id=household_id,
            score=assignment["score"],
            rank=assignment["rank"], candidates=assignment["candidates"], parts=assignment["parts"],
            alternatives=assignment["alternatives"], status=PROPOSED))
    for left_out in document["unmatched"]:
        referral = referrals[id_of(left_out["child"], CHILD)]
        proposals.append(Proposal(
            rcc_id=run.rcc_id, council_id=referral.council_id, run_id=run.id, referral_id=referral.id,
            child_key=left_out["child"], funnel=left_out["funnel"], all_taken=left_out["all_taken"],
            status=NO_HOME))
    session.add_all(proposals)
    session.add(run)
    session.flush()
    audit.record(session, AuditAction.MATCHING_RUN_FINISHED, run, placed=run.placed, unmatched=run.unmatched,
                 status=result.status, objective=result.objective)
    return proposals


def record_failure(session: Session, run: MatchingRun, message: str, actor: Actor | None = None) -> bool:
    """Fail a run that is still waiting or working; a run that has ended already is left as it is."""
    if _move(session, run, RUNNING_STAGES, FAILED, error=message[:2000]) is None:
        return False
    audit.record(session, AuditAction.MATCHING_RUN_FAILED, run, actor=actor, error=run.error)
    notices.run_failed(session, run)
    return True


def stale_condition(now: datetime | None = None) -> ColumnElement[bool]:
    """SQL: the run is waiting or working but its worker has stopped (or never came)."""
    now = now or utcnow()
    beat = func.coalesce(MatchingRun.heartbeat_at, MatchingRun.stage_started_at)
    stale = now - timedelta(seconds=stale_seconds())
    waited = now - timedelta(seconds=queue_wait_seconds())
    working = [s for s in RUNNING_STAGES if s != QUEUED]
    return or_(
        and_(MatchingRun.stage.in_(working), beat < stale),  # type: ignore[attr-defined]
        and_(MatchingRun.stage == QUEUED, MatchingRun.job_id.is_(None), beat < stale),  # type: ignore[union-attr]
        and_(MatchingRun.stage == QUEUED, beat < waited),
    )


def shown_stage_column(now: datetime | None = None) -> ColumnElement[str]:
    """SQL: the run's stage as people should see it, "failed" for an abandoned run the reaper has not reached."""
    return case((stale_condition(now), FAILED), else_=MatchingRun.stage)


def shown_stage(session: Session, run: MatchingRun) -> str:
    """The run's stage, derived in SQL, so an abandoned run shows as failed before the reaper has run."""
    return str(session.scalar(select(shown_stage_column()).where(MatchingRun.id == run.id)) or run.stage)


def reap_stale_runs(session: Session, now: datetime | None = None) -> list[int]:
    """Fail every run (in the session's scope) whose worker stopped; returns their ids."""
    now = now or utcnow()
    reaped = []
    for run in session.scalars(select(MatchingRun).where(stale_condition(now)).order_by(MatchingRun.id)):
        message = NEVER_STARTED if run.stage == QUEUED else WORKER_STOPPED
        actor = Actor(None, run.rcc_id, run.rcc_id, audit.current_actor(session).request_id)
        with session.begin_nested():
            if record_failure(session, run, message, actor):
                reaped.append(int(run.id or 0))
    return reaped


def reproduced_proposals(run: MatchingRun) -> dict[str, str | None]:
    """Re-solve the run's stored snapshot and give its proposals (child key -> home key or None)."""
    if run.problem is None:
        raise Conflict("This run has no snapshot yet")
    return solve_snapshot(run.problem).proposals()


def stored_proposals(run: MatchingRun) -> dict[str, str | None]:
    if run.result is None:
        raise Conflict("This run has no result yet")
    placed: dict[str, str | None] = {a["child"]: a["home"] for a in run.result["assignments"]}
    placed.update({u["child"]: None for u in run.result["unmatched"]})
    return dict(sorted(placed.items()))


def get_run(session: Session, run_id: int) -> MatchingRun:
    run = session.get(MatchingRun, run_id)
    if run is None:
        raise NotFound()
    return run


def list_runs(session: Session, limit: int | None = 50) -> list[MatchingRun]:
    return list(session.scalars(select(MatchingRun).order_by(MatchingRun.id.desc()).limit(limit)))


def runs_by_id(session: Session, ids: Sequence[int]) -> dict[int, MatchingRun]:
    if not ids:
        return {}
    return {int(r.id or 0): r for r in session.scalars(select(MatchingRun).where(MatchingRun.id.in_(ids)))}  # type: ignore[union-attr]


def latest_finished_run(session: Session) -> MatchingRun | None:
    return session.scalars(select(MatchingRun).where(MatchingRun.stage == DONE)
                           .order_by(MatchingRun.id.desc()).limit(1)).first()


def is_running(run: MatchingRun) -> bool:
    return run.stage in RUNNING_STAGES


def can_retry(run: MatchingRun) -> bool:
    return run.stage in RETRYABLE_STAGES


def elapsed_seconds(run: MatchingRun, now: datetime | None = None) -> float:
    end = run.finished_at or now or utcnow()
    return max((_aware(end) - _aware(run.created_at)).total_seconds(), 0.0)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)

