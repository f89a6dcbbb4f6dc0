"""Summary statistics for weekly costs: pure functions, integer pence in, integer pence out.

Quartiles use the "inclusive" method with linear interpolation, the same as Excel's
QUARTILE.INC and numpy's default ("linear"): for n sorted values x[0..n-1] the p-quantile
sits at position h = (n - 1) × p, and is x[⌊h⌋] + (h − ⌊h⌋) × (x[⌊h⌋ + 1] − x[⌊h⌋]).
The median is the 0.5 quantile, so for an even count it is the mean of the middle two.
Results are rounded to the nearest penny, halves away from zero. Arithmetic is exact
(fractions) until that rounding, so hand-computed examples match to the penny.

Outliers are values outside the fences Q1 − 1.5 × IQR and Q3 + 1.5 × IQR (Tukey's rule),
where IQR = Q3 − Q1. Market concentration is the Herfindahl–Hirschman index: the sum of the
squared percentage shares, from near 0 (many small providers) to 10,000 (one provider).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import floor

QUARTILE_METHOD = ("Quartiles are calculated by the inclusive method with linear interpolation "
                   "(as Excel's QUARTILE.INC): the p-quartile of n sorted values lies at position "
                   "(n − 1) × p, counting the first value as position 0, interpolating between neighbours.")
OUTLIER_RULE = ("An outlier is a weekly cost above the upper quartile plus 1.5 times the interquartile range "
                "(or below the lower quartile minus 1.5 times it).")
HHI_RULE = ("Concentration is the Herfindahl–Hirschman index (HHI): the sum of each provider group's squared "
            "percentage share of spend. Below 1,000 is unconcentrated, 1,000 to 2,000 concentrated and above "
            "2,000 highly concentrated (the Competition and Markets Authority's merger guidance bands).")


def round_half_away(value: Fraction) -> int:
    """Nearest integer, halves away from zero (so 0.5p rounds up to 1p, as people expect)."""
    whole = floor(abs(value) + Fraction(1, 2))
    return whole if value >= 0 else -whole


def _sorted(values: Iterable[int]) -> list[int]:
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values to summarise")
    return ordered


def quantile_exact(values: Iterable[int], p: Fraction) -> Fraction:
    """The p-quantile by the inclusive linear method, as an exact fraction."""
    ordered = _sorted(values)
    position = (len(ordered) - 1) * p
    below = floor(position)
    if below >= len(ordered) - 1:
        return Fraction(ordered[-1])
    return ordered[below] + (position - below) * (ordered[below + 1] - ordered[below])


def quantile(values: Iterable[int], p: Fraction | float) -> int:
    return round_half_away(quantile_exact(values, Fraction(p)))


def median(values: Iterable[int]) -> int:
    return quantile(values, Fraction(1, 2))


def quartiles(values: Iterable[int]) -> tuple[int, int, int]:
    ordered = _sorted(values)
    return (quantile(ordered, Fraction(1, 4)), quantile(ordered, Fraction(1, 2)), quantile(ordered, Fraction(3, 4)))


def mean(values: Iterable[int]) -> int:
    ordered = _sorted(values)
    return round_half_away(Fraction(sum(ordered), len(ordered)))


@dataclass(frozen=True)
class Fences:
    lower: int
    upper: int


def outlier_fences(values: Iterable[int]) -> Fences:
    ordered = _sorted(values)
    q1 = quantile_exact(ordered, Fraction(1, 4))
    q3 = quantile_exact(ordered, Fraction(3, 4))
    spread = q3 - q1
    return Fences(round_half_away(q1 - Fraction(3, 2) * spread), round_half_away(q3 + Fraction(3, 2) * spread))


def outliers(values: Iterable[int]) -> list[int]:
    """Values outside the fences, in ascending order."""
    ordered = _sorted(values)
    fences = outlier_fences(ordered)
    return [v for v in ordered if v < fences.lower or v > fences.upper]


@dataclass(frozen=True)
class Summary:
    count: int
    median: int
    lower_quartile: int
    upper_quartile: int
    mean: int
    minimum: int
    maximum: int
    upper_fence: int
    outliers: int  # how many values lie outside the fences

    @property
    def interquartile_range(self) -> int:
        return self.upper_quartile - self.lower_quartile


def summarise(values: Sequence[int]) -> Summary:
    ordered = _sorted(values)
    q1, q2, q3 = quartiles(ordered)
    fences = outlier_fences(ordered)
    return Summary(
        count=len(ordered), median=q2, lower_quartile=q1, upper_quartile=q3, mean=mean(ordered),
        minimum=ordered[0], maximum=ordered[-1], upper_fence=fences.upper,
        outliers=sum(1 for v in ordered if v < fences.lower or v > fences.upper),
    )


def shares_percent(amounts: Mapping[str, int]) -> dict[str, Fraction]:
    total = sum(amounts.values())
    if total <= 0:
        return {name: Fraction(0) for name in amounts}
    return {name: Fraction(100 * amount, total) for name, amount in amounts.items()}


def herfindahl_hirschman(amounts: Mapping[str, int]) -> int:
    """HHI of the shares of ``amounts`` (spend or places by provider group), 0–10,000, rounded."""
    return round_half_away(sum((share ** 2 for share in shares_percent(amounts).values()), Fraction(0)))


def concentration_band(hhi: int) -> str:
    if hhi > 2000:
        return "Highly concentrated"
    if hhi >= 1000:
        return "Concentrated"
    return "Unconcentrated"
