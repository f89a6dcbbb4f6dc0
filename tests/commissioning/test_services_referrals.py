from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from commissioning import lifecycle
from commissioning.models import Child, ReferralEvent
from commissioning.services import referrals
from rcc.errors import Conflict, FieldErrors
from rcc.models import AuditEvent
from tests.commissioning.world import child_details, referral_details


def new_referral(session, region, reference="C-1", **changes):
    referral = referrals.create_referral(session, region.councils[0], child_details(reference), referral_details(**changes))
    session.flush()
    return referral


def walk_to(session, referral, status):
    path = {
        "draft": [], "submitted": [referrals.submit_referral],
        "in_matching": [referrals.submit_referral, referrals.start_matching],
        "offered": [referrals.submit_referral, referrals.start_matching, referrals.mark_offered],
        "proposal_approved": [referrals.submit_referral, referrals.start_matching, referrals.mark_offered,
                              referrals.approve_proposal],
        "placed": [referrals.submit_referral, referrals.start_matching, referrals.mark_offered,
                   referrals.approve_proposal, referrals.mark_placed],
        "ended": [referrals.submit_referral, referrals.start_matching, referrals.mark_offered,
                  referrals.approve_proposal, referrals.mark_placed, referrals.mark_ended],
        "withdrawn": [lambda s, r: referrals.withdraw_referral(s, r, "Returning home")],
    }[status]
    for step in path:
        step(session, referral)
    assert referral.status == status
    return referral


MOVES = {
    "submitted": lambda s, r: referrals.submit_referral(s, r),
    "in_matching": lambda s, r: referrals.start_matching(s, r) if r.status == "submitted"
    else referrals.return_to_matching(s, r, None, "Provider declined"),
    "offered": referrals.mark_offered,
    "proposal_approved": referrals.approve_proposal,
    "placed": referrals.mark_placed,
    "ended": referrals.mark_ended,
    "withdrawn": lambda s, r: referrals.withdraw_referral(s, r, "Returning home"),
}
STATUSES = list(lifecycle.STATUS_LABELS)


@pytest.mark.parametrize("start,target", [(a, b) for a in STATUSES for b in STATUSES if b != "draft"])
def test_every_transition_is_allowed_exactly_when_the_table_says(session, region, start, target):
    referral = walk_to(session, new_referral(session, region), start)
    if target in lifecycle.TRANSITIONS[start]:
        MOVES[target](session, referral)
        assert referral.status == target
        event = session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
                                .order_by(ReferralEvent.id.desc())).first()
        assert (event.from_status, event.to_status) == (start, target)
        assert event.user_id is not None
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == f"referral.{target}")).first()
    else:
        with pytest.raises(Conflict) as refused:
            MOVES[target](session, referral)
        assert lifecycle.label(start) in refused.value.message
        assert lifecycle.label(target) in refused.value.message
        assert referral.status == start


def test_return_to_matching_excludes_the_declined_home_and_needs_a_reason(session, region):
    referral = walk_to(session, new_referral(session, region), "offered")
    with pytest.raises(FieldErrors):
        referrals.return_to_matching(session, referral, 42, " ")
    referrals.return_to_matching(session, referral, 42, "Provider declined")
    assert referral.status == "in_matching" and referral.excluded_home_ids == [42]


def test_withdrawing_needs_a_reason(session, region):
    referral = new_referral(session, region)
    with pytest.raises(FieldErrors) as refused:
        referrals.withdraw_referral(session, referral, "")
    assert "reason" in refused.value.errors


def test_a_referral_names_every_missing_field(session, region):
    with pytest.raises(FieldErrors) as refused:
        referrals.create_referral(session, region.councils[0], referrals.ChildDetails(), referrals.ReferralDetails())
    assert {"reference", "birth_month", "birth_year", "sex", "legal_status", "category_of_need", "home_postcode",
            "placement_type", "urgency", "date_needed"} <= set(refused.value.errors)


def test_checks_codes_postcodes_and_ages(session, region):
    child = child_details("C-2", legal_status="XX", home_postcode="NOT A POSTCODE", birth_year=date.today().year - 10)
    with pytest.raises(FieldErrors) as refused:
        referrals.create_referral(session, region.councils[0], child,
                                  referral_details(placement_type="supported_accommodation", risk_flags=["flying"]))
    errors = refused.value.errors
    assert set(errors) >= {"legal_status", "home_postcode", "placement_type", "risk_flags"}
    assert "16 or 17" in errors["placement_type"]


def test_excluding_your_own_area_needs_a_reason(session, region):
    with pytest.raises(FieldErrors) as refused:
        new_referral(session, region, excluded_areas=["Coventry"])
    assert "out_of_area_reason" in refused.value.errors
    referral = new_referral(session, region, excluded_areas=["coventry"], out_of_area_reason="Exploitation risk")
    assert referral.excluded_areas == ["Coventry"]


def test_child_is_geocoded_and_postcodes_normalised(session, region):
    referral = new_referral(session, region)
    child = session.get(Child, referral.child_id)
    assert child.home_postcode == "CV1 2AB" and child.home_latitude is not None
    assert child.school_latitude is not None


def test_a_child_with_an_open_referral_cannot_get_a_second(session, region):
    new_referral(session, region, "C-9")
    with pytest.raises(FieldErrors) as refused:
        new_referral(session, region, "c-9")
    assert "already has an open referral" in refused.value.errors["reference"]


def test_submitting_a_draft_needed_in_the_past_is_refused(session, region):
    referral = new_referral(session, region)
    referral.date_needed = date.today() - timedelta(days=1)
    with pytest.raises(FieldErrors):
        referrals.submit_referral(session, referral)


def test_open_referrals_for_matching_are_submitted_or_in_matching_most_urgent_first(session, region):
    planned = walk_to(session, new_referral(session, region, "P"), "submitted")
    emergency = walk_to(session, new_referral(session, region, "E", urgency="emergency"), "in_matching")
    new_referral(session, region, "D")
    assert [r.id for r in referrals.open_referrals_for_matching(session)] == [emergency.id, planned.id]


def test_a_young_person_who_is_18_on_the_date_needed_is_refused_naming_date_needed(session, region):
    """Issue 19 item 13: 17 today, 18 by the date the place is needed."""
    today = date.today()
    needed = today + timedelta(days=60)
    # Born in the month the place is needed, 18 years earlier: 18 on that date, 17 today.
    child = child_details("C-18", birth_year=needed.year - 18, birth_month=needed.month)
    with pytest.raises(FieldErrors) as refused:
        referrals.create_referral(session, region.councils[0], child,
                                  referral_details(placement_type="supported_accommodation", date_needed=needed))
    assert "18" in refused.value.errors["date_needed"]
    assert "birth_year" not in refused.value.errors
