"""Every reason the engine gives for not choosing a runner-up is checked by recomputation.

For ≥ 200 random small problems: each proposal's alternatives carry a reason that holds on the
figures, and ``compare_alternative`` (a re-solve with the child fixed to the runner-up) reports
numbers that an independent recount from the two sets of proposals reproduces, and whose
placement is the brute-force optimum among placements with the child in that home.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings

from matching.engine import ProblemError, compare_alternative, describe, evaluate, solve
from rcc.geography import great_circle_miles
from tests.matching.engine.engine_builders import child, home, problem
from tests.matching.engine.test_engine_properties import feasible, instances, suits


def _brute_force_best_with(problem_, child_id: str, home_id: str) -> int:
    options = [[h.id for h in problem_.homes if suits(c, h)] if c.id == child_id
               else [None] + [h.id for h in problem_.homes if suits(c, h)] for c in problem_.children]
    best = None
    for choice in itertools.product(*options):
        proposals = {c.id: h for c, h in zip(problem_.children, choice, strict=True)}
        if proposals[child_id] == home_id and feasible(problem_, proposals):
            value = evaluate(problem_, proposals)
            best = value if best is None else min(best, value)
    assert best is not None
    return best


def _both(problem_, before, after, skip):
    return [c for c in problem_.children if c.id != skip and before[c.id] is not None and after[c.id] is not None]


def _miles(problem_, proposals, children):
    homes = {h.id: h for h in problem_.homes}
    return sum(great_circle_miles(c.home_location, homes[proposals[c.id]].location) for c in children)


def _pounds(problem_, proposals, children):
    homes = {h.id: h for h in problem_.homes}
    return sum(homes[proposals[c.id]].weekly_cost for c in children)


def _check_reason(problem_, result, assignment, alternative):
    own_chosen = assignment.score - assignment.parts.points["block_place"] - assignment.parts.points["sibling_split"]
    children = {c.id: c for c in problem_.children}
    homes = {h.id: h for h in problem_.homes}
    proposals = result.proposals()
    group = children[assignment.child].sibling_group
    plans = {g.id: g.plan for g in problem_.sibling_groups}
    assert alternative.parts.points["block_place"] == alternative.parts.points["sibling_split"] == 0
    if alternative.reason == "worse":
        assert alternative.score > own_chosen
    else:
        assert alternative.score <= own_chosen
    if alternative.reason == "taken":
        assert alternative.taken_by and all(proposals[c] == alternative.home for c in alternative.taken_by)
        assert len(alternative.taken_by) + 1 > homes[alternative.home].free_places or plans.get(group) == "together"
    if alternative.reason == "siblings_apart":
        assert plans[group] == "apart" and alternative.taken_by
        assert all(proposals[c] == alternative.home and children[c].sibling_group == group
                   for c in alternative.taken_by)
    if alternative.reason == "keeps_siblings_together":
        assert any(proposals[c.id] == assignment.home for c in problem_.children
                   if c.sibling_group == group and c.id != assignment.child)
    if alternative.reason == "sibling_limit":
        assert len(alternative.taken_by) >= homes[alternative.home].max_sibling_group
    # The rank is how many candidates score fewer points for this child, plus one: never below 1.
    assert 1 <= assignment.rank <= assignment.candidates


def _check_cost(problem_, result, assignment, alternative):
    try:
        cost = compare_alternative(problem_, result, assignment.child, alternative.home)
    except ProblemError as error:  # a together group that cannot all move there
        assert error.field == "home"
        return 0
    before, after = result.proposals(), cost.proposals
    assert after[assignment.child] == alternative.home and feasible(problem_, after)
    assert cost.objective_change == evaluate(problem_, after) - evaluate(problem_, before)
    if result.status == "optimal":
        assert cost.objective_change >= 0  # an optimum cannot be beaten by fixing a child
    assert cost.optimal and evaluate(problem_, after) == _brute_force_best_with(
        problem_, assignment.child, alternative.home)
    others = [c.id for c in problem_.children if c.id != assignment.child]
    assert cost.others_placed_change == (sum(after[c] is not None for c in others)
                                         - sum(before[c] is not None for c in others))
    both = _both(problem_, before, after, assignment.child)
    miles = _miles(problem_, after, both) - _miles(problem_, before, both)
    assert cost.others_miles_change == pytest.approx(miles, abs=0.06)
    pounds = _pounds(problem_, after, both) - _pounds(problem_, before, both)
    assert cost.others_weekly_cost_change == pytest.approx(pounds, abs=0.01)
    scores = {a.child: a.score for a in result.assignments}
    newly_unplaced = {c for c in others if before[c] is not None and after[c] is None}
    assert {c.child for c in cost.losers if c.home_after is None} == newly_unplaced
    for loser in cost.losers:
        assert loser.home_before == before[loser.child] and loser.home_after == after[loser.child]
        assert loser.score_before == scores[loser.child]
        assert loser.score_after is None or loser.score_after > loser.score_before
    text = describe(cost)
    assert ("unplaced" in text) == bool(newly_unplaced)
    assert all(loser.child in text for loser in cost.losers)
    if abs(miles) >= 0.06:
        assert f"{'add' if miles > 0 else 'save'} {abs(cost.others_miles_change):,.1f} miles" in text
    if abs(pounds) >= 0.5:
        assert f"{'add' if pounds > 0 else 'save'} £{abs(pounds):,.0f} a week" in text
    if not cost.losers and cost.others_placed_change == 0 and abs(miles) < 0.05 and abs(pounds) < 0.5:
        assert "change nothing" in text
    return 1


@settings(max_examples=220, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_children=4, max_homes=4))
def test_every_reason_and_every_alternative_cost_is_verified_by_recomputation(problem_):
    result = solve(problem_)
    for assignment in result.assignments:
        for alternative in assignment.alternatives:
            _check_reason(problem_, result, assignment, alternative)
            _check_cost(problem_, result, assignment, alternative)


def test_the_issue_example_a_better_scoring_runner_up_is_never_called_worse():
    # B takes the near home it alone can use; A's runner-up (NEAR) scores better for A.
    children = [child("A", 0), child("B", 2, needs={"communication_other"})]
    homes = [home("NEAR", 1, needs_met={"communication_other"}), home("FAR", 30)]
    subject = problem(children, homes)
    result = solve(subject)
    assert result.proposals() == {"A": "FAR", "B": "NEAR"}
    a = next(x for x in result.assignments if x.child == "A")
    assert a.rank == 2 and [(alt.home, alt.reason, alt.taken_by) for alt in a.alternatives] == [
        ("NEAR", "taken", ("B",))]
    cost = compare_alternative(subject, result, "A", "NEAR")
    assert [(c.child, c.home_after) for c in cost.losers] == [("B", None)]
    assert describe(cost, home_name="Near House") == "Choosing Near House instead would leave 1 other child unplaced (B)."
