"""Disclosure control for published tables, checked by the programme an attacker would solve.

Pure functions: counts in, what may be shown out. No Flask, no database.

The published counts of a cost report are one set of linked tables: placements by council and
placement type, and by placement type and sector, funding and need band, each with its totals,
and the placements by type. Every count has a key ``(type, dimension, category)`` where ``"*"``
means "all": ``("Children's home", "council", "Wigan")`` is a cell, ``("Children's home", "*",
"*")`` the type's total (the same number in every table), ``("*", "*", "*")`` all placements.
``layout`` gives the keys and the equations the tables print (a row or a column adds up to
its total).

**The attacker.** For a release the attacker gathers every published table, total, zero and
money figure, and every earlier version (correction) of the same release, and solves, for each
hidden count x, ``min x`` and ``max x`` over whole numbers ≥ 0 subject to:

* every printed equation (a row or column adds up to its total), with shown numbers as constants;
* what the money columns say about a hidden count: a median (or ``[p]``) is printed only for
  at least ``THRESHOLD`` placements, so a hidden count beside one is ≥ 5. Beside a hidden count
  ``[c]`` says nothing: it stands for 0, for 1–4 and for a count of 5 or more whose cost figure
  would narrow the count down too far;
* for versions of the same release: the counts are assumed unchanged between versions (the
  worst case for a correction that changed little). If the versions' rows and columns or shown
  figures differ, or no whole numbers fit them all, the counts changed: the attacker learns
  nothing more from combining them, and each version stands alone.

The programme is built with PuLP and solved with HiGHS (the model is passed to HiGHS once and
only the objective changes between cells, as the matching engine does).

**Protection level.** With ``[lo, hi]`` the attacker's range of a hidden count, every hidden count
must satisfy both:

1. the range is not inside 1–4: ``lo = 0`` or ``hi ≥ 5`` (nobody can be sure that a small,
   non-zero number of children is there);
2. the range is at least ``PROTECTION`` = 3 wide: ``hi − lo ≥ 3`` (no hidden count is narrowed
   to fewer than four possible values).

**Suppression.** Primary: every count from 1 to 4 is hidden (zeros are shown: they tell nobody
anything about a child). Secondary: while the attacker's audit finds a violation, hide one more
count, chosen from those that share a printed equation (row, column or margin) with a violating
count. Each such equation gives its shown counts a score of 1 / h², h being the number of hidden
counts in it (an equation with a violating count alone in it is what gives it away): the count
with the highest total score is hidden, then the smallest (a non-zero one before a zero), then
the first in key order. If every count in those equations is hidden already, the attacker is
narrowing the violating count through the hidden counts' other equations: the nearest shown count
along that chain is hidden, smallest first. This always ends with every hidden count protected:
each turn hides one more count, and with every count hidden nothing can be narrowed down (with
earlier versions, the whole table hidden leaves only what they showed, which passed when they
were published). When the audit passes, each count hidden this way is shown again, largest
first, if the audit still passes without it (the greedy choice can overshoot). A count shown in
an earlier version is chosen only when nothing else is left (hiding it again protects nothing if
the versions can be combined). If in the end every non-zero count is hidden, the release says
so once (``WITHHELD_TEXT``: too few placements to publish safely) and shows no cost figure
beside its hidden counts.

**Money.** A cost figure (median, quartiles, mean) describes its cell's placements, and is
shown when the cell has at least ``THRESHOLD`` placements from at least ``MIN_PROVIDERS``
providers (dominance: no single provider's prices can be read off; ``[p]`` otherwise). A count of
1–4 never has a cost figure (``[c]``). A count of 5 or more hidden only to protect a neighbour
keeps its cost figure when the audit still passes with "this count is at least 5" added to the
attacker's programme: all such figures at once if they pass together, otherwise the first and
second halves (largest counts first) in turn, and so on down to single figures. So a median of 118 placements beside one block placement is published: it
says nothing about the one placement, and what it says about the hidden count (≥ 5) is checked.
(The audit does not model an attacker who reasons about which cost figures this step left
out.)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pulp

THRESHOLD = 5
MIN_PROVIDERS = 2
PROTECTION = 3
CONTROL_VERSION = 2  # stored in each snapshot: releases made under this rule (1, or none: the earlier rule)

PRIMARY = "primary"
SECONDARY = "secondary"
WITHHELD = "withheld"  # every count hidden: the region had too few placements to publish any safely
WITHHELD_TEXT = ("Too few placements to publish safely: every count in these tables is hidden, because "
                 "showing any of them would let the hidden ones be worked out or narrowed down.")
SINGLE_PROVIDER = "single_provider"
ALL = "*"

RULE_TEXT = (f"Any count of fewer than {THRESHOLD} placements is not shown (it is marked [c]), and other "
             "counts are hidden with it where it could otherwise be worked out, or narrowed down, from the "
             "totals, the other tables and earlier versions of the report (also marked [c]). Zeros are shown. "
             f"A cost is shown only where at least {THRESHOLD} placements from at least {MIN_PROVIDERS} different "
             "providers stand behind it; costs from a single provider are not shown (marked [p]). Before a "
             "report is published every hidden count is checked the way an attacker would work it out: the "
             f"possible values must include 0 or a number of {THRESHOLD} or more, and span at least "
             f"{PROTECTION + 1} values.")

Key = tuple[str, str, str]
Range = tuple[int, float]  # (lowest, highest); highest may be infinite


@dataclass(frozen=True)
class Equation:
    """The printed ``parts`` add up to the printed ``total``."""

    parts: tuple[Key, ...]
    total: Key


@dataclass(frozen=True)
class Layout:
    """The keys of a release's counts, the equations its tables print, and which counts have a
    cost figure printed beside them."""

    keys: tuple[Key, ...]
    equations: tuple[Equation, ...]
    costed: frozenset[Key]


def layout(types: Sequence[str], dimensions: Mapping[str, Sequence[str]],
           uncosted_totals: Iterable[str] = ()) -> Layout:
    """The linked tables: type × category for each dimension, with totals both ways.

    ``uncosted_totals`` names dimensions whose category totals have no cost figure beside them
    (the council table's "All types" column).
    """
    everything: Key = (ALL, ALL, ALL)
    keys: dict[Key, None] = {everything: None}
    equations: list[Equation] = []
    uncosted: set[Key] = set()
    if not types:  # no placements: the tables print only the overall total
        return Layout((everything,), (), frozenset({everything}))
    equations.append(Equation(tuple((t, ALL, ALL) for t in types), everything))
    for dimension, categories in dimensions.items():
        if not categories:
            continue
        for t in types:
            equations.append(Equation(tuple((t, dimension, c) for c in categories), (t, ALL, ALL)))
        equations.append(Equation(tuple((ALL, dimension, c) for c in categories), everything))
        for c in categories:
            equations.append(Equation(tuple((t, dimension, c) for t in types), (ALL, dimension, c)))
            if dimension in set(uncosted_totals):
                uncosted.add((ALL, dimension, c))
    for equation in equations:
        for key in (*equation.parts, equation.total):
            keys.setdefault(key, None)
    for t in types:
        keys.setdefault((t, ALL, ALL), None)
    return Layout(tuple(keys), tuple(equations), frozenset(k for k in keys if k not in uncosted))


@dataclass
class Published:
    """What one version of a release tells an attacker about its counts."""

    layout: Layout
    shown: dict[Key, int]
    hidden: set[Key]
    at_least: dict[Key, int] = field(default_factory=dict)
    at_most: dict[Key, int] = field(default_factory=dict)


def published(table_layout: Layout, values: Mapping[Key, int], hidden: Iterable[Key],
              costs_shown: Iterable[Key] = ()) -> Published:
    """The published view of ``values`` with ``hidden`` hidden; ``costs_shown`` are hidden counts
    whose cost figures are printed (so the attacker knows each is at least ``THRESHOLD``)."""
    hidden = set(hidden)
    view = Published(table_layout, {k: values[k] for k in table_layout.keys if k not in hidden}, hidden)
    for key in set(costs_shown) & hidden:
        view.at_least[key] = THRESHOLD
    return view


def violates(found: Range) -> bool:
    """The protection rule: a range inside 1–4, or narrower than ``PROTECTION``, is a disclosure."""
    low, high = found
    return (low >= 1 and high <= THRESHOLD - 1) or high - low < PROTECTION


@dataclass
class AuditResult:
    ranges: dict[int, dict[Key, Range]]  # version index -> hidden key -> range, each version alone
    combined: dict[Key, Range] | None  # counts hidden in every version, versions combined (None: contradictory)
    seconds: float = 0.0
    solves: int = 0

    def violations(self, version: int | None = None) -> set[Key]:
        """Keys whose range breaks the protection rule (in ``version``, or in any)."""
        found = {k for v, ranges in self.ranges.items() if version is None or v == version
                 for k, r in ranges.items() if violates(r)}
        found |= {k for k, r in (self.combined or {}).items() if violates(r)}
        return found

    @property
    def passed(self) -> bool:
        return not self.violations()


def audit(versions: Sequence[Published], already_audited: int = 0) -> AuditResult:
    """The attacker's ranges for every hidden count: each version alone, then all together.
    The first ``already_audited`` versions (published before) are not audited alone again."""
    started = time.perf_counter()
    solves = 0
    ranges: dict[int, dict[Key, Range]] = {}
    for index, version in enumerate(versions):
        if index < already_audited:
            continue
        found, count = attack(version.layout.equations, version.shown, version.hidden, version.at_least,
                              version.at_most)
        solves += count
        if found is None:
            raise ValueError(f"the published counts of version {index + 1} contradict each other")
        ranges[index] = found
    combined = None
    if len(versions) > 1:
        merged = _merge(versions)
        if merged is not None:
            combined, count = attack(*merged)
            solves += count
    return AuditResult(ranges, combined, time.perf_counter() - started, solves)


def _merge(versions: Sequence[Published]) -> tuple[list[Equation], dict[Key, int], set[Key], dict[Key, int],
                                                   dict[Key, int]] | None:
    if len({v.layout.keys for v in versions}) > 1:
        return None  # different rows or columns: the counts visibly changed, so nothing to combine
    shown: dict[Key, int] = {}
    for version in versions:
        for key, value in version.shown.items():
            if shown.setdefault(key, value) != value:
                return None  # the versions disagree, so the counts changed: nothing to combine
    equations = list(dict.fromkeys(e for v in versions for e in v.layout.equations))
    keys = {k for e in equations for k in (*e.parts, e.total)}
    hidden = {k for k in keys if k not in shown}
    at_least: dict[Key, int] = {}
    at_most: dict[Key, int] = {}
    for version in versions:
        for key, value in version.at_least.items():
            at_least[key] = max(at_least.get(key, 0), value)
        for key, value in version.at_most.items():
            at_most[key] = min(at_most.get(key, value), value)
    return equations, shown, hidden, at_least, at_most


def attack(equations: Iterable[Equation], shown: Mapping[Key, int], hidden: Iterable[Key],
           at_least: Mapping[Key, int] | None = None, at_most: Mapping[Key, int] | None = None
           ) -> tuple[dict[Key, Range] | None, int]:
    """Min and max of every hidden count over whole numbers ≥ 0 meeting every equation and bound.

    Returns (ranges, number of solves); ranges is None when no whole numbers fit (the
    equations contradict each other: only possible when combining versions whose counts changed).
    A count at risk gets its exact min and max. A count that whole-number solutions found on the
    way already put far enough apart to pass gets the span they reached (the attacker's range is
    at least that wide), so it needs no solve of its own.
    """
    at_least, at_most = at_least or {}, at_most or {}
    unknowns = sorted(set(hidden))
    if not unknowns:
        return {}, 0
    problem = pulp.LpProblem("attacker", pulp.LpMinimize)
    variables = {key: pulp.LpVariable(f"x{i}", at_least.get(key, 0), at_most.get(key), pulp.LpInteger)
                 for i, key in enumerate(unknowns)}
    for i, equation in enumerate(equations):
        terms = [(variables[k], 1) for k in equation.parts if k in variables]
        if equation.total in variables:
            terms.append((variables[equation.total], -1))
        constant = shown.get(equation.total, 0) - sum(shown.get(k, 0) for k in equation.parts
                                                      if k not in variables)
        if not terms:
            if constant != 0:
                return None, 0
            continue
        problem += pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, f"e{i}", constant)
    return _solve_ranges(problem, [variables[k] for k in unknowns], unknowns)


def _solve_ranges(problem: pulp.LpProblem, columns: list[pulp.LpVariable], keys: list[Key]
                  ) -> tuple[dict[Key, Range] | None, int]:
    """Pass the PuLP model to HiGHS once; minimise then maximise each column in turn."""
    import highspy

    index = {v.name: i for i, v in enumerate(columns)}
    starts, indices, values, lower, upper = [0], [], [], [], []
    for constraint in problem.constraints.values():
        for variable, coefficient in constraint.items():
            indices.append(index[variable.name])
            values.append(float(coefficient))
        starts.append(len(indices))
        lower.append(-constraint.constant)
        upper.append(-constraint.constant)
    lp = highspy.HighsLp()
    lp.num_col_ = len(columns)
    lp.num_row_ = len(lower)
    lp.col_cost_ = np.zeros(len(columns))
    lp.col_lower_ = np.array([float(v.lowBound or 0) for v in columns])
    lp.col_upper_ = np.array([highspy.kHighsInf if v.upBound is None else float(v.upBound) for v in columns])
    lp.row_lower_ = np.array(lower, dtype=float)
    lp.row_upper_ = np.array(upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(indices, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(values, dtype=float)
    relaxed = highspy.Highs()
    relaxed.setOptionValue("output_flag", False)
    relaxed.passModel(lp)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * len(columns)
    whole: list[highspy.Highs] = []  # the integer model, built only if a relaxation's answer is fractional
    seen_low = np.full(len(columns), np.inf)  # the lowest and highest value of each column in any
    seen_high = np.full(len(columns), -np.inf)  # whole-number solution found so far
    found: dict[Key, Range] = {}
    solves = 0

    def optimum(i: int, sense: object) -> float:
        nonlocal solves
        value, solution = _optimum(relaxed, i, sense, len(columns), integral_only=True)
        solves += 1
        if value is None:  # the relaxation's optimum is fractional: solve the integer programme
            if not whole:
                whole.append(highspy.Highs())
                whole[0].setOptionValue("output_flag", False)
                whole[0].passModel(lp)
            value, solution = _optimum(whole[0], i, sense, len(columns), integral_only=False)
            solves += 1
        if solution is not None:
            np.minimum(seen_low, solution, out=seen_low)
            np.maximum(seen_high, solution, out=seen_high)
        assert value is not None
        return value

    for i, key in enumerate(keys):
        if seen_low[i] <= seen_high[i] and not violates((int(seen_low[i]), float(seen_high[i]))):
            # Whole-number solutions already found put this count both this low and this high, so
            # the attacker's range is at least this wide: it passes without solving for it.
            found[key] = (int(seen_low[i]), float(seen_high[i]))
            continue
        high = optimum(i, highspy.ObjSense.kMaximize)
        if high == -1:
            return None, solves
        if high == float("inf") or (seen_low[i] <= high and not violates((int(seen_low[i]), high))):
            found[key] = (int(min(seen_low[i], 0 if high == float("inf") else high)), high)
            continue
        low = optimum(i, highspy.ObjSense.kMinimize)
        found[key] = (int(low), high)
    return found, solves


_SETTLED: set[object] = set()


def _optimum(highs: object, column: int, sense: object, width: int, integral_only: bool
             ) -> tuple[float | None, np.ndarray | None]:
    """The optimum of one column (inf if unbounded, -1 if infeasible) and the whole-number solution
    reaching it; None if ``integral_only`` and the optimal solution found is not whole numbers (an
    integral optimum of the relaxation is also the integer programme's optimum)."""
    import highspy

    assert isinstance(highs, highspy.Highs)
    if not _SETTLED:
        _SETTLED.update({highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible,
                         highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible})
    cost = np.zeros(width)
    cost[column] = 1.0
    highs.changeColsCost(width, np.arange(width, dtype=np.int32), cost)
    highs.changeObjectiveSense(sense)
    highs.run()
    status = highs.getModelStatus()
    if status not in _SETTLED:  # a warm start that went nowhere: start again from nothing
        highs.clearSolver()
        highs.run()
        status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return -1, None
    if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return float("inf"), None
    if status != highspy.HighsModelStatus.kOptimal:  # pragma: no cover - tiny models always solve
        raise RuntimeError(f"HiGHS could not solve the attacker's programme: {highs.modelStatusToString(status)}")
    solution = np.asarray(highs.getSolution().col_value)
    whole = np.abs(solution - np.round(solution)).max(initial=0.0) <= 1e-6
    if integral_only and not whole:
        return None, None
    return float(round(highs.getInfo().objective_function_value)), np.round(solution) if whole else None


@dataclass
class Suppression:
    hidden: dict[Key, str]  # hidden counts and why
    costs_shown: set[Key]  # hidden counts whose cost figures are still shown
    audit: AuditResult
    audits: int = 0
    seconds: float = 0.0


def suppress(table_layout: Layout, values: Mapping[Key, int], previous: Sequence[Published] = ()) -> Suppression:
    """Primary, then audited secondary suppression, then the cost figures of hidden counts of 5 or
    more shown wherever the audit still passes (see the module's notes). ``previous`` are the
    earlier published versions of the same release."""
    missing = [k for k in table_layout.keys if k not in values]
    if missing:
        raise ValueError(f"no count for {missing[0]}")
    if any(values[k] < 0 for k in table_layout.keys):
        raise ValueError("counts cannot be negative")
    hidden = {k: PRIMARY for k in table_layout.keys if 0 < values[k] < THRESHOLD}
    shown_before = {k for version in previous for k in version.shown}
    touching: dict[Key, list[Equation]] = {}
    for equation in table_layout.equations:
        for key in (*equation.parts, equation.total):
            touching.setdefault(key, []).append(equation)
    audits, seconds = 0, 0.0

    def check(costs: set[Key]) -> AuditResult:
        nonlocal audits, seconds
        result = audit([*previous, published(table_layout, values, hidden, costs)], len(previous))
        audits, seconds = audits + 1, seconds + result.seconds
        return result

    while True:  # ends: each turn hides one more count, and with every count hidden nothing can be narrowed
        result = check(set())
        bad = result.violations()
        if not bad:
            break
        choice = _complement(bad, hidden, values, touching, shown_before)
        if choice is None:
            break  # only earlier versions, already published, pin these: publishing refuses (publications.publish)
        hidden[choice] = SECONDARY

    if result.passed:  # the greedy choice can overshoot: show again any count not needed after all, largest first
        for key in sorted((k for k, why in hidden.items() if why == SECONDARY), key=lambda k: (-values[k], k)):
            del hidden[key]
            trial = check(set())
            if trial.passed:
                result = trial
            else:
                hidden[key] = SECONDARY

    if any(values[k] for k in table_layout.keys) and all(k in hidden for k in table_layout.keys if values[k]):
        hidden = dict.fromkeys(hidden, WITHHELD)  # every placement hidden: say why once, for the whole release
    costs: set[Key] = set()
    if result.passed and WITHHELD not in hidden.values():
        wanted = sorted((k for k in hidden if values[k] >= THRESHOLD and k in table_layout.costed),
                        key=lambda k: (-values[k], k))
        pending = [wanted] if wanted else []
        while pending:  # largest counts first; a group that fails together is tried in halves
            group = pending.pop(0)
            trial = check(costs | set(group))
            if trial.passed:
                costs, result = costs | set(group), trial
            elif len(group) > 1:
                pending[:0] = [group[:len(group) // 2], group[len(group) // 2:]]
    return Suppression(hidden, costs, result, audits, seconds)


def _complement(bad: set[Key], hidden: Mapping[Key, str], values: Mapping[Key, int],
                touching: Mapping[Key, list[Equation]], shown_before: set[Key]) -> Key | None:
    """The next count to hide to protect the ``bad`` ones, or None if none is left that could.

    First a shown count that shares a printed equation (row, column or margin) with a bad count,
    scored as the module's notes say. If every count in those equations is hidden already, the
    attacker narrows the bad count through the hidden counts' other equations: the nearest shown
    counts along that chain (equations reached through hidden counts only), smallest first (a
    non-zero one before a zero). Counts shown in an earlier version come last.
    """
    near: dict[Key, float] = {}
    for key in sorted(bad):  # a fixed order, so the same counts always give the same choice
        for equation in touching.get(key, []):
            members = (*equation.parts, equation.total)
            weight = 1 / max(1, sum(1 for k in members if k in hidden)) ** 2  # few hidden leaks most
            for other in members:
                if other not in hidden:
                    near[other] = near.get(other, 0) + weight
    if near:
        return min(near, key=lambda k: (k in shown_before, -round(near[k], 9), values[k] == 0, values[k], k))
    reached, frontier = set(bad), sorted(bad)
    seen: set[Equation] = set()
    earlier: list[Key] = []  # the nearest counts shown in an earlier version: only if nothing else is left
    while frontier:  # breadth first: the hidden counts linked to the bad ones, one equation at a time
        shown: set[Key] = set()
        following: list[Key] = []
        for key in frontier:
            for equation in touching.get(key, []):
                if equation in seen:
                    continue
                seen.add(equation)
                for other in (*equation.parts, equation.total):
                    if other not in hidden:
                        shown.add(other)
                    elif other not in reached:
                        reached.add(other)
                        following.append(other)
        fresh = [k for k in shown if k not in shown_before]
        if fresh:
            return min(fresh, key=lambda k: (values[k] == 0, values[k], k))
        earlier = earlier or sorted(shown)
        frontier = sorted(following)
    return min(earlier, key=lambda k: (values[k] == 0, values[k], k)) if earlier else None


def cost_reason(count: int, providers: int, threshold: int = THRESHOLD) -> str | None:
    """Why a cost figure for a cell may not be shown, or None if it may. A count hidden only to
    protect a neighbour does not hide the cost of its ``threshold`` or more placements."""
    if count < threshold:
        return PRIMARY
    if providers < MIN_PROVIDERS:
        return SINGLE_PROVIDER
    return None
