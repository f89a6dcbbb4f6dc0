"""Statistics against examples worked by hand (inclusive quartiles, as Excel's QUARTILE.INC)."""

from fractions import Fraction

import pytest

from cost_transparency.services import statistics


def test_median_of_an_odd_count_is_the_middle_value():
    assert statistics.median([700, 100, 300]) == 300


def test_median_of_an_even_count_is_the_mean_of_the_middle_two_rounded_half_up():
    # middle values 300 and 401: (300 + 401) / 2 = 350.5 -> 351
    assert statistics.median([100, 300, 401, 900]) == 351


def test_quartiles_by_the_inclusive_method():
    # n = 8, positions (n-1)p: Q1 at 1.75 -> 20 + 0.75*(30-20) = 27.5 -> 28
    #                          Q2 at 3.5  -> 40 + 0.5*(50-40)  = 45
    #                          Q3 at 5.25 -> 60 + 0.25*(70-60) = 62.5 -> 63
    assert statistics.quartiles([80, 10, 20, 30, 40, 50, 60, 70]) == (28, 45, 63)


def test_quartiles_of_five_weekly_costs_in_pence():
    costs = [520_000, 610_800, 580_000, 1_450_000, 600_000]
    # sorted 520000 580000 600000 610800 1450000: Q1 at 1 -> 580000, Q3 at 3 -> 610800
    assert statistics.quartiles(costs) == (580_000, 600_000, 610_800)


def test_a_single_value_is_every_quartile():
    assert statistics.quartiles([5_000]) == (5_000, 5_000, 5_000)


def test_outliers_lie_beyond_one_and_a_half_interquartile_ranges():
    costs = [520_000, 610_800, 580_000, 1_450_000, 600_000]
    # IQR = 610800 - 580000 = 30800; upper fence 610800 + 46200 = 657000; lower 580000 - 46200 = 533800
    fences = statistics.outlier_fences(costs)
    assert (fences.lower, fences.upper) == (533_800, 657_000)
    assert statistics.outliers(costs) == [520_000, 1_450_000]


def test_summary_counts_outliers_and_gives_the_spread():
    summary = statistics.summarise([80, 10, 20, 30, 40, 50, 60, 70])
    assert summary.count == 8
    assert summary.mean == 45
    assert summary.interquartile_range == 63 - 28
    assert summary.outliers == 0


def test_no_values_is_an_error_not_a_zero():
    with pytest.raises(ValueError):
        statistics.median([])


def test_quantile_exact_is_a_fraction():
    assert statistics.quantile_exact([1, 2], Fraction(1, 2)) == Fraction(3, 2)


def test_herfindahl_hirschman_index_of_shares():
    # shares 50%, 30%, 20% -> 2500 + 900 + 400 = 3800
    assert statistics.herfindahl_hirschman({"a": 500, "b": 300, "c": 200}) == 3800
    assert statistics.herfindahl_hirschman({"only": 7}) == 10_000
    assert statistics.concentration_band(3800) == "Highly concentrated"
    assert statistics.concentration_band(1500) == "Concentrated"
    assert statistics.concentration_band(999) == "Unconcentrated"
