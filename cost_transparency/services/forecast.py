"""Demand forecast per council (and the region as the sum of its councils), from SSDA903 history.

Each council's looked-after children and episodes (imported from its SSDA903 return) are fitted by
``cost_transparency.forecasting`` and projected month by month per placement type and age band
with a 95% interval; the same method's 12-month backtest on the council's own past is shown beside
it. The region adds its councils' forecasts (means and variances: councils' children move
independently). Gaps are "places needed": the forecast children of a type less the local supply
(registered places in homes in the council's area and block-contract places there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from math import sqrt

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import CareEpisode, LookedAfterChild
from commissioning.vocabulary import PLACEMENT_TYPES
from cost_transparency.forecasting import backtest, model
from rcc.models import Organisation, OrgKind

Z_95 = model.Z_95
MIN_CHILD_MONTHS = 24  # a type with fewer child-months in the fitted window has too little history
OTHER_LABEL = "Other (placed with parents, for adoption, and other)"
METHOD_TEXT = [
    "The forecast uses each council's own SSDA903 return: every child's placement (by its PLACE code) "
    "and age on the last day of each month of up to three years of history.",
    "From month to month it counts, per age band and placement type, how many children stayed, moved to "
    "another type or left care; children age by a month each month and leave care at 18. Recent months "
    "count more, and a band with few children borrows from the type's rates at all ages.",
    "New entrants are counted per year of age and type, at their recent level or following a damped trend.",
    f"The forecast is {model.describe_method()}.",
    "The 95% range combines the chance in which children move or leave, the uncertainty in the rates and "
    "the spread between the variants. The region's forecast is the sum of its councils'.",
    "The check: the same method fitted on the history up to 12 months before the latest month, forecasting "
    "the 12 months that followed, compared with what happened (mean absolute percentage error).",
]


@dataclass(frozen=True)
class ForecastPoint:
    month: date  # the month end
    expected: float
    low: float
    high: float


@dataclass
class TypeForecast:
    placement_type: str
    label: str
    history: list[tuple[date, int]]  # children of this type at each month end of the fitted history
    points: list[ForecastPoint] = field(default_factory=list)
    by_band: list[tuple[str, ForecastPoint]] = field(default_factory=list)  # at the horizon's end
    reason: str | None = None  # why there is no forecast
    backtest_mape: float | None = None

    @property
    def has_forecast(self) -> bool:
        return bool(self.points)


@dataclass
class AreaForecast:
    """One council's forecast, or the region's (``council`` None)."""

    council: Organisation | None
    start: date | None
    horizon: int
    types: list[TypeForecast]
    total: list[ForecastPoint]
    backtest_mape: float | None
    backtest_cutoff: date | None
    councils_with_history: list[str]
    councils_without_history: list[str]
    reason: str | None = None
    # per council name: per type: (means, variances) per month, for gaps by area
    parts: dict[str, dict[str, tuple[list[float], list[float]]]] = field(default_factory=dict, repr=False)

    @property
    def milestones(self) -> list[int]:
        """Indices of every twelfth month of the forecast, and its last."""
        return _every(len(self.total), 12)

    @property
    def half_years(self) -> list[int]:
        """Indices of the first month, every sixth, and the last."""
        return sorted({0, *_every(len(self.total), 6)}) if self.total else []

    @property
    def children_now(self) -> int:
        return int(sum(t.history[-1][1] for t in self.types if t.history))


def _every(length: int, step: int) -> list[int]:
    return sorted({*range(step - 1, length, step), length - 1}) if length else []


def label_of(kind: str) -> str:
    return OTHER_LABEL if kind == model.OTHER else PLACEMENT_TYPES[kind].label


def council_episodes(session: Session, council_id: int) -> list[model.Episode]:
    """The council's 903 episodes as the model reads them (birthday: the first of the birth month)."""
    births = {ref: date(year, month, 1) for ref, year, month in session.execute(
        select(LookedAfterChild.child_ref, LookedAfterChild.birth_year, LookedAfterChild.birth_month)
        .where(LookedAfterChild.council_id == council_id))}
    rows = session.execute(select(CareEpisode.child_ref, CareEpisode.start, CareEpisode.end, CareEpisode.place)
                           .where(CareEpisode.council_id == council_id))
    return [model.Episode(ref, births[ref], start, end, place) for ref, start, end, place in rows if ref in births]


@dataclass
class _CouncilResult:
    projection: model.Projection
    fits: list[model.Fit]
    backtest: backtest.Backtest | None


_CACHE: dict[tuple, _CouncilResult | None] = {}
_CACHE_SIZE = 64


def _council_result(session: Session, council_id: int, horizon: int, on: date) -> _CouncilResult | None:
    """The council's fit, projection and backtest (kept while its 903 rows are unchanged)."""
    count, last_id, last_year = session.execute(
        select(func.count(CareEpisode.id), func.max(CareEpisode.id), func.max(CareEpisode.source_year))
        .where(CareEpisode.council_id == council_id)).one()
    if not count:
        return None
    key = (council_id, count, last_id, last_year, horizon, on)
    if key in _CACHE:
        return _CACHE[key]
    # The history is known to the end of the latest collection year imported (31 March), not beyond:
    # the forecast starts there, and runs on far enough to reach the horizon from ``on``.
    known_on = min(on, date(int(last_year), 3, 31))
    months = min(horizon + max(_months_between(known_on, on), 0), 60)
    episodes = model.clean(council_episodes(session, council_id))
    known = model.truncate(episodes, known_on)
    if not known:
        result = None
    else:
        fits = model.fit_variants(known, backtest.PLATFORM_CATEGORIES, backtest.PLATFORM_CATEGORY_OF, known_on)
        projection = model.project(fits, months)
        result = _CouncilResult(projection, fits, backtest.run(known))
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = result
    return result


def _months_between(first: date, last: date) -> int:
    return (last.year * 12 + last.month) - (first.year * 12 + first.month)


def member_councils(session: Session, rcc_id: int) -> list[Organisation]:
    return list(session.scalars(select(Organisation).where(Organisation.rcc_id == rcc_id,
                                                           Organisation.kind == OrgKind.COUNCIL)
                                .order_by(col(Organisation.name))))


def forecast_for(session: Session, rcc_id: int, council: Organisation | None, horizon: int, on: date
                 ) -> AreaForecast:
    """The council's forecast from ``on`` (its latest complete month), or the region's if ``council`` is None."""
    councils = [council] if council is not None else member_councils(session, rcc_id)
    results = {c.name: _council_result(session, int(c.id or 0), horizon, on) for c in councils}
    present = {name: r for name, r in results.items() if r is not None}
    missing = sorted(name for name, r in results.items() if r is None)
    kinds = backtest.PLATFORM_CATEGORIES
    if not present:
        who = council.name if council else "any member council"
        reason = (f"No SSDA903 history has been imported for {who}, so there is nothing to forecast from. "
                  "Import the council's 903 header and episodes files.")
        return AreaForecast(council, None, horizon, [TypeForecast(k, label_of(k), [], reason=reason) for k in kinds],
                            [], None, None, [], missing, reason)
    projections = [r.projection for r in present.values()]
    start = max(p.start for p in projections)
    length = min(len(p.months) - _months_between(p.start, start) for p in projections)
    if any(p.start != start for p in projections):  # councils' histories end in different years
        reason_mixed = ("Councils' 903 histories end in different years; the region adds each council's "
                        "forecast month by month from the latest.")
    else:
        reason_mixed = None
    projections = [_aligned(p, start, length) for p in projections]
    months = projections[0].months
    # The sum over councils: means and variances add.
    mean = np.sum([p.mean for p in projections], axis=0)
    cat_var = np.sum([p.category_variance for p in projections], axis=0)
    band_var = np.sum([p.variance for p in projections], axis=0)
    total_var = np.sum([p.total_variance for p in projections], axis=0)
    history = _history(list(present.values()))
    observed = sum(f.observed.sum(axis=0) for r in present.values() for f in r.fits[:1])
    tests = [r.backtest for r in present.values() if r.backtest is not None]
    by_type_mape, overall = _combined_backtest(tests, kinds)
    types = []
    for i, kind in enumerate(kinds):
        item = TypeForecast(kind, label_of(kind), history[kind], backtest_mape=by_type_mape.get(kind))
        seen = int(observed[i]) if isinstance(observed, np.ndarray) else 0
        now = history[kind][-1][1] if history[kind] else 0
        if seen < MIN_CHILD_MONTHS and now == 0:
            item.reason = (f"Too little history to forecast: {seen} child-month{'s' if seen != 1 else ''} in "
                           f"{label_of(kind).lower()} in the {len(history[kind])} months used, and no child there now. "
                           "The months there are are shown.")
        else:
            series = mean[:, :, i].sum(axis=1)
            item.points = [_point(months[h], series[h], cat_var[h, i]) for h in range(len(months))]
            item.by_band = [(label, _point(months[-1], mean[-1, b, i], band_var[-1, b, i]))
                            for b, (_lo, _hi, label) in enumerate(model.AGE_BANDS)]
        types.append(item)
    totals = mean.sum(axis=(1, 2))
    total = [_point(months[h], totals[h], total_var[h]) for h in range(len(months))]
    parts = {name: {kind: (p.mean[:, :, i].sum(axis=1).tolist(), p.category_variance[:, i].tolist())
                    for i, kind in enumerate(kinds)}
             for name, p in zip(present, projections, strict=True)}
    return AreaForecast(council, start, horizon, types, total, overall,
                        max((t.cutoff for t in tests), default=None), sorted(present), missing, reason_mixed, parts)


def _aligned(projection: model.Projection, start: date, length: int) -> model.Projection:
    """The projection's months from the month after ``start`` (dropping earlier ones), ``length`` of them."""
    skip = _months_between(projection.start, start)
    if skip == 0 and len(projection.months) == length:
        return projection
    cut = slice(skip, skip + length)
    return model.Projection(start, projection.months[cut], projection.categories, projection.mean[cut],
                            projection.variance[cut], projection.total_variance[cut],
                            projection.category_variance[cut], projection.method, projection.fits)


def _point(month: date, mean: float, variance: float) -> ForecastPoint:
    half = Z_95 * sqrt(max(float(variance), 0.0))
    return ForecastPoint(month, float(mean), max(float(mean) - half, 0.0), float(mean) + half)


def _history(results: list[_CouncilResult]) -> dict[str, list[tuple[date, int]]]:
    found: dict[str, dict[date, int]] = {k: {} for k in backtest.PLATFORM_CATEGORIES}
    for result in results:
        fitted = result.fits[0]
        for t, day in enumerate(fitted.history_dates):
            for i, kind in enumerate(fitted.categories):
                found[kind][day] = found[kind].get(day, 0) + int(fitted.history[t, i])
    return {k: sorted(v.items()) for k, v in found.items()}


def _combined_backtest(tests: list[backtest.Backtest], kinds: Sequence[str]
                       ) -> tuple[dict[str, float | None], float | None]:
    """The councils' backtests added up (same cut-off months), then scored as one."""
    if not tests:
        return {}, None
    length = min(len(t.months) for t in tests)
    forecast = sum(np.array(t.forecast)[:length] for t in tests)
    actual = sum(np.array(t.actual)[:length] for t in tests)
    assert isinstance(forecast, np.ndarray) and isinstance(actual, np.ndarray)
    overall, per = model.weighted_mape(forecast, actual)
    return dict(zip(kinds, per, strict=True)), overall


# Gaps ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Gap:
    placement_type: str
    area: str
    month: date
    children: ForecastPoint
    local_places: int
    needed: float  # expected children less local places (never below zero)
    needed_low: float
    needed_high: float


def gaps(area_forecast: AreaForecast, places: dict[str, dict[str, int]], on: date,
         steps: Sequence[int] = (12, 24, 36)) -> list[Gap]:
    """Places needed by type, area (council) and date: each council's forecast children 12, 24 and 36
    months after ``on`` (as far as the horizon goes) less its local places (``places``: area → type → places)."""
    found = []
    index = {p.month: i for i, p in enumerate(area_forecast.total)}
    for area, by_type in sorted(area_forecast.parts.items()):
        for kind, (means, variances) in by_type.items():
            item = next(t for t in area_forecast.types if t.placement_type == kind)
            if not item.has_forecast or kind == model.OTHER:
                continue
            local = places.get(area, {}).get(kind, 0)
            for step in steps:
                h = index.get(model.month_end(model.add_months(on, step)))
                if h is None:
                    continue
                point = _point(area_forecast.total[h].month, means[h], variances[h])
                found.append(Gap(kind, area, point.month, point, local, max(point.expected - local, 0.0),
                                 max(point.low - local, 0.0), max(point.high - local, 0.0)))
    return found
