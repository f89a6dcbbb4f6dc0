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

Exact pruning. The relaxation's row duals ``α`` extend to a feasible dual of the *unpruned*
relaxation — new rows get dual 0, new block rows −credit — when every pruned pair of option
``o`` has reduced cost ≥ ``δ[o] = threshold[o] + split(o) − Σ_{rows of o} α ≥ 0``, where
``threshold`` bounds the pruned homes' score less credit. Then for any integer solution ``x`` of
the unpruned model, ``cost(x) ≥ z_LP + Σ_o min(0, δ[o]) + max(0, δ[o])`` if it uses a pruned pair
of ``o``. Objectives are integers, so if that exceeds ``z* − 1`` for every option, no solution
using a pruned pair beats the incumbent ``z*``: pruning is exact.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pulp

from .candidates import CandidateList, HomeGrid
from .prepared import Entity, PreparedProblem

# Below this margin a pruned pair could, by float error alone, tie the incumbent.
INTEGER_MARGIN = 0.5
DUAL_TOLERANCE = 1e-6
MAX_PRICING_ROUNDS = 8
EXTENSION_FACTOR = 4
MIN_EXTENSION = 64


@dataclass
class SolveStats:
    candidates_seconds: float = 0.0
    build_seconds: float = 0.0
    relaxation_seconds: float = 0.0
    solve_seconds: float = 0.0
    rounds: int = 0
    variables: int = 0
    constraints: int = 0
    candidate_pairs: int = 0


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
    problem: pulp.LpProblem
    pair_option: list[int]
    pair_home: list[int]
    pair_vars: list[pulp.LpVariable]
    entity_rows: list[pulp.LpConstraint]
    capacity_rows: dict[int, pulp.LpConstraint]


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


def optimise(prepared: PreparedProblem) -> ModelSolution:
    """Solve with pruned candidate lists, widening them once if the proof of exactness needs it.

    Round 1 solves the relaxation (pricing pruned pairs until its duals are feasible for the
    unpruned relaxation), then the integer model. Options whose slack δ falls short of the
    integrality gap keep every home with optimistic score below what could still beat the
    incumbent, and the integer model is solved again. The round-1 duals still bound the
    unpruned model and the new incumbent is no worse, so every pruned pair now clears the gap.
    Widening is capped (degenerate duals can ask for every home); if a cap bites, the result
    says pruning was not proved exact.
    """
    settings = prepared.problem.options
    stats = SolveStats()
    deadline = time.perf_counter() + settings.time_limit_seconds
    solver = available_solver(settings.solver)
    started = time.perf_counter()
    grid = HomeGrid(prepared)
    options = placement_options(prepared)
    lists = [grid.candidates(option.entity, settings.candidates_per_child) for option in options]
    stats.candidates_seconds += time.perf_counter() - started
    stats.rounds = 1
    model, relaxation, duals, capacity_value = _build_and_relax(prepared, grid, options, lists, solver,
                                                                deadline, stats)
    slack = _slack(options, lists, duals)
    started = time.perf_counter()
    solution = _solve_integer(model, solver, deadline, settings.threads, reuse_relaxation=True)
    stats.solve_seconds += time.perf_counter() - started
    finish = _Finisher(options, lists, stats, solver, relaxation, capacity_value)
    if not solution.has_solution:
        return finish(solution, exact=False)
    negative = float(np.minimum(slack, 0.0).sum())
    needed = solution.objective - relaxation - negative - INTEGER_MARGIN
    failing = np.flatnonzero(np.maximum(slack, 0.0) < needed)
    if not len(failing):
        return finish(solution, exact=True)
    stats.rounds = 2
    stats.candidates_seconds += _extend(grid, prepared, options, lists, failing, duals, needed)
    widened_slack = _slack(options, lists, duals)
    started = time.perf_counter()
    model = _build(prepared, options, lists)
    stats.build_seconds += time.perf_counter() - started
    _count(model, stats)
    started = time.perf_counter()
    widened = _solve_integer(model, solver, deadline, settings.threads, reuse_relaxation=False)
    stats.solve_seconds += time.perf_counter() - started
    if not widened.has_solution or widened.objective > solution.objective:
        # Only a time limit can make the wider model's answer worse; keep the first one.
        return finish(solution, exact=False)
    needed = widened.objective - relaxation - negative - INTEGER_MARGIN
    return finish(widened, exact=bool(np.all(np.maximum(widened_slack, 0.0) >= needed)))


def _slack(options: list[PlacementOption], lists: list[CandidateList], duals: np.ndarray) -> np.ndarray:
    """δ per option: least reduced cost any of its pruned pairs could have."""
    return np.array([
        candidates.threshold + option.split_cost - float(sum(duals[r] for r in option.rows))
        for option, candidates in zip(options, lists, strict=True)
    ], dtype=float)


def _extend(grid: HomeGrid, prepared: PreparedProblem, options: list[PlacementOption],
            lists: list[CandidateList], failing: np.ndarray, duals: np.ndarray, needed: float) -> float:
    """Keep every home that could still beat the incumbent for options that failed the proof."""
    started = time.perf_counter()
    keep = prepared.problem.options.candidates_per_child
    for o in failing.tolist():
        option = options[o]
        required = float(sum(duals[r] for r in option.rows)) - option.split_cost + max(needed, 0.0) + 1.0
        # Degenerate duals can ask for every home in the country; widen in steps instead.
        cap = max(EXTENSION_FACTOR * len(lists[o].homes), MIN_EXTENSION)
        lists[o] = grid.candidates(option.entity, keep, required, cap=cap)
    return time.perf_counter() - started


def _count(model: _Model, stats: SolveStats) -> None:
    stats.variables = len(model.problem.variables())
    stats.constraints = len(model.problem.constraints)
    stats.candidate_pairs = len(model.pair_vars)


def _build_and_relax(prepared: PreparedProblem, grid: HomeGrid, options: list[PlacementOption],
                     lists: list[CandidateList], solver: str, deadline: float,
                     stats: SolveStats) -> tuple[_Model, float, np.ndarray, dict[int, float]]:
    """Build and solve the relaxation, widening candidate lists until its duals are feasible
    for the unpruned relaxation too (every pruned pair has reduced cost ≥ 0): column generation."""
    pricing_rounds = 0
    while True:
        started = time.perf_counter()
        model = _build(prepared, options, lists)
        stats.build_seconds += time.perf_counter() - started
        _count(model, stats)
        started = time.perf_counter()
        relaxation = _solve_relaxation(model, solver, deadline)
        stats.relaxation_seconds += time.perf_counter() - started
        duals = np.array([row.pi or 0.0 for row in model.entity_rows], dtype=float)
        failing = np.flatnonzero(_slack(options, lists, duals) < -DUAL_TOLERANCE)
        if not len(failing) or pricing_rounds >= MAX_PRICING_ROUNDS:
            capacity_value = {home: -float(row.pi or 0.0) for home, row in model.capacity_rows.items()}
            return model, relaxation, duals, capacity_value
        pricing_rounds += 1
        stats.candidates_seconds += _extend(grid, prepared, options, lists, failing, duals, 0.0)


def _variable(name: str, low: float, high: float | None, category: str = pulp.LpContinuous) -> pulp.LpVariable:
    # PuLP 3.3 warns about its 4.0 API on every variable, which costs more than the variable.
    return pulp.LpVariable(name, low, high, category, _skip_v4_deprecation=True)


def _build(prepared: PreparedProblem, options: list[PlacementOption], lists: list[CandidateList]) -> _Model:
    name = _Names()
    problem = pulp.LpProblem("matching", pulp.LpMinimize)
    objective: list[tuple[pulp.LpVariable, float]] = []
    row_terms: list[list[tuple[pulp.LpVariable, int]]] = []
    for entity in prepared.entities:
        unmatched = _variable(name(), 0, 1)
        objective.append((unmatched, int(sum(prepared.unmatched_penalty[m] for m in entity.members))))
        row_terms.append([(unmatched, 1)])
    pair_option: list[int] = []
    pair_home: list[int] = []
    pair_vars: list[pulp.LpVariable] = []
    home_terms: dict[int, list[tuple[pulp.LpVariable, int]]] = defaultdict(list)
    alone: dict[tuple[str, int], list[pulp.LpVariable]] = defaultdict(list)
    for o, (option, candidates) in enumerate(zip(options, lists, strict=True)):
        group = prepared.children[option.entity.members[0]].sibling_group
        for home, score in zip(candidates.homes.tolist(), candidates.scores.tolist(), strict=True):
            var = _variable(name(), 0, 1, pulp.LpBinary)
            objective.append((var, score + option.split_cost))
            for row in option.rows:
                row_terms[row].append((var, 1))
            pair_option.append(o)
            pair_home.append(home)
            pair_vars.append(var)
            home_terms[home].append((var, option.entity.size))
            if option.split_cost and group is not None:
                alone[(group, home)].append(var)
    entity_rows = []
    for e, terms in enumerate(row_terms):
        row = pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, f"e{e}", 1)
        problem.addConstraint(row)
        entity_rows.append(row)
    capacity_rows = _add_home_rules(prepared, problem, objective, home_terms, name)
    for (group, home), variables in sorted(alone.items()):
        limit = int(prepared.home_max_siblings[home])
        if len(variables) > limit:
            problem.addConstraint(pulp.LpConstraint(
                pulp.LpAffineExpression([(var, 1) for var in variables]), pulp.LpConstraintLE,
                f"l{group}_{home}", limit))
    problem.setObjective(pulp.LpAffineExpression(objective))
    return _Model(problem, pair_option, pair_home, pair_vars, entity_rows, capacity_rows)


def _add_home_rules(prepared: PreparedProblem, problem: pulp.LpProblem,
                    objective: list[tuple[pulp.LpVariable, float]],
                    home_terms: dict[int, list[tuple[pulp.LpVariable, int]]],
                    name: _Names) -> dict[int, pulp.LpConstraint]:
    """Capacity rows where candidates could overfill a home, and block-place credit."""
    credit = prepared.weights.block_place_credit
    capacity_rows = {}
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
            objective.append((used, -credit))
            # A unit fills at most min(size, block) block places; saying so keeps the relaxation
            # from crediting a whole block place to half a sibling group.
            block_terms = [(used, 1)] + [(var, -min(size, block)) for var, size in terms]
            problem.addConstraint(
                pulp.LpConstraint(pulp.LpAffineExpression(block_terms), pulp.LpConstraintLE, f"b{home}", 0))
    return capacity_rows


def _solve_relaxation(model: _Model, solver: str, deadline: float) -> float:
    """Solve the LP relaxation; leaves duals on the rows and returns its objective."""
    remaining = max(deadline - time.perf_counter(), 1.0)
    if solver == "highs":
        command = pulp.HiGHS(mip=False, msg=False, timeLimit=remaining)
    else:
        command = pulp.PULP_CBC_CMD(mip=False, msg=False, timeLimit=remaining)
    model.problem.solve(command)
    return float(pulp.value(model.problem.objective) or 0.0)


@dataclass
class _IntegerResult:
    has_solution: bool
    optimal: bool
    objective: int
    bound: float | None
    gap: float | None
    chosen: dict[int, int]


def _solve_integer(model: _Model, solver: str, deadline: float, threads: int | None, *,
                   reuse_relaxation: bool) -> _IntegerResult:
    remaining = max(deadline - time.perf_counter(), 1.0)
    if solver == "highs":
        if not reuse_relaxation:
            command = pulp.HiGHS(mip=False, msg=False, timeLimit=remaining)
            command.createAndConfigureSolver(model.problem)
            command.buildSolverModel(model.problem)
        return _solve_integer_highs(model, remaining, threads)
    command = pulp.PULP_CBC_CMD(msg=False, timeLimit=remaining, gapAbs=0.99, gapRel=0.0, threads=threads)
    model.problem.solve(command)
    chosen = {model.pair_option[p]: model.pair_home[p]
              for p, var in enumerate(model.pair_vars) if (var.varValue or 0) > 0.5}
    has_solution = model.problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    optimal = model.problem.sol_status == pulp.LpSolutionOptimal
    objective = round(pulp.value(model.problem.objective) or 0.0)
    return _IntegerResult(has_solution, optimal, objective, None, 0.0 if optimal else None, chosen)


def _solve_integer_highs(model: _Model, remaining: float, threads: int | None) -> _IntegerResult:
    """Copy the HiGHS model PuLP built for the relaxation, mark the pairs integer and run.

    A fresh instance: re-running the relaxation's own instance as a MIP can report the MIP
    objective alongside a stale solution vector.
    """
    import highspy

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(model.problem.solverModel.getLp())
    columns = np.array([var.index for var in model.pair_vars], dtype=np.int32)
    if len(columns):
        integrality = np.full(len(columns), highspy.HighsVarType.kInteger)
        highs.changeColsIntegrality(len(columns), columns, integrality)
    highs.setOptionValue("time_limit", float(remaining))
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue("mip_abs_gap", 0.99)  # objective values are integers
    if threads is not None:
        highs.setOptionValue("threads", threads)
    highs.run()
    status = highs.getModelStatus()
    info = highs.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if not has_solution:
        return _IntegerResult(False, False, 0, None, None, {})
    values = np.asarray(highs.getSolution().col_value)
    picked = np.flatnonzero(values[columns] > 0.5) if len(columns) else np.zeros(0, dtype=np.int64)
    chosen = {model.pair_option[p]: model.pair_home[p] for p in picked.tolist()}
    objective = round(float(np.dot(np.asarray(highs.getLp().col_cost_), values)))
    bound = float(info.mip_dual_bound) if len(columns) else float(objective)
    optimal = status == highspy.HighsModelStatus.kOptimal
    gap = max(0.0, (objective - bound) / max(abs(objective), 1.0)) if math.isfinite(bound) else None
    return _IntegerResult(True, optimal, objective, bound, gap, chosen)


@dataclass
class _Finisher:
    options: list[PlacementOption]
    lists: list[CandidateList]
    stats: SolveStats
    solver: str
    relaxation: float
    capacity_value: dict[int, float]

    def __call__(self, solution: _IntegerResult, *, exact: bool) -> ModelSolution:
        if not solution.has_solution:
            status = "not_solved"
        elif solution.optimal and exact:
            status = "optimal"
        else:
            status = "feasible"
        return ModelSolution(
            status=status,
            objective=solution.objective,
            bound=solution.bound,
            gap=solution.gap,
            solver=self.solver,
            pruning_exact=exact,
            relaxation_objective=self.relaxation,
            chosen=solution.chosen,
            options=self.options,
            capacity_value=self.capacity_value,
            candidate_lists=self.lists,
            stats=self.stats,
        )
