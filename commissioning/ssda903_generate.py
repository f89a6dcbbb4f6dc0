"""Synthetic SSDA903 returns: a council's looked-after children over several years, as the CSV files a
council's case-management system writes for the DfE return. Made up, never real children.

Each child has one timeline (born, enters care, moves placement, perhaps leaves); each collection year's
files are cut from those timelines as the DfE asks: every episode open at any time in the year, with the end
date and reason left empty when the episode was still open on 31 March. Placements are at real Ofsted-registered
homes of the council's region (``rcc/reference_data/ofsted_providers.csv``), so postcodes and URNs are real
ones; the children's home postcodes are other real postcodes of the council's area.

Pure and seeded: the same arguments give the same files. Used by the demo, the benchmark and the tests that
run the DfE's validator over an export.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache

from rcc.geography import REFERENCE_DATA, local_authority_named, normalise_postcode

ETHNICITIES = (("WBRI", 70), ("WOTH", 5), ("MWBC", 4), ("MOTH", 4), ("BAFR", 4), ("APKN", 3), ("AIND", 2),
               ("BCRB", 2), ("AOTH", 2), ("OOTH", 2), ("WIRI", 1), ("CHNE", 1))
CATEGORIES = (("N1", 65), ("N2", 3), ("N3", 3), ("N4", 8), ("N5", 13), ("N6", 1), ("N7", 1), ("N8", 6))
CHANGE_REASONS = ("CARPL", "CHILD", "CREQO", "LAREQ", "PLACE", "OTHER")
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


@dataclass(frozen=True)
class Episode:
    start: date
    end: date | None
    rne: str
    ls: str
    cin: str
    place: str
    provider: str
    rec: str
    reason_place_change: str
    home_post: str
    pl_post: str
    urn: str


@dataclass(frozen=True)
class ChildTimeline:
    child: str
    sex: str  # M or F
    dob: date
    ethnic: str
    upn: str
    episodes: tuple[Episode, ...]


@dataclass(frozen=True)
class Home:
    urn: str
    kind: str  # "K2" children's home, "U4" fostering agency
    postcode: str
    sector: str


@cache
def homes_in(local_authority: str) -> tuple[Home, ...]:
    """Real Ofsted-registered children's homes and fostering agencies of the council's region."""
    with open(REFERENCE_DATA / "ofsted_providers.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    authority = local_authority_named(local_authority)
    region = authority.region if authority else next(
        (r["region"] for r in rows if r["local_authority"] == local_authority), None)
    usable = [r for r in rows if r["postcode"] and r["urn"].isdigit() and r["sector"] in ("Private", "Voluntary")
              and r["provider_type"] in ("Children's home", "Independent Fostering Agency")]
    # The region's homes; for a place the list does not know, every home in it (still real ones).
    chosen = [r for r in usable if r["region"] == region or r["local_authority"] == local_authority] or usable
    return tuple(Home(r["urn"], "K2" if r["provider_type"] == "Children's home" else "U4",
                      normalise_postcode(r["postcode"]), r["sector"]) for r in chosen)


def upn(rng: random.Random, la_number: str) -> str:
    """A unique pupil number in the DfE's format: check letter, the LA's number, school and serial digits."""
    digits = la_number.rjust(3, "0")[:3] + "".join(rng.choice("0123456789") for _ in range(9))
    total = sum(int(d) * weight for d, weight in zip(digits, range(2, 14), strict=True))
    return UPN_LETTERS[total % 23] + digits


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def timelines(local_authority: str, la_number: str, first_year: int, last_year: int, children: int,
              seed: int = 903) -> list[ChildTimeline]:
    """``children`` made-up children looked after at some time between 1 April ``first_year - 1`` and
    31 March ``last_year``, placed in the council's region."""
    rng = random.Random(f"{seed}:{local_authority}")
    homes = homes_in(local_authority)
    own = [h for h in homes if h.kind == "U4"] or list(homes)
    residential = [h for h in homes if h.kind == "K2"] or list(homes)
    local = [h.postcode for h in homes] or ["CV1 2AB"]
    begin, finish = date(first_year - 1, 4, 1), date(last_year, 3, 31)
    found = []
    for number in range(children):
        entered = begin - timedelta(days=rng.randint(0, 900)) + timedelta(days=rng.randint(0, (finish - begin).days))
        age_at_entry = rng.randint(0, 15)
        dob = entered - timedelta(days=365 * age_at_entry + rng.randint(1, 360))
        adult = date(dob.year + 18, 3, 1) if (dob.month, dob.day) == (2, 29) else dob.replace(year=dob.year + 18)
        ls = rng.choices(["C2", "V2", "C1"], weights=[55, 30, 15])[0]
        cin = _weighted(rng, CATEGORIES)
        home_post = rng.choice(local)
        episodes: list[Episode] = []
        start, rne = entered, "S"
        moves = rng.choice([1, 1, 2, 2, 3])
        for move in range(moves):
            place_home = rng.choice(residential if age_at_entry >= 12 and rng.random() < 0.4 else own)
            while (place_home.postcode == home_post or (episodes and place_home.urn == episodes[-1].urn)) \
                    and len(homes) > 2:
                place_home = rng.choice(homes)
            place = "K2" if place_home.kind == "K2" else rng.choice(["U4", "U5", "U6"])
            provider = "PR4" if place_home.sector.lower() == "private" else "PR5"
            length = rng.randint(90, 700)
            planned = start + timedelta(days=length)
            end: date | None = planned
            last = move == moves - 1
            if planned >= adult:
                end, rec, change = adult, "E17" if place.startswith("U") else "E8", ""
            elif last and rng.random() < 0.5:
                rec, change = "E13", ""
            elif last:
                end, rec, change = None, "", ""
            else:
                rec, change = "X1", rng.choice(CHANGE_REASONS)
            episodes.append(Episode(start, end, rne, ls, cin, place, provider, rec, change, home_post,
                                    place_home.postcode, place_home.urn))
            if end is None or rec != "X1":
                break
            start, rne = end, "P"
        sex = rng.choice("MF")
        found.append(ChildTimeline(f"{la_number}{number + 1:05d}", sex, dob, _weighted(rng, ETHNICITIES),
                                   upn(rng, la_number), tuple(episodes)))
    return found


def year_files(children: list[ChildTimeline], year: int) -> tuple[bytes, bytes]:
    """The header and episodes files of the collection year ending 31 March ``year``."""
    first, last = date(year - 1, 4, 1), date(year, 3, 31)
    header, episodes = io.StringIO(), io.StringIO()
    h = csv.writer(header, lineterminator="\n")
    e = csv.writer(episodes, lineterminator="\n")
    h.writerow(["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"])
    e.writerow(["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"])
    for child in children:
        open_in_year = [ep for ep in child.episodes if ep.start <= last and (ep.end is None or ep.end >= first)]
        if not open_in_year:
            continue
        mother = "0" if child.sex == "F" else ""  # made-up children have no children of their own
        sex = child.sex if year >= 2025 else {"M": "1", "F": "2"}[child.sex]  # the DfE's codes changed in 2024-25
        h.writerow([child.child, sex, f"{child.dob:%d/%m/%Y}", child.ethnic, child.upn, mother, ""])
        for ep in open_in_year:
            if ep.end is not None and ep.end > last:
                ep = replace(ep, end=None, rec="", reason_place_change="")
            e.writerow([child.child, f"{ep.start:%d/%m/%Y}", ep.rne, ep.ls, ep.cin, ep.place, ep.provider,
                        f"{ep.end:%d/%m/%Y}" if ep.end else "", ep.rec, ep.reason_place_change, ep.home_post,
                        ep.pl_post, ep.urn])
    return header.getvalue().encode(), episodes.getvalue().encode()
