"""The contracts API's request and response bodies. Money is whole pence; percentages are
basis points where stored (uplift, cost shares) and whole percents for weights.

Every number, date and text a request may carry is bounded to what the services work with and
the database can store, so a wild value is a 422 naming the field, never a server error. The
services still make the finer checks (weights adding up to 100, a provider's own homes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields, validate

from rcc.api import (
    DAYS_ERROR,
    EARLIEST_DAY,
    LATEST_DAY,
    MAX_ID,
    MAX_LIST,
    MAX_WEEKLY_PENCE,
    Text,
    bounded_text,
    id_field,
    whole_number,
)

MAX_PLACES = 500


def weekly_pence(**kwargs: Any) -> fields.Integer:
    """Pence; the services refuse £0 with their own message, so 0 is let through to them."""
    return whole_number(0, MAX_WEEKLY_PENCE, **kwargs)


def day(**kwargs: Any) -> fields.Date:
    return fields.Date(validate=validate.Range(min=EARLIEST_DAY, max=LATEST_DAY, error=DAYS_ERROR), **kwargs)


def moment(**kwargs: Any) -> fields.AwareDateTime:
    """A date and time with its offset, from 2000 to 2099 (tender deadlines and standstill sums stay in range)."""
    return fields.AwareDateTime(validate=validate.Range(
        min=datetime(2000, 1, 1, tzinfo=UTC), max=datetime(2099, 12, 31, tzinfo=UTC), error=DAYS_ERROR), **kwargs)


def id_list(**kwargs: Any) -> fields.List:
    return fields.List(id_field(), validate=validate.Length(max=MAX_LIST), **kwargs)


def by_id(values: fields.Field, description: str, **kwargs: Any) -> fields.Dict:
    """An object keyed by record id (JSON keys are text: "12")."""
    return fields.Dict(keys=fields.Integer(validate=validate.Range(min=1, max=MAX_ID, error="Not a record id")),
                       values=values, metadata={"description": description},
                       **kwargs)


def decimal_text(**kwargs: Any) -> fields.Decimal:
    """Scores as exact decimal text, like "92.50"."""
    return fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal"}, **kwargs)


class LotQuestionSchema(Schema):
    id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    text = bounded_text(2000, load_default="")
    weight = whole_number(0, 100, load_default=None, allow_none=True,
                          metadata={"description": "Percent of the lot's quality mark"})


class LotSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    title = bounded_text(200, load_default="")
    placement_type = bounded_text(30, load_default="")
    council_ids = id_list(load_default=list)
    needs = fields.List(bounded_text(40), validate=validate.Length(max=MAX_LIST), load_default=list)
    places = whole_number(0, MAX_PLACES, load_default=None, allow_none=True)
    max_weekly_price = weekly_pence(load_default=None, allow_none=True,
                                    metadata={"description": "Pence per place per week"})
    term_months = whole_number(0, 240, load_default=None, allow_none=True)
    extension_months = whole_number(0, 240, load_default=0)
    max_extensions = whole_number(0, 20, load_default=0)
    price_weight = whole_number(0, 100, load_default=None, allow_none=True,
                                metadata={"description": "Percent; quality gets the rest"})
    questions = fields.List(fields.Nested(LotQuestionSchema), validate=validate.Length(max=50), load_default=list)
    awarded_bid_id = fields.Integer(dump_only=True, allow_none=True)
    award_justification = fields.String(dump_only=True, allow_none=True)


class TenderInSchema(Schema):
    reference = bounded_text(30, load_default="")
    title = bounded_text(200, load_default="")
    description = bounded_text(4000, load_default="")
    clarification_closes_at = moment(load_default=None, allow_none=True)
    bids_close_at = moment(load_default=None, allow_none=True)
    contract_start = day(load_default=None, allow_none=True)


class TenderSchema(TenderInSchema):
    id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": ["draft", "open", "clarifications_closed",
                                                                "bids_closed", "evaluating", "standstill",
                                                                "awarded", "cancelled"]})
    published_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    evaluation_started_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    awarded_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    standstill_ends_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    cancelled_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    cancel_reason = fields.String(dump_only=True, allow_none=True)
    lots = fields.List(fields.Nested(LotSchema), dump_only=True)


class CancelTenderSchema(Schema):
    reason = bounded_text(2000, load_default="")


class ClarificationQuestionInSchema(Schema):
    text = bounded_text(2000, load_default="")


class ClarificationQuestionSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    text = fields.String(dump_only=True)
    asked_at = fields.AwareDateTime(dump_only=True)
    answer_id = fields.Integer(dump_only=True, allow_none=True)


class ClarificationAnswerInSchema(Schema):
    published_question = bounded_text(2000, load_default="")
    answer = bounded_text(4000, load_default="")


class ClarificationAnswerSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    question = fields.String(dump_only=True)
    answer = fields.String(dump_only=True)
    published_at = fields.AwareDateTime(dump_only=True)


class BidInSchema(Schema):
    weekly_price = weekly_pence(load_default=None, allow_none=True, metadata={"description": "Pence per place per week"})
    places_offered = whole_number(0, MAX_PLACES, load_default=None, allow_none=True)
    home_ids = id_list(load_default=list)
    answers = by_id(Text(), "Quality question id → answer", load_default=dict)
    summary = bounded_text(2000, load_default="")


class BidSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    lot_id = fields.Integer(dump_only=True)
    provider_id = fields.Integer(dump_only=True)
    weekly_price = fields.Integer(dump_only=True)
    places_offered = fields.Integer(dump_only=True)
    home_ids = fields.List(fields.Integer(), dump_only=True)
    answers = fields.Dict(keys=fields.String(), values=fields.String(), dump_only=True)
    summary = fields.String(dump_only=True)
    submitted_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)
    result = fields.Dict(dump_only=True, allow_none=True,
                         metadata={"description": "After award only: scores (points), rank and whether successful"})


class EvaluatorMarkInSchema(Schema):
    question_id = id_field(load_default=None, allow_none=True)
    score = whole_number(0, 5, load_default=None, allow_none=True)
    comment = bounded_text(2000, load_default="")


class ModerationInSchema(Schema):
    question_id = id_field(load_default=None, allow_none=True)
    score = whole_number(0, 5, load_default=None, allow_none=True)
    reason = bounded_text(2000, load_default="")


class EvaluationScoreSchema(Schema):
    id = fields.Integer(dump_only=True)
    bid_id = fields.Integer(dump_only=True)
    question_id = fields.Integer(dump_only=True)
    score = fields.Integer(dump_only=True)


class TenderDocumentSchema(Schema):
    kind = fields.String(dump_only=True, metadata={"description": "specification, terms or pricing_schedule"})
    filename = fields.String(dump_only=True)
    content_type = fields.String(dump_only=True)
    size_bytes = fields.Integer(dump_only=True)
    sha256 = fields.String(dump_only=True)
    uploaded_at = fields.DateTime(dump_only=True)


class TenderDocumentFileSchema(TenderDocumentSchema):
    content_base64 = fields.String(dump_only=True, metadata={"description": "The file's bytes, base64-encoded"})


class EvaluatorMarkSchema(Schema):
    id = fields.Integer(dump_only=True)
    question_id = fields.Integer(dump_only=True)
    evaluator_user_id = fields.Integer(dump_only=True)
    score = fields.Integer(dump_only=True)
    comment = fields.String(dump_only=True)


class BidMarksSchema(Schema):
    bid_id = fields.Integer(dump_only=True)
    submitted = fields.Boolean(dump_only=True, metadata={
        "description": "Whether you have marked every question of this bid. Until then only your own marks "
                       "are listed; the other evaluators' appear once yours are in (for moderation)."})
    marks = fields.List(fields.Nested(EvaluatorMarkSchema), dump_only=True)


class RankedBidSchema(Schema):
    bid_id = fields.Integer()
    provider_id = fields.Integer()
    provider_name = fields.String()
    weekly_price = fields.Integer()
    price_score = decimal_text()
    quality_score = decimal_text(allow_none=True)
    total_score = decimal_text(allow_none=True)
    rank = fields.Integer(allow_none=True)
    unmoderated_marks = fields.Integer()


class LotEvaluationSchema(Schema):
    lot_id = fields.Integer()
    awarded_bid_id = fields.Integer(allow_none=True)
    award_justification = fields.String(allow_none=True)
    ranking = fields.List(fields.Nested(RankedBidSchema))


class AwardDecisionInSchema(Schema):
    bid_id = id_field(load_default=None, allow_none=True)
    justification = bounded_text(4000, load_default="")


class ContractInSchema(Schema):
    reference = bounded_text(30, load_default="")
    title = bounded_text(200, load_default="")
    provider_id = id_field(load_default=None, allow_none=True)
    placement_type = bounded_text(30, load_default="")
    start_date = day(load_default=None, allow_none=True)
    end_date = day(load_default=None, allow_none=True)
    weekly_price = weekly_pence(load_default=None, allow_none=True,
                                metadata={"description": "Pence per place per week at the start"})
    annual_uplift_bp = whole_number(0, 2000, load_default=0, metadata={"description": "Basis points: 250 = 2.5 %"})
    homes = by_id(whole_number(0, MAX_PLACES), "Home id → reserved places", load_default=dict)
    cost_shares_bp = by_id(whole_number(0, 10000), "Council id → share in basis points; they add up to 10000",
                           load_default=dict)


class VariationInSchema(Schema):
    kind = bounded_text(10, load_default="", metadata={
        "description": "price, places (at one home), term (a new end date) or end"})
    effective_from = day(load_default=None, allow_none=True, metadata={
        "description": "The date the change takes effect; for an ending, the contract's last day"})
    reason = bounded_text(2000, load_default="")
    weekly_price = weekly_pence(load_default=None, allow_none=True, metadata={"description": "For price: pence"})
    home_id = id_field(load_default=None, allow_none=True, metadata={"description": "For places"})
    places = whole_number(0, MAX_PLACES, load_default=None, allow_none=True, metadata={"description": "For places"})
    end_date = day(load_default=None, allow_none=True, metadata={"description": "For term"})
    row_version = whole_number(1, 10**9, load_default=None, allow_none=True, metadata={
        "description": "The contract's row_version you saw; a change made meanwhile refuses yours (409)"})


class VariationSchema(Schema):
    id = fields.Integer(dump_only=True)
    contract_id = fields.Integer(dump_only=True)
    sequence = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    effective_from = fields.Date(dump_only=True)
    changes = fields.Dict(dump_only=True)
    reason = fields.String(dump_only=True)
    recorded_at = fields.DateTime(dump_only=True)


class ContractSchema(Schema):
    id = fields.Integer(dump_only=True)
    reference = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    provider_id = fields.Integer(dump_only=True)
    placement_type = fields.String(dump_only=True)
    start_date = fields.Date(dump_only=True)
    end_date = fields.Date(dump_only=True)
    weekly_price = fields.Integer(dump_only=True, metadata={"description": "Starting price, pence"})
    current_weekly_price = fields.Integer(dump_only=True)
    annual_uplift_bp = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True, allow_none=True)
    lot_id = fields.Integer(dump_only=True, allow_none=True)
    homes = fields.Dict(keys=fields.String(), values=fields.Integer(), dump_only=True)
    cost_shares_bp = fields.Dict(keys=fields.String(), values=fields.Integer(), dump_only=True)
    price_history = fields.List(fields.Dict(), dump_only=True)


class MonthUtilisationSchema(Schema):
    month = fields.Date()
    reserved_place_days = fields.Integer()
    occupied_place_days = fields.Integer()
    void_place_days = fields.Integer()
    paid_cost = fields.Integer()
    void_cost = fields.Integer()
    utilisation = decimal_text(allow_none=True)


class BlockPlacesSchema(Schema):
    home_id = fields.Integer()
    contract_id = fields.Integer()
    free_places = fields.Integer()
    weekly_price = fields.Integer()


class BlockPlacesQuerySchema(Schema):
    on = day(load_default=None, metadata={"description": "Defaults to today"})


# Examples for the OpenAPI document: what a response looks like -------------------------

LOT_EXAMPLE = {
    "id": 2, "tender_id": 2, "number": 1, "title": "Greater Manchester", "placement_type": "childrens_home",
    "council_ids": [3, 4], "needs": ["therapeutic_support"], "places": 4, "max_weekly_price": 600000,
    "term_months": 24, "extension_months": 12, "max_extensions": 2, "price_weight": 60,
    "questions": [{"id": 31, "number": 1, "text": "How will you keep children safe?", "weight": 60},
                  {"id": 32, "number": 2, "text": "How will you support education?", "weight": 40}],
    "awarded_bid_id": None, "award_justification": None,
}
AWARDED_LOT_EXAMPLE = {**LOT_EXAMPLE, "awarded_bid_id": 41, "award_justification": "Highest total score"}
TENDER_EXAMPLE = {
    "id": 2, "reference": "NWRCC-2027-01", "title": "Children's homes for teenagers",
    "description": "Places near home for young people with complex needs", "status": "draft",
    "clarification_closes_at": "2027-03-10T17:00:00+00:00", "bids_close_at": "2027-03-24T12:00:00+00:00",
    "contract_start": "2027-06-01", "published_at": None, "evaluation_started_at": None, "awarded_at": None,
    "standstill_ends_at": None, "cancelled_at": None, "cancel_reason": None, "lots": [LOT_EXAMPLE],
}
OPEN_TENDER_EXAMPLE = {**TENDER_EXAMPLE, "status": "open", "published_at": "2027-02-24T09:00:00+00:00"}
EVALUATING_TENDER_EXAMPLE = {**OPEN_TENDER_EXAMPLE, "status": "evaluating",
                             "evaluation_started_at": "2027-03-25T09:00:00+00:00"}
AWARDED_TENDER_EXAMPLE = {**EVALUATING_TENDER_EXAMPLE, "status": "standstill",
                          "awarded_at": "2027-04-05T09:00:00+00:00", "standstill_ends_at": "2027-04-15T09:00:00+00:00",
                          "lots": [AWARDED_LOT_EXAMPLE]}
CANCELLED_TENDER_EXAMPLE = {**OPEN_TENDER_EXAMPLE, "status": "cancelled", "cancelled_at": "2027-03-02T09:00:00+00:00",
                            "cancel_reason": "The region's needs have changed"}
QUESTION_EXAMPLE = {"id": 6, "tender_id": 2, "text": "Can a bid cover part of a lot?",
                    "asked_at": "2027-03-01T10:00:00+00:00", "answer_id": None}
ANSWER_EXAMPLE = {"id": 3, "tender_id": 2, "question": "Can a bid cover part of a lot?",
                  "answer": "Yes: offer fewer places", "published_at": "2027-03-02T10:00:00+00:00"}
BID_EXAMPLE = {
    "id": 41, "tender_id": 2, "lot_id": 2, "provider_id": 9, "weekly_price": 495000, "places_offered": 2,
    "home_ids": [12, 13], "answers": {"31": "Our safeguarding approach…", "32": "Our education support…"},
    "summary": "", "submitted_at": "2027-03-08T09:00:00+00:00", "updated_at": "2027-03-09T16:30:00+00:00",
    "result": None,
}
AWARDED_BID_EXAMPLE = {**BID_EXAMPLE, "result": {"price_score": "60", "quality_score": "29.6",
                                                  "total_score": "89.6", "rank": 1, "successful": True}}
LOT_EVALUATION_EXAMPLE = {
    "lot_id": 2, "awarded_bid_id": None, "award_justification": None,
    "ranking": [{"bid_id": 41, "provider_id": 9, "provider_name": "Oak Care Ltd", "weekly_price": 495000,
                 "price_score": "60.00", "quality_score": "29.60", "total_score": "89.60", "rank": 1,
                 "unmoderated_marks": 0},
                {"bid_id": 44, "provider_id": 11, "provider_name": "Sandcastle Care Ltd", "weekly_price": 520000,
                 "price_score": "57.12", "quality_score": None, "total_score": None, "rank": None,
                 "unmoderated_marks": 2}],
}
SCORE_EXAMPLE = {"id": 7, "bid_id": 41, "question_id": 31, "score": 4}
VARIATION_EXAMPLE = {"id": 3, "contract_id": 1, "sequence": 1, "kind": "places", "effective_from": "2027-04-01",
                     "changes": {"home_id": 12, "from": 2, "to": 3}, "reason": "More teenagers need places",
                     "recorded_at": "2027-03-20T10:00:00+00:00"}
DOCUMENT_EXAMPLE = {"kind": "specification", "filename": "specification.pdf", "content_type": "application/pdf",
                    "size_bytes": 183220, "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "uploaded_at": "2027-02-20T10:00:00+00:00"}
DOCUMENT_FILE_EXAMPLE = {**DOCUMENT_EXAMPLE, "content_base64": "JVBERi0xLjcK"}
BID_MARKS_EXAMPLE = {"bid_id": 41, "submitted": False, "marks": [
    {"id": 7, "question_id": 31, "evaluator_user_id": 5, "score": 4, "comment": "Clear and specific"}]}
CONTRACT_EXAMPLE = {
    "id": 1, "reference": "BC-2026-01", "title": "Teenagers' homes block", "provider_id": 9,
    "placement_type": "childrens_home", "start_date": "2026-04-01", "end_date": "2028-03-31", "weekly_price": 480000,
    "current_weekly_price": 492000, "annual_uplift_bp": 250, "tender_id": None, "lot_id": None,
    "homes": {"12": 2, "13": 1}, "cost_shares_bp": {"3": 6000, "4": 4000},
    "price_history": [{"effective_from": "2026-04-01", "weekly_price": 480000, "reason": "start"},
                      {"effective_from": "2027-04-01", "weekly_price": 492000, "reason": "uplift"}],
}
UTILISATION_EXAMPLE = [{"month": "2026-07-01", "reserved_place_days": 93, "occupied_place_days": 84,
                        "void_place_days": 9, "paid_cost": 5978571, "void_cost": 578571, "utilisation": "90.3"}]
BLOCK_PLACES_EXAMPLE = [{"home_id": 12, "contract_id": 1, "free_places": 1, "weekly_price": 492000}]
