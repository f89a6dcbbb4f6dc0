"""Scoring a complete placement (child -> home) by the same rules as the optimiser.

Used to explain proposals, to score the greedy baseline, and by tests to check that the
reported objective is exactly what the proposals cost.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from .prepared import PreparedProblem, miles_between
from .result import ScoreParts

Placement = dict[int, int | None]  # child index -> home index, None when unmatched


def pair_parts(prepared: PreparedProblem, child: int, home: int, *, block_place_used: bool = False,
               siblings_together: bool | None = None, split_points: int = 0) -> ScoreParts:
    record = prepared.children[child]
    homes = np.array([home])
    home_points, school_points = prepared.distance_points(child, homes)
    miles_home = float(miles_between(prepared.child_lat[child], prepared.child_lon[child],
                                     prepared.home_lat[home], prepared.home_lon[home]))
    miles_school = None
    if record.school_location is not None:
        school = record.school_location
        miles_school = float(miles_between(math.radians(school.latitude), math.radians(school.longitude),
                                           prepared.home_lat[home], prepared.home_lon[home]))
    return ScoreParts(
        miles_from_home=round(miles_home, 3),
        miles_from_school=None if miles_school is None else round(miles_school, 3),
        weekly_cost=float(prepared.home_cost[home]),
        ofsted_rating=prepared.homes[home].ofsted_rating,
        block_place_used=block_place_used,
        siblings_together=siblings_together,
        points={
            "home_distance": int(home_points[0]),
            "school_distance": int(school_points[0]),
            "cost": int(prepared.home_cost_points[home]),
            "rating": int(prepared.home_rating_points[home]),
            "block_place": -prepared.weights.block_place_credit if block_place_used else 0,
            "sibling_split": split_points,
        },
    )


def children_by_home(placement: Placement) -> dict[int, list[int]]:
    by_home: dict[int, list[int]] = defaultdict(list)
    for child, home in sorted(placement.items()):
        if home is not None:
            by_home[home].append(child)
    return by_home


def placement_parts(prepared: PreparedProblem, placement: Placement) -> dict[int, ScoreParts]:
    """Parts for every placed child.

    Block places go to a home's children in id order. A sibling placed but not with their
    whole group (all in one home) costs the split penalty — as the optimiser charges it.
    """
    by_home = children_by_home(placement)
    block_users = {c for home, kids in by_home.items() for c in kids[: int(prepared.home_block[home])]}
    together: dict[int, bool] = {}
    for members in prepared.group_members.values():
        if len(members) < 2:
            continue
        whole = len({placement.get(m) for m in members}) == 1 and placement.get(members[0]) is not None
        for member in members:
            together[member] = whole
    split = prepared.weights.sibling_split
    return {
        child: pair_parts(prepared, child, home, block_place_used=child in block_users,
                          siblings_together=together.get(child),
                          split_points=0 if together.get(child, True) else split)
        for child, home in sorted(placement.items()) if home is not None
    }


def objective_of(prepared: PreparedProblem, placement: Placement) -> int:
    """The optimiser's objective for any placement (unmatched children pay their penalty)."""
    parts = placement_parts(prepared, placement)
    unmatched = [c for c in range(len(prepared.children)) if placement.get(c) is None]
    return sum(p.total for p in parts.values()) + int(sum(prepared.unmatched_penalty[c] for c in unmatched))


def groups_split(prepared: PreparedProblem, placement: Placement) -> int:
    """Sibling groups with someone placed but not all together in one home."""
    return sum(
        1 for members in prepared.group_members.values()
        if len(members) > 1 and any(placement.get(m) is not None for m in members)
        and len({placement.get(m) for m in members}) > 1
    )
