"""Marshmallow schemas for the cost API. Money is integer pence, as stored."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from cost_transparency.vocabulary import NEED_BANDS, REVIEW_OUTCOMES

PENCE = {"description": "Whole pence a week"}


class CostRecordSchema(Schema):
    id = fields.Integer(dump_only=True)
    placement_id = fields.Integer(required=True)
    council_id = fields.Integer(dump_only=True)
    provider_id = fields.Integer(dump_only=True)
    placement_type = fields.String(dump_only=True)
    funding = fields.String(dump_only=True)
    need_band = fields.String(load_default="standard", validate=validate.OneOf(list(NEED_BANDS)))
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True, load_default=None)
    core_weekly = fields.Integer(required=True, validate=validate.Range(min=1), metadata=PENCE)
    additional_support_weekly = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata=PENCE)
    education_weekly = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata=PENCE)
    health_weekly = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata=PENCE)
    nhs_contribution_weekly = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata=PENCE)
    education_contribution_weekly = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata=PENCE)
    gross_weekly = fields.Integer(dump_only=True, metadata=PENCE)
    net_weekly = fields.Integer(dump_only=True, metadata=PENCE)
    source = fields.String(dump_only=True)
    notes = fields.String(load_default="", validate=validate.Length(max=2000))


class CostRecordUpdateSchema(CostRecordSchema):
    placement_id = fields.Integer(dump_only=True)


class CostCellSchema(Schema):
    group = fields.String(required=True)
    count = fields.Integer(required=True)
    median = fields.Integer(allow_none=True)
    lower_quartile = fields.Integer(allow_none=True)
    upper_quartile = fields.Integer(allow_none=True)
    mean = fields.Integer(allow_none=True)
    outliers = fields.Integer(allow_none=True)


class CostComparisonArgs(Schema):
    start = fields.Date(load_default=None, data_key="from")
    end = fields.Date(load_default=None, data_key="to")


class CostComparisonSchema(Schema):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    own = fields.List(fields.Nested(CostCellSchema), metadata={"description": "Your organisation's figures by type"})
    region = fields.List(fields.Dict(), metadata={"description": "The region's figures by type, with disclosure "
                                                                 "control where a council is asking"})


class HighCostReviewSchema(Schema):
    id = fields.Integer(dump_only=True)
    council_id = fields.Integer(dump_only=True)
    placement_id = fields.Integer(dump_only=True)
    placement_type = fields.String(dump_only=True)
    weekly_cost = fields.Integer(dump_only=True, metadata=PENCE)
    reasons = fields.List(fields.String(), dump_only=True)
    flagged_on = fields.Date(dump_only=True)
    status = fields.String(dump_only=True)
    outcome = fields.String(allow_none=True)
    notes = fields.String()
    next_review_on = fields.Date(allow_none=True)


class ReviewOutcomeSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(list(REVIEW_OUTCOMES)))
    notes = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    next_review_on = fields.Date(load_default=None, allow_none=True)


class CostPublicationSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    status = fields.String(dump_only=True)
    changes = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)


class CostPublicationDetailSchema(CostPublicationSchema):
    snapshot = fields.Dict(dump_only=True, metadata={"description": "The aggregated, suppressed tables"})


class PublicationCorrectionSchema(Schema):
    changes = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class SufficiencyQueryArgs(Schema):
    on = fields.Date(load_default=None)
    horizon = fields.Integer(load_default=24, validate=validate.OneOf([12, 24, 36]))


class ProviderRiskQueryArgs(Schema):
    on = fields.Date(load_default=None)
