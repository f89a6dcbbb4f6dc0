"""Hand-made cases with known answers."""

from __future__ import annotations

import pytest

from matching.engine import SiblingGroup, Weights, evaluate, greedy, solve
from tests.matching.engine.engine_builders import child, home, problem


def test_keep_together_group_goes_to_one_home_though_each_sibling_has_a_nearer_one():
    children = [child("A", sibling_group="G"), child("B", sibling_group="G")]
    homes = [home("NEAR-1", 1), home("NEAR-2", 1), home("FAR", 30, free_places=2, max_sibling_group=2)]
    result = solve(problem(children, homes, [SiblingGroup("G", plan="together")]))
    assert result.proposals() == {"A": "FAR", "B": "FAR"}
    assert all(a.parts.siblings_together for a in result.assignments)
    assert result.groups_split == 0


def test_keep_together_group_stays_unmatched_rather_than_split():
    children = [child("A", sibling_group="G"), child("B", sibling_group="G")]
    result = solve(problem(children, [home("H1"), home("H2")], [SiblingGroup("G", plan="together")]))
    assert result.proposals() == {"A": None, "B": None}
    funnel = {step.rule: step for step in result.unmatched[0].funnel}
    assert funnel["whole_sibling_group"].removed == 2
    assert result.unmatched[0].suitable_homes == 0


def test_separable_group_is_split_when_no_home_takes_both_and_pays_the_penalty():
    children = [child("A", sibling_group="G"), child("B", sibling_group="G")]
    result = solve(problem(children, [home("H1"), home("H2")], [SiblingGroup("G", plan="together_if_possible")]))
    assert set(result.proposals().values()) == {"H1", "H2"}
    assert result.groups_split == 1
    assert all(a.parts.points["sibling_split"] == Weights().sibling_split for a in result.assignments)


def test_separable_group_stays_together_when_a_home_can_take_both():
    children = [child("A", sibling_group="G"), child("B", sibling_group="G")]
    homes = [home("NEAR-1", 1), home("NEAR-2", 1), home("BOTH", 20, free_places=2)]
    result = solve(problem(children, homes, [SiblingGroup("G", plan="together_if_possible")]))
    assert result.proposals() == {"A": "BOTH", "B": "BOTH"}


def test_second_child_does_not_lose_their_only_suitable_home_to_the_first():
    # A (first by id) is nearest ONLY-FOR-B, but B's needs are met nowhere else.
    children = [child("A", 0), child("B", 10, needs={"communication_other"})]
    homes = [home("ONLY-FOR-B", 1, needs_met={"communication_other"}), home("OTHER", 5)]
    result = solve(problem(children, homes))
    assert result.proposals() == {"A": "OTHER", "B": "ONLY-FOR-B"}
    assert greedy(problem(children, homes)) == {"A": "ONLY-FOR-B", "B": None}
    alternative = next(a for a in result.assignments if a.child == "A").alternatives[0]
    assert (alternative.home, alternative.reason, alternative.taken_by) == ("ONLY-FOR-B", "taken", ("B",))


def test_emergency_child_gets_the_last_place_before_a_planned_one():
    children = [child("A", 0, urgency="planned"), child("B", 40, urgency="emergency")]
    result = solve(problem(children, [home("H", 0)]))
    assert result.proposals() == {"A": None, "B": "H"}


def test_block_place_preferred_when_all_else_is_equal():
    homes = [home("SPOT", 3), home("BLOCK", 3, block_places=1, free_places=1, provider="P-SPOT")]
    result = solve(problem([child("A")], homes))
    assert result.proposals() == {"A": "BLOCK"}
    parts = result.assignments[0].parts
    assert parts.block_place_used and parts.points["block_place"] == -Weights().block_place_credit


def test_capacity_is_never_exceeded_and_the_unmatched_know_homes_were_taken():
    children = [child(f"C{i}", i) for i in range(5)]
    result = solve(problem(children, [home("TWO", 0, free_places=2), home("ONE", 50)]))
    placed = list(result.proposals().values())
    assert placed.count("TWO") == 2 and placed.count("ONE") == 1 and placed.count(None) == 2
    for left_out in result.unmatched:
        assert left_out.suitable_homes == 2 and left_out.all_taken


BASE_HOME = {"placement_type": "childrens_home", "min_age": 0, "max_age": 17, "sexes": {"F", "M"},
             "needs_met": {"communication_other", "going_missing"}, "weekly_cost": 4000.0, "deprivation_of_liberty": True,
             "free_places": 1}


@pytest.mark.parametrize(("rule", "child_fields", "home_fields"), [
    ("placement_type", {}, {"placement_type": "foster_care"}),
    ("age", {"age": 9}, {"min_age": 10}),
    ("age", {"age": 17}, {"max_age": 16}),
    ("sex", {"sex": "M"}, {"sexes": {"F"}}),
    ("needs", {"needs": {"home_adaptation"}}, {}),
    ("needs", {"risk_flags": {"sexual_exploitation"}}, {}),
    ("exclusions", {"excluded_homes": {"H"}}, {}),
    ("exclusions", {"excluded_providers": {"ACME"}}, {}),
    ("cost", {"max_weekly_cost": 3999.0}, {}),
    ("deprivation_of_liberty", {"needs_deprivation_of_liberty": True}, {"deprivation_of_liberty": False}),
    ("free_places", {}, {"free_places": 0}),
])
def test_each_hard_rule_excludes_what_it_should(rule, child_fields, home_fields):
    fields = {**BASE_HOME, "provider": "ACME", **home_fields}
    suitable = solve(problem([child("A", needs={"communication_other"})], [home("H", 2, **{**BASE_HOME, "provider": "ACME"})]))
    assert suitable.proposals() == {"A": "H"}
    result = solve(problem([child("A", **{"needs": {"communication_other"}, **child_fields})], [home("H", 2, **fields)]))
    assert result.proposals() == {"A": None}
    removed = {step.rule: step.removed for step in result.unmatched[0].funnel}
    assert removed[rule] == 1
    assert sum(removed.values()) == 1


def test_funnel_counts_each_rule_in_order():
    homes = [
        home("FOSTER", placement_type="foster_care"),
        home("TOO-OLD", min_age=15),
        home("BOYS", sexes={"M"}),
        home("NO-AUTISM", needs_met=set()),
        home("DEAR", weekly_cost=9000.0),
        home("INADEQUATE", ofsted_rating="inadequate"),
        home("FULL", free_places=0),
        home("ALSO-FULL", free_places=0),
    ]
    result = solve(problem([child("A", needs={"communication_other"}, max_weekly_cost=5000.0)],
                           [h if h.id == "NO-AUTISM" else _with_autism(h) for h in homes]))
    funnel = [(s.rule, s.removed, s.remaining) for s in result.unmatched[0].funnel]
    assert funnel == [("placement_type", 1, 7), ("age", 1, 6), ("sex", 1, 5), ("needs", 1, 4),
                      ("exclusions", 0, 4), ("cost", 1, 3), ("deprivation_of_liberty", 0, 3),
                      ("inadequate", 1, 2), ("free_places", 2, 0)]
    assert result.unmatched[0].homes_considered == 8
    assert not result.unmatched[0].all_taken


def _with_autism(record):
    import dataclasses

    return dataclasses.replace(record, needs_met=record.needs_met | {"communication_other"})


def test_reported_objective_is_what_the_proposals_cost():
    children = [child("A", 0, sibling_group="G", school_location=child("x", 3).home_location),
                child("B", 1, sibling_group="G"), child("C", 2, urgency="urgent"), child("D", 3, needs={"lives_with_pets"})]
    homes = [home("H1", 0, free_places=2, block_places=1), home("H2", 4), home("H3", 9, ofsted_rating="outstanding")]
    subject = problem(children, homes, [SiblingGroup("G", plan="together_if_possible")])
    result = solve(subject)
    assert result.objective == evaluate(subject, result.proposals())
    penalties = sum(result.unmatched_penalties[u.urgency] for u in result.unmatched)
    assert result.objective == sum(a.score for a in result.assignments) + penalties


def test_alternatives_say_worse_when_they_score_worse():
    result = solve(problem([child("A")], [home("H1", 1), home("H2", 2), home("H3", 3), home("H4", 4)]))
    assignment = result.assignments[0]
    assert (assignment.home, assignment.rank) == ("H1", 1)
    assert [(a.home, a.reason) for a in assignment.alternatives] == [("H2", "worse"), ("H3", "worse"),
                                                                      ("H4", "worse")]
    assert [a.score for a in assignment.alternatives] == sorted(a.score for a in assignment.alternatives)
