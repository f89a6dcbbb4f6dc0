"""Matching runs: start one, take its snapshot, solve it, store the explained result.

A run moves through stages (``matching.models.RUN_STAGES``); ``services.jobs`` drives it,
committing after each stage so the run's page can show progress. Each function here does one
stage's work in the caller's transaction.

A run stores the engine's problem exactly as solved (``problem_to_json``) and its result
(``result_to_json``), so re-solving ``run.problem`` reproduces ``run.result``'s proposals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.lifecycle import SUBMITTED
from commissioning.models import Referral
from commissioning.services.referrals import open_referrals_for_matching, start_matching
from matching.engine import Result, problem_from_json, problem_to_json, result_to_json, solve
from matching.models import (
    DONE,
    FAILED,
    NO_HOME,
    PROPOSED,
    RUNNING_STAGES,
    MatchingRun,
    Proposal,
)
from matching.services.keys import CHILD, HOME, id_of
from matching.services.snapshot import build_problem, referrals_for_run
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import utcnow

MAX_NOTE = 200


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
    run = MatchingRun(rcc_id=rcc_id, organisation_id=rcc_id, note=note,
                      started_by_user_id=audit.current_actor(session).user_id,
                      whole_region=request.referral_ids is None,
                      referral_ids=sorted(set(request.referral_ids or [])))
    session.add(run)
    session.flush()
    audit.record(session, AuditAction.MATCHING_RUN_STARTED, run, whole_region=run.whole_region,
                 referral_ids=run.referral_ids)
    return run


def enter_stage(session: Session, run: MatchingRun, stage: str, seconds_in_previous: float | None = None,
                previous: str | None = None) -> None:
    if previous is not None and seconds_in_previous is not None:
        run.stage_seconds = {**run.stage_seconds, previous: round(seconds_in_previous, 3)}
    run.stage = stage
    run.stage_started_at = utcnow()
    if stage in (DONE, FAILED):
        run.finished_at = run.stage_started_at
    session.add(run)


def take_snapshot(session: Session, run: MatchingRun, now: datetime | None = None) -> dict[str, Any]:
    """Freeze the run's inputs: the referrals (moved into matching), homes, places and weights."""
    now = now or utcnow()
    referrals = referrals_for_run(session, None if run.whole_region else run.referral_ids)
    if not referrals:
        raise Conflict("None of the chosen referrals is open for matching any more")
    for referral in referrals:
        if referral.status == SUBMITTED:
            start_matching(session, referral)
    problem = build_problem(session, referrals, now)
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
        proposals.append(Proposal(
            rcc_id=run.rcc_id, council_id=referral.council_id, run_id=run.id, referral_id=referral.id,
            child_key=assignment["child"], home_id=id_of(assignment["home"], HOME), score=assignment["score"],
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


def record_failure(session: Session, run: MatchingRun, message: str) -> None:
    run.error = message[:2000]
    enter_stage(session, run, FAILED)
    audit.record(session, AuditAction.MATCHING_RUN_FAILED, run, error=run.error)


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


def list_runs(session: Session, limit: int = 50) -> list[MatchingRun]:
    return list(session.scalars(select(MatchingRun).order_by(MatchingRun.id.desc()).limit(limit)))


def latest_finished_run(session: Session) -> MatchingRun | None:
    return session.scalars(select(MatchingRun).where(MatchingRun.stage == DONE)
                           .order_by(MatchingRun.id.desc()).limit(1)).first()


def is_running(run: MatchingRun) -> bool:
    return run.stage in RUNNING_STAGES


def elapsed_seconds(run: MatchingRun, now: datetime | None = None) -> float:
    end = run.finished_at or now or utcnow()
    return max((_aware(end) - _aware(run.created_at)).total_seconds(), 0.0)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)

