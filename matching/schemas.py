"""Marshmallow schemas for matching's JSON API. Money is in pence, as stored.

Providers get their own offer schema (``ProviderOfferSchema``): the offer, its home and the
anonymised profile — no referral id, no child, no council notes.
"""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from matching.models import OFFER_STATUS_LABELS, PROPOSAL_STATUS_LABELS, RUN_STAGES
from matching.services.offers import DECLINE_REASONS
from rcc.api import id_field

TEXT = validate.Length(max=2000)
# Sums on these dates (notice periods, the next review) stay well inside what a date can hold.
DAYS = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31),
                      error="Enter a date between 1 January 2000 and 31 December 2099")


class RunInSchema(Schema):
    referral_ids = fields.List(id_field(), allow_none=True, load_default=None, validate=validate.Length(max=5000),
                               metadata={"description": "Referrals to match; leave out (or null) for every "
                                                        "submitted referral in the region"})
    note = fields.String(load_default="", validate=validate.Length(max=200))


class RunSchema(Schema):
    id = fields.Integer(required=True)
    stage = fields.String(required=True, metadata={"enum": [*RUN_STAGES, "failed"]})
    whole_region = fields.Boolean(required=True)
    referral_ids = fields.List(fields.Integer(), required=True)
    note = fields.String(required=True)
    background = fields.Boolean(required=True)
    error = fields.String(allow_none=True)
    stage_seconds = fields.Dict(keys=fields.String(), values=fields.Float(), required=True)
    elapsed_seconds = fields.Float(required=True)
    children = fields.Integer(required=True)
    placed = fields.Integer(required=True)
    unmatched = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True)


class ProposalSchema(Schema):
    id = fields.Integer(required=True)
    run_id = fields.Integer(required=True)
    council_id = fields.Integer(required=True)
    referral_id = fields.Integer(required=True)
    child_key = fields.String(required=True, metadata={"description": "The child's pseudonym in the run's snapshot"})
    home_id = fields.Integer(allow_none=True, metadata={"description": "The proposed home; null when none was found"})
    score = fields.Integer(allow_none=True)
    rank = fields.Integer(allow_none=True)
    candidates = fields.Integer(allow_none=True)
    parts = fields.Dict(allow_none=True, metadata={"description": "Score parts: raw figures and points"})
    alternatives = fields.List(fields.Dict(), required=True,
                               metadata={"description": "Runner-up homes (keys H<id>), their scores and why they lost"})
    funnel = fields.List(fields.Dict(), required=True,
                         metadata={"description": "For a child with no home: each hard rule and the homes it ruled out"})
    status = fields.String(required=True, metadata={"enum": list(PROPOSAL_STATUS_LABELS)})
    chosen_home_id = fields.Integer(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class RunResultSchema(Schema):
    run = fields.Nested(RunSchema, required=True)
    result = fields.Dict(allow_none=True, metadata={"description": "The engine's result, as result_to_json gives it"})
    proposals = fields.List(fields.Nested(ProposalSchema), required=True)


class AlternativeInSchema(Schema):
    home_id = id_field(load_default=None, allow_none=True)
    reason = fields.String(load_default="", validate=TEXT)


class ReasonInSchema(Schema):
    reason = fields.String(load_default="", validate=TEXT)


class ProfileSchema(Schema):
    age_band = fields.String(required=True, metadata={"example": "13–15"})
    sex = fields.String(required=True)
    placement_type = fields.String(required=True)
    urgency = fields.String(required=True)
    date_needed = fields.Date(required=True)
    needs = fields.List(fields.String(), required=True)
    risk_flags = fields.List(fields.String(), required=True)
    deprivation_of_liberty_order = fields.Boolean(required=True)
    wishes = fields.String(required=True)
    distance_band = fields.String(required=True, metadata={"example": "10–20 miles"})


class OfferSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [k for k in OFFER_STATUS_LABELS if k != "expired"]})
    shown_status = fields.String(required=True, metadata={"enum": list(OFFER_STATUS_LABELS),
                                                          "description": "As people see it: 'expired' once an "
                                                                         "unanswered offer passes its deadline"})
    council_id = fields.Integer(required=True)
    provider_id = fields.Integer(required=True)
    home_id = fields.Integer(required=True)
    referral_id = fields.Integer(required=True)
    proposal_id = fields.Integer(allow_none=True)
    weekly_cost = fields.Integer(required=True, metadata={"description": "Pence"})
    funding = fields.String(required=True, metadata={"enum": ["block", "spot"]})
    sent_at = fields.DateTime(required=True)
    respond_by = fields.DateTime(required=True)
    decline_reason = fields.String(allow_none=True)
    decline_details = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    placement_id = fields.Integer(allow_none=True)
    profile = fields.Nested(ProfileSchema, required=True)


class ProviderOfferSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [k for k in OFFER_STATUS_LABELS if k != "expired"]})
    shown_status = fields.String(required=True, metadata={"enum": list(OFFER_STATUS_LABELS)})
    home_id = fields.Integer(required=True)
    home_name = fields.String(required=True)
    weekly_cost = fields.Integer(required=True, metadata={"description": "Pence"})
    funding = fields.String(required=True, metadata={"enum": ["block", "spot"]})
    sent_at = fields.DateTime(required=True)
    respond_by = fields.DateTime(required=True)
    decline_reason = fields.String(allow_none=True)
    decline_details = fields.String(allow_none=True)
    profile = fields.Nested(ProfileSchema, required=True)


class DeclineInSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=40), metadata={"enum": list(DECLINE_REASONS)})
    details = fields.String(load_default="", validate=TEXT)


class ApproveInSchema(Schema):
    start_date = fields.Date(load_default=None, allow_none=True, validate=DAYS)
    weekly_cost = fields.Integer(load_default=None, allow_none=True, strict=True,
                                 validate=validate.Range(min=1, max=100_000_00), metadata={"description": "Pence"})


class PlacementSchema(Schema):
    id = fields.Integer(required=True)
    council_id = fields.Integer(required=True)
    provider_id = fields.Integer(required=True)
    referral_id = fields.Integer(required=True)
    home_id = fields.Integer(required=True)
    placement_type = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    weekly_cost = fields.Integer(required=True, metadata={"description": "Pence"})
    funding = fields.String(required=True)
    block_contract_id = fields.Integer(allow_none=True)


class EndPlacementInSchema(Schema):
    end_date = fields.Date(load_default=None, allow_none=True, validate=DAYS)
    reason_code = fields.String(load_default="", validate=validate.Length(max=6),
                                metadata={"description": "SSDA903 reason for placement change, e.g. CARPL"})


class ShortageLineSchema(Schema):
    placement_type = fields.String(required=True)
    need = fields.String(required=True)
    area = fields.String(required=True)
    children = fields.Integer(required=True)
    rules = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class PressureSchema(Schema):
    placement_type = fields.String(required=True)
    area = fields.String(required=True)
    homes = fields.Integer(required=True)
    free_places = fields.Integer(required=True)
    places_proposed = fields.Integer(required=True)
    extra_place_value = fields.Float(required=True)


class ShortageSchema(Schema):
    run_id = fields.Integer(allow_none=True)
    unmatched_children = fields.Integer(required=True)
    lines = fields.List(fields.Nested(ShortageLineSchema), required=True)
    pressure = fields.List(fields.Nested(PressureSchema), required=True)
