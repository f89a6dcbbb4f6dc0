"""The matching engine: places many children at once, optimally, and explains every proposal.

Plain Python (PuLP + HiGHS, numpy): no Flask, no database. Public API::

    from matching.engine import Problem, Child, SiblingGroup, Home, Weights, SolveOptions, Point
    from matching.engine import solve, problem_from_json, problem_to_json, result_to_json, ProblemError

    result = solve(problem)            # Result dataclass
    document = result_to_json(result)  # JSON-ready dict

See README.md in this folder for the model, the proof that pruning is exact, and the timings.
"""

from __future__ import annotations

import time

from rcc.geography import Point

from .alternatives import AlternativeCost, ChildChange, compare_alternative, describe
from .evaluation import broken_rules, groups_split, objective_of
from .greedy import greedy_placement
from .jsonio import problem_from_json, problem_to_json, result_to_json
from .model import Child, Home, Problem, ProblemError, SiblingGroup, SolveOptions, Weights, validate
from .optimiser import collector_paused, optimise
from .prepared import PreparedProblem
from .pressure import TOP_AREAS, ExtraPlace, extra_place_pressure, with_extra_place
from .report import assignments, placement_from, pressure, unmatched
from .result import (
    Alternative,
    Assignment,
    FunnelStep,
    ModelSize,
    Pressure,
    Result,
    ScoreParts,
    Timings,
    Unmatched,
    status_text,
)

__all__ = [
    "AlternativeCost", "ChildChange", "compare_alternative", "describe", "hard_rules_broken",
    "ExtraPlace", "TOP_AREAS", "extra_place_pressure", "with_extra_place",
    "Alternative", "Assignment", "Child", "FunnelStep", "Home", "ModelSize", "Point", "Pressure", "Problem",
    "ProblemError", "Result", "ScoreParts", "SiblingGroup", "SolveOptions", "Timings", "Unmatched", "Weights",
    "evaluate", "greedy", "problem_from_json", "problem_to_json", "result_to_json", "solve",
]


def solve(problem: Problem) -> Result:
    """Propose a home for as many children as possible, then at the least total score.

    Raises ProblemError for invalid input. Same problem (in any order) -> same result,
    unless the time limit cuts the search short (then ``status`` is "feasible", never worse
    than the engine's greedy, and ``gap`` says how far from the best possible it can be).
    ``options.time_limit_seconds`` counts from here, wall clock, for every phase.
    """
    started = time.perf_counter()
    validate(problem)
    deadline = started + problem.options.time_limit_seconds
    with collector_paused():
        prepared = PreparedProblem(problem)
        prepare_seconds = time.perf_counter() - started
        solution = optimise(prepared, deadline)
        report_started = time.perf_counter()
        placement = placement_from(prepared, solution)
        proposals = assignments(prepared, solution, placement)
        left_out = unmatched(prepared, placement)
        capacity = pressure(prepared, solution, placement)
    finished = time.perf_counter()
    stats = solution.stats
    return Result(
        status=solution.status,
        objective=solution.objective,
        bound=solution.bound,
        gap=solution.gap,
        pruning_exact=solution.pruning_exact,
        solver=solution.solver,
        placed=len(proposals),
        groups_split=groups_split(prepared, placement),
        assignments=tuple(proposals),
        unmatched=tuple(left_out),
        pressure=tuple(capacity),
        seconds=Timings(
            candidates=prepare_seconds + stats.candidates_seconds,
            build=stats.build_seconds,
            relaxation=stats.relaxation_seconds,
            solve=stats.solve_seconds,
            report=finished - report_started,
            total=finished - started,
            greedy=stats.greedy_seconds,
        ),
        model=ModelSize(stats.candidate_pairs, stats.variables, stats.constraints, stats.rounds,
                        solution.relaxation_objective, stats.pricing_rounds, stats.cut_rounds),
        unmatched_penalties=dict(prepared.penalty_by_urgency),
        status_text=status_text(solution.status, solution.gap),
        greedy_objective=stats.greedy_objective,
        time_limit_reached=stats.time_limit_reached,
    )


def greedy(problem: Problem, *, honour_keep_together: bool = False) -> dict[str, str | None]:
    """The broker baseline: one child at a time in urgency order, each to its best free home."""
    validate(problem)
    prepared = PreparedProblem(problem)
    placement = greedy_placement(prepared, honour_keep_together=honour_keep_together)
    return {prepared.children[c].id: None if h is None else prepared.homes[h].id for c, h in placement.items()}


def hard_rules_broken(problem: Problem, proposals: dict[str, str | None]) -> list[str]:
    """Every hard rule (suitability, capacity, sibling plans) the proposals break; empty if none."""
    prepared = PreparedProblem(problem)
    placement = {
        prepared.child_index[child]: None if home is None else prepared.home_index[home]
        for child, home in proposals.items()
    }
    return broken_rules(prepared, placement)


def evaluate(problem: Problem, proposals: dict[str, str | None]) -> int:
    """The objective any set of proposals (child id -> home id or None) would score."""
    prepared = PreparedProblem(problem)
    placement = {
        prepared.child_index[child]: None if home is None else prepared.home_index[home]
        for child, home in proposals.items()
    }
    return objective_of(prepared, placement)
