from datetime import timedelta

import pytest

from contracts.services import evaluation, tenders
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.roles import Role
from tests.contracts.helpers import (
    NOW,
    acting_as,
    add_provider,
    bid_for,
    lot_details,
    make_home,
    moderate_all,
    published_tender,
    tender_details,
)
from tests.factories import make_region


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "T", ("Coventry", "Warwickshire"))


def test_every_status_from_draft_to_awarded_follows_the_dates_and_decisions(setup_session, region):
    s = setup_session
    tender = tenders.create_tender(s, region.rcc.id, tender_details(), None)
    s.flush()
    lot = tenders.add_lot(s, tender, lot_details(region), NOW)
    assert tenders.tender_status(tender, NOW) == tenders.DRAFT

    tenders.publish(s, tender, NOW)
    assert tenders.tender_status(tender, NOW) == tenders.OPEN
    provider = region.provider
    home = make_home(s, provider, "Oak House")
    bid = bid_for(s, provider, lot, 500000, [home])

    questions_closed = tender.clarification_closes_at
    assert tenders.tender_status(tender, questions_closed - timedelta(seconds=1)) == tenders.OPEN
    assert tenders.tender_status(tender, questions_closed) == tenders.CLARIFICATIONS_CLOSED
    assert tenders.tender_status(tender, tender.bids_close_at) == tenders.BIDS_CLOSED

    after = tender.bids_close_at + timedelta(hours=1)
    tenders.start_evaluation(s, tender, after)
    assert tenders.tender_status(tender, after) == tenders.EVALUATING

    evaluator = region.people[Role.RCC_COMMISSIONER]
    moderate_all(s, lot, evaluator.id, {bid.id: [4, 3]}, after)
    evaluation.decide_lot_award(s, lot, bid.id, "Only compliant bid, good quality", after)
    evaluation.award_tender(s, tender, after)
    assert tenders.tender_status(tender, after) == tenders.STANDSTILL
    assert tenders.tender_status(tender, after + timedelta(days=tenders.STANDSTILL_DAYS)) == tenders.AWARDED


def test_cancel_from_any_status_before_award(setup_session, region):
    s = setup_session
    draft = tenders.create_tender(s, region.rcc.id, tender_details("D-1"), None)
    tenders.cancel(s, draft, "No longer needed", NOW)
    assert tenders.tender_status(draft, NOW) == tenders.CANCELLED
    for moment in (NOW, NOW + timedelta(days=15), NOW + timedelta(days=25)):
        tender, _lot = published_tender(s, region, reference=f"C-{moment.day}")
        tenders.cancel(s, tender, "Market has changed", moment)
        assert tenders.tender_status(tender, moment) == tenders.CANCELLED
    with pytest.raises(Conflict):
        tenders.cancel(s, draft, "again", NOW)


def test_a_cancelled_tender_needs_a_reason(setup_session, region):
    tender, _lot = published_tender(setup_session, region)
    with pytest.raises(FieldErrors) as refused:
        tenders.cancel(setup_session, tender, "  ", NOW)
    assert "reason" in refused.value.errors


def test_an_awarded_tender_cannot_be_cancelled(setup_session, region):
    s = setup_session
    tender, lot = published_tender(s, region)
    bid = bid_for(s, region.provider, lot, 500000, [make_home(s, region.provider, "Oak House")])
    later = tender.bids_close_at + timedelta(hours=1)
    tenders.start_evaluation(s, tender, later)
    moderate_all(s, lot, region.people[Role.RCC_COMMISSIONER].id, {bid.id: [5, 5]}, later)
    evaluation.decide_lot_award(s, lot, bid.id, "Best", later)
    evaluation.award_tender(s, tender, later)
    with pytest.raises(Conflict):
        tenders.cancel(s, tender, "Changed our minds", later)


def test_only_a_complete_draft_can_be_published(setup_session, region):
    s = setup_session
    tender = tenders.create_tender(s, region.rcc.id, tender_details(), None)
    with pytest.raises(Conflict, match="Add at least one lot"):
        tenders.publish(s, tender, NOW)
    with pytest.raises(Conflict, match="must be in the future"):
        tenders.publish(s, tender, tender.clarification_closes_at)
    assert tenders.tender_status(tender, NOW) == tenders.DRAFT


def test_quality_weights_must_add_up_to_100(setup_session, region):
    tender = tenders.create_tender(setup_session, region.rcc.id, tender_details(), None)
    with pytest.raises(FieldErrors) as refused:
        tenders.add_lot(setup_session, tender, lot_details(region, questions=[("Safety", 60), ("Education", 30)]), NOW)
    assert refused.value.errors["questions"] == "Quality question weights must add up to 100%; they add up to 90%"


def test_dates_must_run_in_order(setup_session, region):
    details = tender_details()
    details.bids_close_at = details.clarification_closes_at
    with pytest.raises(FieldErrors) as refused:
        tenders.create_tender(setup_session, region.rcc.id, details, None)
    assert refused.value.errors["bids_close_at"] == "Bids must close after questions close"


def test_illegal_moves_are_refused(setup_session, region):
    s = setup_session
    tender, lot = published_tender(s, region)
    with pytest.raises(Conflict):
        tenders.publish(s, tender, NOW)  # already published
    with pytest.raises(Conflict):
        tenders.start_evaluation(s, tender, NOW)  # bids still open
    with pytest.raises(Conflict):
        tenders.add_lot(s, tender, lot_details(region), NOW)  # no longer a draft
    with pytest.raises(Conflict):
        evaluation.award_tender(s, tender, NOW)  # not evaluating


def test_councils_and_providers_never_see_drafts(setup_session, region):
    s = setup_session
    draft = tenders.create_tender(s, region.rcc.id, tender_details("DRAFT-1"), None)
    published, _lot = published_tender(s, region, reference="PUB-1")
    for organisation in (region.councils[0], region.provider):
        with acting_as(s, organisation):
            assert [t.reference for t in tenders.visible_tenders(s, NOW)] == ["PUB-1"]
            with pytest.raises(NotFound):
                tenders.get_tender(s, draft.id)
            assert tenders.get_tender(s, published.id).id == published.id
    with acting_as(s, region.rcc):
        assert {t.reference for t in tenders.visible_tenders(s, NOW)} == {"DRAFT-1", "PUB-1"}


def test_another_rccs_tender_is_not_found(setup_session, region):
    other = make_region(setup_session, "U", ("Leicester", "Leicestershire"))
    tender, _lot = published_tender(setup_session, region)
    with acting_as(setup_session, other.provider), pytest.raises(NotFound):
        tenders.get_tender(setup_session, tender.id)
    assert add_provider  # the helper is shared with other tests
