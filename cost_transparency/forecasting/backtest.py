"""How well the model did on a council's own past, and the episodes it learns from.

A backtest fits on the episodes as they were known on a cut-off day (later starts unknown, later
ends still open), forecasts the next 12 months and compares each month end with what happened:
the mean absolute percentage error per category, and overall weighted by children.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from commissioning.vocabulary import PLACEMENT_TYPES
from cost_transparency.forecasting.model import (
    OTHER,
    Episode,
    Settings,
    add_months,
    clean,
    describe_method,
    fit,
    fit_variants,
    history_start,
    month_end,
    month_ends,
    point_forecast,
    read_grid,
    stock,
    weighted_mape,
)

# The platform's placement types from the 903 PLACE codes they group; every other code is "other"
# (placed with parents, placed for adoption, hospital, and so on).
PLATFORM_CATEGORIES: tuple[str, ...] = (*PLACEMENT_TYPES, OTHER)
PLATFORM_CATEGORY_OF: dict[str, str] = {code: key for key, kind in PLACEMENT_TYPES.items()
                                        for code in kind.ssda903_codes}
MONTHS = 12
MIN_HISTORY_MONTHS = 24  # before the cut-off, for a backtest to mean something


def episodes_from_903(header: Iterable[object], episodes: Iterable[object]) -> list[Episode]:
    """Episodes from the 903 reader's ``HeaderRow`` and ``EpisodeRow`` (children without a header
    row have no date of birth and are left out)."""
    births = {row.child: row.dob for row in header}  # type: ignore[attr-defined]
    return [Episode(row.child, births[row.child], row.decom, row.dec, row.place)  # type: ignore[attr-defined]
            for row in episodes if row.child in births]  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Backtest:
    cutoff: date  # the last month end the fit knew
    months: list[date]
    categories: tuple[str, ...]
    forecast: list[list[float]]  # months × categories
    actual: list[list[int]]
    mape: float | None  # overall, weighted by children
    mape_by_category: dict[str, float | None]
    method: str


def default_cutoff(episodes: Sequence[Episode], months: int = MONTHS) -> date | None:
    """The month end ``months`` before the last month end the history covers."""
    if not episodes:
        return None
    last = max(max(e.start for e in episodes), max((e.end for e in episodes if e.end), default=date.min))
    last_end = month_end(last) if last == month_end(last) else month_end(add_months(last, -1))
    return month_end(add_months(last_end, -months))


def run(episodes: Sequence[Episode], cutoff: date | None = None, categories: Sequence[str] = PLATFORM_CATEGORIES,
        category_of: Mapping[str, str] | None = None, months: int = MONTHS,
        settings: Settings | None = None) -> Backtest | None:
    """The backtest at ``cutoff`` (by default 12 months before the history ends), or None where
    there are fewer than two years of history before it."""
    category_of = PLATFORM_CATEGORY_OF if category_of is None else category_of
    episodes = clean(episodes)
    cutoff = cutoff or default_cutoff(episodes, months)
    first = history_start(episodes)
    if cutoff is None or first is None or _months_between(first, cutoff) < MIN_HISTORY_MONTHS:
        return None
    fitted = ([fit(episodes, categories, category_of, cutoff, settings, first)] if settings
              else fit_variants(episodes, categories, category_of, cutoff, first))
    predicted = point_forecast(fitted, months)
    dates = month_ends(add_months(cutoff, 1), month_end(add_months(cutoff, months)))
    actual = stock(read_grid(episodes, dates, tuple(categories), category_of), len(categories))
    overall, per = weighted_mape(predicted, actual)
    return Backtest(fitted[0].start, dates, tuple(categories), predicted.round(3).tolist(), actual.tolist(), overall,
                    dict(zip(categories, per, strict=True)),
                    settings.describe() if settings else describe_method())


def _months_between(first: date, last: date) -> int:
    return (last.year * 12 + last.month) - (first.year * 12 + first.month)
