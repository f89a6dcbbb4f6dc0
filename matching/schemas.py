"""Marshmallow schemas for matching's JSON API. Money is in pence, as stored.

Providers get their own offer schema (``ProviderOfferSchema``): the offer, its home and the
anonymised profile — no referral id, no child, no council notes.
"""

from __future__ import annotations

from datetime import date

from marshmallow import Schema, fields, validate

from matching.models import OFFER_STATUS_LABELS, PROPOSAL_STATUS_LABELS, RUN_STAGES
from matching.services.offers import DECLINE_REASONS
from rcc.api import (
    Text,
    id_field,
)

TEXT = validate.Length(max=2000)
# Sums on these dates (notice periods, the next review) stay well inside what a date can hold.
DAYS = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31),
                      error="Enter a date between 1 January 2000 and 31 December 2099")


class RunInSchema(Schema):
    referral_ids = fields.List(id_field(), allow_none=True, load_default=None, validate=validate.Length(max=5000),
                               metadata={"description": "Referrals to match; leave out (or null) for every "
                                                        "submitted referral in the region"})
    note = Text(load_default="", validate=validate.Length(max=200))


class RunSchema(Schema):
    id = fields.Integer(required=True)
    stage = fields.String(required=True, metadata={"enum": [*RUN_STAGES, "failed", "cancelled"], "description":
                          "A run whose worker stopped shows as failed even before the reaper has recorded it"})
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
    heartbeat_at = fields.DateTime(allow_none=True, metadata={"description": "When the worker last showed it was alive"})
    policy_id = fields.Integer(allow_none=True, metadata={"description": "The matching policy version the run used; "
                                                                         "null: the defaults (no policy saved)"})
    repeat_of_run_id = fields.Integer(allow_none=True, metadata={
        "description": "The run whose snapshot this run solved again with another policy"})
    retry_of_run_id = fields.Integer(allow_none=True, metadata={"description": "The failed or cancelled run this retries"})


class ProposalSchema(Schema):
    id = fields.Integer(required=True)
    run_id = fields.Integer(required=True)
    council_id = fields.Integer(required=True)
    referral_id = fields.Integer(required=True)
    child_key = fields.String(required=True, metadata={"description": "The child's pseudonym in the run's snapshot"})
    home_id = fields.Integer(allow_none=True, metadata={"description": "The proposed home; null when none was found"})
    foster_household_id = fields.Integer(allow_none=True, metadata={
        "description": "The proposed foster household (keys F<id> in the snapshot), when one was proposed instead"})
    score = fields.Integer(allow_none=True)
    rank = fields.Integer(allow_none=True)
    candidates = fields.Integer(allow_none=True)
    parts = fields.Dict(allow_none=True, metadata={"description": "Score parts: raw figures and points"})
    alternatives = fields.List(fields.Dict(), required=True,
                               metadata={"description": "Runner-up homes (keys H<id>) and foster households (keys "
                                                        "F<id>), their scores and why they lost"})
    funnel = fields.List(fields.Dict(), required=True,
                         metadata={"description": "For a child with no home: each hard rule and the homes it ruled out"})
    status = fields.String(required=True, metadata={"enum": list(PROPOSAL_STATUS_LABELS)})
    chosen_home_id = fields.Integer(allow_none=True)
    chosen_foster_household_id = fields.Integer(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class RunResultSchema(Schema):
    run = fields.Nested(RunSchema, required=True)
    result = fields.Dict(allow_none=True, metadata={"description": "The engine's result, as result_to_json gives it"})
    proposals = fields.List(fields.Nested(ProposalSchema), required=True)


class AlternativeInSchema(Schema):
    home_id = id_field(load_default=None, allow_none=True)
    foster_household_id = id_field(load_default=None, allow_none=True, metadata={
        "description": "A runner-up foster household instead of a home (give one of the two)"})
    reason = Text(load_default="", validate=TEXT)


class ReasonInSchema(Schema):
    reason = Text(load_default="", validate=TEXT)


class ProfileSchema(Schema):
    age_band = fields.String(required=True, metadata={"example": "13–15"})
    sex = fields.String(required=True)
    placement_type = fields.String(required=True)
    urgency = fields.String(required=True)
    date_needed = fields.Date(required=True)
    needs = fields.List(fields.String(), required=True)
    risk_flags = fields.List(fields.String(), required=True)
    deprivation_of_liberty_order = fields.Boolean(required=True)
    summary = fields.String(required=True, metadata={
        "description": "The council's summary for providers: the only free text about the child they see"})
    distance_band = fields.String(required=True, metadata={"example": "10–20 miles"})


class OfferSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [k for k in OFFER_STATUS_LABELS if k != "expired"]})
    shown_status = fields.String(required=True, metadata={"enum": list(OFFER_STATUS_LABELS),
                                                          "description": "As people see it: 'expired' once an "
                                                                         "unanswered offer passes its deadline"})
    council_id = fields.Integer(required=True)
    provider_id = fields.Integer(required=True, metadata={
        "description": "Who answers: the home's provider, or the foster household's owner (an agency, or the "
                       "council whose in-house carers they are)"})
    home_id = fields.Integer(allow_none=True)
    foster_household_id = fields.Integer(allow_none=True, metadata={
        "description": "The foster household instead of a home (exactly one of home_id and foster_household_id)"})
    referral_id = fields.Integer(required=True)
    proposal_id = fields.Integer(allow_none=True)
    weekly_cost = fields.Integer(required=True, metadata={"description": "Pence"})
    funding = fields.String(required=True, metadata={"enum": ["block", "spot"]})
    sent_at = fields.DateTime(required=True)
    group_offer_id = fields.Integer(allow_none=True, metadata={
        "description": "Brothers and sisters offered together: every offer of the group is accepted or declined "
                       "with one answer (answering any of them answers the group)"})
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
    home_id = fields.Integer(allow_none=True)
    foster_household_id = fields.Integer(allow_none=True, metadata={
        "description": "The foster household instead of a home (exactly one of home_id and foster_household_id)"})
    home_name = fields.String(required=True)
    weekly_cost = fields.Integer(required=True, metadata={"description": "Pence"})
    funding = fields.String(required=True, metadata={"enum": ["block", "spot"]})
    sent_at = fields.DateTime(required=True)
    group_offer_id = fields.Integer(allow_none=True, metadata={
        "description": "Brothers and sisters offered together: every offer of the group is accepted or declined "
                       "with one answer (answering any of them answers the group)"})
    respond_by = fields.DateTime(required=True)
    decline_reason = fields.String(allow_none=True)
    decline_details = fields.String(allow_none=True)
    profile = fields.Nested(ProfileSchema, required=True)


class DeclineInSchema(Schema):
    # No default: an empty default sat outside the documented enum (an invalid document). Left out, the
    # service refuses it naming the field, after the permission check.
    reason = Text(validate=validate.Length(max=40), metadata={"enum": list(DECLINE_REASONS)})
    details = Text(load_default="", validate=TEXT)


class ApproveInSchema(Schema):
    start_date = fields.Date(load_default=None, allow_none=True, validate=DAYS)
    weekly_cost = fields.Integer(load_default=None, allow_none=True, strict=True,
                                 validate=validate.Range(min=1, max=100_000_00), metadata={"description": "Pence"})


class PlacementSchema(Schema):
    id = fields.Integer(required=True)
    council_id = fields.Integer(required=True)
    provider_id = fields.Integer(required=True)
    referral_id = fields.Integer(required=True)
    home_id = fields.Integer(allow_none=True)
    foster_household_id = fields.Integer(allow_none=True, metadata={
        "description": "The foster household instead of a home (exactly one of home_id and foster_household_id)"})
    placement_type = fields.String(required=True)
    start_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    weekly_cost = fields.Integer(required=True, metadata={"description": "Pence"})
    funding = fields.String(required=True)
    block_contract_id = fields.Integer(allow_none=True)


class EndPlacementInSchema(Schema):
    end_date = fields.Date(load_default=None, allow_none=True, validate=DAYS)
    reason_code = Text(load_default="", validate=validate.Length(max=6),
                                metadata={"description": "SSDA903 reason for placement change, e.g. CARPL"})


class ShortageLineSchema(Schema):
    placement_type = fields.String(required=True)
    need = fields.String(required=True)
    area = fields.String(required=True)
    children = fields.Integer(required=True)
    rules = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class PressureSchema(Schema):
    """What one more place would do, found by re-solving the run with it (best first)."""

    placement_type = fields.String(required=True)
    area = fields.String(required=True)
    home_id = fields.Integer(allow_none=True, metadata={
        "description": "the home given one more free place; null for a foster household"})
    unmatched_demand = fields.Integer(required=True)
    children_placed = fields.Integer(required=True, metadata={"description": "more children placed with it"})
    miles_change = fields.Float(required=True, metadata={"description": "over children placed either way"})
    weekly_cost_change = fields.Float(required=True, metadata={"description": "pounds a week, same children"})
    optimal = fields.Boolean(required=True)


class ShortageSchema(Schema):
    run_id = fields.Integer(allow_none=True)
    unmatched_children = fields.Integer(required=True)
    lines = fields.List(fields.Nested(ShortageLineSchema), required=True)
    pressure = fields.List(fields.Nested(PressureSchema), required=True)


# Examples for the OpenAPI document: what a response looks like -------------------------

RUN_EXAMPLE = {
    "id": 3, "stage": "done", "whole_region": True, "referral_ids": [41, 42, 57], "note": "Weekly run",
    "background": False, "error": None,
    "stage_seconds": {"snapshot": 0.71, "candidates": 0.16, "solving": 0.04, "explaining": 0.07},
    "elapsed_seconds": 0.98, "children": 3, "placed": 2, "unmatched": 1,
    "created_at": "2027-03-01T09:00:00+00:00", "finished_at": "2027-03-01T09:00:01+00:00",
}
_PARTS_EXAMPLE = {"miles_from_home": 6.2, "miles_from_school": 4.8, "weekly_cost": 4800.0, "ofsted_rating": "good",
                  "block_place_used": False, "siblings_together": None,
                  "points": {"home_distance": 62, "school_distance": 24, "cost": 480, "rating": 0, "block_place": 0,
                             "sibling_split": 0}}
PROPOSAL_EXAMPLE = {
    "id": 88, "run_id": 3, "council_id": 3, "referral_id": 41, "child_key": "C41", "home_id": 12, "score": 566,
    "rank": 1, "candidates": 9, "parts": _PARTS_EXAMPLE,
    "alternatives": [{"home": "H15", "score": 610, "parts": {**_PARTS_EXAMPLE, "miles_from_home": 10.6},
                      "reason": "worse", "taken_by": []}],
    "funnel": [], "status": "proposed", "chosen_home_id": None, "decision_reason": None, "decided_at": None,
}
NO_HOME_PROPOSAL_EXAMPLE = {
    "id": 89, "run_id": 3, "council_id": 7, "referral_id": 57, "child_key": "C57", "home_id": None, "score": None,
    "rank": None, "candidates": None, "parts": None, "alternatives": [],
    "funnel": [{"rule": "placement_type", "removed": 261, "remaining": 11},
               {"rule": "needs", "removed": 11, "remaining": 0}],
    "status": "no_home", "chosen_home_id": None, "decision_reason": None, "decided_at": None,
}
RUN_RESULT_EXAMPLE = {
    "run": RUN_EXAMPLE,
    "result": {"status": "optimal", "objective": 231431, "placed": 2, "groups_split": 0,
               "assignments": [{"child": "C41", "home": "H12", "score": 566, "rank": 1, "candidates": 9}],
               "unmatched": [{"child": "C57", "urgency": "planned", "all_taken": False}]},
    "proposals": [PROPOSAL_EXAMPLE, NO_HOME_PROPOSAL_EXAMPLE],
}
LEFT_UNMATCHED_EXAMPLE = {**NO_HOME_PROPOSAL_EXAMPLE, "status": "left_unmatched",
                          "decision_reason": "Waiting for a new secure home to open",
                          "decided_at": "2027-03-01T11:00:00+00:00"}
PROFILE_EXAMPLE = {"age_band": "13–15", "sex": "F", "placement_type": "foster_care", "urgency": "planned",
                   "date_needed": "2027-03-27", "needs": ["therapeutic_support"], "risk_flags": ["going_missing"],
                   "deprivation_of_liberty_order": False,
                   "summary": "Settled in school and wants to stay near it; gets on well with younger children",
                   "distance_band": "0–10 miles"}
OFFER_EXAMPLE = {
    "id": 17, "status": "sent", "shown_status": "sent", "council_id": 3, "provider_id": 9, "home_id": 12,
    "referral_id": 41, "proposal_id": 88, "weekly_cost": 480000, "funding": "spot",
    "sent_at": "2027-03-01T11:00:00+00:00", "respond_by": "2027-03-03T11:00:00+00:00", "decline_reason": None,
    "decline_details": None, "decision_reason": None, "placement_id": None, "profile": PROFILE_EXAMPLE,
}
WITHDRAWN_OFFER_EXAMPLE = {**OFFER_EXAMPLE, "status": "withdrawn", "shown_status": "withdrawn",
                           "decision_reason": "No answer by the deadline"}
REJECTED_OFFER_EXAMPLE = {**OFFER_EXAMPLE, "status": "rejected", "shown_status": "rejected",
                          "decision_reason": "Too far from his brother"}
PROVIDER_OFFER_EXAMPLE = {
    "id": 17, "status": "sent", "shown_status": "sent", "home_id": 12, "home_name": "Oak House",
    "weekly_cost": 480000, "funding": "spot", "sent_at": "2027-03-01T11:00:00+00:00",
    "respond_by": "2027-03-03T11:00:00+00:00", "decline_reason": None, "decline_details": None,
    "profile": PROFILE_EXAMPLE,
}
ACCEPTED_PROVIDER_OFFER_EXAMPLE = {**PROVIDER_OFFER_EXAMPLE, "status": "accepted", "shown_status": "accepted"}
DECLINED_PROVIDER_OFFER_EXAMPLE = {**PROVIDER_OFFER_EXAMPLE, "status": "declined", "shown_status": "declined",
                                   "decline_reason": "group_mix", "decline_details": "Two boys aged 16"}
PLACEMENT_EXAMPLE = {"id": 354, "council_id": 3, "provider_id": 9, "referral_id": 41, "home_id": 12,
                     "placement_type": "childrens_home", "start_date": "2027-03-27", "end_date": None,
                     "end_reason": None, "weekly_cost": 480000, "funding": "spot", "block_contract_id": None}
ENDED_PLACEMENT_EXAMPLE = {**PLACEMENT_EXAMPLE, "end_date": "2027-09-30", "end_reason": "CARPL"}
SHORTAGE_EXAMPLE = {
    "run_id": 3, "unmatched_children": 1,
    "lines": [{"placement_type": "secure", "need": "therapeutic_support", "area": "Manchester", "children": 1,
               "rules": {"placement_type": 1}}],
    "pressure": [{"placement_type": "Children's home", "area": "Manchester", "home_id": 12, "unmatched_demand": 3,
                  "children_placed": 1, "miles_change": -4.2, "weekly_cost_change": 0.0, "optimal": True}],
}


class FirstChoicesInSchema(Schema):
    expected = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=0, max=100_000),
                              metadata={"description": "The number you confirmed; if it has changed, nothing is "
                                                       "accepted (409)"})


class FirstChoicesSchema(Schema):
    accepted = fields.Integer(required=True)
    offer_ids = fields.List(fields.Integer(), required=True)


class PolicySchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "null: no version saved, the defaults apply"})
    version = fields.Integer(allow_none=True)
    preset = fields.String(required=True)
    home_miles = fields.Integer(required=True)
    school_miles = fields.Integer(required=True)
    cost_per_100_pounds = fields.Integer(required=True)
    rating_percent = fields.Integer(required=True)
    block_place_credit = fields.Integer(required=True)
    sibling_split = fields.Integer(required=True)
    note = fields.String(required=True)
    trade_off = fields.String(required=True, metadata={"description": "The policy in plain terms"})


class PolicyInSchema(Schema):
    home_miles = fields.Raw(load_default="")
    school_miles = fields.Raw(load_default="")
    cost_per_100_pounds = fields.Raw(load_default="")
    rating_percent = fields.Raw(load_default="")
    block_place_credit = fields.Raw(load_default="")
    sibling_split = fields.Raw(load_default="")
    note = Text(load_default="", validate=validate.Length(max=200))


POLICY_EXAMPLE = {"id": 3, "version": 2, "preset": "closest", "home_miles": 30, "school_miles": 15,
                  "cost_per_100_pounds": 3, "rating_percent": 100, "block_place_credit": 200, "sibling_split": 1000,
                  "note": "Closer to home", "trade_off": "1 mile nearer the child's home is worth £1,000 a week."}
