"""The retention policy's purge, travelling in time: a child referred but never placed loses their
identifiable details the configured years after the referral closed; a child who was placed keeps them
until the month of their 75th birthday is over; an open referral keeps them whatever the date. The
purge is audited, done once (a second run changes nothing), and leaves the anonymous figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from commissioning import retention
from commissioning.lifecycle import ENDED, WITHDRAWN
from commissioning.models import Child, Placement, Referral, ReferralEvent, SiblingGroup
from cost_transparency.models import CostRecord
from rcc.models import AuditEvent
from rcc.notification_models import ScheduledAction
from tests.factories import make_region
from tests.matching import builders

CLOSED_ON = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def in_app(app, monkeypatch):
    monkeypatch.delenv("RCC_RETENTION_UNPLACED_YEARS", raising=False)
    with app.app_context():
        yield


def run(app, command: str, at: datetime, *extra: str) -> str:
    result = app.test_cli_runner().invoke(args=[command, "--now", at.replace(tzinfo=None).isoformat(), *extra])
    assert result.exit_code == 0, result.output
    return result.output


def purged_audits(session) -> int:
    return session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "retention.purged"))


@pytest.fixture
def world(setup_session):
    s = setup_session
    region = make_region(s, "R", ("Coventry", "Warwickshire"))
    council = region.councils[0]
    group = builders.add_sibling_group(s, council, "The Example children")
    never_placed = builders.add_referral(s, council, "COV-NEVER", status=WITHDRAWN, sibling_group=group,
                                         postcode="CV2 4AA")
    never_placed.status_changed_at = CLOSED_ON
    never_placed.preferred_location = "Near Gran in Coundon"
    s.add(ReferralEvent(rcc_id=council.rcc_id, council_id=council.id, referral_id=never_placed.id,
                        from_status="submitted", to_status=WITHDRAWN, reason="Jamie went home to his mum"))
    placed = builders.add_referral(s, council, "COV-PLACED", status=ENDED, age=14)
    placed.status_changed_at = CLOSED_ON
    home = builders.add_home(s, region.provider, "Oak House")
    placement = Placement(rcc_id=council.rcc_id, council_id=council.id, provider_id=region.provider.id,
                          referral_id=placed.id, child_id=placed.child_id, home_id=home.id,
                          placement_type="childrens_home", start_date=date(2025, 6, 1), end_date=date(2025, 12, 1),
                          weekly_cost=480_000, funding="spot")
    s.add(placement)
    s.flush()
    s.add(CostRecord(rcc_id=council.rcc_id, council_id=council.id, placement_id=placement.id,
                     provider_id=region.provider.id, placement_type="childrens_home", funding="spot",
                     need_band="high", start_date=date(2025, 6, 1), end_date=date(2025, 12, 1), core_weekly=450_000,
                     additional_support_weekly=30_000, source="entered", notes="Extra staff while Jamie settles"))
    still_open = builders.add_referral(s, council, "COV-OPEN")
    s.commit()
    return never_placed, placed, still_open


def child_of(session, referral: Referral) -> Child:
    session.expire_all()
    return session.get(Child, referral.child_id)


def test_a_never_placed_childs_details_go_after_the_retention_years_once(app, setup_session, world):
    never_placed, placed, still_open = world
    s = setup_session
    before = datetime(2032, 1, 10, 9, 0)  # six years to the day: still kept
    assert "Would remove the details of 0 children" in run(app, "purge-expired-records", before, "--dry-run")
    assert "children's records past retention purged: 0" in run(app, "tick", before)
    assert child_of(s, never_placed).reference == "COV-NEVER"

    after = datetime(2032, 1, 12, 9, 0)
    assert "Would remove the details of 1 child " in run(app, "purge-expired-records", after, "--dry-run")
    assert child_of(s, never_placed).reference == "COV-NEVER"  # a dry run changes nothing
    assert "children's records past retention purged: 1" in run(app, "tick", after)

    child = child_of(s, never_placed)
    referral = s.get(Referral, never_placed.id)
    assert (child.reference, child.initials, child.birth_month) == (f"removed-{child.id}", None, 1)
    assert (child.home_postcode, child.school_postcode, child.home_latitude, child.school_latitude) == (
        "CV2", "CV3", None, None)
    assert (child.sex, child.legal_status, child.category_of_need) == ("F", "C2", "N1")  # kept for figures
    assert (referral.child_wishes, referral.provider_summary, referral.preferred_location) == ("", "", None)
    assert referral.needs == ["therapeutic_support"] and referral.status == WITHDRAWN
    assert s.scalars(select(ReferralEvent.reason).where(ReferralEvent.referral_id == referral.id)).all() == [None]
    assert s.get(SiblingGroup, referral.sibling_group_id).name == f"Sibling group {referral.sibling_group_id}"
    [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purged"))
    assert (event.object_type, event.object_id, event.detail["reason"]) == ("child", str(child.id), "never_placed")
    assert "COV-NEVER" not in str(event.detail)

    # Running again, by the tick or the command, does nothing more.
    assert "children's records past retention purged: 0" in run(app, "tick", after)
    assert "Removed the details of 0 children" in run(app, "purge-expired-records", after)
    assert purged_audits(s) == 1
    assert s.scalar(select(func.count(ScheduledAction.id)).where(ScheduledAction.kind == "retention_purge")) == 1
    # The placed child and the open referral's child are untouched.
    assert child_of(s, placed).reference == "COV-PLACED" and child_of(s, still_open).reference == "COV-OPEN"


def test_a_placed_childs_details_stay_until_their_75th_birthday_and_the_figures_stay_after(
        app, setup_session, world):
    _, placed, still_open = world
    s = setup_session
    child = child_of(s, placed)
    turns_75 = date(child.birth_year + 75, child.birth_month, 1)
    in_the_month = datetime(turns_75.year, turns_75.month, 28, 23, 0)
    assert "Removed the details of 1 child " in run(app, "purge-expired-records", in_the_month)  # only the unplaced
    assert child_of(s, placed).reference == "COV-PLACED"
    assert s.scalars(select(CostRecord.notes)).one() == "Extra staff while Jamie settles"

    month_after = datetime(turns_75.year + (turns_75.month == 12), turns_75.month % 12 + 1, 1, 0, 1)
    assert "Removed the details of 1 child " in run(app, "purge-expired-records", month_after)
    child = child_of(s, placed)
    assert child.reference == f"removed-{child.id}"
    [placement] = s.scalars(select(Placement).where(Placement.child_id == child.id))
    assert (placement.weekly_cost, placement.start_date, placement.end_date) == (480_000, date(2025, 6, 1),
                                                                                date(2025, 12, 1))
    [cost] = s.scalars(select(CostRecord))  # the figures stay; the words about the child go
    assert (cost.core_weekly, cost.additional_support_weekly, cost.notes) == (450_000, 30_000, "")
    assert child_of(s, still_open).reference == "COV-OPEN"  # an open referral keeps its child's details
    assert "Removed the details of 0 children" in run(app, "purge-expired-records", month_after)
    assert purged_audits(s) == 2


def test_the_unplaced_retention_is_a_local_choice(app, setup_session, world, monkeypatch):
    never_placed, _, _ = world
    monkeypatch.setenv("RCC_RETENTION_UNPLACED_YEARS", "2")
    assert "Removed the details of 1 child " in run(app, "purge-expired-records", datetime(2028, 1, 12))
    assert child_of(setup_session, never_placed).reference.startswith("removed-")
    monkeypatch.setenv("RCC_RETENTION_UNPLACED_YEARS", "soon")
    result = app.test_cli_runner().invoke(args=["purge-expired-records"])
    assert result.exit_code != 0 and "RCC_RETENTION_UNPLACED_YEARS" in result.output


def test_care_record_until_is_the_first_day_after_the_75th_birthday_month():
    assert retention.care_record_until(Child(birth_year=2012, birth_month=12)) == date(2088, 1, 1)
    assert retention.care_record_until(Child(birth_year=2012, birth_month=3)) == date(2087, 4, 1)
