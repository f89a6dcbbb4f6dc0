"""Cost records: derived from the placement's price or entered, never overlapping; high-cost flags."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from cost_transparency.models import CostRecord, HighCostReview
from cost_transparency.services import cost_records, high_cost_review
from cost_transparency.services.cost_records import CostDetails
from rcc.errors import FieldErrors
from rcc.models import AuditEvent
from tests.cost_transparency.conftest import TODAY, add_home, add_placement, add_provider


@pytest.fixture
def placement(session, region):
    home = add_home(session, region, add_provider(session, region, "Acme Care"))
    return add_placement(session, region, region.councils[0], home, 6108,
                         needs=["therapeutic_support", "self_harm", "going_missing"])


def test_a_record_derived_from_a_spot_placement_takes_its_price_and_need_band(session, placement):
    details = cost_records.derived_details(session, placement)
    assert details.core_weekly == 610_800
    assert details.need_band == "enhanced"  # three needs and risks
    record = cost_records.create_record(session, placement, details, "contract_price")
    assert record.gross_weekly == record.net_weekly == 610_800
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "cost_record.created")).first()


def test_parts_and_contributions_add_up(session, placement):
    record = cost_records.create_record(session, placement, CostDetails(
        start_date=placement.start_date, end_date=None, core_weekly=500_000, additional_support_weekly=150_000,
        education_weekly=40_000, health_weekly=10_000, nhs_contribution_weekly=60_000,
        education_contribution_weekly=40_000, need_band="complex"), "entered")
    assert record.gross_weekly == 700_000
    assert record.contributions_weekly == 100_000
    assert record.net_weekly == 600_000


def test_records_of_a_placement_cannot_overlap(session, placement):
    first = CostDetails(start_date=placement.start_date, end_date=TODAY - timedelta(days=10), core_weekly=600_000)
    cost_records.create_record(session, placement, first, "entered")
    with pytest.raises(FieldErrors) as error:
        cost_records.create_record(session, placement, CostDetails(
            start_date=TODAY - timedelta(days=20), end_date=None, core_weekly=620_000), "entered")
    assert "overlaps" in error.value.errors["start_date"]
    cost_records.create_record(session, placement, CostDetails(
        start_date=TODAY - timedelta(days=9), end_date=None, core_weekly=620_000), "entered")


def test_bad_details_name_each_field(session, placement):
    with pytest.raises(FieldErrors) as error:
        cost_records.create_record(session, placement, CostDetails(
            start_date=placement.start_date - timedelta(days=1), end_date=placement.start_date - timedelta(days=5),
            core_weekly=0, health_weekly=-1, need_band="unknown"), "entered")
    assert set(error.value.errors) >= {"start_date", "core_weekly", "health_weekly", "need_band"}
    assert session.scalars(select(CostRecord)).first() is None


def test_contributions_cannot_exceed_the_cost(session, placement):
    with pytest.raises(FieldErrors) as error:
        cost_records.create_record(session, placement, CostDetails(
            start_date=placement.start_date, end_date=None, core_weekly=100_000, nhs_contribution_weekly=200_000),
            "entered")
    assert "nhs_contribution_weekly" in error.value.errors


def test_a_cost_above_the_threshold_is_flagged_at_once(session, region, placement):
    record = cost_records.create_record(session, placement, CostDetails(
        start_date=placement.start_date, end_date=None, core_weekly=1_200_000), "entered", today=TODAY)
    review = session.scalars(select(HighCostReview)).one()
    assert review.cost_record_id == record.id and review.reasons == ["threshold"]
    assert review.threshold == 1_000_000


def test_the_rcc_can_raise_the_threshold(session, region, placement):
    high_cost_review.update_settings(session, region.rcc.id, 15_000, 30, None)
    cost_records.create_record(session, placement, CostDetails(
        start_date=placement.start_date, end_date=None, core_weekly=1_200_000), "entered", today=TODAY)
    assert session.scalars(select(HighCostReview)).first() is None
    with pytest.raises(FieldErrors) as error:
        high_cost_review.update_settings(session, region.rcc.id, 100, 1, None)
    assert set(error.value.errors) == {"high_cost_threshold", "provider_share_alert_percent"}


def test_checking_the_queue_flags_outliers_within_their_type(session, region, costed):
    result = high_cost_review.refresh_queue(session, region.rcc.id, TODAY)
    flagged = {r.placement_id: r for r in session.scalars(select(HighCostReview))}
    expensive = costed[6]  # £25,000 a week
    assert set(flagged) == {expensive.id}
    assert flagged[expensive.id].reasons == ["outlier", "threshold"]
    # Q1 5,800... the other eleven sit within 1.5 IQR of the quartiles
    assert result.outlier_limits["childrens_home"] < 2_500_000
    assert high_cost_review.refresh_queue(session, region.rcc.id, TODAY).flagged == 0  # not flagged twice


def test_recording_a_review_outcome(session, region, costed):
    high_cost_review.refresh_queue(session, region.rcc.id, TODAY)
    review = session.scalars(select(HighCostReview)).one()
    with pytest.raises(FieldErrors) as error:
        high_cost_review.record_outcome(session, review, "made_up", "", None, None)
    assert set(error.value.errors) == {"outcome", "notes"}
    high_cost_review.record_outcome(session, review, "nhs_contribution_sought", "ICB asked to fund therapy",
                                    TODAY + timedelta(days=90), None)
    assert review.status == "reviewed" and review.outcome == "nhs_contribution_sought"


def test_missing_records_are_made_from_placement_prices(session, region, placement):
    assert cost_records.create_missing_records(session) == 1
    assert cost_records.create_missing_records(session) == 0


def test_the_queue_leaves_out_placements_that_have_ended(session, region, costed):
    """Issue 19 item 13: the high-cost review queue flagged placements that had ended."""
    high_cost_review.refresh_queue(session, region.rcc.id, TODAY)
    expensive = costed[6]
    assert [r.placement_id for r in high_cost_review.queue(session)] == [expensive.id]
    expensive.end_date = TODAY - timedelta(days=1)
    session.add(expensive)
    session.flush()
    assert high_cost_review.queue(session) == []  # TODAY is today
    assert high_cost_review.queue(session, "open") == []
