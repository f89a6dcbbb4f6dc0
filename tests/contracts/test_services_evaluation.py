from datetime import timedelta
from decimal import Decimal

import pytest

from contracts.models import QualityQuestion
from contracts.services import evaluation, tenders
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.roles import Role
from tests.contracts.helpers import (
    acting_as,
    add_provider,
    bid_for,
    make_home,
    moderate_all,
    published_tender,
)
from tests.factories import make_region


@pytest.mark.parametrize(("lowest", "price", "weight", "expected"), [
    (450000, 450000, 60, "60.00"),   # the lowest bid takes the whole price weight
    (450000, 500000, 60, "54.00"),   # 4,500 ÷ 5,000 × 60
    (450000, 600000, 60, "45.00"),   # 4,500 ÷ 6,000 × 60
    (100000, 300000, 70, "23.33"),   # 1,000 ÷ 3,000 × 70 = 23.333…
    (200000, 300000, 50, "33.33"),   # 2,000 ÷ 3,000 × 50 = 33.333…
    (100000, 150000, 40, "26.67"),   # 1,000 ÷ 1,500 × 40 = 26.666…, rounded half up
])
def test_price_score_matches_hand_arithmetic(lowest, price, weight, expected):
    assert evaluation.price_score(lowest, price, weight) == Decimal(expected)


def test_quality_score_matches_hand_arithmetic():
    questions = [QualityQuestion(id=1, rcc_id=1, lot_id=1, number=1, text="Safety", weight=60),
                 QualityQuestion(id=2, rcc_id=1, lot_id=1, number=2, text="Education", weight=40)]
    # (4/5 × 60 + 3/5 × 40) = 48 + 24 = 72 % of the quality weight 40 = 28.80
    assert evaluation.quality_score({1: 4, 2: 3}, questions, 40) == Decimal("28.80")
    # (5/5 × 60 + 2/5 × 40) = 60 + 16 = 76 % of 40 = 30.40
    assert evaluation.quality_score({1: 5, 2: 2}, questions, 40) == Decimal("30.40")


@pytest.fixture
def evaluating(setup_session):
    s = setup_session
    region = make_region(s, "T", ("Coventry", "Warwickshire"))
    tender, lot = published_tender(s, region)
    rival = add_provider(s, region, "Rival Care Ltd")
    cheap = bid_for(s, rival, lot, 450000, [make_home(s, rival, "Elm")])
    good = bid_for(s, region.provider, lot, 500000, [make_home(s, region.provider, "Oak")])
    later = tender.bids_close_at + timedelta(hours=1)
    tenders.start_evaluation(s, tender, later)
    return region, tender, lot, cheap, good, later


def test_ranking_and_award_record_each_bids_result(setup_session, evaluating):
    region, tender, lot, cheap, good, later = evaluating
    s = setup_session
    moderate_all(s, lot, region.people[Role.RCC_COMMISSIONER].id, {cheap.id: [2, 2], good.id: [5, 4]}, later)
    ranking = evaluation.rank_lot(s, lot, later)
    # cheap: 60.00 + (2/5×60 + 2/5×40)=40 % × 40 = 16.00 → 76.00
    # good:  54.00 + (5/5×60 + 4/5×40)=92 % × 40 = 36.80 → 90.80
    assert [(r.bid.id, r.total_score, r.rank) for r in ranking] == [
        (good.id, Decimal("90.80"), 1), (cheap.id, Decimal("76.00"), 2)]
    evaluation.decide_lot_award(s, lot, good.id, "Highest total score", later)
    evaluation.award_tender(s, tender, later)
    assert (good.successful, good.total_score, good.rank) == (True, 9080, 1)
    assert (cheap.successful, cheap.price_score, cheap.quality_score, cheap.rank) == (False, 6000, 1600, 2)


def test_moderation_is_required_before_award(setup_session, evaluating):
    region, tender, lot, cheap, good, later = evaluating
    s = setup_session
    question = tenders.questions_of(s, lot)[0]
    evaluator = region.people[Role.RCC_COMMISSIONER].id
    evaluation.record_score(s, cheap.id, question.id, evaluator, 3, "", later)
    with pytest.raises(Conflict, match="Moderate every mark"):
        evaluation.decide_lot_award(s, lot, cheap.id, "Cheapest", later)
    with pytest.raises(Conflict, match="unmoderated"):
        evaluation.award_tender(s, tender, later)
    assert tender.awarded_at is None and cheap.total_score is None


def test_a_lot_needs_an_award_decision_before_award(setup_session, evaluating):
    region, tender, lot, cheap, good, later = evaluating
    moderate_all(setup_session, lot, region.people[Role.RCC_COMMISSIONER].id,
                 {cheap.id: [3, 3], good.id: [3, 3]}, later)
    with pytest.raises(Conflict, match="no award decision"):
        evaluation.award_tender(setup_session, tender, later)


def test_moderation_needs_a_reason_and_a_mark_in_range(setup_session, evaluating):
    region, _tender, lot, cheap, _good, later = evaluating
    question = tenders.questions_of(setup_session, lot)[0]
    evaluator = region.people[Role.RCC_COMMISSIONER].id
    with pytest.raises(FieldErrors) as refused:
        evaluation.record_score(setup_session, cheap.id, question.id, evaluator, 6, "", later)
    assert refused.value.errors == {"score": "Enter a mark from 0 to 5"}
    evaluation.record_score(setup_session, cheap.id, question.id, evaluator, 3, "", later)
    with pytest.raises(FieldErrors) as refused:
        evaluation.moderate(setup_session, cheap.id, question.id, 3, " ", evaluator, later)
    assert refused.value.errors == {"reason": "Enter the reason for the agreed mark"}


def test_an_award_needs_a_justification(setup_session, evaluating):
    region, _tender, lot, cheap, good, later = evaluating
    moderate_all(setup_session, lot, region.people[Role.RCC_COMMISSIONER].id,
                 {cheap.id: [3, 3], good.id: [3, 3]}, later)
    with pytest.raises(FieldErrors) as refused:
        evaluation.decide_lot_award(setup_session, lot, good.id, "", later)
    assert "justification" in refused.value.errors


def test_providers_cannot_rank_or_score(setup_session, evaluating):
    region, _tender, lot, cheap, _good, later = evaluating
    question = tenders.questions_of(setup_session, lot)[0]
    with acting_as(setup_session, region.provider):
        with pytest.raises(NotFound):
            evaluation.rank_lot(setup_session, lot, later)
        with pytest.raises(NotFound):
            evaluation.record_score(setup_session, cheap.id, question.id, 1, 5, "", later)


def test_every_evaluation_step_is_audited(setup_session, evaluating):
    from sqlalchemy import select

    from rcc.models import AuditEvent

    region, tender, lot, cheap, good, later = evaluating
    moderate_all(setup_session, lot, region.people[Role.RCC_COMMISSIONER].id,
                 {cheap.id: [3, 3], good.id: [4, 4]}, later)
    evaluation.decide_lot_award(setup_session, lot, good.id, "Best", later)
    evaluation.award_tender(setup_session, tender, later)
    actions = set(setup_session.scalars(select(AuditEvent.action)))
    assert {"tender.published", "bid.submitted", "tender.evaluation_started", "evaluation.scored",
            "evaluation.moderated", "evaluation.award_decided", "tender.awarded"} <= actions
