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
    type_points, in_house_points = prepared.preference_points(child, homes)
    return ScoreParts(
        miles_from_home=round(miles_home, 3),
        miles_from_school=None if miles_school is None else round(miles_school, 3),
        weekly_cost=float(prepared.child_cost(child, homes)[0]),
        ofsted_rating=prepared.homes[home].ofsted_rating,
        block_place_used=block_place_used,
        siblings_together=siblings_together,
        points={
            "home_distance": int(home_points[0]),
            "school_distance": int(school_points[0]),
            "cost": int(prepared.home_cost_points[home]) + int(prepared.offered_cost_points(child, homes)[0]),
            "rating": int(prepared.home_rating_points[home]),
            "block_place": -prepared.weights.block_place_credit if block_place_used else 0,
            "sibling_split": split_points,
            "not_preferred_type": int(type_points[0]),
            "in_house": int(in_house_points[0]),
        },
        placement_type=prepared.homes[home].placement_type,
        sibling_plan=prepared.groups[record.sibling_group].plan if record.sibling_group else None,
        in_house=record.council is not None and prepared.homes[home].council == record.council,
    )


def children_by_home(placement: Placement) -> dict[int, list[int]]:
    by_home: dict[int, list[int]] = defaultdict(list)
    for child, home in sorted(placement.items()):
        if home is not None:
            by_home[home].append(child)
    return by_home


def placement_parts(prepared: PreparedProblem, placement: Placement) -> dict[int, ScoreParts]:
    """Parts for every placed child.

    Block places go to a home's children in id order. A sibling of a "together if possible"
    group placed but not with their whole group (all in one home) costs the split penalty — as
    the optimiser charges it. ``siblings_together`` says whether the whole group is in one home.
    """
    by_home = children_by_home(placement)
    block_users = {c for home, kids in by_home.items() for c in kids[: int(prepared.home_block[home])]}
    together: dict[int, bool] = {}
    splittable = set(prepared.splittable_groups())
    for _group, members in prepared.group_members.items():
        if len(members) < 2:
            continue
        whole = len({placement.get(m) for m in members}) == 1 and placement.get(members[0]) is not None
        for member in members:
            together[member] = whole
    split = prepared.weights.sibling_split
    split_members = {m for g in splittable for m in prepared.group_members[g]}
    return {
        child: pair_parts(prepared, child, home, block_place_used=child in block_users,
                          siblings_together=together.get(child),
                          split_points=split if child in split_members and not together[child] else 0)
        for child, home in sorted(placement.items()) if home is not None
    }


def objective_of(prepared: PreparedProblem, placement: Placement) -> int:
    """The optimiser's objective for any placement (unmatched children pay their penalty)."""
    parts = placement_parts(prepared, placement)
    unmatched = [c for c in range(len(prepared.children)) if placement.get(c) is None]
    return sum(p.total for p in parts.values()) + int(sum(prepared.unmatched_penalty[c] for c in unmatched))


def broken_rules(prepared: PreparedProblem, placement: Placement) -> list[str]:
    """Every hard rule a placement breaks, in words (empty for a placement the engine could propose)."""
    broken = []
    everything = np.arange(len(prepared.homes))
    for child, home in sorted(placement.items()):
        if home is None:
            continue
        for rule, mask in prepared.rule_masks(child, everything):
            if rule != "free_places" and not mask[home]:
                broken.append(f"{prepared.children[child].id} in {prepared.homes[home].id}: {rule}")
    for home, kids in children_by_home(placement).items():
        if len(kids) > prepared.home_free[home]:
            broken.append(f"{prepared.homes[home].id}: {len(kids)} children for {prepared.home_free[home]} places")
    for group, members in prepared.group_members.items():
        plan = prepared.groups[group].plan
        homes = [placement.get(m) for m in members]
        placed = [h for h in homes if h is not None]
        if plan == "together" and placed and (len(placed) < len(members) or len(set(placed)) > 1):
            broken.append(f"{group}: plan is together but the group is split")
        if plan == "apart" and len(set(placed)) < len(placed):
            broken.append(f"{group}: plan is apart but two of them share a home")
        for home in set(placed):
            if placed.count(home) > max(1, int(prepared.home_max_siblings[home])) and len(members) > 1:
                broken.append(f"{group}: more siblings in {prepared.homes[home].id} than it takes")
    return broken


def groups_split(prepared: PreparedProblem, placement: Placement) -> int:
    """Sibling groups (plan together or together if possible) with someone placed but not all in one home."""
    return sum(
        1 for group, members in prepared.group_members.items()
        if len(members) > 1 and prepared.groups[group].plan != "apart" and any(placement.get(m) is not None for m in members)
        and len({placement.get(m) for m in members}) > 1
    )
