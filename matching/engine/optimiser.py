"""The integer model, built with PuLP and solved with HiGHS (CBC as fallback), with exact pruning.

Model (minimise, integer points). An *option* is a way to place children as one unit: a
child alone, a keep-together group as a whole, or — for a group that may be separated — the
whole group together. Each option has its own kept candidate homes.

* ``x[o,h]`` binary per kept (option, home) pair; cost: the option's score in ``h``. A child of
  a separable group placed alone also pays the split penalty.
* ``n[e]`` in [0, 1] per entity (child, or keep-together group): unmatched, at the penalty of
  each member. Row ``Σ x over options covering e + n[e] = 1``; the together-option of a
  separable group covers every member's row (set partitioning, which keeps the relaxation tight).
* capacity ``Σ size(o)·x[o,h] ≤ free places(h)`` (only where candidates could overfill it);
  members of one separable group alone in a home ≤ the home's largest sibling group.
* block places ``u[h]`` in [0, block(h)], ``u[h] ≤ Σ min(size(o), block(h))·x[o,h]``, cost −credit.

Exactness (details in README.md). Let ``y`` be the relaxation's row duals, clipped to their signs
(and block rows to ``[−credit, 0]``). For *any* such ``y`` and any solution ``x`` of the
*unpruned* model, ``cost(x) = L + Σ_j |d_j|·(distance of x_j from the bound the bound L
assumed)``, where ``d = c − Aᵀy`` are reduced costs and ``L`` is the Lagrangian bound, computed
here from ``y`` — not trusted from the solver. Rows the pruned model lacks get dual 0 (block rows
−credit), so a pruned pair of option ``o`` has ``d ≥ δ[o] = threshold[o] + split(o) − Σ α``.
Cover cuts (units that cannot all fit in one home) are valid for every integer placement, so
they may join the rows. Hence a solution strictly better than an incumbent ``z`` (so ``≤ z − 1``:
objectives are integers) uses only pairs with ``d ≤ z − 1 − L``; if ``L > z − 1``, ``z`` is optimal. The integer rounds solve the model restricted
to such pairs — kept pairs by their exact ``d``, pruned ones by ``δ`` after widening the lists —
so the last round's optimum is the unpruned model's optimum.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pulp

from .candidates import CandidateList, HomeGrid
from .evaluation import objective_of
from .greedy import greedy_placement
from .prepared import Entity, PreparedProblem

# Objectives are integers: a pair whose reduced cost exceeds the budget by less than this
# margin is still kept, so float error in the duals can never prune a pair that could tie.
INTEGER_MARGIN = 0.5
DUAL_TOLERANCE = 1e-6
MAX_PRICING_ROUNDS = 8
MAX_INTEGER_ROUNDS = 4
# The first integer round keeps, per option, its few pairs of least reduced cost.
FIRST_ROUND_PAIRS = 4
EXTENSION_FACTOR = 4
MIN_EXTENSION = 64
MAX_CUT_ROUNDS = 20
FRACTIONAL = 1e-6
CUT_TOLERANCE = 1e-4
# An integral relaxation is a placement; tests turn this off to drive the integer rounds.
USE_INTEGRAL_RELAXATION = True


@dataclass(frozen=True)
class Cut:
    """``Σ x[o,h] over keys ≤ rhs``: units that cannot all fit in one home (a cover)."""

    keys: tuple[tuple[int, int], ...]  # (option, home)
    rhs: int


@dataclass
class SolveStats:
    candidates_seconds: float = 0.0
    build_seconds: float = 0.0
    relaxation_seconds: float = 0.0
    solve_seconds: float = 0.0
    rounds: int = 0
    pricing_rounds: int = 0
    cut_rounds: int = 0
    variables: int = 0
    constraints: int = 0
    candidate_pairs: int = 0
    greedy_seconds: float = 0.0
    pairs_built: int = 0
    slowdown: float = 1.0  # wall over CPU seconds of the candidate phase: how loaded the machine is
    greedy_objective: int | None = None
    time_limit_reached: bool = False  # the deadline stopped a phase before it finished


@dataclass(frozen=True)
class PlacementOption:
    """A unit the model can place: its members, the entity rows it covers, its extra cost."""

    entity: Entity
    rows: tuple[int, ...]
    split_cost: int  # added to every home's score: a separable sibling placed alone


@dataclass
class ModelSolution:
    status: str  # "optimal", "feasible" (time limit, or pruning not proved exact) or "not_solved"
    objective: int
    bound: float | None
    gap: float | None
    solver: str
    pruning_exact: bool
    relaxation_objective: float
    chosen: dict[int, int]  # option index -> home index
    options: list[PlacementOption]
    capacity_value: dict[int, float]  # home index -> objective gain from one more place (LP dual)
    candidate_lists: list[CandidateList]
    stats: SolveStats = field(default_factory=SolveStats)


@dataclass
class _Model:
    """A PuLP model and the same model as arrays (read back from PuLP) for HiGHS and the bound."""

    problem: pulp.LpProblem
    pair_option: np.ndarray
    pair_home: np.ndarray
    pair_vars: list[pulp.LpVariable]
    entity_rows: list[pulp.LpConstraint]
    capacity_rows: dict[int, pulp.LpConstraint]
    columns: list[pulp.LpVariable]  # creation order = PuLP's name order
    pair_columns: np.ndarray  # column index of each pair
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_start: np.ndarray  # CSR
    row_index: np.ndarray
    row_value: np.ndarray
    dual_lower: np.ndarray  # sign (and block-credit) limits on each row's dual
    dual_upper: np.ndarray
    capacity_row_index: dict[int, int]  # home -> row
    block_row_index: dict[int, int]  # home -> row
    block_col_index: dict[int, int]  # home -> column of its block credit
    pair_index: dict[tuple[int, int], int]  # (option, home) -> pair

    @property
    def num_rows(self) -> int:
        return len(self.row_lower)


class _Names:
    """Variable names that sort in creation order (PuLP orders columns by name)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> str:
        self.count += 1
        return f"v{self.count:09d}"


def available_solver(preference: str) -> str:
    available = pulp.listSolvers(onlyAvailable=True)
    if preference in ("auto", "highs") and "HiGHS" in available:
        return "highs"
    if preference == "highs":
        raise RuntimeError("HiGHS (highspy) is not installed")
    return "cbc"


def placement_options(prepared: PreparedProblem) -> list[PlacementOption]:
    """Every entity alone, then each separable group together, in a fixed order."""
    split = prepared.weights.sibling_split
    separable = {m for members in prepared.splittable_groups().values() for m in members}
    options = [
        PlacementOption(entity, (e,), split if entity.members[0] in separable and not entity.keep_together else 0)
        for e, entity in enumerate(prepared.entities)
    ]
    for group, members in prepared.splittable_groups().items():
        rows = tuple(prepared.entity_of_child[m] for m in members)
        options.append(PlacementOption(Entity(group, members, True), rows, 0))
    return options


@dataclass
class _Relaxation:
    model: _Model
    objective: float  # as the solver reports it
    bound: float  # Lagrangian bound L for the unpruned model, computed from the clipped duals
    alpha: np.ndarray  # entity-row duals
    pair_reduced: np.ndarray  # exact reduced cost of each kept pair under the clipped duals
    capacity_value: dict[int, float]
    pair_values: np.ndarray  # the relaxation's solution on the kept pairs
    optimal: bool = True  # False when the time limit stopped it (the bound holds all the same)


def optimise(prepared: PreparedProblem, deadline: float | None = None) -> ModelSolution:
    """Relaxation with column generation and cover cuts, then integer rounds on pairs that could
    still help — none when the relaxation is integral and its bound proves it optimal.

    Round 1 keeps each option's few pairs of least reduced cost. Every later round keeps every
    pair — kept or pruned — whose reduced cost is within ``z − 1 − L`` of the bound, where ``z`` is
    the incumbent, so its optimum is the unpruned model's. Widening pruned lists is capped
    (degenerate duals can ask for every home); if a cap bites, the result says pruning was not
    proved exact.

    ``deadline`` (``time.perf_counter()`` seconds; by default the time limit from now) bounds the
    whole run: each phase gets what is left, and the solver the rest. The engine's own greedy
    placement is the first incumbent, so whatever stops the search, the answer is never worse
    than greedy, and the bound says how far from the best possible it can be.
    """
    settings = prepared.problem.options
    stats = SolveStats()
    if deadline is None:
        deadline = time.perf_counter() + settings.time_limit_seconds
    solver = available_solver(settings.solver)
    started, cpu_started = time.perf_counter(), time.process_time()
    grid = HomeGrid(prepared)
    options = placement_options(prepared)
    lists = [grid.candidates(option.entity, settings.candidates_per_child) for option in options]
    stats.candidates_seconds += time.perf_counter() - started
    stats.slowdown = max(1.0, stats.candidates_seconds / max(time.process_time() - cpu_started, 1e-3))
    started = time.perf_counter()
    greedy = _greedy_incumbent(prepared, grid, options, lists)
    stats.greedy_seconds = time.perf_counter() - started
    stats.greedy_objective = greedy.objective
    # The report comes after the deadline's phases: keep it time, about a third of what the
    # candidate lists and greedy took on this machine now (measured: 0.16–0.33 of it).
    deadline -= REPORT_SHARE * (stats.candidates_seconds + stats.greedy_seconds)
    cuts: list[Cut] = []
    if _out_of_time(deadline, stats) or not _build_fits(deadline, stats, sum(len(c.homes) for c in lists)):
        # Not even the relaxation can be built in time: greedy, with no bound.
        return _Finisher(options, lists, stats, solver, math.nan, {})(greedy, exact=False)
    relaxation = _relax(prepared, grid, options, lists, solver, deadline, stats, cuts)
    finish = _Finisher(options, lists, stats, solver, relaxation.objective, relaxation.capacity_value)
    stats.rounds = 1
    best = greedy
    integral = _integral_relaxation(relaxation) if USE_INTEGRAL_RELAXATION and relaxation.optimal else None
    if integral is not None and integral.objective <= best.objective:
        best = integral
    if best.objective - 1 - relaxation.bound + INTEGER_MARGIN < 0:
        # Every solution of the unpruned model costs at least L > z − 1: z is optimal.
        best.optimal = True
        return finish(best, exact=True, outside_bound=relaxation.bound)
    if _out_of_time(deadline, stats):
        return finish(best, exact=False, outside_bound=relaxation.bound)
    lp = relaxation.model
    lp_pairs_of = _pairs_by_option(lp.pair_option, len(options))
    widened: dict[int, np.ndarray] = {}  # option -> homes added to the LP's list
    budget_covered = _first_round_budget(relaxation, lp_pairs_of)
    selected = _first_round_pairs(relaxation, lp_pairs_of)
    for integer_round in range(1, MAX_INTEGER_ROUNDS + 1):
        stats.rounds = integer_round
        incumbent_pairs = [lp.pair_index.get(key) for key in best.chosen.items()]
        if solver == "highs" and not widened and None not in incumbent_pairs:
            # Every pair of this round is in the relaxation's model: take its columns (with its
            # rows and cuts) instead of building the model again.
            keep = selected.copy()
            keep[np.array(incumbent_pairs, dtype=np.int64)] = True
            started = time.perf_counter()
            model = _sliced(lp, keep)
            stats.build_seconds += time.perf_counter() - started
        else:
            homes = _restricted_lists(options, lp, selected, widened, best, lists)
            if not _build_fits(deadline, stats, sum(len(h) for h, _ in homes)):
                return finish(best, exact=False, outside_bound=relaxation.bound)
            started = time.perf_counter()
            model = _build(prepared, options, homes, cuts)
            stats.build_seconds += time.perf_counter() - started
            stats.pairs_built += len(model.pair_vars)
        _count(model, stats)
        if _out_of_time(deadline, stats):
            return finish(best, exact=False, outside_bound=relaxation.bound)
        started = time.perf_counter()
        result = _solve_integer(model, solver, deadline, settings.threads, best)
        stats.solve_seconds += time.perf_counter() - started
        last_optimal = result.has_solution and result.optimal
        if not last_optimal and time.perf_counter() >= deadline - MIN_PHASE_SECONDS:
            stats.time_limit_reached = True  # the solver was stopped by the limit
        if result.has_solution and result.objective <= best.objective:
            best = result
        else:
            last_optimal = False  # the round stopped early and found nothing better
        # A solution better than z costs ≤ z − 1, so every pair it uses has d ≤ budget and every
        # pair with d < −budget is in it. Below 0: nothing can be better.
        budget = best.objective - 1 - relaxation.bound + INTEGER_MARGIN
        slack = _slack(options, lists, relaxation.alpha)
        least_left_out = min(budget_covered, float(slack.min()) if len(slack) else math.inf)
        exact = budget < 0 or (last_optimal and budget <= budget_covered and bool(np.all(slack > budget)))
        if exact or not last_optimal or _out_of_time(deadline, stats):
            return finish(best, exact=exact, outside_bound=relaxation.bound + max(least_left_out, 0.0))
        # Widen: every kept pair with d ≤ budget, and pruned homes of options with δ ≤ budget.
        started = time.perf_counter()
        failing = np.flatnonzero(slack <= budget)
        added = _extend(grid, prepared, options, lists, failing, relaxation.alpha, budget)
        for o, homes_added in added.items():
            widened[o] = np.union1d(widened.get(o, np.zeros(0, dtype=np.int64)), homes_added)
        stats.candidates_seconds += time.perf_counter() - started
        selected = relaxation.pair_reduced <= budget
        budget_covered = budget
    return finish(best, exact=False, outside_bound=relaxation.bound)


# Less than this left before the deadline: no phase is started (a solver run costs more to set
# up than it could use).
MIN_PHASE_SECONDS = 0.05


def _sliced(model: _Model, keep: np.ndarray) -> _Model:
    """The model with only the pairs ``keep`` marks (other columns and every row stay): the
    same integer model ``_build`` makes from those pairs, but for rows that the missing pairs
    make slack (a capacity nobody can overfill, a cut on fewer units), which change nothing.
    Arrays only, for HiGHS: the PuLP problem is not sliced (CBC builds its rounds)."""
    columns = np.ones(len(model.cost), dtype=bool)
    columns[model.pair_columns[~keep]] = False
    new_index = np.cumsum(columns) - 1
    rows = np.repeat(np.arange(model.num_rows), np.diff(model.row_start))
    entries = columns[model.row_index]
    row_start = np.concatenate([[0], np.cumsum(np.bincount(rows[entries], minlength=model.num_rows))])
    pair_option, pair_home = model.pair_option[keep], model.pair_home[keep]
    kept_columns = np.flatnonzero(columns).tolist()
    return _Model(
        problem=model.problem, pair_option=pair_option, pair_home=pair_home,
        pair_vars=[var for var, kept in zip(model.pair_vars, keep.tolist(), strict=True) if kept],
        entity_rows=model.entity_rows, capacity_rows=model.capacity_rows,
        columns=[model.columns[c] for c in kept_columns], pair_columns=new_index[model.pair_columns[keep]],
        cost=model.cost[columns], col_lower=model.col_lower[columns], col_upper=model.col_upper[columns],
        row_lower=model.row_lower, row_upper=model.row_upper, row_start=row_start.astype(np.int64),
        row_index=new_index[model.row_index[entries]], row_value=model.row_value[entries],
        dual_lower=model.dual_lower, dual_upper=model.dual_upper,
        capacity_row_index=model.capacity_row_index, block_row_index=model.block_row_index,
        block_col_index={home: int(new_index[column]) for home, column in model.block_col_index.items()},
        pair_index={(o, h): p for p, (o, h) in enumerate(zip(pair_option.tolist(), pair_home.tolist(), strict=True))},
    )


REPORT_SHARE = 0.3

# Building a model costs about this much CPU per pair (PuLP objects, then arrays), until a build
# has been timed; times the machine's slowdown.
BUILD_SECONDS_PER_PAIR = 2e-5


def _build_fits(deadline: float, stats: SolveStats, pairs: int) -> bool:
    """Whether a model of ``pairs`` pairs can be built before the deadline (a build cannot be
    interrupted, so one that cannot finish is not started)."""
    if stats.pairs_built:
        rate = stats.build_seconds / stats.pairs_built
    else:
        rate = BUILD_SECONDS_PER_PAIR * stats.slowdown
    if time.perf_counter() + rate * pairs >= deadline:
        stats.time_limit_reached = True
        return False
    return True


def _out_of_time(deadline: float, stats: SolveStats) -> bool:
    if deadline - time.perf_counter() < MIN_PHASE_SECONDS:
        stats.time_limit_reached = True
        return True
    return False


def _greedy_incumbent(prepared: PreparedProblem, grid: HomeGrid, options: list[PlacementOption],
                      lists: list[CandidateList]) -> _IntegerResult:
    """The engine's greedy (keep-together groups whole, as ``greedy(honour_keep_together=True)``)
    as a solution of the model, its pairs added to the candidate lists if pruned.

    Its objective is ``objective_of`` the placement: the answer is never worse than it."""
    entities = len(prepared.entities)
    known = {options[e].entity.members: lists[e] for e in range(entities)}
    placement = greedy_placement(prepared, honour_keep_together=True, grid=grid, known=known)
    together = {options[o].entity.id: o for o in range(entities, len(options))}
    chosen: dict[int, int] = {}
    for e, entity in enumerate(prepared.entities):
        home = placement[entity.members[0]]
        if home is not None:
            chosen[e] = home
    for group, o in together.items():
        members = prepared.group_members[group]
        homes = {placement[m] for m in members}
        if len(homes) == 1 and None not in homes:
            home = homes.pop()
            assert home is not None
            if prepared.entity_suitable(options[o].entity, np.array([home]))[0]:
                for member in members:  # the whole group in one home: the together option
                    chosen.pop(prepared.entity_of_child[member], None)
                chosen[o] = home
    for o, home in chosen.items():
        if not np.isin(home, lists[o].homes):
            entity = options[o].entity
            extra = CandidateList(np.array([home], dtype=np.int64), prepared.entity_scores(entity, np.array([home])),
                                  lists[o].threshold, lists[o].complete)
            lists[o] = _merged(lists[o], extra)
    return _IntegerResult(True, False, objective_of(prepared, placement), None, None, chosen)


def _integral_relaxation(relaxation: _Relaxation) -> _IntegerResult | None:
    """The relaxation's solution when it is integral on the pairs (then it is a placement)."""
    values = relaxation.pair_values
    if np.any((values > FRACTIONAL) & (values < 1 - FRACTIONAL)):
        return None
    model = relaxation.model
    picked = np.flatnonzero(values > 0.5)
    chosen = {int(model.pair_option[p]): int(model.pair_home[p]) for p in picked.tolist()}
    result = _IntegerResult(True, True, 0, None, None, chosen)
    result.objective = round(float(np.dot(model.cost, _start_vector(model, result))))
    result.bound = float(result.objective)
    result.gap = 0.0
    return result


def _pairs_by_option(pair_option: np.ndarray, count: int) -> list[np.ndarray]:
    order = np.argsort(pair_option, kind="stable")
    bounds = np.searchsorted(pair_option[order], np.arange(count + 1))
    return [order[bounds[o]:bounds[o + 1]] for o in range(count)]


def _first_round_pairs(relaxation: _Relaxation, pairs_of: list[np.ndarray]) -> np.ndarray:
    """Each option's few pairs of least reduced cost (ties by list order), and every pair the
    relaxation uses."""
    reduced = relaxation.pair_reduced
    selected = reduced <= DUAL_TOLERANCE
    for pairs in pairs_of:
        if len(pairs):
            best = pairs[np.argsort(reduced[pairs], kind="stable")[:FIRST_ROUND_PAIRS]]
            selected[best] = True
    return selected


def _first_round_budget(relaxation: _Relaxation, pairs_of: list[np.ndarray]) -> float:
    """Largest ``g`` such that round 1 keeps every kept pair with reduced cost ≤ ``g``."""
    reduced = relaxation.pair_reduced
    selected = _first_round_pairs(relaxation, pairs_of)
    left_out = reduced[~selected]
    return float(left_out.min()) - DUAL_TOLERANCE if len(left_out) else math.inf


def _restricted_lists(options: list[PlacementOption], lp: _Model, selected: np.ndarray,
                      widened: dict[int, np.ndarray], best: _IntegerResult | None,
                      lists: list[CandidateList]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per option, the homes (and scores) of this round: selected kept pairs, widened homes and
    the incumbent's home, in the order of the option's candidate list."""
    chosen: list[list[np.ndarray]] = [[] for _ in options]
    picked = np.flatnonzero(selected)
    for o, home in zip(lp.pair_option[picked].tolist(), lp.pair_home[picked].tolist(), strict=True):
        chosen[o].append(np.array([home], dtype=np.int64))
    for o, homes in widened.items():
        chosen[o].append(homes)
    if best is not None:
        for o, home in best.chosen.items():
            chosen[o].append(np.array([home], dtype=np.int64))
    restricted = []
    for o, candidates in enumerate(lists):
        if not chosen[o]:
            restricted.append((np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))
            continue
        wanted = np.unique(np.concatenate(chosen[o]))
        keep = np.isin(candidates.homes, wanted)
        restricted.append((candidates.homes[keep], candidates.scores[keep]))
    return restricted


def _slack(options: list[PlacementOption], lists: list[CandidateList], alpha: np.ndarray) -> np.ndarray:
    """δ per option: least reduced cost any of its pruned pairs could have."""
    return np.array([
        candidates.threshold + option.split_cost - float(sum(alpha[r] for r in option.rows))
        for option, candidates in zip(options, lists, strict=True)
    ], dtype=float)


def _extend(grid: HomeGrid, prepared: PreparedProblem, options: list[PlacementOption],
            lists: list[CandidateList], failing: np.ndarray, alpha: np.ndarray,
            budget: float) -> dict[int, np.ndarray]:
    """Keep every home whose pair could have reduced cost ≤ ``budget``; returns the homes added."""
    keep = prepared.problem.options.candidates_per_child
    added = {}
    for o in failing.tolist():
        option = options[o]
        before = lists[o].homes
        required = float(sum(alpha[r] for r in option.rows)) - option.split_cost + max(budget, 0.0) + 1.0
        # Degenerate duals can ask for every home in the country; widen in steps instead.
        cap = max(EXTENSION_FACTOR * len(before), MIN_EXTENSION)
        wider = grid.candidates(option.entity, keep, required, cap=cap)
        added[o] = np.setdiff1d(wider.homes, before)
        lists[o] = _merged(lists[o], wider)
    return added


def _merged(old: CandidateList, new: CandidateList) -> CandidateList:
    """Both lists' homes, best first. ``new.threshold`` bounds every home left out of ``new``,
    so also every home left out of the union."""
    extra = ~np.isin(old.homes, new.homes)
    homes = np.concatenate([new.homes, old.homes[extra]])
    scores = np.concatenate([new.scores, old.scores[extra]])
    order = np.lexsort((homes, scores))
    return CandidateList(homes[order], scores[order], new.threshold, new.complete, max(new.core, old.core))


def _count(model: _Model, stats: SolveStats) -> None:
    stats.variables = len(model.columns)
    stats.constraints = model.num_rows
    stats.candidate_pairs = len(model.pair_vars)


def _relax(prepared: PreparedProblem, grid: HomeGrid, options: list[PlacementOption],
           lists: list[CandidateList], solver: str, deadline: float, stats: SolveStats,
           cuts: list[Cut]) -> _Relaxation:
    """Build and solve the relaxation; add violated cover cuts (re-solving warm), and widen
    candidate lists until the duals are feasible for the unpruned model too (every pruned pair
    has reduced cost ≥ 0): column generation. ``cuts`` collects the cuts for the integer rounds."""
    pricing_rounds = 0
    cut_rounds = 0
    while True:
        started = time.perf_counter()
        model = _build(prepared, options, [(c.homes, c.scores) for c in lists], cuts)
        stats.build_seconds += time.perf_counter() - started
        stats.pairs_built += len(model.pair_vars)
        _count(model, stats)
        started = time.perf_counter()
        lp = _LinearSolver(model, solver, deadline)
        stats.relaxation_seconds += time.perf_counter() - started
        while cut_rounds < MAX_CUT_ROUNDS and lp.optimal and not _out_of_time(deadline, stats):
            started = time.perf_counter()
            new = _violated_covers(prepared, options, model, lp.values[model.pair_columns])
            if not new:
                break
            cut_rounds += 1
            cuts.extend(new)
            _append_cuts(model, new)
            lp.resolve()
            stats.relaxation_seconds += time.perf_counter() - started
        alpha = lp.duals[:len(prepared.entities)]
        failing = np.flatnonzero(_slack(options, lists, alpha) < -DUAL_TOLERANCE)
        if (not len(failing) or pricing_rounds >= MAX_PRICING_ROUNDS or not lp.optimal
                or _out_of_time(deadline, stats)
                or not _build_fits(deadline, stats, len(model.pair_vars) + MIN_EXTENSION * len(failing))):
            break
        pricing_rounds += 1
        started = time.perf_counter()
        _extend(grid, prepared, options, lists, failing, alpha, 0.0)
        stats.candidates_seconds += time.perf_counter() - started
    _count(model, stats)
    stats.pricing_rounds, stats.cut_rounds = pricing_rounds, cut_rounds
    bound, reduced = _lagrangian_bound(model, lp.duals)
    slack = _slack(options, lists, alpha)
    bound += float(np.minimum(slack, 0.0).sum())  # an option uses at most one of its pruned pairs
    capacity_value = {home: -float(lp.duals[row]) for home, row in model.capacity_row_index.items()}
    if not lp.optimal:
        stats.time_limit_reached = True
    return _Relaxation(model, lp.objective, bound, alpha, reduced[model.pair_columns], capacity_value,
                       lp.values[model.pair_columns], lp.optimal)


def _violated_covers(prepared: PreparedProblem, options: list[PlacementOption], model: _Model,
                     values: np.ndarray) -> list[Cut]:
    """Cover cuts ``Σ_{C} x ≤ |C| − 1`` for units in one home whose sizes together exceed its free
    places — valid for every integer solution of the unpruned model — violated by ``values``.

    Per home with a fractional pair, the cover is grown greedily by ``(1 − x) / size`` (the usual
    separation heuristic); it is then reduced to a minimal cover."""
    fractional = (values > FRACTIONAL) & (values < 1 - FRACTIONAL)
    homes = np.unique(model.pair_home[fractional])
    if not len(homes):
        return []
    used = np.flatnonzero((values > FRACTIONAL) & np.isin(model.pair_home, homes))
    by_home: dict[int, list[int]] = defaultdict(list)
    for p in used.tolist():
        by_home[int(model.pair_home[p])].append(p)
    cuts = []
    for home in sorted(by_home):
        pairs = by_home[home]
        free = int(prepared.home_free[home])
        size = {p: options[int(model.pair_option[p])].entity.size for p in pairs}
        pairs.sort(key=lambda p: ((1 - values[p]) / size[p], p))
        cover: list[int] = []
        total = 0
        for p in pairs:
            cover.append(p)
            total += size[p]
            if total > free:
                break
        if total <= free:
            continue
        # Minimal: drop units (least x first) while the rest still overfill the home.
        for p in sorted(cover, key=lambda p: (values[p], p)):
            if total - size[p] > free:
                cover.remove(p)
                total -= size[p]
        if float(values[cover].sum()) > len(cover) - 1 + CUT_TOLERANCE:
            keys = tuple(sorted((int(model.pair_option[p]), home) for p in cover))
            cuts.append(Cut(keys, len(keys) - 1))
    return cuts


def _lagrangian_bound(model: _Model, duals: np.ndarray) -> tuple[float, np.ndarray]:
    """``L(y) = y·b + Σ_j min(d_j·lower_j, d_j·upper_j)`` with ``d = c − Aᵀy``: a lower bound on
    every solution of the rows and bounds, for any ``y`` with the right signs. Returns L and d."""
    y = np.clip(np.nan_to_num(duals), model.dual_lower, model.dual_upper)
    rows = np.repeat(np.arange(model.num_rows), np.diff(model.row_start))
    reduced = model.cost - np.bincount(model.row_index, weights=model.row_value * y[rows],
                                       minlength=len(model.cost))
    # Each row's dual multiplies the bound it can press against: ≤ rows have y ≤ 0, = rows any.
    rhs = np.where(y < 0, model.row_upper, model.row_lower)
    rhs = np.where(y == 0, 0.0, rhs)
    bound = float(np.dot(y, rhs)) + float(np.minimum(reduced * model.col_lower, reduced * model.col_upper).sum())
    return bound, reduced


def _variable(name: str, low: float, high: float | None, category: str = pulp.LpContinuous) -> pulp.LpVariable:
    # PuLP 3.3 warns about its 4.0 API on every variable, which costs more than the variable.
    return pulp.LpVariable(name, low, high, category, _skip_v4_deprecation=True)


def _build(prepared: PreparedProblem, options: list[PlacementOption],
           homes_per_option: list[tuple[np.ndarray, np.ndarray]], cuts: list[Cut]) -> _Model:
    """The PuLP model for the given (homes, scores) per option; rows as ``LpAffineExpression``s
    made from lists of pairs (no Python ``sum``), then read back into arrays."""
    name = _Names()
    problem = pulp.LpProblem("matching", pulp.LpMinimize)
    columns: list[pulp.LpVariable] = []
    objective: list[tuple[pulp.LpVariable, float]] = []
    row_terms: list[list[tuple[pulp.LpVariable, int]]] = []
    for entity in prepared.entities:
        unmatched = _variable(name(), 0, 1)
        columns.append(unmatched)
        objective.append((unmatched, int(sum(prepared.unmatched_penalty[m] for m in entity.members))))
        row_terms.append([(unmatched, 1)])
    pair_option: list[int] = []
    pair_home: list[int] = []
    pair_vars: list[pulp.LpVariable] = []
    home_terms: dict[int, list[tuple[pulp.LpVariable, int]]] = defaultdict(list)
    alone: dict[tuple[str, int], list[pulp.LpVariable]] = defaultdict(list)
    apart = prepared.apart_groups()
    for o, (option, (homes, scores)) in enumerate(zip(options, homes_per_option, strict=True)):
        group = prepared.children[option.entity.members[0]].sibling_group
        size = option.entity.size
        split = option.split_cost
        for home, score in zip(homes.tolist(), scores.tolist(), strict=True):
            var = _variable(name(), 0, 1, pulp.LpBinary)
            objective.append((var, score + split))
            for row in option.rows:
                row_terms[row].append((var, 1))
            pair_option.append(o)
            pair_home.append(home)
            pair_vars.append(var)
            home_terms[home].append((var, size))
            if group is not None and (split or group in apart):
                alone[(group, home)].append(var)
    columns.extend(pair_vars)
    entity_rows = []
    for e, terms in enumerate(row_terms):
        row = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, f"e{e}", 1)
        problem.addConstraint(row)
        entity_rows.append(row)
    capacity_rows, block_rows = _add_home_rules(prepared, problem, objective, home_terms, name, columns)
    for (group, home), variables in sorted(alone.items()):
        limit = 1 if group in apart else int(prepared.home_max_siblings[home])
        if len(variables) > limit:
            problem.addConstraint(pulp.LpConstraint(
                pulp.LpAffineExpression([(var, 1) for var in variables]), pulp.LpConstraintLE,
                f"l{group}_{home}", limit))
    variable_of = {(o, h): var for o, h, var in zip(pair_option, pair_home, pair_vars, strict=True)}
    for number, cut in enumerate(cuts):
        if all(key in variable_of for key in cut.keys):
            problem.addConstraint(pulp.LpConstraint(
                pulp.LpAffineExpression([(variable_of[key], 1) for key in cut.keys]), pulp.LpConstraintLE,
                f"k{number}", cut.rhs))
    problem.setObjective(pulp.LpAffineExpression(objective))
    first_pair = len(prepared.entities)
    return _arrays(prepared, problem, columns, entity_rows, capacity_rows, block_rows, pair_vars,
                   np.array(pair_option, dtype=np.int64), np.array(pair_home, dtype=np.int64),
                   np.arange(first_pair, first_pair + len(pair_vars)))


def _add_home_rules(prepared: PreparedProblem, problem: pulp.LpProblem,
                    objective: list[tuple[pulp.LpVariable, float]],
                    home_terms: dict[int, list[tuple[pulp.LpVariable, int]]],
                    name: _Names, columns: list[pulp.LpVariable],
                    ) -> tuple[dict[int, pulp.LpConstraint], dict[int, tuple[pulp.LpConstraint, pulp.LpVariable]]]:
    """Capacity rows where candidates could overfill a home, and block-place credit."""
    credit = prepared.weights.block_place_credit
    capacity_rows = {}
    block_rows = {}
    for home in sorted(home_terms):
        terms = home_terms[home]
        free = int(prepared.home_free[home])
        if sum(size for _, size in terms) > free:
            row = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, f"c{home}", free)
            problem.addConstraint(row)
            capacity_rows[home] = row
        block = int(prepared.home_block[home])
        if block > 0 and credit > 0:
            used = _variable(name(), 0, block)
            columns.append(used)
            objective.append((used, -credit))
            # A unit fills at most min(size, block) block places; saying so keeps the relaxation
            # from crediting a whole block place to half a sibling group.
            block_terms = [(used, 1)] + [(var, -min(size, block)) for var, size in terms]
            row = pulp.LpConstraint(pulp.LpAffineExpression(block_terms), pulp.LpConstraintLE, f"b{home}", 0)
            problem.addConstraint(row)
            block_rows[home] = (row, used)
    return capacity_rows, block_rows


def _arrays(prepared: PreparedProblem, problem: pulp.LpProblem, columns: list[pulp.LpVariable],
            entity_rows: list[pulp.LpConstraint], capacity_rows: dict[int, pulp.LpConstraint],
            block_rows: dict[int, tuple[pulp.LpConstraint, pulp.LpVariable]], pair_vars: list[pulp.LpVariable],
            pair_option: np.ndarray, pair_home: np.ndarray, pair_columns: np.ndarray) -> _Model:
    """Read the PuLP model into arrays: one ``passModel`` for HiGHS instead of a call per column."""
    position = {id(var): index for index, var in enumerate(columns)}
    cost = np.zeros(len(columns))
    for var, coefficient in problem.objective.items():
        cost[position[id(var)]] = coefficient
    col_lower = np.array([var.lowBound for var in columns], dtype=float)
    col_upper = np.array([var.upBound for var in columns], dtype=float)
    constraints = list(problem.constraints.values())
    starts = [0]
    index: list[int] = []
    value: list[float] = []
    row_lower = np.empty(len(constraints))
    row_upper = np.empty(len(constraints))
    for r, constraint in enumerate(constraints):
        for var, coefficient in constraint.items():
            index.append(position[id(var)])
            value.append(coefficient)
        starts.append(len(index))
        low, high = constraint.getLb(), constraint.getUb()
        row_lower[r] = -math.inf if low is None else low
        row_upper[r] = math.inf if high is None else high
    row_of = {id(constraint): r for r, constraint in enumerate(constraints)}
    dual_lower = np.where(np.isinf(row_upper), 0.0, -math.inf)
    dual_upper = np.where(np.isinf(row_lower), 0.0, math.inf)
    block_row_index = {home: row_of[id(row)] for home, (row, _) in block_rows.items()}
    for row in block_row_index.values():
        # Valid for any y; with y ≥ −credit a pruned pair's block term is at least −size·credit.
        dual_lower[row] = -float(prepared.weights.block_place_credit)
    return _Model(
        problem=problem, pair_option=pair_option, pair_home=pair_home, pair_vars=pair_vars,
        entity_rows=entity_rows, capacity_rows=capacity_rows, columns=columns, pair_columns=pair_columns,
        cost=cost, col_lower=col_lower, col_upper=col_upper, row_lower=row_lower, row_upper=row_upper,
        row_start=np.array(starts, dtype=np.int64), row_index=np.array(index, dtype=np.int64),
        row_value=np.array(value, dtype=float), dual_lower=dual_lower, dual_upper=dual_upper,
        capacity_row_index={home: row_of[id(row)] for home, row in capacity_rows.items()},
        block_row_index=block_row_index,
        block_col_index={home: position[id(used)] for home, (_, used) in block_rows.items()},
        pair_index={(o, h): p for p, (o, h) in enumerate(zip(pair_option.tolist(), pair_home.tolist(), strict=True))},
    )


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a model is built and solved: building
    allocates hundreds of thousands of small objects, and each collection walks them all (it cost
    a third of the build). Nothing is lost: the collector runs again afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_BANNER_LOCK = threading.Lock()
_banner_shown = False


def _new_highs():  # type: ignore[no-untyped-def]
    """A silent HiGHS. The first ``Highs()`` of a process prints a banner on file descriptor 1
    before any option can be set, which would spoil JSON on stdout: descriptor 1 points at
    /dev/null while it is made. Later ones print nothing."""
    import highspy

    global _banner_shown
    with _BANNER_LOCK:
        if _banner_shown:
            highs = highspy.Highs()
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            try:
                with open(os.devnull, "wb") as sink:
                    os.dup2(sink.fileno(), 1)
                    highs = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            _banner_shown = True
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("log_to_console", False)
    return highs


def _highs(model: _Model, remaining: float, threads: int | None):  # type: ignore[no-untyped-def]
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = len(model.columns)
    lp.num_row_ = model.num_rows
    lp.col_cost_ = model.cost
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = np.where(np.isinf(model.row_lower), -highspy.kHighsInf, model.row_lower)
    lp.row_upper_ = np.where(np.isinf(model.row_upper), highspy.kHighsInf, model.row_upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = model.row_start.astype(np.int32)
    lp.a_matrix_.index_ = model.row_index.astype(np.int32)
    lp.a_matrix_.value_ = model.row_value
    highs = _new_highs()
    highs.passModel(lp)
    highs.setOptionValue("time_limit", float(remaining))
    if threads is not None:
        highs.setOptionValue("threads", threads)
    return highs


class _LinearSolver:
    """The relaxation of a model: HiGHS kept alive so that added cuts re-solve from the last
    basis, or CBC through PuLP. Exposes objective, column values and row duals."""

    def __init__(self, model: _Model, solver: str, deadline: float):
        self.model = model
        self.deadline = deadline
        self.highs = _highs(model, max(deadline - time.perf_counter(), 0.0), None) if solver == "highs" else None
        if self.highs is not None:
            # HiGHS's presolve took half of each cold relaxation solve on real-shaped regions
            # (0.52 s of CPU against 0.23 s at 4,000 × 45,000); re-solves after cuts skip it anyway.
            self.highs.setOptionValue("presolve", "off")
        self.rows_sent = model.num_rows
        self.objective = 0.0
        self.optimal = False
        self.values = np.zeros(len(model.columns))
        self.duals = np.zeros(model.num_rows)
        self._run()

    def resolve(self) -> None:
        model = self.model
        if self.highs is not None and model.num_rows > self.rows_sent:
            first = self.rows_sent
            start = model.row_start[first:-1] - model.row_start[first]
            entries = slice(int(model.row_start[first]), int(model.row_start[-1]))
            self.highs.addRows(model.num_rows - first, model.row_lower[first:], model.row_upper[first:],
                               int(entries.stop - entries.start), start.astype(np.int32),
                               model.row_index[entries].astype(np.int32), model.row_value[entries])
            self.rows_sent = model.num_rows
        self._run()

    def _run(self) -> None:
        """Solve within what is left before the deadline. Stopped early, the duals still give a
        valid (weaker) bound: any duals of the right signs do."""
        model = self.model
        remaining = self.deadline - time.perf_counter()
        if remaining < MIN_PHASE_SECONDS:
            self.optimal = False
            return
        if self.highs is not None:
            import highspy

            self.highs.setOptionValue("time_limit", float(remaining))
            self.highs.run()
            self.optimal = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
            solution = self.highs.getSolution()
            self.values = np.asarray(solution.col_value, dtype=float)
            duals = np.asarray(solution.row_dual, dtype=float)
        else:
            model.problem.solve(pulp.PULP_CBC_CMD(mip=False, msg=False, timeLimit=remaining))
            self.optimal = model.problem.status == pulp.LpStatusOptimal
            self.values = np.array([var.varValue or 0.0 for var in model.columns], dtype=float)
            duals = np.array([row.pi or 0.0 for row in model.problem.constraints.values()], dtype=float)
        if len(self.values) != len(model.columns):
            self.values = np.zeros(len(model.columns))
        self.duals = duals if len(duals) == model.num_rows else np.zeros(model.num_rows)
        self.objective = float(np.dot(model.cost, self.values))


def _append_cuts(model: _Model, cuts: list[Cut]) -> None:
    """Add cut rows to the PuLP model and to its arrays (the solver picks them up on resolve)."""
    index: list[int] = []
    value: list[float] = []
    starts: list[int] = []
    for cut in cuts:
        pairs = [model.pair_index[key] for key in cut.keys]
        terms = [(model.pair_vars[p], 1) for p in pairs]
        model.problem.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE,
                                                      f"k{model.num_rows + len(starts)}", cut.rhs))
        starts.append(len(index))
        index.extend(int(model.pair_columns[p]) for p in pairs)
        value.extend([1.0] * len(pairs))
    offset = int(model.row_start[-1])
    model.row_start = np.concatenate([model.row_start, offset + np.array(starts[1:] + [len(index)], dtype=np.int64)])
    model.row_index = np.concatenate([model.row_index, np.array(index, dtype=np.int64)])
    model.row_value = np.concatenate([model.row_value, np.array(value, dtype=float)])
    rhs = np.array([cut.rhs for cut in cuts], dtype=float)
    model.row_lower = np.concatenate([model.row_lower, np.full(len(cuts), -math.inf)])
    model.row_upper = np.concatenate([model.row_upper, rhs])
    model.dual_lower = np.concatenate([model.dual_lower, np.full(len(cuts), -math.inf)])
    model.dual_upper = np.concatenate([model.dual_upper, np.zeros(len(cuts))])


@dataclass
class _IntegerResult:
    has_solution: bool
    optimal: bool
    objective: int
    bound: float | None
    gap: float | None
    chosen: dict[int, int]

    @staticmethod
    def nothing() -> _IntegerResult:
        return _IntegerResult(False, False, 0, None, None, {})


def _solve_integer(model: _Model, solver: str, deadline: float, threads: int | None,
                   incumbent: _IntegerResult | None) -> _IntegerResult:
    remaining = max(deadline - time.perf_counter(), MIN_PHASE_SECONDS)
    if solver == "highs":
        return _solve_integer_highs(model, remaining, threads, incumbent)
    command = pulp.PULP_CBC_CMD(msg=False, timeLimit=remaining, gapAbs=0.99, gapRel=0.0, threads=threads)
    model.problem.solve(command)
    chosen = {int(model.pair_option[p]): int(model.pair_home[p])
              for p, var in enumerate(model.pair_vars) if (var.varValue or 0) > 0.5}
    has_solution = model.problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    optimal = model.problem.sol_status == pulp.LpSolutionOptimal
    objective = round(pulp.value(model.problem.objective) or 0.0)
    return _IntegerResult(has_solution, optimal, objective, None, 0.0 if optimal else None, chosen)


def _solve_integer_highs(model: _Model, remaining: float, threads: int | None,
                         incumbent: _IntegerResult | None) -> _IntegerResult:
    """The model with the pairs integer. Presolve is off: on these set-partitioning models it
    costs more than the whole solve, and HiGHS closes the gap at the root with its cuts."""
    import highspy

    highs = _highs(model, remaining, threads)
    columns = model.pair_columns.astype(np.int32)
    if len(columns):
        highs.changeColsIntegrality(len(columns), columns,
                                    np.full(len(columns), highspy.HighsVarType.kInteger))
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("mip_abs_gap", 0.99)  # objective values are integers
    if incumbent is not None:
        start = highspy.HighsSolution()
        start.col_value = _start_vector(model, incumbent)
        start.value_valid = True
        highs.setSolution(start)
    highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return _IntegerResult.nothing()
    values = np.asarray(highs.getSolution().col_value)
    picked = np.flatnonzero(values[columns] > 0.5) if len(columns) else np.zeros(0, dtype=np.int64)
    chosen = {int(model.pair_option[p]): int(model.pair_home[p]) for p in picked.tolist()}
    objective = round(float(np.dot(model.cost, values)))
    bound = float(info.mip_dual_bound) if len(columns) else float(objective)
    optimal = status == highspy.HighsModelStatus.kOptimal
    gap = max(0.0, (objective - bound) / max(abs(objective), 1.0)) if math.isfinite(bound) else None
    return _IntegerResult(True, optimal, objective, bound, gap, chosen)


def _start_vector(model: _Model, incumbent: _IntegerResult) -> np.ndarray:
    """The incumbent as a full column vector of this model: its pairs, the unmatched columns
    its entity rows leave, and as much block credit as its pairs earn."""
    values = np.zeros(len(model.columns))
    placed = set(incumbent.chosen.items())
    for p, (o, h) in enumerate(zip(model.pair_option.tolist(), model.pair_home.tolist(), strict=True)):
        if (o, h) in placed:
            values[model.pair_columns[p]] = 1.0
    rows = np.repeat(np.arange(model.num_rows), np.diff(model.row_start))
    activity = np.bincount(rows, weights=model.row_value * values[model.row_index], minlength=model.num_rows)
    entities = len(model.entity_rows)  # entity e: row e, unmatched column e
    values[:entities] = np.clip(1.0 - activity[:entities], 0.0, 1.0)
    for home, row in model.block_row_index.items():
        column = model.block_col_index[home]
        values[column] = min(model.col_upper[column], max(0.0, -activity[row]))
    return values


@dataclass
class _Finisher:
    options: list[PlacementOption]
    lists: list[CandidateList]
    stats: SolveStats
    solver: str
    relaxation: float
    capacity_value: dict[int, float]

    def __call__(self, solution: _IntegerResult, *, exact: bool, outside_bound: float = -math.inf) -> ModelSolution:
        """``outside_bound``: proven lower bound on every solution the last round left out."""
        if not solution.has_solution:
            status = "not_solved"
        elif solution.optimal and exact:
            status = "optimal"
        else:
            status = "feasible"
        bound, gap = solution.bound, solution.gap
        if solution.has_solution:
            # The solver's bound covers its (restricted) model, ``outside_bound`` the rest; none
            # for the greedy incumbent. Objectives are integers, so a bound can be rounded up
            # (less a float allowance).
            lowest = min(math.inf if bound is None else bound, outside_bound)
            bound = float(math.ceil(lowest - 1e-6)) if math.isfinite(lowest) else None
            if status == "optimal":
                bound = float(solution.objective)
            gap = None if bound is None else max(0.0, (solution.objective - bound) / max(abs(solution.objective), 1.0))
        return ModelSolution(
            status=status,
            objective=solution.objective,
            bound=bound,
            gap=gap,
            solver=self.solver,
            pruning_exact=exact,
            relaxation_objective=self.relaxation,
            chosen=solution.chosen,
            options=self.options,
            capacity_value=self.capacity_value,
            candidate_lists=self.lists,
            stats=self.stats,
        )
