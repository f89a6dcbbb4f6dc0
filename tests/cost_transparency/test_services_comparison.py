"""Comparison: one observation per placement per period; a council sees the region only as aggregates."""

from datetime import date, timedelta

import pytest

from cost_transparency.services import comparison
from rcc.errors import FieldError
from tests.cost_transparency.conftest import TODAY, add_cost, add_home, add_placement, add_provider


def test_a_placement_counts_once_with_its_latest_cost_in_the_period(session, region):
    home = add_home(session, region, add_provider(session, region, "Acme"))
    placement = add_placement(session, region, region.councils[0], home, 5000, start=TODAY - timedelta(days=200))
    add_cost(session, placement, 5000, end=TODAY - timedelta(days=50))
    add_cost(session, placement, 5300, start=TODAY - timedelta(days=49))
    found = comparison.observations(session, TODAY - timedelta(days=364), TODAY)
    assert [o.gross_weekly for o in found] == [530_000]
    earlier = comparison.observations(session, TODAY - timedelta(days=364), TODAY - timedelta(days=60))
    assert [o.gross_weekly for o in earlier] == [500_000]


def test_ended_placements_drop_out_of_later_periods(session, region):
    home = add_home(session, region, add_provider(session, region, "Acme"))
    placement = add_placement(session, region, region.councils[0], home, 5000, start=TODAY - timedelta(days=200),
                              end=TODAY - timedelta(days=100))
    add_cost(session, placement)
    assert comparison.observations(session, TODAY - timedelta(days=50), TODAY) == []


def test_a_council_sees_the_region_only_where_the_other_councils_pass_the_rule(session, region, costed):
    coventry, warwickshire = region.councils
    window = comparison.council_windows(TODAY)[0]
    start, end = window.start, window.end
    for_coventry = comparison.region_figures_for_council(session, coventry, start, end, lambda o: o.placement_type)
    # the other council (Warwickshire) has 5 placements from 2 providers: shown
    assert for_coventry["childrens_home"].count == 12 and for_coventry["childrens_home"].median == 615_000
    for_warwickshire = comparison.region_figures_for_council(session, warwickshire, start, end,
                                                             lambda o: o.placement_type)
    assert for_warwickshire["childrens_home"].median is not None  # Coventry's 7 from 2 providers


def test_the_regions_cost_is_hidden_when_the_others_are_too_few(session, region):
    home = add_home(session, region, add_provider(session, region, "Acme"))
    other = add_home(session, region, add_provider(session, region, "Other"))
    coventry, warwickshire = region.councils
    for pounds in (5000, 5200, 5400, 5600, 5800, 6000):
        add_cost(session, add_placement(session, region, coventry, home, pounds))
    add_cost(session, add_placement(session, region, warwickshire, other, 9000))
    window = comparison.council_windows(TODAY)[0]
    figure = comparison.region_figures_for_council(session, coventry, window.start, window.end,
                                                   lambda o: o.placement_type)["childrens_home"]
    # Coventry could subtract its own six costs and read Warwickshire's one placement
    assert figure.median is None and figure.mean is None and figure.count is None


def test_a_council_cannot_move_the_regions_window_by_a_day(session, region, costed):
    # With free dates, a window one day shorter than another can drop exactly one placement, and
    # the two medians or means then give away its cost. A council gets whole months and quarters.
    coventry = region.councils[0]
    window = comparison.council_windows(TODAY)[0]
    for start, end in ((window.start, window.end - timedelta(days=1)), (window.start + timedelta(days=1), window.end),
                       (TODAY - timedelta(days=364), TODAY)):
        with pytest.raises(FieldError) as refused:
            comparison.region_figures_for_council(session, coventry, start, end, lambda o: o.placement_type)
        assert refused.value.field == "period" and "whole months and quarters" in refused.value.message
    windows = comparison.council_windows(date(2026, 5, 14))
    assert [w.key for w in windows[:3]] == ["year-2026-Q1", "2026-Q1", "2025-Q4"]
    assert (windows[0].start, windows[0].end) == (date(2025, 4, 1), date(2026, 3, 31))
    assert [w.key for w in windows if "Q" not in w.key][:2] == ["2026-04", "2026-03"]
    assert all(comparison.is_fixed_window(w.start, w.end) for w in windows)
    assert not comparison.is_fixed_window(date(2026, 2, 1), date(2026, 4, 30))  # not a calendar quarter


def test_quarters(session):
    quarter = comparison.Quarter(2026, 1)
    assert (quarter.start.isoformat(), quarter.end.isoformat()) == ("2026-01-01", "2026-03-31")
    assert comparison.Quarter(2026, 4).end.isoformat() == "2026-12-31"
    assert [q.key for q in comparison.last_quarters(quarter.start, 3)] == ["2025-Q3", "2025-Q4", "2026-Q1"]
