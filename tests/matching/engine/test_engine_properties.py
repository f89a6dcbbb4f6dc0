"""Properties on random small instances, checked against brute force."""

from __future__ import annotations

import dataclasses
import itertools
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.engine import (
    Child,
    Home,
    Problem,
    SiblingGroup,
    SolveOptions,
    Weights,
    evaluate,
    greedy,
    hard_rules_broken,
    solve,
)
from matching.engine.model import SIBLING_PLANS
from tests.matching.engine.engine_builders import COVENTRY, near

TYPES = ("foster_care", "childrens_home")
NEEDS = ("communication_other", "taxis_to_school")
PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instances(draw, max_children=5, max_homes=4):
    homes = []
    for index in range(draw(st.integers(1, max_homes))):
        low = draw(st.integers(0, 12))
        homes.append(Home(
            id=f"H{index}", provider=f"P{draw(st.integers(0, 2))}", placement_type=draw(st.sampled_from(TYPES)),
            location=near(COVENTRY, draw(st.integers(0, 60))), free_places=(free := draw(st.integers(0, 3))),
            block_places=draw(st.integers(0, free)), weekly_cost=float(draw(st.sampled_from([900, 3000, 5000]))),
            min_age=low, max_age=draw(st.integers(low, 17)),
            sexes=frozenset(draw(st.sampled_from([("F",), ("M",), ("F", "M"), ("F", "M")]))),
            needs_met=frozenset(draw(st.sets(st.sampled_from(NEEDS)))),
            max_sibling_group=draw(st.integers(1, 3)),
            ofsted_rating=draw(st.sampled_from(["outstanding", "good", "requires_improvement", "inadequate"])),
            deprivation_of_liberty=draw(st.booleans()),
            allow_inadequate=draw(st.booleans()),
            council=draw(st.sampled_from([None, None, "LA1", "LA2"])),
        ))
    groups = [SiblingGroup("G0", draw(st.sampled_from(SIBLING_PLANS))),
              SiblingGroup("G1", draw(st.sampled_from(SIBLING_PLANS)))]
    children = []
    for index in range(draw(st.integers(1, max_children))):
        types = frozenset(draw(st.sets(st.sampled_from(TYPES), min_size=1)))
        children.append(Child(
            id=f"C{index}", age=draw(st.integers(0, 17)), sex=draw(st.sampled_from(["F", "M"])),
            placement_types=types,
            preferred_placement_types=frozenset(draw(st.sets(st.sampled_from(sorted(types)), max_size=1))),
            council=draw(st.sampled_from([None, "LA1", "LA2"])),
            in_house_bonus=draw(st.sampled_from([0, 300, 5000])),
            home_location=near(COVENTRY, draw(st.integers(0, 60))),
            urgency=draw(st.sampled_from(["emergency", "urgent", "planned"])),
            sibling_group=draw(st.sampled_from([None, None, "G0", "G1"])),
            needs=frozenset(draw(st.sets(st.sampled_from(NEEDS), max_size=1))),
            school_location=draw(st.sampled_from([None, near(COVENTRY, 5)])),
            excluded_providers=frozenset(draw(st.sets(st.sampled_from(["P0"]), max_size=1))),
            max_weekly_cost=draw(st.sampled_from([None, 4000.0])),
            needs_deprivation_of_liberty=draw(st.booleans()) and draw(st.booleans()),
        ))
    used = {c.sibling_group for c in children}
    return Problem(tuple(children), tuple(homes), tuple(g for g in groups if g.id in used),
                   options=SolveOptions(time_limit_seconds=30, candidates_per_child=draw(st.integers(1, 3))))


def suits(child: Child, home: Home) -> bool:
    """The hard rules, written out independently of the engine."""
    return (home.placement_type in child.placement_types and home.min_age <= child.age <= home.max_age
            and child.sex in home.sexes and (child.needs | child.risk_flags) <= home.needs_met
            and home.id not in child.excluded_homes and home.provider not in child.excluded_providers
            and (child.max_weekly_cost is None or home.weekly_cost <= child.max_weekly_cost)
            and (home.deprivation_of_liberty or not child.needs_deprivation_of_liberty) and home.free_places > 0
            and (home.ofsted_rating != "inadequate" or home.allow_inadequate))


def feasible(problem: Problem, proposals: dict[str, str | None]) -> bool:
    homes = {h.id: h for h in problem.homes}
    plans = {g.id: g.plan for g in problem.sibling_groups}
    for child in problem.children:
        home = proposals[child.id]
        if home is not None and not suits(child, homes[home]):
            return False
    for home in problem.homes:
        kids = [c for c in problem.children if proposals[c.id] == home.id]
        if len(kids) > home.free_places:
            return False
        for group in {c.sibling_group for c in kids} - {None}:
            here = sum(1 for c in kids if c.sibling_group == group)
            if here > home.max_sibling_group or (plans[group] == "apart" and here > 1):
                return False
    for group, plan in plans.items():
        placed = [proposals[c.id] for c in problem.children if c.sibling_group == group]
        if plan == "together" and len(set(placed)) > 1:  # one home for all, or None for all
            return False
    return True


def every_feasible_placement(problem: Problem):
    options = [[None] + [h.id for h in problem.homes if suits(c, h)] for c in problem.children]
    for choice in itertools.product(*options):
        proposals = {c.id: h for c, h in zip(problem.children, choice, strict=True)}
        if feasible(problem, proposals):
            yield proposals


@PROPERTY_SETTINGS
@given(instances())
def test_proposals_are_feasible_and_optimal_against_brute_force(problem):
    result = solve(problem)
    proposals = result.proposals()
    assert result.status == "optimal" and result.pruning_exact
    assert feasible(problem, proposals)  # hard rules, capacity, sibling limits and plans
    assert hard_rules_broken(problem, proposals) == []
    best_placed = max(sum(h is not None for h in p.values()) for p in every_feasible_placement(problem))
    assert result.placed == best_placed
    best = min(evaluate(problem, p) for p in every_feasible_placement(problem))
    assert result.objective == best == evaluate(problem, proposals)


@PROPERTY_SETTINGS
@given(instances(max_children=7, max_homes=6))
def test_never_worse_than_greedy(problem):
    result = solve(problem)
    baseline = greedy(problem, honour_keep_together=True)
    assert feasible(problem, baseline)
    assert result.objective <= evaluate(problem, baseline)


@PROPERTY_SETTINGS
@given(instances(max_children=7, max_homes=6), st.randoms(use_true_random=False))
def test_shuffling_the_input_gives_the_same_result(problem, rng: random.Random):
    shuffled = dataclasses.replace(problem, children=tuple(rng.sample(problem.children, len(problem.children))),
                                   homes=tuple(rng.sample(problem.homes, len(problem.homes))),
                                   sibling_groups=tuple(reversed(problem.sibling_groups)))
    first, second = solve(problem), solve(shuffled)
    assert first.proposals() == second.proposals()
    assert first.assignments == second.assignments and first.unmatched == second.unmatched
    assert first.objective == second.objective and first.pressure == second.pressure


@PROPERTY_SETTINGS
@given(instances(max_children=8, max_homes=8))
def test_pruned_model_has_the_optimum_of_the_unpruned_one(problem):
    pruned = solve(dataclasses.replace(problem, options=SolveOptions(candidates_per_child=1)))
    unpruned = solve(dataclasses.replace(problem, options=SolveOptions(candidates_per_child=1000)))
    assert pruned.pruning_exact and unpruned.pruning_exact
    assert pruned.objective == unpruned.objective
    assert pruned.placed == unpruned.placed


def test_only_home_distance_gives_the_exact_minimum_total_miles():
    from scipy.optimize import linear_sum_assignment

    from rcc.geography import great_circle_miles

    rng = random.Random(7)
    children = [Child(f"C{i:02d}", 10, "F", frozenset(["foster_care"]), near(COVENTRY, rng.uniform(0, 80)),
                      school_location=near(COVENTRY, 3)) for i in range(25)]
    homes = [Home(f"H{i:02d}", "P", "foster_care", near(COVENTRY, rng.uniform(0, 80)), rng.randint(1, 2),
                  weekly_cost=rng.choice([500.0, 900.0]), block_places=1, ofsted_rating="inadequate", allow_inadequate=True)
             for i in range(20)]
    weights = Weights(home_miles=1000.0, school_miles=0.0, weekly_cost=0.0, rating=0.0, block_place_credit=0)
    result = solve(Problem(tuple(children), tuple(homes), weights=weights,
                           options=SolveOptions(candidates_per_child=2)))
    assert result.placed == 25 and result.status == "optimal"
    columns = [h for h in homes for _ in range(h.free_places)]
    miles = [[great_circle_miles(c.home_location, h.location) for h in columns] for c in children]
    rows, cols = linear_sum_assignment(miles)
    exact = sum(miles[r][c] for r, c in zip(rows, cols, strict=True))
    ours = sum(great_circle_miles(c.home_location, next(h for h in homes if h.id == result.proposals()[c.id]).location)
               for c in children)
    # Points are whole thousandths of a mile, so each child may be off by half of one.
    assert abs(ours - exact) <= len(children) * 0.0005 * 2


@PROPERTY_SETTINGS
@given(instances(max_children=6, max_homes=4), st.sampled_from(["apart", "together"]))
def test_apart_groups_never_share_a_home_and_together_groups_are_whole_or_absent(problem, plan):
    """Every sibling group given one plan; checked against the brute-force optimum."""
    children = tuple(dataclasses.replace(c, sibling_group="G0" if i % 2 == 0 else "G1")
                     for i, c in enumerate(problem.children))
    subject = dataclasses.replace(problem, children=children,
                                  sibling_groups=tuple(SiblingGroup(g, plan) for g in ("G0", "G1")
                                                       if any(c.sibling_group == g for c in children)))
    result = solve(subject)
    proposals = result.proposals()
    for group in ("G0", "G1"):
        homes = [proposals[c.id] for c in children if c.sibling_group == group]
        placed = [h for h in homes if h is not None]
        if plan == "apart":
            assert len(set(placed)) == len(placed)
        else:
            assert not placed or (len(placed) == len(homes) and len(set(placed)) == 1)
    best = min(evaluate(subject, p) for p in every_feasible_placement(subject))
    assert result.objective == best
