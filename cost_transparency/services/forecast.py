"""Demand forecast per placement type: simple, explained, with an uncertainty band.

Method (also shown on the page):
  1. Count, for each month of the history, the children of each placement type in placement
     on the month's last day, and the new referrals for that type made in the month.
  2. Fit a straight line (least squares) to the children-in-placement series.
  3. Project the line 12 to 36 months ahead. The band is the line ± 1.96 × the residual standard
     error × √(1 + 1/n + (t − t̄)² / Σ(t − t̄)²): the usual 95% prediction interval for a
     straight-line fit, which widens the further ahead it looks. It is never below zero.
  4. Check: with two years or more of history, compare the line's error over the last 12
     months with a seasonal-naive forecast (each month equal to the same month a year before);
     say which did better. With less history the check cannot be made, and the page says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from math import sqrt

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.models import Placement, Referral
from commissioning.vocabulary import PLACEMENT_TYPES

Z_95 = 1.96
METHOD_TEXT = [
    "For each placement type we count the children in placement on the last day of each month of the "
    "history, and the new referrals made each month.",
    "We fit a straight line through the monthly counts of children in placement (least squares) and "
    "continue it forward.",
    "The shaded band is a 95% prediction interval for that line: it uses how far the actual months sat from "
    "the line, and it widens the further ahead we look. It is never below zero.",
    "As a check, where there are at least two years of history, we compare the line with simply repeating "
    "the same month of the year before (a seasonal-naive forecast) over the last 12 months, and say which "
    "was closer.",
]


@dataclass(frozen=True)
class ForecastPoint:
    month: date  # first day of the month
    expected: float
    low: float
    high: float


@dataclass(frozen=True)
class Forecast:
    history: list[tuple[date, int]]
    points: list[ForecastPoint]
    slope_per_month: float
    residual_error: float
    check: str  # plain-English result of the seasonal-naive check


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(first: date) -> date:
    return add_months(first, 1) - timedelta(days=1)


def fit_line(values: list[int]) -> tuple[float, float, float, float, float]:
    """(intercept, slope, residual standard error, mean of t, Σ(t − t̄)²) for t = 0..n−1."""
    n = len(values)
    mean_t = (n - 1) / 2
    mean_y = sum(values) / n
    sxx = sum((t - mean_t) ** 2 for t in range(n))
    slope = sum((t - mean_t) * (y - mean_y) for t, y in enumerate(values)) / sxx if sxx else 0.0
    intercept = mean_y - slope * mean_t
    residuals = [y - (intercept + slope * t) for t, y in enumerate(values)]
    error = sqrt(sum(r * r for r in residuals) / (n - 2)) if n > 2 else 0.0
    return intercept, slope, error, mean_t, sxx


def project(history: list[tuple[date, int]], horizon: int) -> Forecast:
    """The straight-line forecast ``horizon`` months past the last month of ``history``."""
    if len(history) < 3:
        raise ValueError("at least three months of history are needed")
    values = [v for _, v in history]
    n = len(values)
    intercept, slope, error, mean_t, sxx = fit_line(values)
    points = []
    for step in range(1, horizon + 1):
        t = n - 1 + step
        expected = intercept + slope * t
        half_width = Z_95 * error * sqrt(1 + 1 / n + ((t - mean_t) ** 2 / sxx if sxx else 0))
        points.append(ForecastPoint(add_months(history[-1][0], step), max(expected, 0.0),
                                    max(expected - half_width, 0.0), max(expected + half_width, 0.0)))
    return Forecast(history, points, slope, error, seasonal_check(values))


def seasonal_check(values: list[int]) -> str:
    if len(values) < 24:
        return (f"The history is {len(values)} months long; a seasonal check needs 24, so it was not made.")
    train = values[:-12]
    intercept, slope, *_ = fit_line(train)
    line_error = sum(abs(values[t] - (intercept + slope * t)) for t in range(len(train), len(values))) / 12
    naive_error = sum(abs(values[t] - values[t - 12]) for t in range(len(train), len(values))) / 12
    better = "the straight line" if line_error <= naive_error else "repeating last year"
    return (f"Over the last 12 months the straight line was out by {line_error:.1f} children a month on average, "
            f"repeating last year by {naive_error:.1f}: {better} did better.")


@dataclass(frozen=True)
class TypeForecast:
    placement_type: str
    forecast: Forecast | None
    referrals_per_month: float


def monthly_history(session: Session, months: int, today: date) -> dict[str, list[tuple[date, int]]]:
    """Children in placement at each month end, per type, for the ``months`` complete months to ``today``."""
    last = add_months(month_start(today), -1)
    firsts = [add_months(last, -i) for i in range(months - 1, -1, -1)]
    placements = session.execute(select(Placement.placement_type, Placement.start_date, Placement.end_date)).all()
    history: dict[str, list[tuple[date, int]]] = {}
    for kind in PLACEMENT_TYPES:
        series = []
        for first in firsts:
            end = month_end(first)
            series.append((first, sum(1 for t, s, e in placements if t == kind and s <= end and (e is None or e >= end))))
        history[kind] = series
    return history


def referral_rates(session: Session, months: int, today: date) -> dict[str, float]:
    since = add_months(month_start(today), -months)
    rows = session.execute(select(Referral.placement_type, Referral.created_at)).all()
    counts = Counter(kind for kind, created in rows if created.date() >= since and created.date() < month_start(today))
    return {kind: counts.get(kind, 0) / months for kind in PLACEMENT_TYPES}


def forecasts(session: Session, horizon: int, today: date, history_months: int = 36) -> list[TypeForecast]:
    history = monthly_history(session, history_months, today)
    # Drop the leading months before any placement was recorded: they are missing data, not zero demand.
    rates = referral_rates(session, 12, today)
    result = []
    for kind, series in history.items():
        first_used = next((i for i, (_m, v) in enumerate(series) if v > 0), len(series))
        trimmed = series[first_used:]
        result.append(TypeForecast(kind, project(trimmed, horizon) if len(trimmed) >= 3 else None,
                                   rates.get(kind, 0.0)))
    return result
