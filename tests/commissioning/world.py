"""Commissioning's objects for the tenancy matrix: for each region, a child with a referral in
a sibling group for each council, a home with a vacancy, and a placement."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from commissioning.models import (
    CareEpisode,
    Home,
    LookedAfterChild,
    Placement,
    ReferralEvent,
    ReferralUpload,
    Ssda903Upload,
    SsdChild,
    Vacancy,
)
from commissioning.services import fostering, referrals, sibling_groups, supply
from commissioning.services.referrals import ChildDetails, ReferralDetails
from commissioning.services.supply import HomeDetails
from tests.factories import Region


def child_details(reference: str, **changes: object) -> ChildDetails:
    details = ChildDetails(reference=reference, initials="AB", birth_month=4, birth_year=date.today().year - 12,
                           sex="F", legal_status="C2", category_of_need="N1", home_postcode="CV1 2AB",
                           school_postcode="CV3 4AA")
    for name, value in changes.items():
        setattr(details, name, value)
    return details


def referral_details(**changes: object) -> ReferralDetails:
    details = ReferralDetails(placement_type="foster_care", urgency="planned",
                              date_needed=date.today() + timedelta(days=14), additional_support="therapeutic_support",
                              risk_flags=["going_missing"], child_wishes="I want to stay at my school")
    for name, value in changes.items():
        setattr(details, name, value)
    return details


def home_details(urn: str, name: str, **changes: object) -> HomeDetails:
    details = HomeDetails(ofsted_urn=urn, name=name, placement_type="foster_care", local_authority="Coventry",
                          postcode="CV1 2AB", registered_places=4, age_min=0, age_max=17,
                          needs_met=["therapeutic_support", "going_missing"], max_sibling_group=3, weekly_price=90000)
    for name_, value in changes.items():
        setattr(details, name_, value)
    return details


def household_details(reference: str, **changes: object) -> fostering.HouseholdDetails:
    details = fostering.HouseholdDetails(reference=reference, postcode="CV1 2AB", age_min=0, age_max=17,
                                         max_children=3, siblings=True, places_free=2, needs_met=["therapeutic_support"],
                                         weekly_cost=60000, status="approved")
    for name, value in changes.items():
        setattr(details, name, value)
    return details


def build(session: Session, region: Region, label: str) -> None:
    home = supply.create_home(session, region.provider, home_details(f"SC{label}1", f"MARK-{label}-home"))
    session.flush()
    supply.set_vacancy(session, home, 2, date.today())
    fostering.create_household(session, region.provider, household_details(f"MARK-{label}-agency-household"))
    for index, council in enumerate(region.councils):
        fostering.create_household(session, council, household_details(f"MARK-{label}-{index}-household",
                                                                        postcode="LE1 6ZG"))
        fostering.set_in_house_preference(session, council, 100 + index)
        group = sibling_groups.create_sibling_group(session, council, f"MARK-{label}-{index}-group", "together")
        session.flush()
        referral = referrals.create_referral(
            session, council, child_details(f"MARK-{label}-{index}-child"),
            referral_details(child_wishes=f"MARK-{label}-{index}-wishes", sibling_group_id=group.id))
        referrals.submit_referral(session, referral)
        session.add(ReferralEvent(rcc_id=referral.rcc_id, council_id=council.id, referral_id=referral.id,
                                  from_status="submitted", to_status="submitted",
                                  reason=f"MARK-{label}-{index}-event"))
        session.add(ReferralUpload(rcc_id=council.rcc_id, council_id=council.id,
                                   file_name=f"MARK-{label}-{index}-upload.csv", status="failed", rows_total=1,
                                   problems=[{"row": 2, "field": "reference", "problem": f"MARK-{label}-{index}-problem"}]))
        session.add(Ssda903Upload(rcc_id=council.rcc_id, council_id=council.id, year=2025,
                                  file_name=f"MARK-{label}-{index}-903.csv", status="failed", rows_total=1,
                                  problems=[{"row": 2, "field": "PLACE (episodes)",
                                             "problem": f"MARK-{label}-{index}-903problem"}]))
        # The council's 903 cohort and SSD extract: children's records, marked like every other.
        session.add(LookedAfterChild(rcc_id=council.rcc_id, council_id=council.id, child_ref=f"MARK-{label}{index}",
                                     sex="F", birth_year=2012, birth_month=5, ethnicity="WBRI"))
        session.add(CareEpisode(rcc_id=council.rcc_id, council_id=council.id, child_ref=f"MARK-{label}{index}",
                                start=date(2024, 5, 1), rne="S", legal_status="C2", cin="N1", place="U4",
                                place_provider="PR4", home_post="CV1 2AB", pl_post="CV8 2LG",
                                urn=f"MARK-{label}{index}U", source_year=2025))
        session.add(SsdChild(rcc_id=council.rcc_id, council_id=council.id, reference=f"MARK-{label}-{index}-ssd",
                             birth_month=5, birth_year=2012, sex="F", legal_status="C2", category_of_need="N1"))
        if index == 0:
            for step in (referrals.start_matching, referrals.mark_offered, referrals.approve_proposal):
                step(session, referral)
            placement = record(session, referral, home)
            assert isinstance(placement, Placement)
    session.flush()
    assert session.get(Vacancy, home.id) is not None or True
    assert isinstance(home, Home)


def record(session: Session, referral, home: Home) -> Placement:  # type: ignore[no-untyped-def]
    from commissioning.services.placements import record_placement  # noqa: PLC0415

    return record_placement(session, referral, home, date.today(), 90000, "spot")
