"""Seeded councils with known rates: the truth a forecast should find again.

Each month end every child in care either stays, moves to another category or leaves, with the
monthly probabilities given per age band and category; a child leaves at 18; entrants arrive as a
Poisson stream whose level grows by ``entry_trend`` a month (on the log scale). The episodes come
out as SSDA903 would hold them, and ``write_903`` writes them as yearly header and episodes files.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import exp
from pathlib import Path

import numpy as np

from cost_transparency.forecasting.model import (
    AGE_BANDS,
    MAX_AGE_MONTHS,
    OTHER,
    Episode,
    add_months,
    age_in_months,
    band_of_age_months,
    month_end,
)

PLACE_FOR = {"foster_care": "U4", "childrens_home": "K2", "supported_accommodation": "H5",
             "residential_school": "S1", "parent_and_child": "R3", "secure": "K1", OTHER: "P1"}


@dataclass(frozen=True)
class Council:
    name: str
    seed: int
    categories: tuple[str, ...]
    # monthly probabilities per band × from category × outcome (categories, then "left")
    transitions: np.ndarray
    entries_per_month: float  # at the first month
    entry_trend: float  # change in log entries a month
    entry_mix: np.ndarray = field(repr=False)  # year of age (0..17) × category: shares summing to 1
    start: date = date(2015, 4, 1)
    years: int = 6
    initial_children: int = 300


def standard(name: str, seed: int, entries: float, trend: float, exit_scale: float = 1.0,
             residential_share: float = 0.12, years: int = 6) -> Council:
    """A council like an English one: mostly foster care, a share in children's homes, older
    children in supported accommodation; exit and move rates by age."""
    categories = ("foster_care", "childrens_home", "supported_accommodation", OTHER)
    n = len(categories)
    p = np.zeros((len(AGE_BANDS), n, n + 1))
    exits = np.array([0.030, 0.025, 0.012, 0.012, 0.030]) * exit_scale
    for b in range(len(AGE_BANDS)):
        p[b, :, n] = exits[b] * np.array([1.0, 0.8, 1.5, 2.0])
        p[b, 0, 1] = 0.004 if b >= 2 else 0.0
        p[b, 1, 0] = 0.010 if b >= 2 else 0.0
        p[b, 0, 2] = 0.015 if b == 4 else 0.0
        p[b, 1, 2] = 0.020 if b == 4 else 0.0
        p[b, 3, 0] = 0.020
        for c in range(n):
            p[b, c, c] = 1.0 - p[b, c].sum()
    mix = np.zeros((18, n))
    ages = np.array([1.6, 0.6, 0.5, 0.5, 0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.5, 1.2, 0.6])
    for a in range(18):
        mix[a] = ages[a] * np.array([0.75 - residential_share, residential_share,
                                     0.12 if a >= 16 else 0.0, 0.13])
    mix /= mix.sum()
    return Council(name, seed, categories, p, entries, trend, mix, years=years)


def simulate(council: Council) -> list[Episode]:
    rng = np.random.default_rng(council.seed)
    n = len(council.categories)
    episodes: list[Episode] = []
    # child: (birth, category, start of the current episode)
    live: dict[str, tuple[date, int, date]] = {}
    counter = 0

    def new_child(birth: date, category: int, start: date) -> None:
        nonlocal counter
        counter += 1
        live[f"{council.seed}-{counter}"] = (birth, category, start)

    first_end = month_end(council.start)
    flat = council.entry_mix.ravel()
    for _ in range(council.initial_children):
        cell = int(rng.choice(flat.size, p=flat))
        age_year, category = divmod(cell, n)
        birth = first_end - timedelta(days=int(age_year * 365.25 + rng.integers(0, 365)))
        new_child(birth, category, max(birth + timedelta(days=1), first_end - timedelta(days=int(rng.integers(30, 900)))))
    months = council.years * 12
    for step in range(months):
        this_end = month_end(add_months(council.start, step))
        next_end = month_end(add_months(council.start, step + 1))
        change_day = next_end.replace(day=14)
        for child, (birth, category, started) in list(live.items()):
            if age_in_months(birth, next_end) >= MAX_AGE_MONTHS:
                eighteenth = date(birth.year + 18, birth.month, min(birth.day, 28))
                episodes.append(Episode(child, birth, started, max(eighteenth, started), _place(council, category)))
                del live[child]
                continue
            band = band_of_age_months(max(age_in_months(birth, this_end), 0))
            outcome = int(rng.choice(n + 1, p=council.transitions[band, category]))
            if outcome == category:
                continue
            episodes.append(Episode(child, birth, started, change_day, _place(council, category)))
            if outcome == n:
                del live[child]
            else:
                live[child] = (birth, outcome, change_day)
        level = council.entries_per_month * exp(council.entry_trend * step)
        for _ in range(int(rng.poisson(level))):
            cell = int(rng.choice(flat.size, p=flat))
            age_year, category = divmod(cell, n)
            start = next_end.replace(day=int(rng.integers(1, 28)))
            birth = start - timedelta(days=int(age_year * 365.25 + rng.integers(1, 360)))
            new_child(birth, category, start)
    episodes.extend(Episode(child, birth, started, None, _place(council, category))
                    for child, (birth, category, started) in live.items())
    return episodes


def _place(council: Council, category: int) -> str:
    return PLACE_FOR[council.categories[category]]


def write_903(episodes: list[Episode], folder: Path) -> list[Path]:
    """Yearly 903 files (years ending 31 March): each year's episodes file holds the episodes open
    in it, an end after the year's close left blank; one header file holds every child."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    first = min(e.start for e in episodes)
    last = max(max(e.start for e in episodes), max((e.end for e in episodes if e.end), default=first))
    births = {e.child: e.birth for e in episodes}
    for year in range(first.year + 1 if first.month > 3 else first.year, last.year + 2):
        opens, closes = date(year - 1, 4, 1), date(year, 3, 31)
        rows = [e for e in episodes if e.start <= closes and (e.end is None or e.end >= opens)]
        if not rows:
            continue
        path = folder / f"{year}-episodes.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                          "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"])
            for e in sorted(rows, key=lambda e: (e.child, e.start)):
                end = e.end if e.end is not None and e.end <= closes else None
                out.writerow([e.child, f"{e.start:%d/%m/%Y}", "S", "C2", "N1", e.place, "PR1",
                              f"{end:%d/%m/%Y}" if end else "", "E11" if end else "", "", "", "", ""])
        written.append(path)
    header = folder / "header.csv"
    with header.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"])
        for child, birth in sorted(births.items()):
            out.writerow([child, "1", f"{birth:%d/%m/%Y}", "WBRI", "", "", ""])
    written.append(header)
    return written
