"""Marshmallow schemas for commissioning's JSON API. Money is in pence, as stored."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from commissioning.lifecycle import STATUS_LABELS
from commissioning.vocabulary import NEEDS, OFSTED_RATINGS, PLACEMENT_TYPES, RISK_FLAGS, SEXES, URGENCIES


class ChildSchema(Schema):
    reference = fields.String(required=True, metadata={"example": "ABC-1234"})
    initials = fields.String(allow_none=True, metadata={"description": "Shown to the owning council only"})
    birth_month = fields.Integer(required=True)
    birth_year = fields.Integer(required=True)
    sex = fields.String(required=True, validate=validate.OneOf(list(SEXES)))
    legal_status = fields.String(required=True, metadata={"description": "SSDA903 legal status code"})
    category_of_need = fields.String(required=True, metadata={"description": "SSDA903 N1 to N8"})
    uasc = fields.Boolean(load_default=False)
    ehcp = fields.Boolean(load_default=False)
    home_postcode = fields.String(required=True)
    school_postcode = fields.String(allow_none=True, load_default=None)


class ReferralInSchema(Schema):
    child = fields.Nested(ChildSchema, required=True)
    placement_type = fields.String(required=True, validate=validate.OneOf(list(PLACEMENT_TYPES)))
    urgency = fields.String(required=True, validate=validate.OneOf(list(URGENCIES)))
    date_needed = fields.Date(required=True)
    needs = fields.List(fields.String(validate=validate.OneOf(list(NEEDS))), load_default=list)
    risk_flags = fields.List(fields.String(validate=validate.OneOf(list(RISK_FLAGS))), load_default=list)
    dol_order_needed = fields.Boolean(load_default=False)
    child_wishes = fields.String(load_default="")
    excluded_provider_ids = fields.List(fields.Integer(), load_default=list)
    excluded_home_ids = fields.List(fields.Integer(), load_default=list)
    excluded_areas = fields.List(fields.String(), load_default=list)
    max_weekly_cost = fields.Integer(allow_none=True, load_default=None, metadata={"description": "Pence"})
    max_distance_miles = fields.Integer(allow_none=True, load_default=None)
    out_of_area_reason = fields.String(allow_none=True, load_default=None)
    sibling_group_id = fields.Integer(allow_none=True, load_default=None)


class ReferralOutSchema(Schema):
    id = fields.Integer(required=True)
    council_id = fields.Integer(required=True)
    child = fields.Dict(required=True, metadata={"description": "The child (initials only for the owning council)"})
    status = fields.String(required=True, metadata={"enum": list(STATUS_LABELS)})
    placement_type = fields.String(required=True)
    urgency = fields.String(required=True)
    date_needed = fields.Date(required=True)
    needs = fields.List(fields.String())
    risk_flags = fields.List(fields.String())
    dol_order_needed = fields.Boolean()
    child_wishes = fields.String()
    excluded_provider_ids = fields.List(fields.Integer())
    excluded_home_ids = fields.List(fields.Integer())
    excluded_areas = fields.List(fields.String())
    max_weekly_cost = fields.Integer(allow_none=True)
    max_distance_miles = fields.Integer(allow_none=True)
    out_of_area_reason = fields.String(allow_none=True)
    sibling_group_id = fields.Integer(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)


class ReferralQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(list(STATUS_LABELS)))
    urgency = fields.String(validate=validate.OneOf(list(URGENCIES)))
    placement_type = fields.String(validate=validate.OneOf(list(PLACEMENT_TYPES)))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


class ReasonSchema(Schema):
    reason = fields.String(load_default="")


class SiblingGroupInSchema(Schema):
    name = fields.String(required=True)
    keep_together = fields.Boolean(required=True)
    separation_reason = fields.String(allow_none=True, load_default=None)


class SiblingGroupOutSchema(Schema):
    id = fields.Integer(required=True)
    council_id = fields.Integer(required=True)
    name = fields.String(required=True)
    keep_together = fields.Boolean(required=True)
    separation_reason = fields.String(allow_none=True)
    referral_ids = fields.List(fields.Integer())


class HomeSchema(Schema):
    id = fields.Integer(dump_only=True)
    provider_id = fields.Integer(dump_only=True)
    ofsted_urn = fields.String(required=True)
    name = fields.String(required=True)
    placement_type = fields.String(required=True, validate=validate.OneOf(list(PLACEMENT_TYPES)))
    local_authority = fields.String(required=True)
    postcode = fields.String(allow_none=True, load_default=None)
    latitude = fields.Float(dump_only=True, allow_none=True)
    longitude = fields.Float(dump_only=True, allow_none=True)
    location_precision = fields.String(dump_only=True)
    registered_places = fields.Integer(required=True)
    age_min = fields.Integer(required=True)
    age_max = fields.Integer(required=True)
    sexes = fields.List(fields.String(validate=validate.OneOf(list(SEXES))), load_default=lambda: ["F", "M"])
    needs_met = fields.List(fields.String(), load_default=list)
    max_sibling_group = fields.Integer(load_default=1)
    weekly_price = fields.Integer(allow_none=True, load_default=None, metadata={"description": "Pence"})
    price_band = fields.String(allow_none=True, load_default=None)
    ofsted_rating = fields.String(load_default="not_yet_inspected", validate=validate.OneOf(list(OFSTED_RATINGS)))
    rating_date = fields.Date(allow_none=True, load_default=None)
    dol_capable = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)


class HomeQuerySchema(Schema):
    placement_type = fields.String(validate=validate.OneOf(list(PLACEMENT_TYPES)))
    local_authority = fields.String()
    with_vacancies = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))


class VacancyInSchema(Schema):
    places_free = fields.Integer(allow_none=True, load_default=None)
    available_from = fields.Date(allow_none=True, load_default=None)


class VacancyOutSchema(Schema):
    id = fields.Integer(required=True)
    home_id = fields.Integer(required=True)
    provider_id = fields.Integer(required=True)
    places_free = fields.Integer(required=True)
    available_from = fields.Date(required=True)
    last_confirmed_at = fields.DateTime(required=True)
    stale = fields.Boolean(required=True)


class HomeChangeSchema(HomeSchema):
    """For PUT: any field left out keeps its value."""
