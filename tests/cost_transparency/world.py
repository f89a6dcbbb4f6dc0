"""Cost transparency's objects for the tenancy matrix: in each region, a placement of each
council with a cost record and a high-cost review, the RCC's settings, a rating observation,
and a draft publication (RCC staff only; nothing is published, since a published report is
public by design)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from commissioning.models import Child, Home, Placement, Referral
from cost_transparency.models import (
    CostRecord,
    CostSettings,
    HighCostReview,
    ProviderParentGroup,
    RatingObservation,
)
from cost_transparency.services import publications
from tests.factories import Region


def build(session: Session, region: Region, label: str) -> None:
    today = date.today()
    home = session.scalars(select(Home).where(Home.rcc_id == region.rcc.id).order_by(Home.id)).first()
    assert home is not None, "the commissioning world builder makes a home first"
    for index, council in enumerate(region.councils):
        placement = session.scalars(select(Placement).where(Placement.council_id == council.id)).first()
        if placement is None:
            placement = _placement(session, region, council.id, home, label, index, today)
        record = CostRecord(rcc_id=region.rcc.id, council_id=council.id, placement_id=placement.id,
                            provider_id=placement.provider_id, placement_type=placement.placement_type,
                            funding=placement.funding, need_band="enhanced", start_date=placement.start_date,
                            core_weekly=1_150_000, additional_support_weekly=50_000, nhs_contribution_weekly=20_000,
                            source="entered", notes=f"MARK-{label}-{index}-cost-record")
        session.add(record)
        session.flush()
        session.add(HighCostReview(rcc_id=region.rcc.id, council_id=council.id, placement_id=placement.id,
                                   cost_record_id=record.id, placement_type=placement.placement_type,
                                   weekly_cost=record.gross_weekly, reasons=["threshold"], threshold=1_000_000,
                                   flagged_on=today, notes=f"MARK-{label}-{index}-review"))
    session.add(CostSettings(rcc_id=region.rcc.id))
    session.add(RatingObservation(rcc_id=region.rcc.id, provider_id=home.provider_id, home_id=home.id,
                                  rating="outstanding", observed_on=today - timedelta(days=200)))
    session.add(ProviderParentGroup(rcc_id=region.rcc.id, provider_id=home.provider_id,
                                    parent_name=f"MARK-{label}-parent-group"))
    session.flush()
    publications.create_draft(session, region.rcc, f"MARK-{label}-publication", today - timedelta(days=364),
                              today, None, today)
    session.flush()
    _whatif_run(session, region, label, today)


def _whatif_run(session: Session, region: Region, label: str, today: date) -> None:
    """A finished what-if run (the RCC's; its councils read it), replayed on an empty region."""
    from cost_transparency.models import WhatifRun
    from cost_transparency.whatif.replay import MonthDemand, Scenario, replay, replay_to_json
    from cost_transparency.whatif.replay import Region as ReplayRegion

    empty = ReplayRegion((), tuple(MonthDemand(f"2026-{m:02d}") for m in range(1, 13)), (), {"Coventry": (52.4, -1.5)})
    found = {"notes": [], "workers": 1, "councils": {},
             "baseline": replay_to_json(replay(empty, Scenario("Baseline"), 1)),
             "scenario": replay_to_json(replay(empty, Scenario(f"MARK-{label}-whatif"), 1))}
    session.add(WhatifRun(rcc_id=region.rcc.id, name=f"MARK-{label}-whatif", seed=1, start=today.replace(day=1),
                          status="done", months_done=24, result=found,
                          scenario={"name": f"MARK-{label}-whatif", "changes": [
                              {"placement_type": "childrens_home", "places": 2, "area": "Coventry", "home": None,
                               "from_month": 0, "weekly_cost": None}]}))
    session.flush()


def _placement(session: Session, region: Region, council_id: int | None, home: Home, label: str, index: int,
               today: date) -> Placement:
    child = Child(rcc_id=region.rcc.id, council_id=council_id, reference=f"MARK-{label}-{index}-costchild",
                  birth_month=3, birth_year=today.year - 13, sex="M", legal_status="C2", category_of_need="N1",
                  home_postcode="CV1 2AB", home_latitude=52.41, home_longitude=-1.51)
    session.add(child)
    session.flush()
    referral = Referral(rcc_id=region.rcc.id, council_id=council_id, child_id=child.id,
                        placement_type=home.placement_type, urgency="planned", date_needed=today - timedelta(days=90),
                        status="placed", child_wishes=f"MARK-{label}-{index}-costwishes")
    session.add(referral)
    session.flush()
    placement = Placement(rcc_id=region.rcc.id, council_id=council_id, provider_id=home.provider_id,
                          referral_id=referral.id, child_id=child.id, home_id=home.id,
                          placement_type=home.placement_type, start_date=today - timedelta(days=90),
                          weekly_cost=1_200_000, funding="spot")
    session.add(placement)
    session.flush()
    return placement
