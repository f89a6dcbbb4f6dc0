"""The exactness machinery on small instances: the Lagrangian bound, the cover cuts and the
reduced-cost integer rounds, each checked against brute force or the unpruned model."""

from __future__ import annotations

import dataclasses
import time
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from matching.engine import SiblingGroup, SolveOptions, evaluate, optimiser, solve
from matching.engine.candidates import HomeGrid
from matching.engine.prepared import PreparedProblem
from tests.matching.engine.engine_builders import child, home, problem
from tests.matching.engine.test_engine_properties import (
    PROPERTY_SETTINGS,
    every_feasible_placement,
    instances,
)

WEAKENING = 2000  # points taken off the bound: still a valid bound, but the rounds must widen


def _weaker_bound(model, duals):
    bound, reduced = _true_bound(model, duals)
    return bound - WEAKENING, reduced


_true_bound = optimiser._lagrangian_bound


def _without_cuts_and_with_narrow_first_round():
    """Forces the integer rounds: no cuts, an integral relaxation not taken as the answer, one
    pair per option in round 1, and a weaker (still valid) bound, so that later rounds must
    widen — kept pairs by reduced cost, pruned lists by their threshold."""
    return mock.patch.multiple(optimiser, MAX_CUT_ROUNDS=0, FIRST_ROUND_PAIRS=1, USE_INTEGRAL_RELAXATION=False,
                               _lagrangian_bound=_weaker_bound)


def _model_pairs(prepared: PreparedProblem, options, proposals) -> set[tuple[int, int]]:
    """The (option, home) pairs a placement uses, as the model would represent it."""
    home_of = {prepared.child_index[c]: (None if h is None else prepared.home_index[h]) for c, h in proposals.items()}
    together = {option.entity.id: o for o, option in enumerate(options) if len(option.rows) > 1}
    used = set()
    for o, option in enumerate(options[:len(prepared.entities)]):
        members = option.entity.members
        home_index = home_of[members[0]]
        if home_index is None:
            continue
        group = prepared.children[members[0]].sibling_group
        if option.split_cost and group in together:
            whole = prepared.group_members[group]
            if len({home_of[m] for m in whole}) == 1:
                used.add((together[group], home_index))
                continue
        used.add((o, home_index))
    return used


def _relaxation(problem, keep: int):
    prepared = PreparedProblem(problem)
    grid = HomeGrid(prepared)
    options = optimiser.placement_options(prepared)
    lists = [grid.candidates(option.entity, keep) for option in options]
    cuts: list[optimiser.Cut] = []
    relaxation = optimiser._relax(prepared, grid, options, lists, "highs", time.perf_counter() + 30,
                                  optimiser.SolveStats(), cuts)
    return prepared, options, relaxation, cuts


@PROPERTY_SETTINGS
@given(instances(max_children=6, max_homes=5), st.integers(1, 3))
def test_lagrangian_bound_and_cover_cuts_hold_for_every_feasible_placement(problem, keep):
    prepared, options, relaxation, cuts = _relaxation(problem, keep)
    placements = list(every_feasible_placement(problem))
    best = min(evaluate(problem, p) for p in placements)
    # L bounds the *unpruned* model although the relaxation saw only `keep` homes per option.
    assert relaxation.bound <= best + 1e-6
    for proposals in placements:
        used = _model_pairs(prepared, options, proposals)
        for cut in cuts:
            assert sum(key in used for key in cut.keys) <= cut.rhs


@PROPERTY_SETTINGS
@given(instances(max_children=7, max_homes=6))
def test_integer_rounds_without_cuts_find_the_brute_force_optimum(problem):
    with _without_cuts_and_with_narrow_first_round():
        result = solve(dataclasses.replace(problem, options=SolveOptions(candidates_per_child=1)))
    best = min(evaluate(problem, p) for p in every_feasible_placement(problem))
    assert result.status == "optimal" and result.pruning_exact
    assert result.objective == best == evaluate(problem, result.proposals())


def _fractional_without_cuts():
    """Two singles and a two-sibling group want the near home with three places. Half the
    group there (the other half 9 miles off) beats every whole placement, whose extra child
    must go 20 miles; only the cover cut (group + both singles cannot fit) rules it out."""
    siblings = {"sibling_group": "G", "placement_types": {"childrens_home", "foster_care"}}
    children = [child("A", 0, **siblings), child("B", 0, **siblings), child("C", 0), child("D", 0)]
    homes = [home("NEAR", 0, free_places=3, max_sibling_group=2),
             home("GROUP-ALT", 9, free_places=2, max_sibling_group=2, placement_type="foster_care"),
             home("ALT-1", 20), home("ALT-2", 20)]
    return problem(children, homes, [SiblingGroup("G", plan="together")])


def test_fractional_relaxation_goes_through_the_integer_rounds_and_stays_optimal():
    subject = _fractional_without_cuts()
    best = min(evaluate(subject, p) for p in every_feasible_placement(subject))
    with _without_cuts_and_with_narrow_first_round():
        _, _, relaxation, _ = _relaxation(subject, 1)
        forced = solve(subject)
    assert optimiser._integral_relaxation(relaxation) is None  # the relaxation alone would not do
    assert forced.seconds.solve > 0  # an integer round ran
    default = solve(subject)
    assert forced.status == default.status == "optimal"
    assert forced.objective == default.objective == best
    assert forced.proposals() == default.proposals()


def test_cover_cuts_close_the_gap_on_the_fractional_example():
    _, _, relaxation, cuts = _relaxation(_fractional_without_cuts(), 1)
    assert cuts  # the pair (group of two, C) cannot share the two places
    assert optimiser._integral_relaxation(relaxation) is not None


def test_a_weaker_bound_makes_round_two_widen_pruned_lists_and_stay_exact():
    subject = problem([child("A", 0), child("B", 3)], [home(f"H{i:02d}", i) for i in range(1, 21)],
                      candidates_per_child=1)
    with _without_cuts_and_with_narrow_first_round():
        forced = solve(subject)
    default = solve(subject)
    assert forced.model.pruning_rounds == 2
    assert forced.status == default.status == "optimal" and forced.pruning_exact
    assert forced.proposals() == default.proposals() == {"A": "H01", "B": "H03"}
    assert max(a.candidates for a in forced.assignments) > 1  # the lists were widened


def test_cbc_fallback_runs_the_same_cuts_and_rounds():
    subject = dataclasses.replace(_fractional_without_cuts(), options=SolveOptions(solver="cbc"))
    result = solve(subject)
    with _without_cuts_and_with_narrow_first_round():
        forced = solve(subject)
    assert result.solver == forced.solver == "cbc"
    assert result.status == forced.status == "optimal"
    assert result.proposals() == forced.proposals() == {"A": "GROUP-ALT", "B": "GROUP-ALT", "C": "NEAR", "D": "NEAR"}
