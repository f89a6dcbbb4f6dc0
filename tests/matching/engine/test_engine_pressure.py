"""Capacity pressure by re-solving with one more place: figures checked by an independent re-solve."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings

from matching.engine import Problem, extra_place_pressure, solve
from rcc.geography import great_circle_miles
from tests.matching.engine.engine_builders import child, home, problem
from tests.matching.engine.test_engine_properties import instances


def _independent(problem_: Problem, result, extra):
    """Re-solve by hand with the home's free places + 1 and recount."""
    homes = tuple(dataclasses.replace(h, free_places=h.free_places + 1) if h.id == extra.home else h
                  for h in problem_.homes)
    again = solve(dataclasses.replace(problem_, homes=homes)).proposals()
    before = result.proposals()
    by_id = {h.id: h for h in problem_.homes}
    both = [c for c in problem_.children if before[c.id] and again[c.id]]
    miles = sum(great_circle_miles(c.home_location, by_id[again[c.id]].location)
                - great_circle_miles(c.home_location, by_id[before[c.id]].location) for c in both)
    pounds = sum(by_id[again[c.id]].weekly_cost - by_id[before[c.id]].weekly_cost for c in both)
    placed = sum(h is not None for h in again.values()) - sum(h is not None for h in before.values())
    newly = tuple(sorted(c for c in again if again[c] and not before[c]))
    return placed, round(miles, 1), pounds, newly


def test_one_more_place_where_children_queue_places_them_and_is_ranked_first():
    children = [child("A", 0), child("B", 1), child("C", 2, placement_types={"foster_care"}),
                child("D", 3, placement_types={"foster_care"}), child("E", 4, placement_types={"foster_care"})]
    homes = [home("CH-1", 1, area="Coventry"), home("CH-FAR", 80, area="Far", free_places=0),
             home("FC-1", 2, placement_type="foster_care", area="Coventry"),
             home("FC-2", 60, placement_type="foster_care", area="Far")]
    subject = problem(children, homes)
    result = solve(subject)
    assert result.placed == 3
    report = extra_place_pressure(subject, result)
    assert [(e.placement_type, e.area, e.home) for e in report] == [
        ("childrens_home", "Coventry", "CH-1"), ("foster_care", "Coventry", "FC-1")]
    for extra in report:
        placed, miles, pounds, newly = _independent(subject, result, extra)
        assert (extra.children_placed_change, extra.newly_placed) == (placed, newly) == (1, newly)
        assert abs(extra.miles_change - miles) <= 0.11 and abs(extra.weekly_cost_change - pounds) < 0.01
        assert extra.optimal and extra.unmatched_demand == 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_children=6, max_homes=4))
def test_pressure_figures_equal_an_independent_re_solve(problem_):
    result = solve(problem_)
    report = extra_place_pressure(problem_, result)
    assert len(report) <= 5
    for extra in report:
        placed, miles, pounds, newly = _independent(problem_, result, extra)
        assert extra.children_placed_change == placed and extra.newly_placed == newly
        assert abs(extra.miles_change - miles) <= 0.11 and abs(extra.weekly_cost_change - pounds) < 0.01
        assert placed >= 0  # one more place can never place fewer children
    ranking = [-e.children_placed_change for e in report]
    assert ranking == sorted(ranking)  # most children placed first
