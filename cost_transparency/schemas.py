"""Marshmallow schemas for the cost API. Money is integer pence, as stored.

Every number and date a request may carry is bounded to what the service can work with and
the database can store, so a wild value is a named 422, never a server error.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from cost_transparency.vocabulary import NEED_BANDS, REVIEW_OUTCOMES
from rcc.api import (
    EARLIEST_DAY,
    LATEST_DAY,
    MAX_WEEKLY_PENCE,
    Text,
    id_field,
    row_version_field,
)

PENCE = {"description": "Whole pence a week"}


def weekly_pence(minimum: int = 0, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(
        min=minimum, max=MAX_WEEKLY_PENCE, error=f"Enter whole pence a week from {minimum} to {MAX_WEEKLY_PENCE:,}"),
        metadata=PENCE, **kwargs)


def day(**kwargs: Any) -> fields.Date:
    """A date from 2000 to 2099: enough for any placement or report, and safe to do sums with."""
    return fields.Date(validate=validate.Range(min=EARLIEST_DAY, max=LATEST_DAY,
                                               error="Enter a date between 1 January 2000 and 31 December 2099"),
                       **kwargs)


class CostRecordSchema(Schema):
    id = fields.Integer(dump_only=True)
    placement_id = id_field(required=True)
    council_id = fields.Integer(dump_only=True)
    provider_id = fields.Integer(dump_only=True)
    placement_type = fields.String(dump_only=True)
    funding = fields.String(dump_only=True)
    need_band = fields.String(load_default="standard", validate=validate.OneOf(list(NEED_BANDS)))
    start_date = day(required=True)
    end_date = day(allow_none=True, load_default=None)
    core_weekly = weekly_pence(minimum=1, required=True)
    additional_support_weekly = weekly_pence(load_default=0)
    education_weekly = weekly_pence(load_default=0)
    health_weekly = weekly_pence(load_default=0)
    nhs_contribution_weekly = weekly_pence(load_default=0)
    education_contribution_weekly = weekly_pence(load_default=0)
    gross_weekly = fields.Integer(dump_only=True, metadata=PENCE)
    net_weekly = fields.Integer(dump_only=True, metadata=PENCE)
    source = fields.String(dump_only=True)
    notes = Text(load_default="", validate=validate.Length(max=2000))
    row_version = row_version_field(dump_only=True)


class CostRecordUpdateSchema(CostRecordSchema):
    """For PUT: the record as it should be, with the ``row_version`` you read (or send If-Match)."""

    placement_id = fields.Integer(dump_only=True)
    row_version = row_version_field()


class CostCellSchema(Schema):
    group = fields.String(required=True)
    count = fields.Integer(required=True)
    median = fields.Integer(allow_none=True)
    lower_quartile = fields.Integer(allow_none=True)
    upper_quartile = fields.Integer(allow_none=True)
    mean = fields.Integer(allow_none=True)
    outliers = fields.Integer(allow_none=True)


class CostComparisonArgs(Schema):
    start = day(load_default=None, data_key="from")
    end = day(load_default=None, data_key="to")


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
    notes = Text(required=True, validate=validate.Length(min=1, max=4000))
    next_review_on = day(load_default=None, allow_none=True)


class CostPublicationSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(dump_only=True)
    version = fields.Integer(dump_only=True)
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    period_start = day(required=True)
    period_end = day(required=True)
    status = fields.String(dump_only=True)
    changes = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    approved_at = fields.DateTime(dump_only=True, allow_none=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)
    row_version = row_version_field(dump_only=True)


class CostPublicationChangeSchema(CostPublicationSchema):
    """For PATCH (loaded partial): the fields you send change; the rest keep their values. Send the
    ``row_version`` you read (or If-Match), so a change or approval made meanwhile is not overwritten."""

    row_version = row_version_field()


class CostPublicationDetailSchema(CostPublicationSchema):
    snapshot = fields.Dict(dump_only=True, metadata={"description": "The aggregated, suppressed tables"})


class PublicationCorrectionSchema(Schema):
    changes = Text(required=True, validate=validate.Length(min=1, max=4000))


class SufficiencyQueryArgs(Schema):
    on = day(load_default=None, metadata={"description": "Defaults to today"})
    horizon = fields.Integer(load_default=24, validate=validate.OneOf([12, 24, 36]),
                             metadata={"description": "Months of demand forecast"})


class TypeSufficiencySchema(Schema):
    placement_type = fields.String(required=True)
    placed = fields.Integer(required=True, metadata={"description": "Children in placement on the day"})
    in_area = fields.Integer(required=True)
    out_of_area = fields.Integer(required=True)
    median_miles = fields.Float(required=True, allow_none=True, metadata={"description": "Null with no placements"})
    share_over_20_miles = fields.Float(required=True, allow_none=True, metadata={"description": "Percent"})
    homes = fields.Integer(required=True)
    registered_places = fields.Integer(required=True)
    vacancies = fields.Integer(required=True)
    block_places = fields.Integer(required=True)
    free_block_places = fields.Integer(required=True)
    waiting_referrals = fields.Integer(required=True)


class ForecastPointSchema(Schema):
    month = fields.Date(required=True, metadata={"description": "The last day of the month"})
    expected = fields.Float(required=True)
    low = fields.Float(required=True)
    high = fields.Float(required=True)


class TypeForecastSchema(Schema):
    placement_type = fields.String(required=True, metadata={"description": "A placement type, or other"})
    reason = fields.String(required=True, allow_none=True,
                           metadata={"description": "Why there is no forecast; null when there is one"})
    backtest_mape = fields.Float(required=True, allow_none=True, metadata={
        "description": "Mean absolute percentage error (a fraction) of the same method over the 12 months "
                       "after a cut-off a year before the history ends; null without two years of history"})
    points = fields.List(fields.Nested(ForecastPointSchema), required=True,
                         metadata={"description": "Empty when there is too little history to forecast"})


class SufficiencySchema(Schema):
    on = fields.Date(required=True)
    by_type = fields.List(fields.Nested(TypeSufficiencySchema), required=True)
    unmatched_in_last_run = fields.Integer(required=True, allow_none=True,
                                           metadata={"description": "Null when no matching run has finished"})
    forecast = fields.List(fields.Nested(TypeForecastSchema), required=True)


class ProviderRiskQueryArgs(Schema):
    on = day(load_default=None, metadata={"description": "Defaults to today"})


class ProviderGroupSchema(Schema):
    provider_id = fields.Integer(required=True)
    name = fields.String(required=True)
    sector = fields.String(required=True)
    weekly_spend = fields.Integer(required=True, metadata=PENCE)
    placements = fields.Integer(required=True)
    places = fields.Integer(required=True)
    spend_share = fields.Float(required=True, metadata={"description": "Percent of the region's spend"})
    places_share = fields.Float(required=True, metadata={"description": "Percent of the region's places"})


class RatingDropSchema(Schema):
    home_id = fields.Integer(required=True)
    home = fields.String(required=True)
    provider = fields.String(required=True)
    from_rating = fields.String(required=True, data_key="from")
    to_rating = fields.String(required=True, data_key="to")
    seen_on = fields.Date(required=True, allow_none=True,
                          metadata={"description": "Null when the drop is the home's current rating"})


class ProviderRiskSchema(Schema):
    on = fields.Date(required=True)
    spend_hhi = fields.Integer(required=True, metadata={"description": "Herfindahl–Hirschman index of spend, 0–10000"})
    places_hhi = fields.Integer(required=True)
    alert_percent = fields.Integer(required=True, metadata={"description": "The share at which a group is flagged"})
    alerts = fields.List(fields.String(), required=True)
    groups = fields.List(fields.Nested(ProviderGroupSchema), required=True)
    rating_drops = fields.List(fields.Nested(RatingDropSchema), required=True)


# Examples for the OpenAPI document: what a response looks like -------------------------

COST_RECORD_EXAMPLE = {
    "id": 2, "placement_id": 12, "council_id": 3, "provider_id": 9, "placement_type": "childrens_home",
    "funding": "spot", "need_band": "enhanced", "start_date": "2026-04-01", "end_date": None, "core_weekly": 580000,
    "additional_support_weekly": 65000, "education_weekly": 0, "health_weekly": 0, "nhs_contribution_weekly": 30000,
    "education_contribution_weekly": 0, "gross_weekly": 645000, "net_weekly": 615000, "source": "entered",
    "notes": "Extra night staffing", "row_version": 2,
}
COST_COMPARISON_EXAMPLE = {
    "from": "2025-11-30", "to": "2026-11-29",
    "own": [{"group": "childrens_home", "count": 5, "median": 740700, "lower_quartile": 508678,
             "upper_quartile": 1042338, "mean": 768785, "outliers": 0}],
    "region": [{"group": "childrens_home", "count": 117, "median": 626900, "lower_quartile": 528800,
                "upper_quartile": 721080, "mean": 705499, "hidden_reason": None}],
}
HIGH_COST_REVIEW_EXAMPLE = {
    "id": 6, "council_id": 11, "placement_id": 175, "placement_type": "childrens_home", "weekly_cost": 1383150,
    "reasons": ["outlier", "threshold"], "flagged_on": "2026-11-29", "status": "open", "outcome": None, "notes": "",
    "next_review_on": None,
}
REVIEWED_EXAMPLE = {**HIGH_COST_REVIEW_EXAMPLE, "status": "reviewed", "outcome": "step_down_plan",
                    "notes": "Step down to a two-bed home by March", "next_review_on": "2027-03-01"}
PUBLICATION_EXAMPLE = {
    "id": 2, "slug": "north-west-rcc-placement-unit-costs-year-to-september-2026", "version": 1,
    "title": "Placement unit costs, year to September 2026", "period_start": "2025-10-01",
    "period_end": "2026-09-30", "status": "draft", "changes": "", "created_at": "2026-11-29T09:00:00+00:00",
    "approved_at": None, "published_at": None, "row_version": 1,
}
APPROVED_PUBLICATION_EXAMPLE = {**PUBLICATION_EXAMPLE, "status": "approved",
                                "approved_at": "2026-11-30T09:00:00+00:00"}
PUBLISHED_PUBLICATION_EXAMPLE = {**APPROVED_PUBLICATION_EXAMPLE, "status": "published",
                                 "published_at": "2026-12-01T09:00:00+00:00"}
PUBLICATION_DETAIL_EXAMPLE = {
    **PUBLICATION_EXAMPLE,
    "snapshot": {"title": "Placement unit costs, year to September 2026", "version": 1, "threshold": 5,
                 "publisher": "North West Regional Care Cooperative", "placements": 274,
                 "period_start": "2025-10-01", "period_end": "2026-09-30", "prepared_on": "2026-11-29",
                 "sections": [{"key": "by-type", "heading": "Weekly cost by placement type", "table": {
                     "caption": "Placements and weekly cost by placement type, whole region",
                     "columns": ["Placements", "Median"], "row_header": "Placement type",
                     "rows": [{"label": "Foster care", "cells": [{"text": "146", "value": 146, "flag": None},
                                                                 {"text": "£1,003", "value": 100300, "flag": None}]}],
                     "total_row": True}}]},
}
CORRECTION_EXAMPLE = {**PUBLICATION_DETAIL_EXAMPLE, "id": 3, "version": 2,
                      "changes": "Corrected Wigan's children's home costs, which double-counted education"}
SUFFICIENCY_EXAMPLE = {
    "on": "2026-11-29",
    "by_type": [{"placement_type": "childrens_home", "placed": 79, "in_area": 26, "out_of_area": 53,
                 "median_miles": 11.8, "share_over_20_miles": 31.2, "homes": 632, "registered_places": 2119,
                 "vacancies": 181, "block_places": 3, "free_block_places": 1, "waiting_referrals": 32}],
    "unmatched_in_last_run": 4,
    "forecast": [{"placement_type": "childrens_home", "reason": None, "backtest_mape": 0.061,
                  "points": [{"month": "2026-12-31", "expected": 107.0, "low": 98.2, "high": 115.7}]}],
}
PROVIDER_RISK_EXAMPLE = {
    "on": "2026-11-29", "spend_hhi": 226, "places_hhi": 181, "alert_percent": 25, "alerts": [],
    "groups": [{"provider_id": 22, "name": "Cambian Childcare Limited", "sector": "private",
                "weekly_spend": 4835299, "placements": 9, "places": 116, "spend_share": 5.77, "places_share": 2.4}],
    "rating_drops": [{"home_id": 636, "home": "Oak House", "provider": "Cambian Childcare Limited",
                      "from": "requires_improvement", "to": "inadequate", "seen_on": "2026-10-20"}],
}
