"""Capacity pressure by re-solving: what one more place of a type in an area would do.

For the areas with most unmatched demand, the engine solves the problem again with one extra
place and reports, against the run's proposals, how many more children would be placed, and the
change in miles and pounds a week for the children placed either way.

Definitions (so every figure can be recomputed):

* **Unmatched demand** of (placement type T, area A): the unmatched children for whom the nearest
  home of type T that meets every hard rule except "has a free place" is in area A. A child with
  several acceptable types counts once per type. Children with no such home at all cannot be helped
  by one more place at an existing home and are not counted.
* **The extra place**: one more free place at the existing home of type T in area A that suits the
  most of those children (hard rules except free places), ties to the lowest total miles to them,
  then the home id. The re-solve is ``solve(with_extra_place(problem, home))``.
* **Bounded work**: only the ``TOP_AREAS`` (5) pairs (T, A) with the most unmatched demand are
  re-solved (ties by type, then area), so a report costs at most five solves.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .evaluation import objective_of, placement_parts
from .model import Problem
from .prepared import PreparedProblem, miles_between
from .result import Result

TOP_AREAS = 5


@dataclass(frozen=True)
class ExtraPlace:
    placement_type: str
    area: str
    home: str  # the home given one more free place
    unmatched_demand: int
    children_placed_change: int  # children placed with the extra place − without
    newly_placed: tuple[str, ...]  # children placed with it who were unplaced without
    miles_change: float  # total miles from home, over children placed either way (negative: saved)
    weekly_cost_change: float  # total £ a week, over children placed either way (negative: saved)
    objective_change: int  # the region's score with the extra place − without
    optimal: bool  # the re-solve was proved optimal


def with_extra_place(problem: Problem, home_id: str) -> Problem:
    """The same problem with one more free place at ``home_id``."""
    homes = tuple(dataclasses.replace(h, free_places=h.free_places + 1) if h.id == home_id else h
                  for h in problem.homes)
    return dataclasses.replace(problem, homes=homes)


def unmatched_demand(prepared: PreparedProblem, unmatched: list[int]) -> dict[tuple[str, str], list[int]]:
    """(type, area) -> unmatched children whose nearest suitable home of that type is there."""
    everything = np.arange(len(prepared.homes))
    demand: dict[tuple[str, str], list[int]] = defaultdict(list)
    for child in unmatched:
        mask = np.ones(len(everything), dtype=bool)
        for rule, rule_mask in prepared.rule_masks(child, everything):
            if rule != "free_places":
                mask &= rule_mask
        suitable = np.flatnonzero(mask)
        if not len(suitable):
            continue
        miles = miles_between(prepared.child_lat[child], prepared.child_lon[child],
                              prepared.home_lat[suitable], prepared.home_lon[suitable])
        nearest: dict[str, tuple[float, int]] = {}
        for home, distance in zip(suitable.tolist(), miles.tolist(), strict=True):
            kind = prepared.homes[home].placement_type
            if kind not in nearest or (distance, home) < nearest[kind]:
                nearest[kind] = (distance, home)
        for kind, (_, home) in sorted(nearest.items()):
            demand[(kind, prepared.homes[home].area or "")].append(child)
    return demand


def _best_home(prepared: PreparedProblem, kind: str, area: str, children: list[int]) -> int:
    homes = np.array([i for i, h in enumerate(prepared.homes)
                      if h.placement_type == kind and (h.area or "") == area], dtype=np.int64)
    suits = np.zeros(len(homes), dtype=np.int64)
    miles = np.zeros(len(homes), dtype=float)
    for child in children:
        mask = np.ones(len(homes), dtype=bool)
        for rule, rule_mask in prepared.rule_masks(child, homes):
            if rule != "free_places":
                mask &= rule_mask
        suits += mask
        miles += np.where(mask, miles_between(prepared.child_lat[child], prepared.child_lon[child],
                                              prepared.home_lat[homes], prepared.home_lon[homes]), 0.0)
    best = np.lexsort((homes, miles, -suits))[0]
    return int(homes[best])


def extra_place_pressure(problem: Problem, result: Result | Mapping[str, str | None],
                         top: int = TOP_AREAS) -> list[ExtraPlace]:
    """One re-solve per (type, area) among the ``top`` with most unmatched demand, best first.
    ``result`` is the run's Result or its ``proposals()``."""
    from . import solve  # noqa: PLC0415 (the package's solve validates and reports)

    prepared = PreparedProblem(problem)
    proposals = result.proposals() if isinstance(result, Result) else dict(result)
    before: dict[int, int | None] = dict.fromkeys(range(len(prepared.children)))
    before.update({prepared.child_index[c]: None if h is None else prepared.home_index[h]
                   for c, h in proposals.items() if c in prepared.child_index})
    unmatched = sorted(c for c, h in before.items() if h is None)
    demand = unmatched_demand(prepared, unmatched)
    ranked = sorted(demand.items(), key=lambda item: (-len(item[1]), item[0]))[:top]
    found = []
    for (kind, area), children in ranked:
        home = _best_home(prepared, kind, area, children)
        home_id = prepared.homes[home].id
        extra = solve(with_extra_place(problem, home_id))
        after_ids = extra.proposals()
        after = {prepared.child_index[c]: None if h is None else prepared.home_index[h] for c, h in after_ids.items()}
        found.append(_compare(prepared, kind, area, home_id, len(children), before, after,
                              objective_of(PreparedProblem(with_extra_place(problem, home_id)), after)
                              - objective_of(prepared, before), extra.status == "optimal"))
    return sorted(found, key=lambda e: (-e.children_placed_change, e.miles_change, e.weekly_cost_change,
                                        e.placement_type, e.area))


def _compare(prepared: PreparedProblem, kind: str, area: str, home: str, demand: int,
             before: dict[int, int | None], after: dict[int, int | None], objective_change: int,
             optimal: bool) -> ExtraPlace:
    parts_before = placement_parts(prepared, before)
    parts_after = placement_parts(prepared, after)
    both = [c for c in parts_before if c in parts_after]
    placed = Counter(h is not None for h in after.values())[True] - Counter(h is not None for h in before.values())[True]
    return ExtraPlace(
        placement_type=kind,
        area=area,
        home=home,
        unmatched_demand=demand,
        children_placed_change=placed,
        newly_placed=tuple(prepared.children[c].id for c in sorted(parts_after) if c not in parts_before),
        miles_change=round(sum(parts_after[c].miles_from_home - parts_before[c].miles_from_home for c in both), 1),
        weekly_cost_change=round(sum(parts_after[c].weekly_cost - parts_before[c].weekly_cost for c in both), 2),
        objective_change=objective_change,
        optimal=optimal,
    )
