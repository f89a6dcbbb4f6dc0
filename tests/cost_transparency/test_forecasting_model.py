"""The demand model: it finds known rates again, backtests honestly and tells councils apart."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from cost_transparency.forecasting import backtest, model, synthetic

CATEGORIES = ("foster_care", "childrens_home", "supported_accommodation", model.OTHER)


@pytest.fixture(scope="module")
def growing() -> tuple[synthetic.Council, list[model.Episode]]:
    council = synthetic.standard("growing", 41, 14.0, 0.01, years=6)
    return council, synthetic.simulate(council)


def test_known_rates_fall_within_their_intervals(growing: tuple[synthetic.Council, list[model.Episode]]) -> None:
    council, episodes = growing
    settings = model.Settings(half_life_months=None, window_months=60, trend=True)
    fitted = model.fit(episodes, CATEGORIES, backtest.PLATFORM_CATEGORY_OF, date(2021, 3, 31), settings)
    checked = missed = 0
    for band in range(len(model.AGE_BANDS)):
        for c, category in enumerate(CATEGORIES):
            if fitted.observed[band, c] < 200:
                continue
            for outcome in ("left", *CATEGORIES):
                o = len(CATEGORIES) if outcome == "left" else CATEGORIES.index(outcome)
                truth = council.transitions[band, c, o]
                if outcome == category or truth == 0:
                    continue
                _estimate, low, high = fitted.probability_interval(band, category, outcome)
                checked += 1
                missed += not low <= truth <= high
    assert checked >= 10
    assert missed <= max(1, checked // 10)  # 95% intervals: about one in twenty may miss
    trend, low, high = fitted.trend_interval()
    assert low <= council.entry_trend <= high
    assert trend > 0
    # entrants in March 2021, the 71st month after April 2015: 14 × e^(0.01 × 70)
    _level, low, high = fitted.entry_interval()
    assert low <= council.entries_per_month * np.exp(council.entry_trend * 70) <= high


def test_a_wrong_rate_is_outside_the_interval(growing: tuple[synthetic.Council, list[model.Episode]]) -> None:
    """The intervals are not so wide that anything fits: double the true exit rate is rejected."""
    council, episodes = growing
    fitted = model.fit(episodes, CATEGORIES, backtest.PLATFORM_CATEGORY_OF, date(2021, 3, 31),
                       model.Settings(half_life_months=None, window_months=60))
    _e, low, high = fitted.probability_interval(4, "foster_care", "left")
    assert not low <= 2 * council.transitions[4, 0, len(CATEGORIES)] <= high


def test_backtest_on_a_generated_council_is_close(growing: tuple[synthetic.Council, list[model.Episode]]) -> None:
    _council, episodes = growing
    result = backtest.run(episodes)
    assert result is not None
    assert len(result.months) == 12 and result.mape is not None
    assert result.mape < 0.05
    # the actual counts are the truth, not the forecast
    assert result.actual != [[round(v) for v in row] for row in result.forecast]


def test_projection_interval_contains_the_mean_and_widens() -> None:
    episodes = synthetic.simulate(synthetic.standard("steady", 5, 12.0, 0.0, years=4))
    fitted = model.fit_variants(episodes, backtest.PLATFORM_CATEGORIES, backtest.PLATFORM_CATEGORY_OF,
                                date(2019, 3, 31))
    projection = model.project(fitted, 36)
    foster = projection.by_category()["foster_care"]
    assert all(cell.low <= cell.expected <= cell.high for cell in foster)
    assert foster[-1].high - foster[-1].low > foster[0].high - foster[0].low
    # by band adds up to by category
    bands = projection.by_category_band()
    total = sum(bands[("foster_care", label)][11].expected for *_x, label in model.AGE_BANDS)
    assert total == pytest.approx(foster[11].expected)
    # ageing: the under-ones with no entrants would all be gone within 12 months
    assert np.all(projection.mean >= 0)


def test_two_councils_with_different_histories_get_different_forecasts() -> None:
    small = synthetic.simulate(synthetic.standard("small", 7, 6.0, -0.01, years=4))
    large = synthetic.simulate(synthetic.standard("large", 8, 18.0, 0.015, years=4, residential_share=0.25))
    on = date(2019, 3, 31)
    forecasts = [model.project(model.fit_variants(e, backtest.PLATFORM_CATEGORIES, backtest.PLATFORM_CATEGORY_OF, on), 12)
                 for e in (small, large)]
    a, b = (f.by_category()["childrens_home"][-1].expected for f in forecasts)
    assert abs(a - b) > 5


def test_too_short_a_history_has_no_backtest() -> None:
    episodes = synthetic.simulate(synthetic.standard("new", 9, 10.0, 0.0, years=2))
    assert backtest.run(episodes) is None


def test_a_later_fact_cannot_change_a_fit() -> None:
    episodes = synthetic.simulate(synthetic.standard("t", 10, 10.0, 0.0, years=4))
    on = date(2018, 3, 31)
    later = [*episodes, model.Episode("late", date(2010, 1, 1), date(2018, 6, 1), None, "K2")]
    first = model.fit(episodes, CATEGORIES, backtest.PLATFORM_CATEGORY_OF, on)
    second = model.fit(later, CATEGORIES, backtest.PLATFORM_CATEGORY_OF, on)
    assert np.array_equal(first.start_population, second.start_population)
    assert np.allclose(first.alpha, second.alpha)
