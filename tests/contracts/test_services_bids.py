from datetime import timedelta

import pytest

from contracts.services import bids, clarifications, tenders
from rcc.errors import Conflict, FieldErrors, NotFound
from tests.contracts.helpers import NOW, acting_as, add_provider, bid_for, make_home, published_tender
from tests.factories import make_region


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "T", ("Coventry", "Warwickshire"))


@pytest.fixture
def open_lot(setup_session, region):
    return published_tender(setup_session, region)


def test_a_bid_can_be_edited_until_the_deadline(setup_session, region, open_lot):
    tender, lot = open_lot
    home = make_home(setup_session, region.provider, "Oak House")
    first = bid_for(setup_session, region.provider, lot, 500000, [home])
    second = bid_for(setup_session, region.provider, lot, 480000, [home],
                     now=tender.bids_close_at - timedelta(seconds=1))
    assert second.id == first.id and second.weekly_price == 480000


def test_a_bid_submitted_after_the_deadline_is_refused(setup_session, region, open_lot):
    tender, lot = open_lot
    home = make_home(setup_session, region.provider, "Oak House")
    with pytest.raises(Conflict, match="closed"):
        bid_for(setup_session, region.provider, lot, 500000, [home], now=tender.bids_close_at)


def test_a_bid_cannot_change_after_the_deadline(setup_session, region, open_lot):
    tender, lot = open_lot
    home = make_home(setup_session, region.provider, "Oak House")
    bid_for(setup_session, region.provider, lot, 500000, [home])
    with pytest.raises(Conflict):
        bid_for(setup_session, region.provider, lot, 400000, [home], now=tender.bids_close_at + timedelta(days=1))
    with acting_as(setup_session, region.provider), pytest.raises(Conflict):
        bids.withdraw_bid(setup_session, bids.own_bid(setup_session, lot), tender.bids_close_at)


def test_the_rcc_cannot_read_a_bid_before_the_deadline(setup_session, region, open_lot):
    tender, lot = open_lot
    bid = bid_for(setup_session, region.provider, lot, 500000, [make_home(setup_session, region.provider, "Oak")])
    with acting_as(setup_session, region.rcc):
        with pytest.raises(NotFound):
            bids.get_bid(setup_session, bid.id, tender.bids_close_at - timedelta(seconds=1))
        with pytest.raises(NotFound):
            bids.bids_for_lot(setup_session, lot, NOW)
        assert bids.get_bid(setup_session, bid.id, tender.bids_close_at).id == bid.id


def test_bids_of_a_tender_cancelled_before_the_deadline_stay_sealed(setup_session, region, open_lot):
    tender, lot = open_lot
    bid = bid_for(setup_session, region.provider, lot, 500000, [make_home(setup_session, region.provider, "Oak")])
    tenders.cancel(setup_session, tender, "Withdrawn", NOW)
    with acting_as(setup_session, region.rcc), pytest.raises(NotFound):
        bids.get_bid(setup_session, bid.id, tender.bids_close_at + timedelta(days=30))


def test_providers_see_only_their_own_bids(setup_session, region, open_lot):
    _tender, lot = open_lot
    rival = add_provider(setup_session, region, "Rival Care Ltd")
    ours = bid_for(setup_session, region.provider, lot, 500000, [make_home(setup_session, region.provider, "Oak")])
    theirs = bid_for(setup_session, rival, lot, 450000, [make_home(setup_session, rival, "Elm")])
    with acting_as(setup_session, rival):
        assert [b.id for b in bids.bids_for_lot(setup_session, lot, NOW)] == [theirs.id]
        with pytest.raises(NotFound):
            bids.get_bid(setup_session, ours.id, NOW)


def test_a_bid_names_each_wrong_field(setup_session, region, open_lot):
    _tender, lot = open_lot
    rival = add_provider(setup_session, region, "Rival Care Ltd")
    not_ours = make_home(setup_session, rival, "Elm")
    with acting_as(setup_session, region.provider), pytest.raises(FieldErrors) as refused:
        bids.submit_bid(setup_session, lot, bids.BidDetails(700000, 9, [not_ours.id], {}, ""), None, NOW)
    errors = refused.value.errors
    assert errors["weekly_price"] == "Price per place per week must be no more than £6,000, the lot's maximum"
    assert errors["places_offered"] == "Offer no more than the lot's 4 places"
    assert errors["home_ids"] == "Select only your own homes of the lot's placement type"
    assert sum(1 for name in errors if name.startswith("answer_")) == 2


def test_councils_cannot_bid(setup_session, region, open_lot):
    _tender, lot = open_lot
    with acting_as(setup_session, region.councils[0]), pytest.raises(NotFound):
        bids.submit_bid(setup_session, lot, bids.BidDetails(1, 1, [], {}, ""), None, NOW)


def test_published_answers_do_not_name_the_asker(setup_session, region, open_lot):
    tender, _lot = open_lot
    rival = add_provider(setup_session, region, "Rival Care Ltd")
    with acting_as(setup_session, region.provider):
        asked = clarifications.ask_question(setup_session, tender, "Can we bid for part of a lot?", None, NOW)
    with acting_as(setup_session, region.rcc):
        clarifications.answer_question(setup_session, asked, "Can a bid cover part of a lot?",
                                       "Yes, offer fewer places", NOW)
    with acting_as(setup_session, rival):
        assert clarifications.questions_for(setup_session, tender) == []
        answers = clarifications.published_answers(setup_session, tender)
        assert [(a.question, a.answer) for a in answers] == [("Can a bid cover part of a lot?",
                                                               "Yes, offer fewer places")]
        assert not hasattr(answers[0], "provider_id")


def test_questions_close_on_their_date(setup_session, region, open_lot):
    tender, _lot = open_lot
    with acting_as(setup_session, region.provider), pytest.raises(Conflict):
        clarifications.ask_question(setup_session, tender, "Too late?", None, tender.clarification_closes_at)
