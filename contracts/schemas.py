"""The contracts API's request and response bodies. Money is whole pence; percentages are
basis points where stored (uplift, cost shares) and whole percents for weights."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class LotQuestionSchema(Schema):
    id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    text = fields.String(required=True)
    weight = fields.Integer(required=True, metadata={"description": "Percent of the lot's quality mark"})


class LotSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    title = fields.String(required=True)
    placement_type = fields.String(required=True)
    council_ids = fields.List(fields.Integer(), required=True)
    needs = fields.List(fields.String(), load_default=list)
    places = fields.Integer(required=True)
    max_weekly_price = fields.Integer(required=True, metadata={"description": "Pence per place per week"})
    term_months = fields.Integer(required=True)
    extension_months = fields.Integer(load_default=0)
    max_extensions = fields.Integer(load_default=0)
    price_weight = fields.Integer(required=True, metadata={"description": "Percent; quality gets the rest"})
    questions = fields.List(fields.Nested(LotQuestionSchema), required=True)
    awarded_bid_id = fields.Integer(dump_only=True, allow_none=True)
    award_justification = fields.String(dump_only=True, allow_none=True)


class TenderInSchema(Schema):
    reference = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(load_default="")
    clarification_closes_at = fields.AwareDateTime(required=True)
    bids_close_at = fields.AwareDateTime(required=True)
    contract_start = fields.Date(required=True)


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
    reason = fields.String(required=True)


class ClarificationQuestionInSchema(Schema):
    text = fields.String(required=True)


class ClarificationQuestionSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    text = fields.String(dump_only=True)
    asked_at = fields.AwareDateTime(dump_only=True)
    answer_id = fields.Integer(dump_only=True, allow_none=True)


class ClarificationAnswerInSchema(Schema):
    published_question = fields.String(required=True)
    answer = fields.String(required=True)


class ClarificationAnswerSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    question = fields.String(dump_only=True)
    answer = fields.String(dump_only=True)
    published_at = fields.AwareDateTime(dump_only=True)


class BidInSchema(Schema):
    weekly_price = fields.Integer(required=True, metadata={"description": "Pence per place per week"})
    places_offered = fields.Integer(required=True)
    home_ids = fields.List(fields.Integer(), required=True)
    answers = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                          metadata={"description": "Quality question id → answer"})
    summary = fields.String(load_default="")


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
    question_id = fields.Integer(required=True)
    score = fields.Integer(required=True, validate=validate.Range(0, 5))
    comment = fields.String(load_default="")


class ModerationInSchema(Schema):
    question_id = fields.Integer(required=True)
    score = fields.Integer(required=True, validate=validate.Range(0, 5))
    reason = fields.String(required=True)


class EvaluationScoreSchema(Schema):
    id = fields.Integer(dump_only=True)
    bid_id = fields.Integer(dump_only=True)
    question_id = fields.Integer(dump_only=True)
    score = fields.Integer(dump_only=True)


class RankedBidSchema(Schema):
    bid_id = fields.Integer()
    provider_id = fields.Integer()
    provider_name = fields.String()
    weekly_price = fields.Integer()
    price_score = fields.Decimal(as_string=True)
    quality_score = fields.Decimal(as_string=True, allow_none=True)
    total_score = fields.Decimal(as_string=True, allow_none=True)
    rank = fields.Integer(allow_none=True)
    unmoderated_marks = fields.Integer()


class LotEvaluationSchema(Schema):
    lot_id = fields.Integer()
    awarded_bid_id = fields.Integer(allow_none=True)
    award_justification = fields.String(allow_none=True)
    ranking = fields.List(fields.Nested(RankedBidSchema))


class AwardDecisionInSchema(Schema):
    bid_id = fields.Integer(required=True)
    justification = fields.String(required=True)


class ContractInSchema(Schema):
    reference = fields.String(required=True)
    title = fields.String(required=True)
    provider_id = fields.Integer(required=True)
    placement_type = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    weekly_price = fields.Integer(required=True, metadata={"description": "Pence per place per week at the start"})
    annual_uplift_bp = fields.Integer(load_default=0, metadata={"description": "Basis points: 250 = 2.5 %"})
    homes = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                        metadata={"description": "Home id → reserved places"})
    cost_shares_bp = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                 metadata={"description": "Council id → share in basis points; they add up to 10000"})


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
    utilisation = fields.Decimal(as_string=True, allow_none=True)


class BlockPlacesSchema(Schema):
    home_id = fields.Integer()
    contract_id = fields.Integer()
    free_places = fields.Integer()
    weekly_price = fields.Integer()


class BlockPlacesQuerySchema(Schema):
    on = fields.Date(load_default=None, metadata={"description": "Defaults to today"})
