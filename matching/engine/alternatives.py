"""What choosing another home for one child would cost the region: found by re-solving.

``compare_alternative(problem, result, child, home)`` solves the same problem again with the child
fixed to that home (a "together" group moves with them), then compares the two placements child
by child. Every figure is computed from the two sets of proposals alone, so anyone holding the
problem can check it with ``evaluate`` and a ruler; ``describe`` words only those figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .evaluation import Placement, broken_rules, objective_of, placement_parts
from .model import Problem, ProblemError, validate
from .optimiser import optimise
from .prepared import PreparedProblem
from .report import placement_from
from .result import Result


@dataclass(frozen=True)
class ChildChange:
    """One other child whose outcome the alternative changes for the worse."""

    child: str
    home_before: str | None
    home_after: str | None
    score_before: int | None  # the child's score (points) in each placement; None when unplaced
    score_after: int | None


@dataclass(frozen=True)
class AlternativeCost:
    child: str
    home: str
    optimal: bool  # the re-solve was proved optimal (else it is the best found in the time limit)
    proposals: dict[str, str | None]  # the whole placement with the child fixed to ``home``
    objective_change: int  # evaluate(alternative) − evaluate(proposed): the region's score
    child_score_change: int  # this child's own score there − at the proposed home
    others_placed_change: int  # other children placed: alternative − proposed
    others_miles_change: float  # total miles from home, over other children placed in both placements
    others_weekly_cost_change: float  # total £ a week, over other children placed in both placements
    losers: tuple[ChildChange, ...]  # other children left unplaced, or placed at a higher score


def compare_alternative(problem: Problem, result: Result | Mapping[str, str | None], child_id: str,
                        home_id: str) -> AlternativeCost:
    """Re-solve with ``child_id`` fixed to ``home_id`` and compare with ``result``'s proposals
    (a Result, or its ``proposals()``: child id -> home id or None)."""
    validate(problem)
    baseline = PreparedProblem(problem)
    if child_id not in baseline.child_index:
        raise ProblemError("alternative", "child", f"{child_id!r} is not a child of this problem")
    if home_id not in baseline.home_index:
        raise ProblemError("alternative", "home", f"{home_id!r} is not a home of this problem")
    child = baseline.child_index[child_id]
    home = baseline.home_index[home_id]
    everything = [(rule, bool(mask[home])) for rule, mask in baseline.rule_masks(child, _all(baseline))]
    unmet = [rule for rule, ok in everything if not ok]
    if unmet:
        raise ProblemError("alternative", "home", f"{home_id!r} does not suit {child_id!r} ({', '.join(unmet)})")
    fixed = PreparedProblem(problem, fixed={child_id: home_id})
    solution = optimise(fixed)
    after = placement_from(fixed, solution)
    if after.get(child) != home or broken_rules(baseline, after):
        raise ProblemError("alternative", "home", f"{child_id!r} cannot be placed in {home_id!r} with the "
                           "rest of this problem (e.g. the whole sibling group does not fit)")
    proposed = result.proposals() if isinstance(result, Result) else dict(result)
    before: Placement = dict.fromkeys(range(len(baseline.children)))
    before.update({baseline.child_index[c]: None if h is None else baseline.home_index[h]
                   for c, h in proposed.items() if c in baseline.child_index})
    return _compare(baseline, child, home, before, after, solution.status == "optimal")


def _all(prepared: PreparedProblem) -> np.ndarray:
    return np.arange(len(prepared.homes))


def _compare(prepared: PreparedProblem, child: int, home: int, before: Placement, after: Placement,
             optimal: bool) -> AlternativeCost:
    parts_before = placement_parts(prepared, before)
    parts_after = placement_parts(prepared, after)
    others = [c for c in range(len(prepared.children)) if c != child]
    placed_before = [c for c in others if before.get(c) is not None]
    placed_after = [c for c in others if after.get(c) is not None]
    # Miles and pounds compare like with like: children placed either way (a child left
    # unplaced is reported as such, never as miles or money "saved").
    both = [c for c in placed_before if after.get(c) is not None]
    losers = []
    for other in others:
        score_before = parts_before[other].total if other in parts_before else None
        score_after = parts_after[other].total if other in parts_after else None
        lost = (score_before is not None and score_after is None) or (
            score_before is not None and score_after is not None and score_after > score_before)
        if lost:
            losers.append(ChildChange(prepared.children[other].id, _home_id(prepared, before.get(other)),
                                      _home_id(prepared, after.get(other)), score_before, score_after))
    return AlternativeCost(
        child=prepared.children[child].id,
        home=prepared.homes[home].id,
        optimal=optimal,
        proposals={prepared.children[c].id: _home_id(prepared, h) for c, h in sorted(after.items())},
        objective_change=objective_of(prepared, after) - objective_of(prepared, before),
        child_score_change=parts_after[child].total - parts_before[child].total if child in parts_before
        else parts_after[child].total,
        others_placed_change=len(placed_after) - len(placed_before),
        others_miles_change=round(sum(parts_after[c].miles_from_home - parts_before[c].miles_from_home
                                      for c in both), 1),
        others_weekly_cost_change=round(sum(parts_after[c].weekly_cost - parts_before[c].weekly_cost
                                            for c in both), 2),
        losers=tuple(losers),
    )


def _home_id(prepared: PreparedProblem, home: int | None) -> str | None:
    return None if home is None else prepared.homes[home].id


def _children(count: int) -> str:
    return f"{count} other child" if count == 1 else f"{count} other children"


def describe(cost: AlternativeCost, *, home_name: str | None = None, child_name: Mapping[str, str] | None = None,
             unnamed: str | None = None) -> str:
    """One sentence that says only what the figures say. ``child_name`` maps child ids to the
    names a reader may see; others are shown as ``unnamed`` (their id when None)."""
    known = child_name or {}
    names = {c.child: known.get(c.child, unnamed or c.child) for c in cost.losers}
    home = home_name or cost.home
    unplaced = [c for c in cost.losers if c.home_after is None]
    worse = [c for c in cost.losers if c.home_after is not None]
    clauses = []
    if unplaced:
        clauses.append(f"leave {_children(len(unplaced))} unplaced "
                       f"({', '.join(names.get(c.child, c.child) for c in unplaced)})")
    if worse:
        clauses.append(f"give {_children(len(worse))} a placement scoring worse for them "
                       f"({', '.join(names.get(c.child, c.child) for c in worse)})")
    if cost.others_placed_change > 0:
        clauses.append(f"place {_children(cost.others_placed_change)} more")
    miles = cost.others_miles_change
    if abs(miles) >= 0.05:
        clauses.append(f"{'add' if miles > 0 else 'save'} {abs(miles):,.1f} miles")
    pounds = cost.others_weekly_cost_change
    if abs(pounds) >= 0.5:
        clauses.append(f"{'add' if pounds > 0 else 'save'} £{abs(pounds):,.0f} a week")
    if not clauses:
        return f"Choosing {home} instead would change nothing for the other children."
    text = ", ".join(clauses[:-1]) + " and " + clauses[-1] if len(clauses) > 1 else clauses[0]
    figures = " (miles from home and weekly cost, totalled over the other children placed either way)" if (
        abs(miles) >= 0.05 or abs(pounds) >= 0.5) else ""
    return f"Choosing {home} instead would {text}{figures}."
