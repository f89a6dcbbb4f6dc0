"""Commissioning's JSON API: referrals, sibling groups, homes and vacancies.

Same services, validation and tenancy as the pages; service errors become 409 (a
conflict) or 422 (field errors, named).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_login import current_user
from flask_smorest import Page, abort
from sqlalchemy import select
from sqlmodel import col

from commissioning import schemas
from commissioning.models import Child, Home, Referral, SiblingGroup, Ssda903Upload, Vacancy
from commissioning.services import referrals as referral_service
from commissioning.services import sibling_groups, ssda903, standard_json, supply
from commissioning.services.referrals import ChildDetails, ReferralDetails, ReferralFilters
from commissioning.services.supply import HomeDetails, HomeFilters
from commissioning.ssda903_files import EPISODE_COLUMNS
from rcc import audit, jobs
from rcc.api import (
    ETAG_HEADER,
    api_blueprint,
    edits_a_versioned_record,
    page_of,
    raise_service_error,
    seen_version,
    with_etag,
)
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.errors import ServiceError
from rcc.permissions import allow
from rcc.roles import COUNCIL_STAFF, PROVIDER_STAFF, RCC_STAFF, Role
from rcc.tenancy import OrgKind
from rcc.web import audit_read, current_organisation, db, get_or_404, request_id

bp = api_blueprint("commissioning_api", __name__, "Referrals, sibling groups, homes and vacancies")

COUNCIL_WRITERS = (Role.COUNCIL_PLACEMENT_OFFICER, Role.COUNCIL_ADMIN)
REFERRAL_READERS = (*COUNCIL_STAFF, *RCC_STAFF)
SUPPLY_READERS = (*COUNCIL_STAFF, *RCC_STAFF, *PROVIDER_STAFF)

REFERRAL_EXAMPLE = {
    "child": {"reference": "ABC-1234", "birth_month": 4, "birth_year": 2012, "sex": "F", "legal_status": "C2",
              "category_of_need": "N1", "home_postcode": "M1 1AE"},
    "urgency": "planned", "date_needed": "2027-03-27",
    "suitability": {"foster": "preferred", "residential": "suitable", "supported_accommodation": "unsuitable"},
    "communication_needs": "no", "pets": "can", "living_companions": "no_preference", "cultural_needs": "not_required",
    "additional_support": "therapeutic_support", "risk_flags": ["going_missing"], "child_wishes": "I want to stay at my school",
}


def _referral_out(referral: Referral, child: Child) -> dict[str, Any]:
    child_fields = ["reference", "birth_month", "birth_year", "sex", "legal_status", "category_of_need", "uasc",
                    "ehcp", "home_postcode", "school_postcode"]
    if current_user.organisation_kind == OrgKind.COUNCIL:
        child_fields.append("initials")
    out = {name: getattr(referral, name) for name in schemas.ReferralOutSchema().fields if hasattr(referral, name)}
    out["child"] = {name: getattr(child, name) for name in child_fields}
    return out


# Referrals -----------------------------------------------------------------------------

@bp.route("/referrals")
@bp.arguments(schemas.ReferralQuerySchema, location="query")
@bp.response(200, schemas.ReferralOutSchema(many=True), example=[schemas.SUBMITTED_REFERRAL_EXAMPLE])
@allow(*REFERRAL_READERS)
@bp.paginate()
def list_referrals(query: dict, pagination_parameters: Any) -> Any:
    """Referrals you may see (your council's, or every member's for the RCC), 100 a page."""
    filters = ReferralFilters(status=query.get("status"), urgency=query.get("urgency"),
                              placement_type=query.get("placement_type"))
    page = referral_service.list_referrals(db(), filters, *page_of(pagination_parameters, 0))
    page_of(pagination_parameters, page.total)
    audit_read(AuditAction.REFERRAL_LISTED, [r for r, _c in page.rows], page=page.page, total=page.total)
    return [_referral_out(r, c) for r, c in page.rows]


@bp.route("/referrals", methods=["POST"])
@bp.arguments(schemas.ReferralInSchema, example=REFERRAL_EXAMPLE)
@bp.response(201, schemas.ReferralOutSchema, example=schemas.REFERRAL_EXAMPLE)
@allow(*COUNCIL_WRITERS)
def create_referral(body: dict) -> Any:
    """Create a draft referral for a child of your council."""
    child = ChildDetails(**body.pop("child"))
    details = ReferralDetails(**body)
    try:
        with transaction(db()) as s:
            referral = referral_service.create_referral(s, current_organisation(), child, details)
            record = s.get(Child, referral.child_id)
    except ServiceError as error:
        raise_service_error(error)
    return _referral_out(referral, record)


@bp.route("/referrals/<int:referral_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.ReferralOutSchema, example=schemas.SUBMITTED_REFERRAL_EXAMPLE)
@allow(*REFERRAL_READERS)
def get_referral(referral_id: int) -> Any:
    """One referral (reading it is audited). Its ETag is its ``row_version``, for If-Match on a change."""
    referral = get_or_404(Referral, referral_id)
    child = get_or_404(Child, referral.child_id)
    audit_read(AuditAction.REFERRAL_VIEWED, [referral])
    return with_etag(_referral_out(referral, child), referral.row_version)


@bp.route("/referrals/<int:referral_id>", methods=["PUT"])
@bp.alt_response(404, response="NOT_FOUND")
@edits_a_versioned_record(bp)
@bp.arguments(schemas.ReferralChangeSchema(partial=True),
              example={"child_wishes": "I want to live near my brother", "max_distance_miles": 15, "row_version": 1})
@bp.response(200, schemas.ReferralOutSchema, example=schemas.REFERRAL_EXAMPLE, headers=ETAG_HEADER)
@allow(*COUNCIL_WRITERS)
def update_referral(body: dict, referral_id: int) -> Any:
    """Change a draft or submitted referral of your council: fields you leave out keep their values. Send
    the version you read (If-Match header or ``row_version``); if someone changed it since, nothing is written."""
    referral = get_or_404(Referral, referral_id)
    seen = seen_version(body)
    child = referral_service.child_details_of(get_or_404(Child, referral.child_id))
    for name, value in body.pop("child", {}).items():
        setattr(child, name, value)
    details = referral_service.details_of(referral)
    for name, value in body.items():
        setattr(details, name, value)
    try:
        with transaction(db()) as s:
            referral_service.update_referral(s, referral, child, details, seen_version=seen)
            record = s.get(Child, referral.child_id)
    except ServiceError as error:
        raise_service_error(error)
    return with_etag(_referral_out(referral, record), referral.row_version)


@bp.route("/referrals/<int:referral_id>/submit", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.response(200, schemas.ReferralOutSchema, example=schemas.SUBMITTED_REFERRAL_EXAMPLE)
@allow(*COUNCIL_WRITERS)
def submit_referral(referral_id: int) -> Any:
    """Submit a draft referral to the RCC."""
    referral = get_or_404(Referral, referral_id)
    try:
        with transaction(db()) as s:
            referral_service.submit_referral(s, referral)
    except ServiceError as error:
        raise_service_error(error)
    return _referral_out(referral, get_or_404(Child, referral.child_id))


@bp.route("/referrals/<int:referral_id>/withdraw", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.ReasonSchema, example={"reason": "The child is returning home"})
@bp.response(200, schemas.ReferralOutSchema, example=schemas.WITHDRAWN_REFERRAL_EXAMPLE)
@allow(*COUNCIL_WRITERS)
def withdraw_referral(body: dict, referral_id: int) -> Any:
    """Withdraw an open referral, with the reason."""
    referral = get_or_404(Referral, referral_id)
    try:
        with transaction(db()) as s:
            referral_service.withdraw_referral(s, referral, body["reason"])
    except ServiceError as error:
        raise_service_error(error)
    return _referral_out(referral, get_or_404(Child, referral.child_id))


# The Placements Data Standard ------------------------------------------------------------

@bp.route("/referrals/placements-standard")
@bp.response(200, schemas.PlacementsDocumentSchema, example=schemas.PLACEMENTS_DOCUMENT_EXAMPLE)
@allow(*REFERRAL_READERS)
def export_placements_standard() -> Any:
    """Referrals you may see, and their placements, as JSON in the Placements Data Standard v2's entities and
    field names (the schema: ``commissioning/standards/placements.schema.json``). Reading it is audited."""
    document, read = standard_json.export_document(db())
    audit_read(AuditAction.REFERRAL_EXPORTED, read, format="placements-data-standard-v2")
    return document


@bp.route("/referrals/placements-standard", methods=["POST"])
@bp.doc(requestBody={"required": True, "content": {"application/json": {
    "schema": schemas.PlacementsDocumentSchema, "example": schemas.PLACEMENTS_DOCUMENT_EXAMPLE}}})
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@bp.response(201, schemas.PlacementsImportedSchema, example={"created": [12, 13]})
@allow(*COUNCIL_WRITERS)
def import_placements_standard() -> Any:
    """Create draft referrals for your council from a Placements Data Standard v2 document (as the export
    writes it): every record, or none, with each problem named by record and field."""
    try:
        document = standard_json.parse_document(request.get_data())
        with transaction(db()) as s:
            made = standard_json.import_document(s, current_organisation(), document)
            audit.record(s, AuditAction.REFERRALS_IMPORTED_FROM_STANDARD, current_organisation(),
                         referrals=len(made))
    except ServiceError as error:
        raise_service_error(error)
    return {"created": [r.id for r in made]}


# Sibling groups --------------------------------------------------------------------------

def _group_out(group: SiblingGroup) -> dict[str, Any]:
    return {"id": group.id, "council_id": group.council_id, "name": group.name,
            "plan": group.plan, "plan_reason": group.plan_reason,
            "referral_ids": [r.id for r in sibling_groups.members(db(), group)]}


@bp.route("/sibling-groups")
@bp.response(200, schemas.SiblingGroupOutSchema(many=True), example=[schemas.SIBLING_GROUP_EXAMPLE])
@allow(*REFERRAL_READERS)
@bp.paginate(Page)
def list_sibling_groups() -> Any:
    """Sibling groups you may see."""
    groups = list(db().scalars(select(SiblingGroup).order_by(SiblingGroup.id)))
    counts: dict[int, list[int]] = {}
    for referral_id, group_id in db().execute(select(Referral.id, Referral.sibling_group_id)
                                               .where(col(Referral.sibling_group_id).is_not(None))):
        counts.setdefault(group_id, []).append(referral_id)
    audit_read(AuditAction.SIBLING_GROUP_LISTED, groups)
    return [{"id": g.id, "council_id": g.council_id, "name": g.name, "plan": g.plan,
             "plan_reason": g.plan_reason, "referral_ids": counts.get(g.id, [])} for g in groups]


@bp.route("/sibling-groups", methods=["POST"])
@bp.arguments(schemas.SiblingGroupInSchema, example={"name": "Family A", "plan": "together"})
@bp.response(201, schemas.SiblingGroupOutSchema, example=schemas.SIBLING_GROUP_EXAMPLE)
@allow(*COUNCIL_WRITERS)
def create_sibling_group(body: dict) -> Any:
    """Create a sibling group; add children by giving sibling_group_id when creating referrals."""
    try:
        with transaction(db()) as s:
            group = sibling_groups.create_sibling_group(s, current_organisation(), body["name"], body["plan"],
                                                        body.get("plan_reason"))
    except ServiceError as error:
        raise_service_error(error)
    return _group_out(group)


@bp.route("/sibling-groups/<int:sibling_group_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.SiblingGroupOutSchema, example=schemas.SIBLING_GROUP_EXAMPLE)
@allow(*REFERRAL_READERS)
def get_sibling_group(sibling_group_id: int) -> Any:
    """One sibling group and its referrals."""
    group = get_or_404(SiblingGroup, sibling_group_id)
    audit_read(AuditAction.SIBLING_GROUP_VIEWED, [group])
    return _group_out(group)


# Homes and vacancies ---------------------------------------------------------------------

@bp.route("/homes")
@bp.arguments(schemas.HomeQuerySchema, location="query")
@bp.response(200, schemas.HomeSchema(many=True), example=[schemas.HOME_EXAMPLE])
@allow(*SUPPLY_READERS)
@bp.paginate()
def list_homes(query: dict, pagination_parameters: Any) -> Any:
    """Homes in the supply register (providers see their own), 100 a page."""
    filters = HomeFilters(placement_type=query.get("placement_type"), local_authority=query.get("local_authority"),
                          with_vacancies=query["with_vacancies"])
    page = supply.list_homes(db(), filters, *page_of(pagination_parameters, 0))
    page_of(pagination_parameters, page.total)
    return [_as_seen(home) for home, _, _ in page.rows]


def _as_seen(home: Home) -> Any:
    return supply.home_as_seen_by(home, current_user.organisation_kind, current_user.organisation_id)


@bp.route("/homes", methods=["POST"])
@bp.arguments(schemas.HomeSchema, example={
    "ofsted_urn": "SC123456", "name": "Oak House", "placement_type": "childrens_home",
    "local_authority": "Manchester", "registered_places": 4, "age_min": 11, "age_max": 17})
@bp.response(201, schemas.HomeSchema, example=schemas.HOME_EXAMPLE)
@allow(*PROVIDER_STAFF)
def create_home(body: dict) -> Any:
    """Add a home to your organisation."""
    try:
        with transaction(db()) as s:
            return supply.create_home(s, current_organisation(), HomeDetails(**body))
    except ServiceError as error:
        raise_service_error(error)


@bp.route("/homes/<int:home_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.HomeSchema, example=schemas.HOME_EXAMPLE)
@allow(*SUPPLY_READERS)
def get_home(home_id: int) -> Any:
    """One home. Its postcode, latitude and longitude are shown only to the RCC and its provider."""
    return _as_seen(get_or_404(Home, home_id))


@bp.route("/homes/<int:home_id>", methods=["PUT"])
@bp.alt_response(404, response="NOT_FOUND")
@edits_a_versioned_record(bp)
@bp.arguments(schemas.HomeChangeSchema(partial=True),
              example={"registered_places": 5, "weekly_price": 495000, "row_version": 3})
@bp.response(200, schemas.HomeSchema, example=schemas.HOME_EXAMPLE, headers=ETAG_HEADER)
@allow(*PROVIDER_STAFF)
def update_home(body: dict, home_id: int) -> Any:
    """Change one of your homes: fields you leave out keep their values. Send the version you read
    (If-Match header or ``row_version``); if someone changed the home since, nothing is written."""
    home = get_or_404(Home, home_id)
    if home.provider_id != current_user.organisation_id:
        abort(404)
    seen = seen_version(body)
    details = supply.home_details_of(home)
    for name, value in body.items():
        setattr(details, name, value)
    try:
        with transaction(db()) as s:
            supply.update_home(s, home, details, seen_version=seen)
    except ServiceError as error:
        raise_service_error(error)
    return with_etag(home, home.row_version)


def _vacancy_out(vacancy: Vacancy) -> dict[str, Any]:
    return {**{name: getattr(vacancy, name) for name in ("id", "home_id", "provider_id", "places_free",
                                                          "available_from", "last_confirmed_at", "row_version")},
            "stale": vacancy.stale}


@bp.route("/vacancies")
@bp.response(200, schemas.VacancyOutSchema(many=True), example=[schemas.VACANCY_EXAMPLE])
@allow(*SUPPLY_READERS)
@bp.paginate(Page)
def list_vacancies() -> Any:
    """Every vacancy you may see, with its stale flag (not confirmed for 7 days)."""
    return [_vacancy_out(v) for v in db().scalars(select(Vacancy).order_by(Vacancy.id))]


@bp.route("/homes/<int:home_id>/vacancy", methods=["PUT"])
@bp.alt_response(404, response="NOT_FOUND")
@edits_a_versioned_record(bp)
@bp.arguments(schemas.VacancyInSchema, example={"places_free": 1, "available_from": "2027-03-27", "row_version": 2})
@bp.response(200, schemas.VacancyOutSchema, example=schemas.VACANCY_EXAMPLE, headers=ETAG_HEADER)
@allow(*PROVIDER_STAFF)
def set_vacancy(body: dict, home_id: int) -> Any:
    """Set (and confirm) one of your homes' free places. Send the vacancy's version you read (If-Match
    header or ``row_version``); if someone changed it since, nothing is written."""
    home = get_or_404(Home, home_id)
    if home.provider_id != current_user.organisation_id:
        abort(404)
    seen = seen_version(body)
    try:
        with transaction(db()) as s:
            vacancy = supply.set_vacancy(s, home, body["places_free"], body["available_from"], seen_version=seen)
    except ServiceError as error:
        raise_service_error(error)
    return with_etag(_vacancy_out(vacancy), vacancy.row_version)


@bp.route("/vacancies/<int:vacancy_id>/confirm", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.VacancyOutSchema, example=schemas.VACANCY_EXAMPLE)
@allow(*PROVIDER_STAFF)
def confirm_vacancy(vacancy_id: int) -> Any:
    """Confirm one of your vacancies is still right."""
    vacancy = get_or_404(Vacancy, vacancy_id)
    if vacancy.provider_id != current_user.organisation_id:
        abort(404)
    with transaction(db()) as s:
        supply.confirm_vacancy(s, vacancy)
    return _vacancy_out(vacancy)


# SSDA903 ---------------------------------------------------------------------------------------

def _import_out(upload: Ssda903Upload) -> dict[str, Any]:
    return {"id": upload.id, "status": ssda903.upload_status(upload), "year": upload.year,
            "rows_total": upload.rows_total, "rows_checked": upload.rows_checked, "children": upload.children,
            "episodes": upload.episodes, "message": upload.message, "problems": upload.problems}


@bp.route("/ssda903/imports", methods=["POST"])
@bp.arguments(schemas.Ssda903ImportSchema, example={"year": 2025, "header_csv": "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,"
                                                    "MC_DOB\n...", "episodes_csv": "CHILD,DECOM,RNE,...\n..."})
@bp.response(202, schemas.Ssda903ImportOutSchema, example={**schemas.SSDA903_IMPORT_EXAMPLE, "status": "queued", "rows_checked": 0,
                                                                     "children": 0, "episodes": 0})
@allow(*COUNCIL_WRITERS)
def import_ssda903(body: dict) -> Any:
    """Import one year of your council's SSDA903 return (header and episodes) in the background: all rows
    or none. Follow it at ``/ssda903/imports/{id}``; a wrong file as a whole is a 400 at once."""
    try:
        with transaction(db()) as s:
            started = ssda903.start_upload(s, current_organisation(), body["header_csv"].encode("utf-8"),
                                           body["episodes_csv"].encode("utf-8"), "API", body.get("year"))
    except ServiceError as error:
        raise_service_error(error)
    try:
        jobs.start(current_app, "commissioning.services.ssda903:run_upload", started.id, started.rcc_id,
                   started.council_id, current_user.id, request_id())
    except jobs.JobsUnavailable as error:
        with transaction(db()) as s:
            ssda903.abandon_upload(s, ssda903.get_upload(s, int(started.id or 0)), error.message)
    return _import_out(get_or_404(Ssda903Upload, int(started.id or 0)))


@bp.route("/ssda903/imports/<int:import_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.Ssda903ImportOutSchema, example=schemas.SSDA903_IMPORT_EXAMPLE)
@allow(*COUNCIL_WRITERS)
def get_ssda903_import(import_id: int) -> Any:
    """How far one of your council's 903 imports has got, and every problem found if it failed."""
    found = get_or_404(Ssda903Upload, import_id)
    if ssda903.upload_status(found) == "stopped":
        with transaction(db()) as s:
            ssda903.fail_if_stopped(s, found)
    return _import_out(found)


@bp.route("/ssda903/episodes")
@bp.arguments(schemas.Ssda903ExportQuerySchema, location="query")
@bp.response(200, schemas.Ssda903ExportSchema, example=schemas.SSDA903_EXPORT_EXAMPLE)
@allow(*COUNCIL_STAFF)
def export_ssda903(query: dict) -> Any:
    """Your council's episodes open in a collection year, in the 903 layout: the imported ones and the
    placements made or ended through the platform (reading them is audited)."""
    year = query["year"]
    with transaction(db()) as s:
        rows = ssda903.export_rows_audited(s, current_organisation(), year)
    return {"year": year, "label": ssda903.year_label(year), "episodes": [
        dict(zip(EPISODE_COLUMNS, ssda903.episode_cells(r), strict=True)) for r in rows]}
