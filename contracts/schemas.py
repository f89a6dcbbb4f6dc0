"""The contracts API's request and response bodies. Money is whole pence; percentages are
basis points where stored (uplift, cost shares) and whole percents for weights."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class LotQuestionSchema(Schema):
    id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    text = fields.String(load_default="")
    weight = fields.Integer(load_default=None, allow_none=True, metadata={"description": "Percent of the lot's quality mark"})


class LotSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    number = fields.Integer(dump_only=True)
    title = fields.String(load_default="")
    placement_type = fields.String(load_default="")
    council_ids = fields.List(fields.Integer(), load_default=list)
    needs = fields.List(fields.String(), load_default=list)
    places = fields.Integer(load_default=None, allow_none=True)
    max_weekly_price = fields.Integer(load_default=None, allow_none=True, metadata={"description": "Pence per place per week"})
    term_months = fields.Integer(load_default=None, allow_none=True)
    extension_months = fields.Integer(load_default=0)
    max_extensions = fields.Integer(load_default=0)
    price_weight = fields.Integer(load_default=None, allow_none=True, metadata={"description": "Percent; quality gets the rest"})
    questions = fields.List(fields.Nested(LotQuestionSchema), load_default=list)
    awarded_bid_id = fields.Integer(dump_only=True, allow_none=True)
    award_justification = fields.String(dump_only=True, allow_none=True)


class TenderInSchema(Schema):
    reference = fields.String(load_default="")
    title = fields.String(load_default="")
    description = fields.String(load_default="")
    clarification_closes_at = fields.AwareDateTime(load_default=None, allow_none=True)
    bids_close_at = fields.AwareDateTime(load_default=None, allow_none=True)
    contract_start = fields.Date(load_default=None, allow_none=True)


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
    reason = fields.String(load_default="")


class ClarificationQuestionInSchema(Schema):
    text = fields.String(load_default="")


class ClarificationQuestionSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    text = fields.String(dump_only=True)
    asked_at = fields.AwareDateTime(dump_only=True)
    answer_id = fields.Integer(dump_only=True, allow_none=True)


class ClarificationAnswerInSchema(Schema):
    published_question = fields.String(load_default="")
    answer = fields.String(load_default="")


class ClarificationAnswerSchema(Schema):
    id = fields.Integer(dump_only=True)
    tender_id = fields.Integer(dump_only=True)
    question = fields.String(dump_only=True)
    answer = fields.String(dump_only=True)
    published_at = fields.AwareDateTime(dump_only=True)


class BidInSchema(Schema):
    weekly_price = fields.Integer(load_default=None, allow_none=True, metadata={"description": "Pence per place per week"})
    places_offered = fields.Integer(load_default=None, allow_none=True)
    home_ids = fields.List(fields.Integer(), load_default=list)
    answers = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
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
    question_id = fields.Integer(load_default=None, allow_none=True)
    score = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 5))
    comment = fields.String(load_default="")


class ModerationInSchema(Schema):
    question_id = fields.Integer(load_default=None, allow_none=True)
    score = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 5))
    reason = fields.String(load_default="")


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
    bid_id = fields.Integer(load_default=None, allow_none=True)
    justification = fields.String(load_default="")


class ContractInSchema(Schema):
    reference = fields.String(load_default="")
    title = fields.String(load_default="")
    provider_id = fields.Integer(load_default=None, allow_none=True)
    placement_type = fields.String(load_default="")
    start_date = fields.Date(load_default=None, allow_none=True)
    end_date = fields.Date(load_default=None, allow_none=True)
    weekly_price = fields.Integer(load_default=None, allow_none=True, metadata={"description": "Pence per place per week at the start"})
    annual_uplift_bp = fields.Integer(load_default=0, metadata={"description": "Basis points: 250 = 2.5 %"})
    homes = fields.Dict(keys=fields.String(), values=fields.Integer(), load_default=dict,
                        metadata={"description": "Home id → reserved places"})
    cost_shares_bp = fields.Dict(keys=fields.String(), values=fields.Integer(), load_default=dict,
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
