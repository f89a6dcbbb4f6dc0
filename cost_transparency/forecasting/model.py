"""Children looked after, forecast month by month from a council's SSDA903 episodes.

The method (also shown to the people who read a forecast):

1. Every child's state is read on the last day of each month of the history: not in care, or in
   care in a placement category (the PLACE code of the episode open that day) at an exact age in
   months. Children of 18 or over are not looked after.
2. From month to month we count, per age band and category, how many children stayed, moved to
   another category or left care (children who turned 18 are counted apart: everyone ages by one
   month each month, exactly). Recent months count more (a half-life in months); each age band's
   rates are shrunk towards the category's rates over all ages when a band has few children.
3. Entries (a child in care at a month end who was not at the one before) are counted per year of
   age and category. Their level can follow a damped trend (fitted on the log of monthly entries)
   and, with three years of history, the month of the year.
4. The forecast moves the children in care today and the expected entrants forward month by month.
   Its interval combines the chance in which children move or leave (each child independently, and
   entrants as a Poisson stream whose spread is widened by what the history shows) with the
   uncertainty in the rates themselves (the forecast redone with rates drawn from their posterior).
5. No one setting suits every council, so the forecast is the average of eight variants: half-lives
   of 6, 12 and 24 months or none, each with entries at their recent level or following a damped
   trend. The interval adds the spread between the variants.

Compared with Social Finance's demand model (the same states: age bracket by placement category,
rates estimated from 903 episodes, mean daily rates over a reference period, entrants at a flat
rate), this model weights recent months, lets entries trend, shrinks sparse rates, averages variants
and gives an interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from math import exp, sqrt

import numpy as np
from scipy import stats

MAX_AGE_MONTHS = 18 * 12
# (first year of age, first year after, label)
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 1, "Under 1"), (1, 5, "1 to 4"), (5, 10, "5 to 9"), (10, 16, "10 to 15"), (16, 18, "16 and 17"))
OTHER = "other"
Z_95 = 1.96
PRIOR_STRENGTH = 10.0  # pseudo child-months pulling a band's rates towards its category's
PARAMETER_DRAWS = 40
SEED = 903


@dataclass(frozen=True)
class Episode:
    """One SSDA903 episode of care: the child, date of birth, start (DECOM), end (DEC) and PLACE."""

    child: str
    birth: date
    start: date
    end: date | None
    place: str


@dataclass(frozen=True)
class Settings:
    half_life_months: float | None = 12.0  # None: every month of the window counts the same
    window_months: int = 36
    trend: bool = False
    seasonal: bool = False
    damping: float = 0.95  # a trend's monthly effect shrinks by this factor each month ahead

    def describe(self) -> str:
        weight = (f"months weighted with a half-life of {self.half_life_months:g} months"
                  if self.half_life_months else "every month weighted the same")
        parts = [f"rates from up to {self.window_months} months of history, {weight}",
                 "entries following a damped trend" if self.trend else "entries at their recent level"]
        if self.seasonal:
            parts.append("entries varying with the month of the year")
        return "; ".join(parts)


VARIANTS: tuple[Settings, ...] = tuple(
    Settings(half_life_months=h, trend=t) for h in (6.0, 12.0, 24.0, None) for t in (False, True))
DEFAULT_SETTINGS = Settings()


def describe_method() -> str:
    return (f"the average of {len(VARIANTS)} variants: rates from up to {DEFAULT_SETTINGS.window_months} months "
            "with half-lives of 6, 12 or 24 months or every month the same, each with entries at their recent "
            "level or following a damped trend")


# Months ---------------------------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return add_months(day, 1) - timedelta(days=1)


def month_ends(first: date, last: date) -> list[date]:
    """Every month end from ``first``'s month to ``last``'s month, inclusive."""
    found, current = [], first.replace(day=1)
    while current <= last:
        found.append(month_end(current))
        current = add_months(current, 1)
    return found


def age_in_months(birth: date, on: date) -> int:
    return (on.year - birth.year) * 12 + on.month - birth.month - (1 if on.day < birth.day else 0)


def band_of_age_months(months: int) -> int:
    years = months // 12
    for index, (low, high, _label) in enumerate(AGE_BANDS):
        if low <= years < high:
            return index
    return len(AGE_BANDS) - 1


BAND_OF_AGE = np.array([band_of_age_months(a) for a in range(MAX_AGE_MONTHS)])


# Cleaning and reading the history ------------------------------------------------------------

def clean(episodes: Iterable[Episode]) -> list[Episode]:
    """As 903 files are combined: one episode per child and start (an end recorded in a later file
    wins over the episode still open in an earlier one), and an episode that runs past the child's
    next one ends where the next begins."""
    by_start: dict[tuple[str, date], Episode] = {}
    for episode in episodes:
        key = (episode.child, episode.start)
        kept = by_start.get(key)
        if kept is None or _end_key(episode) > _end_key(kept):
            by_start[key] = episode
    ordered = sorted(by_start.values(), key=lambda e: (e.child, e.start))
    result: list[Episode] = []
    for index, episode in enumerate(ordered):
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        if following is not None and following.child == episode.child and (
                episode.end is None or episode.end > following.start):
            episode = replace(episode, end=following.start)
        if episode.end is not None and episode.end < episode.start:
            continue
        result.append(episode)
    return result


def _end_key(episode: Episode) -> date:
    return episode.end or date.min


def truncate(episodes: Iterable[Episode], known_on: date) -> list[Episode]:
    """The episodes as they stood on ``known_on``: later starts unknown, later ends still open."""
    return [replace(e, end=e.end if e.end is not None and e.end <= known_on else None)
            for e in episodes if e.start <= known_on]


@dataclass
class Grid:
    """Each child's category index (−1: not looked after) and age in months at every month end."""

    dates: list[date]
    category: np.ndarray  # children × months, int
    age: np.ndarray  # children × months, int (may be negative before birth)


def read_grid(episodes: Sequence[Episode], dates: list[date], categories: Sequence[str],
              category_of: Mapping[str, str]) -> Grid:
    children = sorted({e.child for e in episodes})
    row = {child: i for i, child in enumerate(children)}
    index_of = {c: i for i, c in enumerate(categories)}
    other = index_of[OTHER]
    category = np.full((len(children), len(dates)), -1, dtype=np.int16)
    births: dict[str, date] = {}
    ordinals = np.array([d.toordinal() for d in dates])
    for episode in episodes:
        births.setdefault(episode.child, episode.birth)
        first = int(np.searchsorted(ordinals, episode.start.toordinal(), side="left"))
        last = len(dates) if episode.end is None else int(np.searchsorted(ordinals, episode.end.toordinal(),
                                                                             side="left"))
        if first < last:
            category[row[episode.child], first:last] = index_of.get(category_of.get(episode.place, OTHER), other)
    age = np.array([[age_in_months(births[child], d) for d in dates] for child in children],
                   dtype=np.int32).reshape(len(children), len(dates))
    category[(age >= MAX_AGE_MONTHS) | (age < 0)] = -1
    return Grid(dates, category, age)


def stock(grid: Grid, n_categories: int) -> np.ndarray:
    """Children in care per month end and category: months × categories."""
    counts = np.zeros((len(grid.dates), n_categories), dtype=np.int64)
    for c in range(n_categories):
        counts[:, c] = (grid.category == c).sum(axis=0)
    return counts


def history_start(episodes: Sequence[Episode]) -> date | None:
    """The first month end from which the files are complete: the earliest recorded end of an
    episode (903 files hold the episodes open in their years, not those that ended before)."""
    ends = [e.end for e in episodes if e.end is not None]
    if ends:
        return month_end(min(ends))
    starts = [e.start for e in episodes]
    return month_end(min(starts)) if starts else None


# Fitting ------------------------------------------------------------------------------------

@dataclass
class Fit:
    categories: tuple[str, ...]
    settings: Settings
    # Dirichlet parameters (effective counts plus prior) per band × category × outcome; the last
    # outcome is "left care".
    alpha: np.ndarray
    observed: np.ndarray  # child-months observed per band × category in the window (unweighted)
    entry_rate: np.ndarray  # expected entrants per month per year of age × category at the level month
    entry_count: float  # effective number of entrants behind the level
    entry_dispersion: float  # variance ÷ mean of monthly entries (≥ 1)
    trend: float  # change in log entries per month
    trend_se: float
    seasonal: np.ndarray  # 12 factors on entries, by calendar month (1 = none)
    level_month: date  # the month end the entry level refers to
    start_population: np.ndarray  # age in months × category, at the forecast's start
    start: date  # month end the forecast starts from
    history: np.ndarray  # months × categories: observed stock
    history_dates: list[date]
    months_used: int
    grid: Grid = field(repr=False)

    @property
    def probabilities(self) -> np.ndarray:
        return self.alpha / self.alpha.sum(axis=2, keepdims=True)

    def probability_interval(self, band: int, category: str, outcome: str, level: float = 0.95
                             ) -> tuple[float, float, float]:
        """(estimate, low, high) of the monthly probability that a child in ``category`` and ``band``
        goes to ``outcome`` (a category, or "left") by the next month end."""
        c = self.categories.index(category)
        o = len(self.categories) if outcome == "left" else self.categories.index(outcome)
        a = float(self.alpha[band, c, o])
        b = float(self.alpha[band, c].sum()) - a
        tail = (1 - level) / 2
        return a / (a + b), float(stats.beta.ppf(tail, a, b)), float(stats.beta.ppf(1 - tail, a, b))

    def entry_interval(self, level: float = 0.95) -> tuple[float, float, float]:
        """(estimate, low, high) of the entrants a month at the level month."""
        total = float(self.entry_rate.sum())
        n = max(self.entry_count, 1e-9)
        tail = (1 - level) / 2
        spread = self.entry_dispersion
        return (total, total * float(stats.gamma.ppf(tail, n / spread, scale=spread / n)),
                total * float(stats.gamma.ppf(1 - tail, n / spread, scale=spread / n)))

    def trend_interval(self) -> tuple[float, float, float]:
        return self.trend, self.trend - Z_95 * self.trend_se, self.trend + Z_95 * self.trend_se


def fit(episodes: Sequence[Episode], categories: Sequence[str], category_of: Mapping[str, str], known_on: date,
        settings: Settings = DEFAULT_SETTINGS, observed_from: date | None = None) -> Fit:
    """Fit on the episodes as known on ``known_on`` (later facts are ignored)."""
    categories = tuple(categories)
    if OTHER not in categories:
        raise ValueError("the categories must include 'other'")
    return _fit_known(clean(truncate(episodes, known_on)), categories, category_of, known_on, settings, observed_from)


def _fit_known(known: list[Episode], categories: Sequence[str], category_of: Mapping[str, str], known_on: date,
               settings: Settings, observed_from: date | None, grid: Grid | None = None) -> Fit:
    categories = tuple(categories)
    first = observed_from or history_start(known) or known_on
    last = month_end(add_months(known_on, -1)) if known_on != month_end(known_on) else known_on
    dates = month_ends(max(first, add_months(last, -settings.window_months)), last)
    if not dates:
        dates = [last]
    if grid is None or grid.dates != dates:
        grid = read_grid(known, dates, categories, category_of)
    n_cat, n_band = len(categories), len(AGE_BANDS)
    steps = len(dates) - 1
    weights = _weights(steps, settings.half_life_months)

    counts = np.zeros((n_band, n_cat, n_cat + 1))
    squares = np.zeros((n_band, n_cat))
    observed = np.zeros((n_band, n_cat))
    entries = np.zeros((steps, 18, n_cat))
    for k in range(steps):
        before, after = grid.category[:, k], grid.category[:, k + 1]
        age_before, age_after = grid.age[:, k], grid.age[:, k + 1]
        staying = (before >= 0) & (age_after < MAX_AGE_MONTHS)
        bands = BAND_OF_AGE[np.clip(age_before, 0, MAX_AGE_MONTHS - 1)]
        outcome = np.where(after >= 0, after, n_cat)
        np.add.at(counts, (bands[staying], before[staying], outcome[staying]), weights[k])
        np.add.at(squares, (bands[staying], before[staying]), weights[k] ** 2)
        np.add.at(observed, (bands[staying], before[staying]), 1)
        entering = (before < 0) & (after >= 0)
        np.add.at(entries[k], (age_after[entering] // 12, after[entering]), 1)

    # Effective counts (Kish) so that weighting does not pretend to more evidence than there is.
    totals = counts.sum(axis=2)
    scale = np.divide(totals, squares, out=np.ones_like(totals), where=squares > 0)
    effective = counts * scale[:, :, None]
    alpha = _shrink(effective, n_cat)

    entry_rate, entry_count, dispersion, trend, trend_se, seasonal = _entries(entries, weights, dates, settings)
    population = np.zeros((MAX_AGE_MONTHS, n_cat))
    now_cat, now_age = grid.category[:, -1], grid.age[:, -1]
    present = now_cat >= 0
    np.add.at(population, (now_age[present], now_cat[present]), 1)
    return Fit(categories, settings, alpha, observed, entry_rate, entry_count, dispersion, trend, trend_se,
               seasonal, dates[-1], population, dates[-1], stock(grid, n_cat), dates, steps, grid)


def _weights(steps: int, half_life: float | None) -> np.ndarray:
    if steps <= 0:
        return np.zeros(0)
    ages = np.arange(steps)[::-1] + 0.5  # the last step is the most recent
    if half_life is None:
        return np.ones(steps)
    return np.power(0.5, ages / half_life)


def _shrink(effective: np.ndarray, n_cat: int) -> np.ndarray:
    """Each band's outcomes pulled towards its category's outcomes over all bands (and a category
    never seen towards the average child's chance of leaving)."""
    pooled = effective.sum(axis=0)  # category × outcome
    everyone = pooled.sum(axis=0)
    left_share = everyone[n_cat] / everyone.sum() if everyone.sum() else 0.02
    alpha = np.zeros_like(effective)
    for c in range(n_cat):
        if pooled[c].sum() > 0:
            prior = pooled[c] / pooled[c].sum()
        else:
            prior = np.zeros(n_cat + 1)
            prior[c], prior[n_cat] = 1 - left_share, left_share
        prior = (prior + 1e-3) / (prior + 1e-3).sum()
        alpha[:, c, :] = effective[:, c, :] + PRIOR_STRENGTH * prior
    return alpha


def _entries(entries: np.ndarray, weights: np.ndarray, dates: list[date], settings: Settings
             ) -> tuple[np.ndarray, float, float, float, float, np.ndarray]:
    steps = entries.shape[0]
    seasonal = np.ones(12)
    if steps == 0:
        return np.zeros(entries.shape[1:]), 0.0, 1.0, 0.0, 0.0, seasonal
    monthly = entries.sum(axis=(1, 2))
    calendar = np.array([d.month for d in dates[1:]])
    if settings.seasonal and steps >= 24:
        mean = monthly.mean() or 1.0
        for m in range(1, 13):
            chosen = monthly[calendar == m]
            if len(chosen):
                seasonal[m - 1] = 0.5 + 0.5 * (chosen.mean() / mean)  # shrunk halfway to no effect
        seasonal = seasonal / seasonal.mean()
    adjusted = monthly / seasonal[calendar - 1]
    w = weights / weights.sum()
    level = float((w * adjusted).sum())
    share = (weights[:, None, None] * entries).sum(axis=0)
    share = share / share.sum() if share.sum() else np.full(entries.shape[1:], 1 / entries[0].size)
    trend, trend_se = 0.0, 0.0
    if steps >= 12:
        t = np.arange(steps, dtype=float)
        y = np.log(adjusted + 0.5)
        tw = (w * t).sum()
        sxx = (w * (t - tw) ** 2).sum()
        slope = float((w * (t - tw) * (y - (w * y).sum())).sum() / sxx) if sxx else 0.0
        intercept = float((w * y).sum()) - slope * tw
        residual = y - intercept - slope * t
        n_eff = weights.sum() ** 2 / (weights ** 2).sum()
        variance = float((w * residual ** 2).sum()) * n_eff / max(n_eff - 2, 1.0)
        trend_se = sqrt(variance / (sxx * n_eff)) if sxx else 0.0
        if settings.trend:
            trend = slope
            level = exp(intercept + slope * (steps - 1)) - 0.5
            level = max(level, 0.0)
    expected = np.maximum(level * (seasonal[calendar - 1] if settings.seasonal else 1.0), 1e-9)
    dispersion = max(float(((monthly - expected) ** 2 / expected).mean()), 1.0) if steps >= 6 else 1.0
    n_entries = float((weights * monthly).sum()) ** 2 / max(float((weights ** 2 * monthly).sum()), 1e-9)
    return level * share, n_entries, dispersion, trend, trend_se, seasonal


# Projecting -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    expected: float
    low: float
    high: float


@dataclass
class Projection:
    start: date
    months: list[date]  # month ends forecast
    categories: tuple[str, ...]
    mean: np.ndarray  # months × band × category
    variance: np.ndarray  # months × band × category (process and parameter, per cell)
    total_variance: np.ndarray  # months: the variance of the total
    category_variance: np.ndarray  # months × category
    method: str
    fits: list[Fit] = field(repr=False)

    def by_category(self) -> dict[str, list[Cell]]:
        mean = self.mean.sum(axis=1)
        return {c: [_cell(mean[h, i], self.category_variance[h, i]) for h in range(len(self.months))]
                for i, c in enumerate(self.categories)}

    def by_category_band(self) -> dict[tuple[str, str], list[Cell]]:
        return {(c, label): [_cell(self.mean[h, b, i], self.variance[h, b, i]) for h in range(len(self.months))]
                for i, c in enumerate(self.categories) for b, (_l, _u, label) in enumerate(AGE_BANDS)}

    def total(self) -> list[Cell]:
        mean = self.mean.sum(axis=(1, 2))
        return [_cell(mean[h], self.total_variance[h]) for h in range(len(self.months))]


def _cell(mean: float, variance: float) -> Cell:
    half = Z_95 * sqrt(max(float(variance), 0.0))
    return Cell(float(mean), max(float(mean) - half, 0.0), float(mean) + half)


def _means(fit: Fit, probabilities: np.ndarray, entry_rate: np.ndarray, trend: float, horizon: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected children per month × age-month × category, split into those in care at the start and
    entrants; and each initial state's chance of being in each category (for the binomial spread)."""
    n_cat = len(fit.categories)
    moves = probabilities[:, :, :n_cat]  # band × from × to
    both = np.stack([fit.start_population, np.zeros_like(fit.start_population)])  # in care now; entrants
    found = np.zeros((horizon, 2, *fit.start_population.shape))
    month = fit.start
    entry_ages = np.arange(18) * 12 + 6
    for step in range(1, horizon + 1):
        both = _advance(both, moves)
        month = month_end(add_months(month, 1))
        growth = exp(trend * sum(fit.settings.damping ** i for i in range(step))) if trend else 1.0
        both[1, entry_ages, :] += entry_rate * (growth * fit.seasonal[month.month - 1])
        found[step - 1] = both
    return found[:, 0], found[:, 1], moves[BAND_OF_AGE]


BAND_AGES = tuple(slice(low * 12, high * 12) for low, high, _label in AGE_BANDS)


def _advance(population: np.ndarray, moves: np.ndarray) -> np.ndarray:
    """A month on: each age's children move by their band's rates (``moves``: band × from × to), then
    everyone is a month older and those reaching 18 leave."""
    result = np.zeros_like(population)
    for band, ages in enumerate(BAND_AGES):
        moved = population[..., ages, :] @ moves[band]
        result[..., ages.start + 1:ages.stop + 1, :] = moved[..., :MAX_AGE_MONTHS - ages.start - 1, :] \
            if ages.stop >= MAX_AGE_MONTHS else moved
    return result


def _by_band(values: np.ndarray) -> np.ndarray:
    """months × age-month × category → months × band × category."""
    out = np.zeros((values.shape[0], len(AGE_BANDS), values.shape[2]))
    for b in range(len(AGE_BANDS)):
        out[:, b, :] = values[:, b == BAND_OF_AGE, :].sum(axis=1)
    return out


def fit_variants(episodes: Sequence[Episode], categories: Sequence[str], category_of: Mapping[str, str],
                 known_on: date, observed_from: date | None = None,
                 variants: Sequence[Settings] = VARIANTS) -> list[Fit]:
    known = clean(truncate(episodes, known_on))
    first = observed_from or history_start(known)
    fits: list[Fit] = []
    for settings in variants:  # variants with the same window read the same grid once
        grid = next((f.grid for f in fits if f.settings.window_months == settings.window_months), None)
        fits.append(_fit_known(known, categories, category_of, known_on, settings, first, grid))
    return fits


def project(fits: Fit | Sequence[Fit], horizon: int, seed: int = SEED) -> Projection:
    """The forecast ``horizon`` months ahead: the average of the fits' means, with the average of
    their variances plus the spread between their means."""
    if not 1 <= horizon <= 60:
        raise ValueError("the horizon must be 1 to 60 months")
    fits = [fits] if isinstance(fits, Fit) else list(fits)
    parts = [_project_one(f, horizon, seed, max(PARAMETER_DRAWS // len(fits), 10)) for f in fits]
    means = np.array([p[0] for p in parts])
    mean = means.mean(axis=0)
    cell_var = np.mean([p[1] for p in parts], axis=0) + means.var(axis=0)
    cat_var = np.mean([p[2] for p in parts], axis=0) + means.sum(axis=2).var(axis=0)
    total_var = np.mean([p[3] for p in parts], axis=0) + means.sum(axis=(2, 3)).var(axis=0)
    first = fits[0]
    months = [month_end(add_months(first.start, h)) for h in range(1, horizon + 1)]
    method = describe_method() if len(fits) == len(VARIANTS) else "; ".join(f.settings.describe() for f in fits)
    return Projection(first.start, months, first.categories, mean, cell_var, total_var, cat_var, method, fits)


def _project_one(fit: Fit, horizon: int, seed: int, draws: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_cat = len(fit.categories)
    probabilities = fit.probabilities
    cohort, entrant, band_p = _means(fit, probabilities, fit.entry_rate, fit.trend, horizon)
    mean = _by_band(cohort + entrant)

    # Binomial spread of the children in care at the start: follow each occupied (age, category).
    ages, cats = np.nonzero(fit.start_population)
    counts = fit.start_population[ages, cats]
    chance = np.zeros((len(ages), n_cat))
    chance[np.arange(len(ages)), cats] = 1.0
    cell_var = np.zeros((horizon, len(AGE_BANDS), n_cat))
    cat_var = np.zeros((horizon, n_cat))
    total_var = np.zeros(horizon)
    for h in range(horizon):
        current_age = ages + h
        step_p = band_p[np.clip(current_age, 0, MAX_AGE_MONTHS - 1)]
        chance = np.einsum("nc,nct->nt", chance, step_p)
        chance = chance * (current_age + 1 < MAX_AGE_MONTHS)[:, None]
        bernoulli = counts[:, None] * chance * (1 - chance)
        bands = BAND_OF_AGE[np.clip(current_age + 1, 0, MAX_AGE_MONTHS - 1)]
        for b in range(len(AGE_BANDS)):
            cell_var[h, b] += bernoulli[bands == b].sum(axis=0)
        cat_var[h] += bernoulli.sum(axis=0)
        in_care = chance.sum(axis=1)
        total_var[h] += float((counts * in_care * (1 - in_care)).sum())
    # Entrants: a Poisson stream thinned by the same moves is Poisson; widen by the dispersion seen.
    entrant_bands = _by_band(entrant)
    cell_var += fit.entry_dispersion * entrant_bands
    cat_var += fit.entry_dispersion * entrant_bands.sum(axis=1)
    total_var += fit.entry_dispersion * entrant_bands.sum(axis=(1, 2))

    # Uncertainty in the rates: the mean redone with rates drawn from their posteriors.
    rng = np.random.default_rng(seed)
    drawn_means = []
    n_eff = max(fit.entry_count, 1.0)
    for _ in range(draws):
        drawn_gamma = rng.gamma(fit.alpha)  # a Dirichlet draw per band and category: gammas, normalised
        sampled = drawn_gamma / drawn_gamma.sum(axis=2, keepdims=True)
        level = rng.gamma(n_eff / fit.entry_dispersion, fit.entry_dispersion / n_eff)
        trend = rng.normal(fit.trend, fit.trend_se) if fit.settings.trend else 0.0
        c2, e2, _ = _means(fit, sampled, fit.entry_rate * level, trend, horizon)
        drawn_means.append(_by_band(c2 + e2))
    drawn = np.array(drawn_means)
    cell_var += drawn.var(axis=0)
    cat_var += drawn.sum(axis=2).var(axis=0)
    total_var += drawn.sum(axis=(2, 3)).var(axis=0)
    return mean, cell_var, cat_var, total_var


def point_forecast(fits: Fit | Sequence[Fit], horizon: int) -> np.ndarray:
    """Expected children per month × category: the mean only (fast; for backtests)."""
    fits = [fits] if isinstance(fits, Fit) else list(fits)
    found = []
    for one in fits:
        cohort, entrant, _ = _means(one, one.probabilities, one.entry_rate, one.trend, horizon)
        found.append((cohort + entrant).sum(axis=1))
    return np.mean(found, axis=0)


# Error ------------------------------------------------------------

def weighted_mape(forecast: np.ndarray, actual: np.ndarray) -> tuple[float | None, list[float | None]]:
    """(overall, per category) mean absolute percentage error over months × categories.

    A category's error is the mean over the months with children in it; the overall error weights
    each category's error by its children (the mean actual count), so a category of two children
    cannot swamp one of two hundred."""
    per: list[float | None] = []
    weights = []
    for c in range(actual.shape[1]):
        present = actual[:, c] > 0
        if not present.any():
            per.append(None)
            weights.append(0.0)
            continue
        per.append(float(np.mean(np.abs(forecast[present, c] - actual[present, c]) / actual[present, c])))
        weights.append(float(actual[:, c].mean()))
    total = sum(weights)
    if not total:
        return None, per
    return sum(w * (p or 0.0) for w, p in zip(weights, per, strict=True)) / total, per
