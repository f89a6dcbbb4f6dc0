"""Marshmallow schemas for commissioning's JSON API. Money is in pence, as stored.

Every number, date and text a request may carry is bounded to what the services work with and
the database can store, so a wild value is a 422 naming the field, never a server error. The
services still make the finer checks (a real postcode, a child under 18) with their own messages.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from commissioning.lifecycle import STATUS_LABELS
from commissioning.vocabulary import (
    ADDITIONAL_SUPPORT,
    COMMUNICATION_NEEDS,
    COMMUNICATION_REQUIREMENTS,
    CULTURAL_NEEDS,
    LIVING_COMPANIONS,
    OFSTED_RATINGS,
    PETS,
    PLACEMENT_TYPES,
    RISK_FLAGS,
    SEXES,
    SIBLING_PLANS,
    STANDARD_PLACEMENT_TYPES,
    SUITABILITIES,
    URGENCIES,
)
from rcc.api import (
    EARLIEST_DAY,
    LATEST_DAY,
    MAX_LIST,
    MAX_WEEKLY_PENCE,
    bounded_text,
    id_field,
    row_version_field,
    whole_number,
)


def weekly_pence(**kwargs: Any) -> fields.Integer:
    return whole_number(1, MAX_WEEKLY_PENCE, metadata={"description": "Pence a week"}, **kwargs)


def day(**kwargs: Any) -> fields.Date:
    return fields.Date(validate=validate.Range(min=EARLIEST_DAY, max=LATEST_DAY,
                                               error="Enter a date between 1 January 2000 and 31 December 2099"),
                       **kwargs)


def id_list(**kwargs: Any) -> fields.List:
    return fields.List(id_field(), validate=validate.Length(max=MAX_LIST), **kwargs)


class ChildSchema(Schema):
    reference = bounded_text(40, required=True, metadata={"example": "ABC-1234"})
    initials = bounded_text(5, allow_none=True, metadata={"description": "Shown to the owning council only"})
    # The service checks the date of birth with everything else about the child, so a bad month
    # is named beside a bad postcode; the numbers never reach the database unchecked.
    birth_month = fields.Integer(strict=True, required=True, metadata={"minimum": 1, "maximum": 12})
    birth_year = fields.Integer(strict=True, required=True, metadata={"description": "The child must be under 18"})
    sex = fields.String(required=True, validate=validate.OneOf(list(SEXES)))
    legal_status = bounded_text(3, required=True, metadata={"description": "SSDA903 legal status code"})
    category_of_need = bounded_text(2, required=True, metadata={"description": "SSDA903 N1 to N8"})
    uasc = fields.Boolean(load_default=False)
    ehcp = fields.Boolean(load_default=False)
    home_postcode = bounded_text(10, required=True)
    school_postcode = bounded_text(10, allow_none=True, load_default=None)


class ReferralInSchema(Schema):
    child = fields.Nested(ChildSchema, required=True)
    placement_type = fields.String(load_default="", validate=validate.OneOf(["", *PLACEMENT_TYPES]), metadata={
        "description": "The platform's type to look for first (and the only way to ask for secure or parent and "
                       "child); left empty, the first preferred type"})
    urgency = fields.String(required=True, validate=validate.OneOf(list(URGENCIES)))
    date_needed = day(required=True)
    suitability = fields.Dict(
        keys=fields.String(validate=validate.OneOf(list(STANDARD_PLACEMENT_TYPES))),
        values=fields.String(validate=validate.OneOf(list(SUITABILITIES))), load_default=None, allow_none=True,
        metadata={"description": "Placements Data Standard v2 PlacementRecommendation: foster, residential and "
                                 "supported_accommodation, each preferred, suitable, unsuitable or not_specified. "
                                 "Left out: placement_type's type preferred, the others unsuitable"})
    communication_needs = fields.String(load_default="not_specified", validate=validate.OneOf(list(COMMUNICATION_NEEDS)))
    communication_requirements = fields.List(fields.String(validate=validate.OneOf(list(COMMUNICATION_REQUIREMENTS))),
                                             load_default=list)
    home_adaptation = fields.Boolean(load_default=False)
    cultural_needs = fields.String(load_default="not_known", validate=validate.OneOf(list(CULTURAL_NEEDS)))
    living_companions = fields.String(load_default="no_preference", validate=validate.OneOf(list(LIVING_COMPANIONS)))
    pets = fields.String(load_default="not_known", validate=validate.OneOf(list(PETS)))
    additional_support = fields.String(load_default=None, allow_none=True,
                                       validate=validate.OneOf(list(ADDITIONAL_SUPPORT)))
    risk_flags = fields.List(fields.String(validate=validate.OneOf(list(RISK_FLAGS))), load_default=list,
                             metadata={"description": "The Placements Data Standard's risks present (the rest: no known risk)"})
    risk_to_child_other = bounded_text(2000, allow_none=True, load_default=None)
    risk_to_others_other = bounded_text(2000, allow_none=True, load_default=None)
    preferred_location = bounded_text(200, allow_none=True, load_default=None)
    education_continuity = fields.Boolean(load_default=False)
    dol_order_needed = fields.Boolean(load_default=False)
    child_wishes = bounded_text(4000, load_default="", metadata={
        "description": "The child's own words. Never shown to providers."})
    provider_summary = bounded_text(2000, load_default="", metadata={
        "description": "What providers are told about the child, written by the council: the only free text "
                       "about the child a provider sees."})
    excluded_provider_ids = id_list(load_default=list)
    excluded_home_ids = id_list(load_default=list)
    excluded_areas = fields.List(bounded_text(80), validate=validate.Length(max=MAX_LIST), load_default=list,
                                 metadata={"description": "Local authority names"})
    max_weekly_cost = weekly_pence(allow_none=True, load_default=None)
    max_distance_miles = whole_number(1, 1000, allow_none=True, load_default=None)
    out_of_area_reason = bounded_text(2000, allow_none=True, load_default=None)
    sibling_group_id = id_field(allow_none=True, load_default=None)


class ReferralOutSchema(Schema):
    id = fields.Integer(required=True)
    council_id = fields.Integer(required=True)
    child = fields.Dict(required=True, metadata={"description": "The child (initials only for the owning council)"})
    status = fields.String(required=True, metadata={"enum": list(STATUS_LABELS)})
    placement_type = fields.String(required=True)
    urgency = fields.String(required=True)
    date_needed = fields.Date(required=True)
    foster_suitability = fields.String()
    residential_suitability = fields.String()
    supported_accommodation_suitability = fields.String()
    communication_needs = fields.String()
    communication_requirements = fields.List(fields.String())
    home_adaptation = fields.Boolean()
    cultural_needs = fields.String()
    living_companions = fields.String()
    pets = fields.String()
    additional_support = fields.String(allow_none=True)
    needs = fields.List(fields.String(), metadata={"description": "Derived from the standard's answers"})
    risk_flags = fields.List(fields.String())
    risk_to_child_other = fields.String(allow_none=True)
    risk_to_others_other = fields.String(allow_none=True)
    preferred_location = fields.String(allow_none=True)
    education_continuity = fields.Boolean()
    dol_order_needed = fields.Boolean()
    child_wishes = fields.String()
    provider_summary = fields.String()
    excluded_provider_ids = fields.List(fields.Integer())
    excluded_home_ids = fields.List(fields.Integer())
    excluded_areas = fields.List(fields.String())
    max_weekly_cost = fields.Integer(allow_none=True)
    max_distance_miles = fields.Integer(allow_none=True)
    out_of_area_reason = fields.String(allow_none=True)
    sibling_group_id = fields.Integer(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    row_version = row_version_field()


class ReferralChangeSchema(ReferralInSchema):
    """For PUT (loaded partial): the fields you send change, the rest keep their values; send the
    ``row_version`` you read (or If-Match)."""

    row_version = row_version_field()


class ReferralQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(list(STATUS_LABELS)))
    urgency = fields.String(validate=validate.OneOf(list(URGENCIES)))
    placement_type = fields.String(validate=validate.OneOf(list(PLACEMENT_TYPES)))


class ReasonSchema(Schema):
    reason = bounded_text(2000, load_default="")


class SiblingGroupInSchema(Schema):
    name = bounded_text(80, required=True)
    plan = fields.String(required=True, validate=validate.OneOf(list(SIBLING_PLANS)),
                         metadata={"description": "together (one home or none), together_if_possible, or apart"})
    plan_reason = bounded_text(2000, allow_none=True, load_default=None)


class SiblingGroupOutSchema(Schema):
    id = fields.Integer(required=True)
    council_id = fields.Integer(required=True)
    name = fields.String(required=True)
    plan = fields.String(required=True)
    plan_reason = fields.String(allow_none=True)
    referral_ids = fields.List(fields.Integer())


class HomeSchema(Schema):
    id = fields.Integer(dump_only=True)
    provider_id = fields.Integer(dump_only=True)
    ofsted_urn = bounded_text(20, required=True)
    name = bounded_text(200, required=True)
    placement_type = fields.String(required=True, validate=validate.OneOf(list(PLACEMENT_TYPES)))
    local_authority = bounded_text(80, required=True)
    postcode = bounded_text(10, allow_none=True, load_default=None)
    latitude = fields.Float(dump_only=True, allow_none=True)
    longitude = fields.Float(dump_only=True, allow_none=True)
    location_precision = fields.String(dump_only=True)
    registered_places = whole_number(0, 500, required=True)
    age_min = whole_number(0, 18, required=True)
    age_max = whole_number(0, 18, required=True)
    sexes = fields.List(fields.String(validate=validate.OneOf(list(SEXES))), load_default=lambda: ["F", "M"])
    needs_met = fields.List(bounded_text(40), validate=validate.Length(max=MAX_LIST), load_default=list)
    max_sibling_group = whole_number(1, 10, load_default=1)
    weekly_price = whole_number(0, MAX_WEEKLY_PENCE, allow_none=True, load_default=None,
                                metadata={"description": "Pence a week"})
    price_band = bounded_text(40, allow_none=True, load_default=None)
    # Read-only: ratings come from the Ofsted import or the RCC, so a provider sending one is refused (422).
    ofsted_rating = fields.String(dump_only=True, metadata={"enum": list(OFSTED_RATINGS)})
    rating_date = fields.Date(dump_only=True, allow_none=True)
    rating_source = fields.String(dump_only=True, attribute="rating_provenance", metadata={
        "description": "Where the rating came from: 'Ofsted import <date>' or 'Set by <RCC person> on <date>'"})
    dol_capable = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)
    row_version = row_version_field(dump_only=True)


class HomeQuerySchema(Schema):
    placement_type = fields.String(validate=validate.OneOf(list(PLACEMENT_TYPES)))
    local_authority = bounded_text(80)
    with_vacancies = fields.Boolean(load_default=False)


class VacancyInSchema(Schema):
    places_free = whole_number(0, 500, allow_none=True, load_default=None)
    available_from = day(allow_none=True, load_default=None)
    row_version = row_version_field()


class VacancyOutSchema(Schema):
    id = fields.Integer(required=True)
    home_id = fields.Integer(required=True)
    provider_id = fields.Integer(required=True)
    places_free = fields.Integer(required=True)
    available_from = fields.Date(required=True)
    last_confirmed_at = fields.DateTime(required=True)
    stale = fields.Boolean(required=True)
    row_version = row_version_field()


class HomeChangeSchema(HomeSchema):
    """For PUT: any field left out keeps its value. Send the ``row_version`` you read (or If-Match)."""

    row_version = row_version_field()


# Examples for the OpenAPI document: what a response looks like -------------------------

REFERRAL_EXAMPLE = {
    "id": 41, "council_id": 3,
    "child": {"reference": "ABC-1234", "initials": "JS", "birth_month": 4, "birth_year": 2012, "sex": "F",
              "legal_status": "C2", "category_of_need": "N1", "uasc": False, "ehcp": False,
              "home_postcode": "M1 1AE", "school_postcode": None},
    "status": "draft", "placement_type": "foster_care", "urgency": "planned", "date_needed": "2027-03-27",
    "foster_suitability": "preferred", "residential_suitability": "suitable",
    "supported_accommodation_suitability": "unsuitable", "communication_needs": "no",
    "communication_requirements": ["none"], "needs": ["therapeutic_support"], "additional_support": "therapeutic_support",
    "risk_flags": ["going_missing"], "dol_order_needed": False,
    "child_wishes": "I want to stay at my school", "excluded_provider_ids": [], "excluded_home_ids": [],
    "excluded_areas": [], "max_weekly_cost": None, "max_distance_miles": 20, "out_of_area_reason": None,
    "sibling_group_id": None, "submitted_at": None, "row_version": 1,
}
SUBMITTED_REFERRAL_EXAMPLE = {**REFERRAL_EXAMPLE, "status": "submitted",
                              "submitted_at": "2027-03-01T10:15:00+00:00"}
WITHDRAWN_REFERRAL_EXAMPLE = {**SUBMITTED_REFERRAL_EXAMPLE, "status": "withdrawn"}
SIBLING_GROUP_EXAMPLE = {"id": 5, "council_id": 3, "name": "Family A", "plan": "together",
                         "plan_reason": None, "referral_ids": [41, 42]}
HOME_EXAMPLE = {
    "id": 12, "provider_id": 9, "ofsted_urn": "SC123456", "name": "Oak House", "placement_type": "childrens_home",
    "local_authority": "Manchester", "postcode": "M1 1AE", "latitude": 53.4794, "longitude": -2.2453,
    "location_precision": "postcode", "registered_places": 4, "age_min": 11, "age_max": 17, "sexes": ["F", "M"],
    "needs_met": ["therapeutic_support", "going_missing"], "max_sibling_group": 2, "weekly_price": 480000,
    "price_band": None, "ofsted_rating": "good", "rating_date": "2025-11-12",
    "rating_source": "Ofsted import 1 December 2026", "dol_capable": False, "active": True,
    "row_version": 3,
}
VACANCY_EXAMPLE = {"id": 7, "home_id": 12, "provider_id": 9, "places_free": 1, "available_from": "2027-03-27",
                   "last_confirmed_at": "2027-03-20T09:30:00+00:00", "stale": False, "row_version": 2}


class PlacementsDocumentSchema(Schema):
    """A Placements Data Standard v2 document; its full JSON Schema, derived from the standard's data
    dictionary, is ``commissioning/standards/placements.schema.json``."""

    standard = fields.Dict(required=True, metadata={"description": "The standard's title, version and source"})
    placements = fields.List(fields.Dict(), required=True, metadata={
        "description": "One record per referral: PlacementAvailability, PlacementRequirements, "
                       "PlacementRecommendation, Risks, QualityAssurance, ActualPlacement once placed, and extensions"})


class PlacementsImportedSchema(Schema):
    created = fields.List(fields.Integer(), required=True, metadata={"description": "The draft referrals made"})


PLACEMENTS_DOCUMENT_EXAMPLE = {
    "standard": {"title": "Placements Data Standard", "version": "v2", "effectiveDate": "2025-07-18"},
    "placements": [{
        "PlacementAvailability": {"childId": 41, "neededBy": "in more than 5 days", "siblingCount": 0},
        "PlacementRequirements": {"communicationNeeds": "N", "specificCommunicationRequirements": ["None"],
                                  "homeAdaptation": False, "culturalNeeds": "Not required",
                                  "livingCompanions": "No preference", "pets": "Yes - can",
                                  "deprivationOfLiberty": False},
        "PlacementRecommendation": {"fosterCareSuitability": "Preferred",
                                    "residentialCareSuitability": "Suitable but not preferred",
                                    "supportedAccommodationSuitability": "Unsuitable"},
        "Risks": {"riskSelfHarm": "No known risk", "riskSexualExploitation": "No known risk",
                  "riskCriminalExploitation": "No known risk", "riskDrugAlcohol": "No known risk",
                  "riskEatingDisorder": "No known risk", "riskMissing": "Risk Present",
                  "riskToOthersPhysical": "No known risk", "riskToOthersSexual": "No known risk",
                  "riskToOthersFire": "No known risk", "riskToOthersAnimals": "No known risk",
                  "riskToOthersCriminal": "No known risk"},
        "QualityAssurance": {"referralDate": "2027-03-01"},
        "extensions": {"rcc": {"child": {"reference": "ABC-1234", "birth_month": 4, "birth_year": 2012, "sex": "F",
                                         "legal_status": "C2", "category_of_need": "N1", "uasc": False,
                                         "ehcp": False, "home_postcode": "M1 1AE", "school_postcode": None},
                               "referral": {"placement_type": "foster_care", "urgency": "planned",
                                            "date_needed": "2027-03-27", "status": "draft"}}},
    }],
}
# SSDA903 ------------------------------------------------------------------------------------------

MAX_903_TEXT = 40 * 1024 * 1024  # commissioning.ssda903_files.MAX_903_BYTES


class Ssda903ImportSchema(Schema):
    header_csv = bounded_text(MAX_903_TEXT, required=True, metadata={
        "description": "The header file's CSV text (CHILD, SEX, DOB, ETHNIC, UPN, MOTHER, MC_DOB). The UPN and "
                       "MC_DOB are read for the checks and never stored."})
    episodes_csv = bounded_text(MAX_903_TEXT, required=True, metadata={
        "description": "The episodes file's CSV text (CHILD, DECOM, RNE, LS, CIN, PLACE, PLACE_PROVIDER, DEC, REC, "
                       "REASON_PLACE_CHANGE, HOME_POST, PL_POST, URN); dates dd/mm/yyyy"})
    year = whole_number(2000, 2100, load_default=None, allow_none=True, metadata={
        "description": "The collection year, named by the year it ends (2025 for 2024-25); "
                       "empty: the year of the files' latest date"})


class Ssda903ProblemSchema(Schema):
    row = fields.Integer(required=True)
    field = fields.String(required=True)
    problem = fields.String(required=True)


class Ssda903ImportOutSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "queued, checking, saving, done, failed "
                                                                   "or stopped (the job died; nothing saved)"})
    year = fields.Integer(allow_none=True)
    rows_total = fields.Integer(required=True)
    rows_checked = fields.Integer(required=True)
    children = fields.Integer(required=True)
    episodes = fields.Integer(required=True)
    message = fields.String(allow_none=True)
    problems = fields.List(fields.Nested(Ssda903ProblemSchema), required=True)


SSDA903_IMPORT_EXAMPLE = {"id": 7, "status": "done", "year": 2025, "rows_total": 412, "rows_checked": 412,
                          "children": 180, "episodes": 232, "message": None, "problems": []}


class Ssda903ExportQuerySchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100),
                          metadata={"description": "The collection year, named by the year it ends: 2025 for 2024-25"})


class Ssda903EpisodeSchema(Schema):
    CHILD = fields.String(required=True)
    DECOM = fields.String(required=True, metadata={"description": "dd/mm/yyyy"})
    RNE = fields.String(required=True)
    LS = fields.String(required=True)
    CIN = fields.String(required=True)
    PLACE = fields.String(required=True)
    PLACE_PROVIDER = fields.String(required=True)
    DEC = fields.String(required=True, metadata={"description": "dd/mm/yyyy, or empty while open"})
    REC = fields.String(required=True)
    REASON_PLACE_CHANGE = fields.String(required=True)
    HOME_POST = fields.String(required=True)
    PL_POST = fields.String(required=True)
    URN = fields.String(required=True)


class Ssda903ExportSchema(Schema):
    year = fields.Integer(required=True)
    label = fields.String(required=True)
    episodes = fields.List(fields.Nested(Ssda903EpisodeSchema), required=True)


SSDA903_EXPORT_EXAMPLE = {"year": 2025, "label": "2024-25", "episodes": [
    {"CHILD": "33100001", "DECOM": "15/10/2023", "RNE": "S", "LS": "C2", "CIN": "N1", "PLACE": "U4",
     "PLACE_PROVIDER": "PR4", "DEC": "", "REC": "", "REASON_PLACE_CHANGE": "", "HOME_POST": "CV1 2AB",
     "PL_POST": "CV8 2LG", "URN": "1249881"}]}
