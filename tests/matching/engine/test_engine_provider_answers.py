"""A provider's answer to a referral pack, as the engine takes it: "cannot" removes the home for that
child (its own funnel step); an offered price replaces the home's price for that child only."""

from __future__ import annotations

from matching.engine import evaluate, problem_from_json, problem_to_json, solve
from tests.matching.engine.engine_builders import child, home, problem


def test_a_home_whose_provider_said_cannot_is_ruled_out_in_its_own_funnel_step():
    result = solve(problem([child("A", declined_homes={"H"})], [home("H")]))
    assert result.proposals() == {"A": None}
    steps = [(s.rule, s.removed, s.remaining) for s in result.unmatched[0].funnel]
    assert ("provider_cannot", 1, 0) in steps
    assert [s[0] for s in steps].index("provider_cannot") == [s[0] for s in steps].index("exclusions") + 1


def test_cannot_applies_only_to_the_child_it_was_said_for():
    result = solve(problem([child("A", declined_homes={"H"}), child("B", 1)], [home("H", free_places=2)]))
    assert result.proposals() == {"A": None, "B": "H"}


def test_no_provider_cannot_step_for_a_child_nobody_answered_about():
    result = solve(problem([child("A", max_weekly_cost=1.0)], [home("H")]))
    assert "provider_cannot" not in [s.rule for s in result.unmatched[0].funnel]


def test_an_offered_price_is_the_price_the_engine_scores_and_reports():
    # NEAR lists £4,000 and FAR £4,000; NEAR's provider offers £9,000 for A: 500 more cost points
    # than the 20 miles (200 points) FAR is further away, so FAR wins on the offered price.
    homes = [home("NEAR", 0), home("FAR", 20)]
    assert solve(problem([child("A")], homes)).proposals() == {"A": "NEAR"}
    result = solve(problem([child("A", offered_prices={"NEAR": 9000.0})], homes))
    assert result.proposals() == {"A": "FAR"}
    cheaper = solve(problem([child("A", offered_prices={"FAR": 1000.0})], homes))
    assert cheaper.proposals() == {"A": "FAR"}
    parts = cheaper.assignments[0].parts
    assert parts.weekly_cost == 1000.0 and parts.points["cost"] == 100
    assert evaluate(problem([child("A", offered_prices={"FAR": 1000.0})], homes), cheaper.proposals()) \
        == cheaper.objective


def test_an_offered_price_above_the_childs_maximum_rules_the_home_out():
    result = solve(problem([child("A", max_weekly_cost=5000.0, offered_prices={"H": 6000.0})], [home("H")]))
    assert result.proposals() == {"A": None}
    assert {s.rule: s.removed for s in result.unmatched[0].funnel}["cost"] == 1


def test_answers_survive_the_json_round_trip():
    original = problem([child("A", declined_homes={"H"}, offered_prices={"G": 3500.0})], [home("H"), home("G")])
    again = problem_from_json(problem_to_json(original))
    assert again.children[0].declined_homes == frozenset({"H"})
    assert again.children[0].offered_prices == frozenset({("G", 3500.0)})
