"""Sibling plans, placement-type preference, in-house bonus and the Inadequate rule: hand-made cases."""

from __future__ import annotations

import pytest

from matching.engine import ProblemError, SiblingGroup, Weights, greedy, hard_rules_broken, solve
from tests.matching.engine.engine_builders import child, home, problem


def test_apart_group_is_never_put_in_one_home_even_where_that_scores_best():
    children = [child("A", sibling_group="G"), child("B", sibling_group="G")]
    homes = [home("BOTH", 0, free_places=2, max_sibling_group=2), home("FAR", 40)]
    subject = problem(children, homes, [SiblingGroup("G", plan="apart")])
    result = solve(subject)
    assert set(result.proposals().values()) == {"BOTH", "FAR"}
    assert all(a.parts.points["sibling_split"] == 0 for a in result.assignments)  # apart pays no split
    assert result.groups_split == 0
    assert hard_rules_broken(subject, result.proposals()) == []
    # The same group with the old meaning (together if possible) shares the near home.
    soft = solve(problem(children, homes, [SiblingGroup("G", plan="together_if_possible")]))
    assert soft.proposals() == {"A": "BOTH", "B": "BOTH"}


def test_apart_group_leaves_a_child_unplaced_rather_than_share_the_only_home():
    children = [child("A", sibling_group="G"), child("B", sibling_group="G")]
    subject = problem(children, [home("ONLY", free_places=2, max_sibling_group=3)], [SiblingGroup("G", plan="apart")])
    result = solve(subject)
    assert sorted(h for h in result.proposals().values() if h) == ["ONLY"] and result.placed == 1
    assert hard_rules_broken(subject, {"A": "ONLY", "B": "ONLY"}) == ["G: plan is apart but two of them share a home"]


def test_greedy_honours_apart_whether_or_not_it_keeps_groups_together():
    children = [child("A", sibling_group="G"), child("B", sibling_group="G")]
    subject = problem(children, [home("NEAR", free_places=2, max_sibling_group=2), home("FAR", 30)],
                      [SiblingGroup("G", plan="apart")])
    for honour in (False, True):
        placed = greedy(subject, honour_keep_together=honour)
        assert sorted(placed.values()) == ["FAR", "NEAR"]


def test_together_group_is_whole_or_absent():
    children = [child("A", sibling_group="G"), child("B", sibling_group="G"), child("C", sibling_group="G")]
    subject = problem(children, [home("TWO", free_places=2, max_sibling_group=3), home("ONE")],
                      [SiblingGroup("G", plan="together")])
    assert solve(subject).proposals() == {"A": None, "B": None, "C": None}
    assert hard_rules_broken(subject, {"A": "TWO", "B": "TWO", "C": None}) == [
        "G: plan is together but the group is split"]


def test_a_preferred_type_wins_over_a_nearer_home_of_an_acceptable_type():
    preferring = child("A", placement_types={"childrens_home", "foster_care"}, preferred_placement_types={"foster_care"})
    homes = [home("RESIDENTIAL", 1), home("FOSTER", 20, placement_type="foster_care")]
    result = solve(problem([preferring], homes))
    assert result.proposals() == {"A": "FOSTER"}
    assert result.assignments[0].parts.points["not_preferred_type"] == 0
    alternative = result.assignments[0].alternatives[0]
    assert (alternative.home, alternative.parts.points["not_preferred_type"]) == ("RESIDENTIAL", 500)
    # With no preference the nearer home wins; with a small weight too.
    assert solve(problem([child("A", placement_types={"childrens_home", "foster_care"})], homes)).proposals() == {
        "A": "RESIDENTIAL"}
    cheap = Weights(not_preferred_type=10)
    assert solve(problem([preferring], homes, weights=cheap)).proposals() == {"A": "RESIDENTIAL"}


def test_preferred_types_must_be_among_the_acceptable_ones():
    with pytest.raises(ProblemError) as error:
        solve(problem([child("A", preferred_placement_types={"foster_care"})], [home("H")]))
    assert error.value.field == "preferred_placement_types"


def test_in_house_bonus_draws_a_child_to_their_own_councils_household():
    homes = [home("AGENCY", 2, placement_type="foster_care"),
             home("IN-HOUSE", 30, placement_type="foster_care", council="LA-1")]
    placed = child("A", placement_types={"foster_care"}, council="LA-1", in_house_bonus=400)
    result = solve(problem([placed], homes))
    assert result.proposals() == {"A": "IN-HOUSE"}
    assert result.assignments[0].parts.points["in_house"] == -400 and result.assignments[0].parts.in_house
    # Another council's child, or no bonus, takes the nearer household.
    assert solve(problem([child("A", placement_types={"foster_care"}, council="LA-2", in_house_bonus=400)],
                         homes)).proposals() == {"A": "AGENCY"}
    assert solve(problem([child("A", placement_types={"foster_care"}, council="LA-1")],
                         homes)).proposals() == {"A": "AGENCY"}


def test_in_house_bonus_pruning_stays_exact_with_one_candidate():
    homes = [home(f"NEAR-{i}", i, placement_type="foster_care") for i in range(1, 6)]
    homes.append(home("IN-HOUSE", 60, placement_type="foster_care", council="LA-1"))
    placed = child("A", placement_types={"foster_care"}, council="LA-1", in_house_bonus=5000)
    result = solve(problem([placed], homes, candidates_per_child=1))
    assert result.proposals() == {"A": "IN-HOUSE"} and result.pruning_exact


def test_an_inadequate_home_is_excluded_unless_the_rcc_allowed_it():
    homes = [home("INADEQUATE", 1, ofsted_rating="inadequate"), home("GOOD", 40)]
    assert solve(problem([child("A")], homes)).proposals() == {"A": "GOOD"}
    only = solve(problem([child("A")], homes[:1]))
    assert only.proposals() == {"A": None}
    assert [(s.rule, s.removed) for s in only.unmatched[0].funnel if s.removed] == [("inadequate", 1)]
    allowed = [home("INADEQUATE", 1, ofsted_rating="inadequate", allow_inadequate=True)]
    assert solve(problem([child("A")], allowed)).proposals() == {"A": "INADEQUATE"}

