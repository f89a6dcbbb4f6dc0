"""Cost transparency's part of the demo: a year and a half of placement and cost history, so
every page and report shows real-looking figures. Deterministic (fixed seed).

Commissioning's demo makes open referrals but no placements yet, so this step makes historical
placements itself (child, referral, placement) in the region's real homes, with weekly costs
drawn around the published figures in rcc/reference_data/placement_costs_reference.csv:
children's homes around £6,000 (CCN 2024 £6,108) with a long tail past £20,000 (LGA: highest
placements £9,600–£32,500), independent fostering about £1,000 (CMA 2020 IFA £820, uplifted),
in-house fostering about £500, supported accommodation £1,000–£2,500 (Lincolnshire £1,822),
secure homes £8,000–£10,000. Two very high-cost placements give the review queue entries.
Then: cost records with splits and NHS/education contributions, a checked high-cost queue with
some outcomes, a year of rating observations (with drops), one published report and one draft.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.lifecycle import ENDED, PLACED
from commissioning.models import Child, Home, Placement, Referral
from commissioning.vocabulary import NEEDS, RISK_FLAGS
from cost_transparency.models import CostRecord, RatingObservation
from cost_transparency.services import high_cost_review, publications
from cost_transparency.services.comparison import Quarter
from cost_transparency.vocabulary import need_band_for
from rcc.demo import DEMO_SEED, DemoRegion
from rcc.geography import great_circle_miles, local_authority_named, outcode_points
from rcc.models import Organisation, utcnow
from rcc.roles import Role

HISTORY_DAYS = 540
PLACEMENTS_PER_COUNCIL = (12, 24)
TYPE_SHARES = {"foster_care": 0.52, "childrens_home": 0.26, "supported_accommodation": 0.12,
               "residential_school": 0.04, "parent_and_child": 0.04, "secure": 0.02}
END_REASONS = ("CARPL", "CARPL", "CARPL", "ALLEG", "APPRR")
VERY_HIGH = (2_450_000, 3_250_000)  # pence a week: a solo home with 3:1 staffing; a bespoke arrangement


def load_demo_costs(session: Session, region: DemoRegion) -> None:
    rng = random.Random(DEMO_SEED + 8)
    today = date.today()
    homes = _homes_by_type(session, region)
    sectors = {p.id: p.provider_sector or "private" for p in session.scalars(
        select(Organisation).where(Organisation.rcc_id == region.rcc.id, Organisation.kind == "provider"))}
    placements = _placements(session, rng, region, homes, today)
    _cost_records(session, rng, placements, sectors, today)
    session.flush()
    high_cost_review.refresh_queue(session, region.rcc.id or 0, today)
    _review_some(session, rng, region)
    _ratings(session, rng, region, today)
    _publications(session, region, today)


def _homes_by_type(session: Session, region: DemoRegion) -> dict[str, list[Home]]:
    found: dict[str, list[Home]] = {}
    for home in session.scalars(select(Home).where(Home.rcc_id == region.rcc.id, col(Home.active).is_(True))
                                .order_by(Home.id)):
        if home.latitude is not None:
            found.setdefault(home.placement_type, []).append(home)
    return found


def _weekly_price(rng: random.Random, kind: str, sector: str) -> int:
    """Pounds a week for one placement."""
    if kind == "foster_care":
        return round(rng.gauss(520, 60)) if sector == "local_authority" else round(rng.gauss(1000, 140))
    if kind == "childrens_home":
        price = 6000 * rng.lognormvariate(0, 0.28)
        if rng.random() < 0.06:
            price *= rng.uniform(2.0, 3.4)  # solo and two-to-one staffed placements: the long tail
        return round(price)
    if kind == "supported_accommodation":
        return round(rng.uniform(1000, 2500))
    if kind == "secure":
        return round(rng.uniform(8000, 10000))
    if kind == "residential_school":
        return round(rng.gauss(4800, 700))
    return round(rng.gauss(3500, 500))  # parent and child


def _placements(session: Session, rng: random.Random, region: DemoRegion, homes: dict[str, list[Home]],
                today: date) -> list[tuple[Placement, Referral]]:
    points = outcode_points()
    kinds = [k for k in TYPE_SHARES if homes.get(k)]
    weights = [TYPE_SHARES[k] for k in kinds]
    made: list[tuple[Placement, Referral]] = []
    flagged = 0
    for council in region.councils:
        authority = local_authority_named(council.name)
        near = sorted(points, key=lambda code: great_circle_miles(points[code], authority.centre))[:10] \
            if authority else list(points)[:10]
        for number in range(rng.randint(*PLACEMENTS_PER_COUNCIL)):
            kind = rng.choices(kinds, weights=weights)[0]
            local = [h for h in homes[kind] if h.local_authority == council.name]
            home = rng.choice(local if local and rng.random() < 0.4 else homes[kind])
            outcode = rng.choice(near)
            start = today - timedelta(days=rng.randint(20, HISTORY_DAYS))
            ended = rng.random() < 0.35 and (today - start).days > 60
            end = start + timedelta(days=rng.randint(45, (today - start).days - 1)) if ended else None
            age = rng.randint(16, 17) if kind == "supported_accommodation" else rng.randint(8, 17)
            child = Child(rcc_id=region.rcc.id, council_id=council.id, reference=f"CT-{council.id}-{number:03d}",
                          birth_month=rng.randint(1, 12), birth_year=today.year - age, sex=rng.choice("FM"),
                          legal_status=rng.choice(("C2", "C2", "C1", "V2")), category_of_need="N1",
                          home_postcode=outcode, home_latitude=points[outcode].latitude,
                          home_longitude=points[outcode].longitude)
            session.add(child)
            session.flush()
            needs = rng.sample(list(NEEDS), rng.randint(0, 2))
            risks = rng.sample(list(RISK_FLAGS), rng.choice((0, 0, 1, 1, 2, 3)))
            created = utcnow() - timedelta(days=(today - start).days + rng.randint(3, 40))
            referral = Referral(rcc_id=region.rcc.id, council_id=council.id, child_id=child.id,
                                placement_type=kind, urgency=rng.choice(("planned", "within_7_days", "emergency")),
                                date_needed=start, needs=needs, risk_flags=risks,
                                dol_order_needed=kind == "secure", status=ENDED if ended else PLACED,
                                created_at=created, submitted_at=created + timedelta(hours=2),
                                status_changed_at=utcnow() - timedelta(days=(today - (end or start)).days))
            session.add(referral)
            session.flush()
            price = _weekly_price(rng, kind, "private")
            if kind == "childrens_home" and flagged < len(VERY_HIGH) and not ended and number == 1:
                price = VERY_HIGH[flagged] // 100
                flagged += 1
            placement = Placement(rcc_id=region.rcc.id, council_id=council.id, provider_id=home.provider_id,
                                  referral_id=referral.id, child_id=child.id, home_id=home.id, placement_type=kind,
                                  start_date=start, end_date=end, end_reason=rng.choice(END_REASONS) if end else None,
                                  weekly_cost=max(price, 200) * 100, funding="spot")
            session.add(placement)
            made.append((placement, referral))
    session.flush()
    return made


def _cost_records(session: Session, rng: random.Random, made: list[tuple[Placement, Referral]],
                  sectors: dict[int | None, str], today: date) -> None:
    for placement, referral in made:
        sector = sectors.get(placement.provider_id, "private")
        if placement.placement_type == "foster_care" and sector == "local_authority":
            placement.weekly_cost = max(_weekly_price(rng, "foster_care", sector), 200) * 100
        band = need_band_for(len(referral.needs_and_risks), referral.dol_order_needed)
        gross = placement.weekly_cost
        additional = education = health = nhs = schooling = 0
        if placement.placement_type in ("childrens_home", "secure", "residential_school"):
            if band != "standard" or gross > 1_500_000:
                additional = int(round(gross * rng.uniform(0.08, 0.25), -2))
            if rng.random() < 0.3:
                education = rng.randint(3, 9) * 10_000
            if rng.random() < 0.15:
                health = rng.randint(2, 6) * 10_000
            if band == "complex" and rng.random() < 0.5 or gross > 1_500_000:
                nhs = int(round((additional + health) * rng.uniform(0.25, 0.5), -2))
            if education and rng.random() < 0.4:
                schooling = education
        core = max(gross - additional - education - health, gross // 2)
        split_on = placement.start_date + timedelta(days=rng.randint(150, 300))
        still_running = placement.end_date is None or placement.end_date > split_on
        first_end = split_on - timedelta(days=1) if still_running and split_on < today else placement.end_date
        common = {"rcc_id": placement.rcc_id, "council_id": placement.council_id, "placement_id": placement.id,
                  "provider_id": placement.provider_id, "placement_type": placement.placement_type,
                  "funding": placement.funding, "need_band": band}
        session.add(CostRecord(**common, start_date=placement.start_date, end_date=first_end, core_weekly=core,
                               additional_support_weekly=additional, education_weekly=education,
                               health_weekly=health, nhs_contribution_weekly=nhs,
                               education_contribution_weekly=schooling, source="contract_price",
                               notes="Extra staffing agreed at placement" if additional else ""))
        if still_running and split_on < today:
            uplift = 1 + rng.choice((0.02, 0.03, 0.035, 0.05))
            session.add(CostRecord(**common, start_date=split_on, end_date=placement.end_date,
                                   core_weekly=round(core * uplift), additional_support_weekly=additional,
                                   education_weekly=education, health_weekly=health, nhs_contribution_weekly=nhs,
                                   education_contribution_weekly=schooling, source="entered",
                                   notes="Annual uplift"))


def _review_some(session: Session, rng: random.Random, region: DemoRegion) -> None:
    commissioner = next((p for p in region.people if Role.RCC_COMMISSIONER in p.roles), None)
    outcomes = [("step_down_plan", "Step-down plan agreed with the social worker: move to a two-bed home "
                                   "within six months."),
                ("nhs_contribution_sought", "Health needs assessed; the ICB has been asked to fund the "
                                            "therapeutic support."),
                ("cost_justified", "Panel agreed the staffing ratio is needed for the child's safety; "
                                   "review again in three months.")]
    for index, review in enumerate(high_cost_review.queue(session)):
        if index % 2 == 1:
            outcome, notes = outcomes[(index // 2) % len(outcomes)]
            high_cost_review.record_outcome(session, review, outcome, notes,
                                            review.flagged_on + timedelta(days=90),
                                            commissioner.id if commissioner else None)


def _ratings(session: Session, rng: random.Random, region: DemoRegion, today: date) -> None:
    homes = list(session.scalars(select(Home).where(Home.rcc_id == region.rcc.id).order_by(Home.id)))
    better = {"good": "outstanding", "requires_improvement": "good", "inadequate": "requires_improvement"}
    year_ago = today - timedelta(days=330)
    candidates = [h for h in homes if h.ofsted_rating in better]
    dropped = rng.sample(candidates, min(8, len(candidates)))
    for home in homes:
        earlier = better[home.ofsted_rating] if home in dropped else home.ofsted_rating
        session.add(RatingObservation(rcc_id=home.rcc_id, provider_id=home.provider_id, home_id=home.id,
                                      rating=earlier, observed_on=year_ago))
        if home in dropped:
            session.add(RatingObservation(rcc_id=home.rcc_id, provider_id=home.provider_id, home_id=home.id,
                                          rating=home.ofsted_rating, observed_on=today - timedelta(days=40)))


def _publications(session: Session, region: DemoRegion, today: date) -> None:
    commissioner = next((p for p in region.people if Role.RCC_COMMISSIONER in p.roles), None)
    user_id = commissioner.id if commissioner else None
    last_quarter = Quarter.containing(today).previous()
    published = publications.create_draft(session, region.rcc, f"Placement unit costs, year to "
                                          f"{last_quarter.end:%B %Y}", last_quarter.end - timedelta(days=364),
                                          last_quarter.end, user_id, today)
    publications.approve(session, published, user_id)
    publications.publish(session, published, user_id)
    current = Quarter.containing(today)
    publications.create_draft(session, region.rcc, f"Placement unit costs, quarter to {current.end:%B %Y}",
                              current.start, today, user_id, today)
