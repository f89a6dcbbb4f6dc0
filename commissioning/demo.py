"""Commissioning's part of the demo region: the real Ofsted homes of the region, prices,
vacancies, foster households (each council's in-house carers and several agencies'), and about
200 open referrals with a realistic mix. Deterministic (fixed seed).

Ofsted does not publish children's homes' postcodes, so each home, household and child is given a
real postcode from the ONS Postcode Directory near its council's centre (none is anyone's address).

Weekly prices are drawn around the published figures in placement_costs_reference.csv:
children's homes around £5,000 (CMA 2020 £3,830; Lincolnshire 2019 £4,527; CCN 2024 £6,108),
fostering around £850 (CMA 2020 IFA £820), supported accommodation around £1,800
(Lincolnshire £1,822); other types have no published figure there and use sector estimates.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.lifecycle import DRAFT, IN_MATCHING, SUBMITTED
from commissioning.models import Child, Home, Referral, ReferralEvent, SiblingGroup, Vacancy
from commissioning.services import fostering, supply_history
from commissioning.services.imports import import_ofsted
from commissioning.vocabulary import (
    NEEDS,
    RISK_FLAGS,
    STANDARD_PLACEMENT_TYPES,
    matching_needs,
    standard_type_of,
)
from rcc.demo import DEMO_SEED, DemoRegion
from rcc.geography import (
    great_circle_miles,
    local_authority_named,
    locate,
    outcode_points,
    postcode_directory,
)
from rcc.models import Organisation, utcnow

REFERRAL_COUNT = 200
# Families average 2.33 children, so this chance of a family per draw puts about 30 % of children in one.
FAMILY_CHANCE = 0.155
# Placement types of children looked after in England (DfE, 31 March 2024), rounded, for those
# the platform places: most children are fostered.
TYPE_SHARES = {"foster_care": 0.70, "childrens_home": 0.17, "supported_accommodation": 0.08,
               "parent_and_child": 0.03, "residential_school": 0.01, "secure": 0.01}
AGES = {"foster_care": (0, 17), "childrens_home": (10, 17), "supported_accommodation": (16, 17),
        "parent_and_child": (14, 17), "residential_school": (8, 17), "secure": (12, 17)}
# (mean, spread) in pounds a week
PRICES = {"foster_care": (850, 120), "childrens_home": (5000, 900), "supported_accommodation": (1800, 300),
          "parent_and_child": (3500, 600), "residential_school": (4500, 800), "secure": (7000, 900)}
LEGAL_STATUSES = (("C2", 0.6), ("C1", 0.15), ("V2", 0.2), ("E1", 0.05))
NEEDS_CATEGORIES = (("N1", 0.65), ("N4", 0.08), ("N5", 0.13), ("N2", 0.03), ("N8", 0.07), ("N6", 0.02),
                    ("N3", 0.01), ("N7", 0.01))
STATUSES = ((SUBMITTED, 0.7), (DRAFT, 0.15), (IN_MATCHING, 0.15))
URGENCY = (("planned", 0.55), ("within_7_days", 0.3), ("emergency", 0.15))
IN_HOUSE_HOUSEHOLDS = 8  # per council
AGENCY_HOUSEHOLDS = 10  # per agency
AGENCIES = 6


def load_demo_commissioning(session: Session, region: DemoRegion) -> None:
    rng = random.Random(DEMO_SEED + 5)
    import_ofsted(session, region.rcc)
    session.flush()
    homes = list(session.scalars(select(Home).where(Home.rcc_id == region.rcc.id).order_by(Home.id)))
    _describe_homes(rng, homes)
    _place_homes(rng, homes)
    _add_vacancies(session, rng, homes)
    _add_foster_households(session, rng, region, homes)
    _add_referrals(session, rng, region)


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def _standard_answers(rng: random.Random, placement_type: str, age: int) -> dict[str, object]:
    """A referral's answers to the Placements Data Standard, and the matching needs they give."""
    wanted = standard_type_of(placement_type).key
    suitability = {key: "preferred" if key == wanted else rng.choice(("suitable", "unsuitable", "unsuitable"))
                   for key in STANDARD_PLACEMENT_TYPES}
    if age < 16 and wanted != "supported_accommodation":
        suitability["supported_accommodation"] = "unsuitable"
    communication = rng.choice((["none"], ["none"], ["none"], ["esol"], ["bsl"], ["makaton"]))
    answers: dict[str, object] = {
        "communication_needs": "no" if communication == ["none"] else "yes", "communication_requirements": communication,
        "home_adaptation": rng.random() < 0.05, "cultural_needs": rng.choice(("not_required", "required", "not_known")),
        "living_companions": rng.choice(("no_preference", "no_preference", "solo", "with_others")),
        "pets": rng.choice(("can", "can", "no", "not_known")),
        "additional_support": rng.choice((None, None, "therapeutic_support", "additional_supervision")),
        **{f"{key}_suitability": value for key, value in suitability.items()}}
    answers["needs"] = matching_needs(communication, bool(answers["home_adaptation"]), str(answers["cultural_needs"]),
                                      str(answers["living_companions"]), str(answers["pets"]),
                                      answers["additional_support"])  # type: ignore[arg-type]
    return answers


def _describe_homes(rng: random.Random, homes: list[Home]) -> None:
    keys = [*NEEDS, *RISK_FLAGS]
    for home in homes:
        mean, spread = PRICES[home.placement_type]
        home.weekly_price = max(mean // 2, round(rng.gauss(mean, spread))) * 100
        home.needs_met = sorted(rng.sample(keys, rng.randint(4, 12)), key=keys.index)
        if home.placement_type == "foster_care" and home.registered_places == 0:
            home.registered_places = rng.randint(10, 80)  # the agency's carers' places, for the demo
        if home.placement_type == "childrens_home":
            home.age_min = rng.choice((8, 10, 11, 12))
            home.sexes = rng.choice((["F", "M"], ["F", "M"], ["F"], ["M"]))


def _add_vacancies(session: Session, rng: random.Random, homes: list[Home]) -> None:
    now = utcnow()
    today = now.date()
    vacancies = []
    for home in homes:
        if home.registered_places <= 0 or rng.random() > 0.4:
            continue
        most = min(home.registered_places, 6 if home.placement_type == "foster_care" else 2)
        vacancies.append(Vacancy(
            rcc_id=home.rcc_id, provider_id=home.provider_id, home_id=home.id, places_free=rng.randint(1, most),
            available_from=today + timedelta(days=rng.choice((0, 0, 0, 3, 7, 14))),
            last_confirmed_at=now - timedelta(days=rng.choice((0, 1, 2, 3, 5, 6, 9, 12, 20)), hours=rng.randint(0, 20))))
    session.add_all(vacancies)
    supply_history.record_many(session, homes, supply_history.DEMO)


_NEAR: dict[str, list[str]] = {}


def _postcodes_near(council_name: str) -> list[str]:
    """Real postcodes (ONS Postcode Directory) in the outcodes nearest the council's centre."""
    if council_name not in _NEAR:
        directory = postcode_directory()
        _NEAR[council_name] = [code for outcode in sorted(_outcodes_near(council_name))
                               for code in directory.postcodes_in(outcode)]
    return _NEAR[council_name]


def _place_homes(rng: random.Random, homes: list[Home]) -> None:
    """A real postcode near its council's centre for every home whose postcode Ofsted did not publish."""
    for home in homes:
        if home.postcode:
            continue
        home.postcode = rng.choice(_postcodes_near(home.local_authority))
        point = locate(home.postcode).point
        home.latitude, home.longitude, home.location_precision = point.latitude, point.longitude, "postcode"


def _add_foster_households(session: Session, rng: random.Random, region: DemoRegion, homes: list[Home]) -> None:
    """Each council's in-house carers, and the carers of the agencies with the most fostering offices."""
    offices: dict[int, list[Home]] = {}
    for home in homes:
        if home.placement_type == "foster_care":
            offices.setdefault(home.provider_id, []).append(home)
    agencies = sorted(offices, key=lambda provider_id: (-len(offices[provider_id]), provider_id))[:AGENCIES]
    owners: list[tuple[Organisation, list[str], int]] = [
        (council, [council.name], IN_HOUSE_HOUSEHOLDS) for council in region.councils]
    for provider_id in agencies:
        agency = session.get(Organisation, provider_id)
        assert agency is not None
        owners.append((agency, sorted({office.local_authority for office in offices[provider_id]}), AGENCY_HOUSEHOLDS))
    keys = [*NEEDS, *RISK_FLAGS]
    for owner, areas, count in owners:
        for number in range(1, count + 1):
            children = rng.choice((1, 1, 2, 2, 3))
            young = rng.random() < 0.4
            mean, spread = PRICES["foster_care"]
            in_house = owner.kind == "council"
            fostering.create_household(session, owner, fostering.HouseholdDetails(
                reference=f"{'IH' if in_house else 'FA'}-{owner.id:03d}-{number:02d}",
                postcode=rng.choice(_postcodes_near(rng.choice(areas))),
                age_min=0 if young else rng.choice((5, 8, 11)), age_max=rng.choice((10, 12)) if young else 17,
                max_children=children, siblings=children > 1 and rng.random() < 0.7,
                places_free=rng.choice([0, *range(1, children + 1)]),
                needs_met=sorted(rng.sample(keys, rng.randint(3, 10)), key=keys.index),
                weekly_cost=max(mean // 2, round(rng.gauss(mean * (0.7 if in_house else 1.0), spread))) * 100,
                status=rng.choices(("approved", "on_hold"), weights=(0.9, 0.1))[0]))
    for council in region.councils:
        fostering.set_in_house_preference(session, council, rng.choice((100, 150, 200, 300)))


def _outcodes_near(council_name: str, count: int = 8) -> list[str]:
    authority = local_authority_named(council_name)
    assert authority is not None
    points = outcode_points()
    return sorted(points, key=lambda code: great_circle_miles(points[code], authority.centre))[:count]


def _add_referrals(session: Session, rng: random.Random, region: DemoRegion) -> None:
    now = utcnow()
    today = now.date()
    postcodes = {c.id: _postcodes_near(c.name) for c in region.councils}
    plans = _plan_children(rng, region)
    groups: dict[tuple[int, int], SiblingGroup] = {}
    for council_id, family, _ in plans:
        if family is not None and (council_id, family) not in groups:
            draw = rng.random()
            plan = "apart" if draw < 0.1 else "together_if_possible" if draw < 0.3 else "together"
            groups[(council_id, family)] = SiblingGroup(
                rcc_id=region.rcc.id, council_id=council_id, name=f"Family {family}", plan=plan,
                plan_reason="Assessment says the eldest needs a home of their own" if plan == "apart" else None)
    session.add_all(groups.values())
    children: list[Child] = []
    referrals: list[Referral] = []
    for index, (council_id, _family, placement_type) in enumerate(plans, start=1):
        low, high = AGES[placement_type]
        age = rng.randint(low, high)
        birth_year = today.year - age - (1 if rng.random() < 0.5 else 0)
        birth_month = rng.randint(1, 12)
        if today.year - birth_year - (1 if today.month < birth_month else 0) >= 18:
            birth_year += 1
        home_postcode = rng.choice(postcodes[council_id])
        home = locate(home_postcode).point
        school_postcode = rng.choice(postcodes[council_id]) if age >= 5 else None
        school = locate(school_postcode).point if school_postcode else None
        child = Child(
            rcc_id=region.rcc.id, council_id=council_id, reference=f"DEMO-{council_id:02d}-{index:04d}",
            initials=rng.choice("ABCDEFGHJKLMNPRSTW") + rng.choice("ABCDEFGHJKLMNPRSTW"),
            birth_month=birth_month, birth_year=birth_year, sex=rng.choice("FM"),
            legal_status=_pick(rng, LEGAL_STATUSES), category_of_need=_pick(rng, NEEDS_CATEGORIES),
            uasc=placement_type == "supported_accommodation" and rng.random() < 0.3, ehcp=rng.random() < 0.2,
            home_postcode=home_postcode, home_latitude=home.latitude, home_longitude=home.longitude,
            school_postcode=school_postcode,
            school_latitude=school.latitude if school else None,
            school_longitude=school.longitude if school else None)
        children.append(child)
        status = _pick(rng, STATUSES)
        urgency = _pick(rng, URGENCY)
        created = now - timedelta(days=rng.randint(0, 45), hours=rng.randint(0, 23))
        waited = {"emergency": 1, "within_7_days": 7}.get(urgency, rng.randint(14, 90))
        referrals.append(Referral(
            rcc_id=region.rcc.id, council_id=council_id, child_id=0,
            sibling_group_id=None, placement_type=placement_type, urgency=urgency,
            date_needed=max(today, (created + timedelta(days=waited)).date()),
            **_standard_answers(rng, placement_type, today.year - birth_year),
            risk_flags=sorted(rng.sample(list(RISK_FLAGS), rng.choice((0, 0, 1, 1, 2, 3))), key=list(RISK_FLAGS).index),
            dol_order_needed=placement_type == "secure" or rng.random() < 0.02,
            child_wishes=(wishes := rng.choice(_WISHES)), provider_summary=_SUMMARIES[wishes],
            max_distance_miles=rng.choice((None, 20, 30, 50)),
            status=status, created_at=created, status_changed_at=created,
            submitted_at=None if status == DRAFT else created + timedelta(hours=2)))
    session.add_all(children)
    session.flush()
    for child, referral, (council_id, family, _) in zip(children, referrals, plans, strict=True):
        referral.child_id = int(child.id or 0)
        if family is not None:
            referral.sibling_group_id = groups[(council_id, family)].id
    session.add_all(referrals)
    session.flush()
    session.add_all(_events(referrals))


def _plan_children(rng: random.Random, region: DemoRegion) -> list[tuple[int, int | None, str]]:
    """(council id, family number or None, placement type) for each child, about 30 % in sibling groups."""
    types = list(TYPE_SHARES)
    plans: list[tuple[int, int | None, str]] = []
    family = 0
    while len(plans) < REFERRAL_COUNT:
        council = rng.choice(region.councils)
        if rng.random() < FAMILY_CHANCE and len(plans) <= REFERRAL_COUNT - 3:
            family += 1
            size = rng.choice((2, 2, 3))
            kind = rng.choice(("foster_care", "foster_care", "foster_care", "childrens_home"))
            plans += [(int(council.id or 0), family, kind)] * size
        else:
            plans.append((int(council.id or 0), None, rng.choices(types, weights=[TYPE_SHARES[t] for t in types])[0]))
    return plans[:REFERRAL_COUNT]


def _events(referrals: list[Referral]) -> list[ReferralEvent]:
    events = []
    for r in referrals:
        steps = [(None, DRAFT, r.created_at)]
        if r.status in (SUBMITTED, IN_MATCHING):
            steps.append((DRAFT, SUBMITTED, r.submitted_at or r.created_at))
        if r.status == IN_MATCHING:
            steps.append((SUBMITTED, IN_MATCHING, (r.submitted_at or r.created_at) + timedelta(days=1)))
        events += [ReferralEvent(rcc_id=r.rcc_id, council_id=r.council_id, referral_id=r.id, from_status=a,
                                 to_status=b, at=at, reason=None) for a, b, at in steps]
        r.status_changed_at = steps[-1][2]
    return events


# What the council tells providers for each of the child's wishes: the need, not the child's words.
_SUMMARIES = {
    "I want to stay at my school and see my friends.": "Settled at school; a home within reach of it would help.",
    "I want to live with my brother.": "Close to a brother; regular contact matters to them.",
    "Somewhere quiet where I can have my own room.": "Does best in a calm home with their own room.",
    "I want to keep playing football on Saturdays.": "Plays in a weekend sports team and wants to carry on.",
    "Near my nan so I can visit her.": "Regular visits to a grandparent are important.",
    "I don't want to move far away again.": "Has moved often; stability near home is a priority.",
    "": "",
}

_WISHES = (
    "I want to stay at my school and see my friends.",
    "I want to live with my brother.",
    "Somewhere quiet where I can have my own room.",
    "I want to keep playing football on Saturdays.",
    "Near my nan so I can visit her.",
    "I don't want to move far away again.",
    "",
)

