"""Commissioning's pages: parse the form, call a service, render. Rules live in services/."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlmodel import col

from commissioning import charts, lifecycle
from commissioning.forms import (
    NO_KNOWN_RISK,
    RISK_PRESENT,
    AddToGroupForm,
    EndPlacementForm,
    HomeForm,
    HouseholdForm,
    ImportOfstedForm,
    InadequateOverrideForm,
    InHousePreferenceForm,
    RatingForm,
    ReasonForm,
    ReferralForm,
    RemoveFromGroupForm,
    SiblingGroupForm,
    UploadForm,
    VacancyForm,
    parse_date,
)
from commissioning.models import (
    HOUSEHOLD_STATUSES,
    Child,
    FosterHousehold,
    Home,
    Placement,
    Referral,
    ReferralUpload,
    SiblingGroup,
    Ssda903Upload,
    SsdChild,
    Vacancy,
)
from commissioning.services import (
    dashboard,
    fostering,
    imports,
    placements,
    sibling_groups,
    ssd,
    ssda903,
    standard_json,
    supply,
)
from commissioning.services import referrals as referral_service
from commissioning.services.referrals import ChildDetails, ReferralDetails, ReferralFilters
from commissioning.services.supply import HomeDetails, HomeFilters
from commissioning.ssda903 import categories_of_need, legal_statuses, placement_end_reasons
from commissioning.ssda903_files import Ssda903Error
from commissioning.vocabulary import (
    ADDITIONAL_SUPPORT,
    COMMUNICATION_NEEDS,
    COMMUNICATION_REQUIREMENTS,
    CULTURAL_NEEDS,
    FUNDING,
    LIVING_COMPANIONS,
    NEEDS_AND_RISKS,
    OFSTED_RATINGS,
    PETS,
    PLACEMENT_TYPES,
    RISKS,
    SEXES,
    SIBLING_PLANS,
    STANDARD_PLACEMENT_TYPES,
    SUITABILITIES,
    URGENCIES,
)
from rcc import audit, jobs, numbers
from rcc.audit import AuditAction
from rcc.csv_files import CsvFileError, CsvRowErrors, write_csv
from rcc.db import transaction
from rcc.errors import Conflict, ServiceError
from rcc.geography import local_authorities
from rcc.layout import record_links
from rcc.models import Organisation
from rcc.permissions import allow
from rcc.roles import COUNCIL_STAFF, PROVIDER_STAFF, RCC_STAFF, Role
from rcc.tenancy import OrgKind
from rcc.versions import EditConflict, conflict_errors
from rcc.web import (
    audit_read,
    current_organisation,
    db,
    form_errors,
    get_or_404,
    id_argument,
    page_number,
    put_service_error,
    request_id,
    whole_number,
)

bp = Blueprint("commissioning", __name__, template_folder="templates", static_folder="static",
               static_url_path="/commissioning-static")

COUNCIL_WRITERS = (Role.COUNCIL_PLACEMENT_OFFICER, Role.COUNCIL_ADMIN)
REFERRAL_READERS = (*COUNCIL_STAFF, *RCC_STAFF)
SUPPLY_READERS = (*COUNCIL_STAFF, *RCC_STAFF, *PROVIDER_STAFF)
IMPORTERS = (Role.RCC_COMMISSIONER, Role.RCC_ADMIN)
PER_PAGE = 50


@bp.app_context_processor
def _vocabulary() -> dict[str, Any]:
    return {"PLACEMENT_TYPES": PLACEMENT_TYPES, "URGENCIES": URGENCIES, "NEEDS_AND_RISKS": NEEDS_AND_RISKS,
            "OFSTED_RATINGS": OFSTED_RATINGS, "SEXES": SEXES, "sibling_plans": SIBLING_PLANS, "STANDARD_PLACEMENT_TYPES": STANDARD_PLACEMENT_TYPES,
            "SUITABILITIES": SUITABILITIES, "COMMUNICATION_NEEDS": COMMUNICATION_NEEDS,
            "COMMUNICATION_REQUIREMENTS": COMMUNICATION_REQUIREMENTS, "CULTURAL_NEEDS": CULTURAL_NEEDS,
            "LIVING_COMPANIONS": LIVING_COMPANIONS, "PETS": PETS, "ADDITIONAL_SUPPORT": ADDITIONAL_SUPPORT,
            "RISKS": RISKS,
            "PLACEMENT_TYPE_CHOICES": [(key, pt.label) for key, pt in PLACEMENT_TYPES.items()], "FUNDING": FUNDING, "lifecycle": lifecycle,
            "HOUSEHOLD_STATUSES": HOUSEHOLD_STATUSES}


@bp.app_template_filter("need_labels")
def _need_labels(keys: list[str]) -> str:
    return ", ".join(NEEDS_AND_RISKS.get(key, key) for key in keys)


@bp.app_template_filter("pair")
def _pair(value: str) -> tuple[str, str]:
    return (value, value)


@bp.app_template_filter("provider_choice")
def _provider_choice(provider: Organisation) -> tuple[int | None, str]:
    return (provider.id, provider.name)


@bp.app_template_filter("sex_label")
def _sex_label(key: str) -> str:
    return {"F": "girls", "M": "boys"}.get(key, key)


def _is_council() -> bool:
    return bool(current_user.organisation_kind == OrgKind.COUNCIL)


# Referrals -----------------------------------------------------------------------------

@bp.route("/referrals")
@allow(*REFERRAL_READERS)
def referrals() -> Any:
    args = request.args
    filters = ReferralFilters(
        status=args.get("status") if args.get("status") in lifecycle.STATUS_LABELS else None,
        urgency=args.get("urgency") if args.get("urgency") in URGENCIES else None,
        placement_type=args.get("placement_type") if args.get("placement_type") in PLACEMENT_TYPES else None,
        council_id=id_argument("council_id"), reference=args.get("reference", "").strip()[:40] or None)
    page = referral_service.list_referrals(db(), filters, page_number(), PER_PAGE)
    councils = _councils_to_filter_by()
    audit_read(AuditAction.REFERRAL_LISTED, [r for r, _c in page.rows], page=page.page, total=page.total)
    return render_template("commissioning/referrals.html", page=page, filters=filters, councils=councils,
                           show_initials=_is_council(), query=_query_without_page())


def _councils_to_filter_by() -> dict[int, str]:
    """A council sees only its own referrals, so it has no other council to filter by."""
    if _is_council():
        return {current_organisation().id: current_organisation().name}  # type: ignore[dict-item]
    return dict(db().execute(  # type: ignore[arg-type]
        select(Organisation.id, Organisation.name)
        .where(Organisation.kind == OrgKind.COUNCIL).order_by(Organisation.name)).all())


def _query_without_page() -> str:
    from urllib.parse import urlencode  # noqa: PLC0415

    return urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "page" and v])


@bp.route("/referrals/export.csv")
@allow(*REFERRAL_READERS)
def export_referrals() -> Any:
    page = referral_service.list_referrals(db(), ReferralFilters(), 1, 100_000)
    council_view = _is_council()
    header = ["referral_id", "reference", *(["initials"] if council_view else []), "status", "placement_type",
              "urgency", "date_needed", "needs", "risk_flags", "child_wishes", "provider_summary"]
    rows = ([r.id, c.reference, *([c.initials or ""] if council_view else []), r.status, r.placement_type,
             r.urgency, r.date_needed.isoformat(), ";".join(r.needs), ";".join(r.risk_flags), r.child_wishes,
             r.provider_summary]
            for r, c in page.rows)
    audit_read(AuditAction.REFERRAL_EXPORTED, [r for r, _c in page.rows], format="csv")
    return Response(write_csv(header, rows), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=referrals.csv"})


@bp.route("/referrals/placements-standard.json")
@allow(*REFERRAL_READERS)
def export_placements_standard() -> Any:
    """Referrals and placements in the Placements Data Standard v2's entities and field names."""
    document, read = standard_json.export_document(db())
    audit_read(AuditAction.REFERRAL_EXPORTED, read, format="placements-data-standard-v2")
    return Response(json.dumps(document, indent=1, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=placements-data-standard.json"})


def _referral_form_choices(form: ReferralForm) -> list[SiblingGroup]:
    """Fills the form's lists; gives the council's sibling groups it offers (their names are the council's)."""
    session = db()
    council_id = current_user.organisation_id
    groups = list(session.scalars(select(SiblingGroup).where(SiblingGroup.council_id == council_id)
                                  .order_by(SiblingGroup.name)))
    form.fill_choices([(int(p.id or 0), p.name) for p in supply.providers(session)],
                      [la.name for la in local_authorities()], [(int(g.id or 0), g.name) for g in groups])
    return groups


def _details_from(form: ReferralForm) -> tuple[ChildDetails, ReferralDetails]:
    child = ChildDetails(
        reference=form.reference.data or "", initials=form.initials.data or None,
        birth_month=whole_number(form.birth_month.data), birth_year=whole_number(form.birth_year.data),
        sex=form.sex.data or "", legal_status=form.legal_status.data or "",
        category_of_need=form.category_of_need.data or "", uasc=form.uasc.data, ehcp=form.ehcp.data,
        home_postcode=form.home_postcode.data or "", school_postcode=form.school_postcode.data or None)
    group = form.sibling_group_id.data or ""
    details = ReferralDetails(
        placement_type=form.placement_type.data or "", urgency=form.urgency.data or "",
        date_needed=parse_date(form.date_needed.data),
        suitability={key: getattr(form, f"{key}_suitability").data or "" for key in STANDARD_PLACEMENT_TYPES},
        communication_needs=form.communication_needs.data or "",
        communication_requirements=form.communication_requirements.data or [],
        home_adaptation=form.home_adaptation.data == "yes", cultural_needs=form.cultural_needs.data or "",
        living_companions=form.living_companions.data or "", pets=form.pets.data or "",
        additional_support=form.additional_support.data or None,
        risk_flags=[key for key in RISKS if getattr(form, f"risk_{key}").data == RISK_PRESENT],
        risk_to_child_other=form.risk_to_child_other.data or None,
        risk_to_others_other=form.risk_to_others_other.data or None,
        preferred_location=form.preferred_location.data or None,
        education_continuity=form.education_continuity.data == "yes", dol_order_needed=form.dol_order_needed.data,
        child_wishes=form.child_wishes.data or "", provider_summary=form.provider_summary.data or "",
        excluded_provider_ids=form.excluded_provider_ids.data or [],
        excluded_areas=form.excluded_areas.data or [], max_weekly_cost=numbers.pence(form.max_weekly_cost.data),
        max_distance_miles=whole_number(form.max_distance_miles.data),
        out_of_area_reason=form.out_of_area_reason.data or None,
        sibling_group_id=whole_number(group))
    return child, details


@bp.route("/referrals/from-ssd", methods=["GET", "POST"])
@allow(*COUNCIL_WRITERS)
def ssd_extract() -> Any:
    """Upload the council's SSD extract tables; pick a child to refer with a pre-filled form."""
    form = FlaskForm()
    errors: list[dict[str, str]] = []
    problems: list[Any] = []
    status = 200
    if form.validate_on_submit():
        files = {name: upload.read() for name in ssd.TABLES if (upload := request.files.get(name)) and upload.filename}
        try:
            with transaction(db()) as s:
                result = ssd.import_extract(s, current_organisation(), files)
                audit.record(s, AuditAction.SSD_EXTRACT_IMPORTED, current_organisation(),
                             children=result.children, left_out=result.people_left_out)
            flash(f"{result.children} children in care read from the extract; {result.people_left_out} other "
                  "people left out. Nothing else was kept.")
            return redirect(url_for("commissioning.ssd_extract"))
        except CsvRowErrors as error:
            errors, problems = [{"text": error.message, "href": "#problems"}], error.problems
        except CsvFileError as error:
            errors = [{"text": error.message, "href": "#ssd_person"}]
        except ServiceError as error:  # another import replaced the children at the same moment
            errors, status = [{"text": error.message, "href": "#ssd_person"}], 409
    found = ssd.children(db())
    audit_read(AuditAction.SSD_EXTRACT_READ, found)
    return render_template("commissioning/ssd_extract.html", form=form, errors=errors, problems=problems,
                           children=found, tables=ssd.TABLES, platform_type_of=ssd.platform_type_of), status


@bp.route("/referrals/new", methods=["GET", "POST"])
@allow(*COUNCIL_WRITERS)
def new_referral() -> Any:
    form = ReferralForm()
    groups = _referral_form_choices(form)
    if request.method == "GET":
        if whole_number(request.args.get("sibling_group_id")):
            form.sibling_group_id.data = request.args["sibling_group_id"]
        if whole_number(request.args.get("ssd_child")):
            _prefill_from_ssd(form, get_or_404(SsdChild, whole_number(request.args["ssd_child"])))
        audit_read(AuditAction.SIBLING_GROUP_LISTED, groups, form="new_referral")
    if form.validate_on_submit():
        child, details = _details_from(form)
        try:
            with transaction(db()) as s:
                referral = referral_service.create_referral(s, current_organisation(), child, details)
            flash("Referral saved as a draft. Check the answers, then submit it to the RCC.")
            return redirect(url_for("commissioning.referral", referral_id=referral.id))
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("commissioning/referral_form.html", form=form, errors=form_errors(form), referral=None)


@bp.route("/referrals/<int:referral_id>")
@allow(*REFERRAL_READERS)
def referral(referral_id: int) -> Any:
    found, child = _referral_and_child(referral_id)
    session = db()
    group = session.get(SiblingGroup, found.sibling_group_id) if found.sibling_group_id else None
    events = referral_service.history_rows(session, found)
    excluded_providers: dict[int, str] = dict(session.execute(  # type: ignore[arg-type]
        select(Organisation.id, Organisation.name).where(
        col(Organisation.id).in_(found.excluded_provider_ids))).all()) if found.excluded_provider_ids else {}
    excluded_homes = supply.homes_by_id(session, found.excluded_home_ids)
    placement_rows = placements.placements_for_referral(session, found)
    council = _council_of(found)
    audit_read(AuditAction.REFERRAL_VIEWED, [found])
    return render_template(
        "commissioning/referral.html", referral=found, child=child, group=group, events=events,
        excluded_providers=excluded_providers, excluded_homes=excluded_homes, placements=placement_rows,
        show_initials=_is_council(), legal_statuses=legal_statuses(), categories=categories_of_need(),
        council=council, related=record_links("referral", found),
        can_write=current_user.has_any_role(tuple(map(str, COUNCIL_WRITERS))),
        can_match=current_user.has_any_role((str(Role.RCC_PLACEMENT_OFFICER),)))


def _referral_and_child(referral_id: int) -> tuple[Referral, Child]:
    found = referral_service.referral_with_child(db(), referral_id)
    if found is None:
        abort(404)
    return found


def _council_of(found: Referral) -> Organisation | None:
    if found.council_id == current_user.organisation_id:
        return current_organisation()
    return db().get(Organisation, found.council_id)


@bp.route("/referrals/<int:referral_id>/edit", methods=["GET", "POST"])
@allow(*COUNCIL_WRITERS)
def edit_referral(referral_id: int) -> Any:
    found, child = _referral_and_child(referral_id)
    if (refusal := referral_service.why_not_editable(found)) is not None:
        flash(refusal)  # said before the form opens, not after it is filled in
        return redirect(url_for("commissioning.referral", referral_id=found.id))
    form = ReferralForm()
    _referral_form_choices(form)
    if request.method == "GET":
        _fill_referral_form(form, found, child)
        audit_read(AuditAction.REFERRAL_FORM_OPENED, [found], form="edit")
    extra: list[dict[str, str]] = []
    if form.validate_on_submit():
        child_details, details = _details_from(form)
        try:
            with transaction(db()) as s:
                referral_service.update_referral(s, found, child_details, details, seen_version=form.seen_version)
            flash("Referral updated")
            return redirect(url_for("commissioning.referral", referral_id=found.id))
        except EditConflict as error:
            extra = conflict_errors(form, error)
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("commissioning/referral_form.html", form=form, errors=form_errors(form) + extra,
                           referral=found)


def _prefill_from_ssd(form: ReferralForm, found: SsdChild) -> None:
    """The referral form filled from a child of the SSD extract: nothing is saved until it is submitted."""
    audit_read(AuditAction.SSD_EXTRACT_READ, [found], form="new_referral")
    child, placement_type = ssd.prefill(found)
    form.reference.data = child.reference
    form.birth_month.data, form.birth_year.data = str(child.birth_month), str(child.birth_year)
    form.sex.data, form.legal_status.data, form.category_of_need.data = child.sex, child.legal_status, child.category_of_need
    form.placement_type.data = placement_type or None


def _fill_referral_form(form: ReferralForm, found: Referral, child: Child) -> None:
    c = referral_service.child_details_of(child)
    d = referral_service.details_of(found)
    form.show_version(found)
    form.reference.data, form.initials.data = c.reference, c.initials
    form.birth_month.data, form.birth_year.data = str(c.birth_month), str(c.birth_year)
    form.sex.data, form.legal_status.data, form.category_of_need.data = c.sex, c.legal_status, c.category_of_need
    form.uasc.data, form.ehcp.data = c.uasc, c.ehcp
    form.home_postcode.data, form.school_postcode.data = c.home_postcode, c.school_postcode
    form.placement_type.data, form.urgency.data = d.placement_type, d.urgency
    form.date_needed.data = d.date_needed.strftime("%d/%m/%Y") if d.date_needed else ""
    for key in STANDARD_PLACEMENT_TYPES:
        getattr(form, f"{key}_suitability").data = (d.suitability or {}).get(key)
    form.communication_needs.data = d.communication_needs
    form.communication_requirements.data = [k for k in d.communication_requirements if k != "none"]
    form.home_adaptation.data = "yes" if d.home_adaptation else "no"
    form.cultural_needs.data, form.living_companions.data, form.pets.data = d.cultural_needs, d.living_companions, d.pets
    form.additional_support.data = d.additional_support
    for key in RISKS:
        getattr(form, f"risk_{key}").data = RISK_PRESENT if key in d.risk_flags else NO_KNOWN_RISK
    form.risk_to_child_other.data, form.risk_to_others_other.data = d.risk_to_child_other, d.risk_to_others_other
    form.preferred_location.data = d.preferred_location
    form.education_continuity.data = "yes" if d.education_continuity else "no"
    form.dol_order_needed.data, form.child_wishes.data = d.dol_order_needed, d.child_wishes
    form.provider_summary.data = d.provider_summary
    form.excluded_provider_ids.data, form.excluded_areas.data = d.excluded_provider_ids, d.excluded_areas
    form.max_weekly_cost.data = numbers.pounds_for_input(d.max_weekly_cost)
    form.max_distance_miles.data = str(d.max_distance_miles or "")
    form.out_of_area_reason.data = d.out_of_area_reason
    form.sibling_group_id.data = str(d.sibling_group_id or "")


def _transition(referral_id: int, action: Any, done: str) -> Any:
    found = get_or_404(Referral, referral_id)
    try:
        with transaction(db()) as s:
            action(s, found)
        flash(done)
    except ServiceError as error:
        flash(error.message, "important")
    return redirect(url_for("commissioning.referral", referral_id=referral_id))


@bp.route("/referrals/<int:referral_id>/submit", methods=["POST"])
@allow(*COUNCIL_WRITERS)
def submit_referral(referral_id: int) -> Any:
    return _transition(referral_id, referral_service.submit_referral, "Referral submitted to the RCC")


@bp.route("/referrals/<int:referral_id>/start-matching", methods=["POST"])
@allow(Role.RCC_PLACEMENT_OFFICER)
def start_matching(referral_id: int) -> Any:
    return _transition(referral_id, referral_service.start_matching, "Referral is now in matching")


@bp.route("/referrals/<int:referral_id>/withdraw", methods=["GET", "POST"])
@allow(*COUNCIL_WRITERS)
def withdraw_referral(referral_id: int) -> Any:
    found = get_or_404(Referral, referral_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                referral_service.withdraw_referral(s, found, form.reason.data)
            flash("Referral withdrawn")
            return redirect(url_for("commissioning.referral", referral_id=found.id))
        except ServiceError as error:
            put_service_error(form, error, general="reason")
            if isinstance(error, Conflict):
                # Someone else moved the referral meanwhile: the page says what it is now.
                return render_template("commissioning/withdraw.html", form=form, errors=form_errors(form),
                                       referral=found), 409
    if request.method == "GET":
        audit_read(AuditAction.REFERRAL_FORM_OPENED, [found], form="withdraw")
    return render_template("commissioning/withdraw.html", form=form, errors=form_errors(form), referral=found)


@bp.route("/referrals/upload", methods=["GET", "POST"])
@allow(*COUNCIL_WRITERS)
def upload_referrals() -> Any:
    form = UploadForm()
    errors: list[dict[str, str]] = []
    if form.validate_on_submit():
        upload = request.files.get("file")
        data = upload.read() if upload else b""
        try:
            with transaction(db()) as s:
                started = imports.start_referral_upload(s, current_organisation(), data,
                                                        (upload.filename if upload else "") or "",
                                                        bool(form.submit_now.data))
            try:
                jobs.start(current_app, "commissioning.services.imports:run_referral_upload", started.id,
                           started.rcc_id, started.council_id, current_user.id, request_id())
            except jobs.JobsUnavailable as error:
                with transaction(db()) as s:
                    imports.abandon_upload(s, imports.get_upload(s, int(started.id or 0)), error.message)
            return redirect(url_for("commissioning.referral_upload", upload_id=started.id))
        except CsvFileError as error:
            errors = put_service_error(form, error, general="file")
    return render_template("commissioning/upload.html", form=form, errors=errors, problems=[],
                           columns=imports.REFERRAL_COLUMNS, max_rows=imports.MAX_REFERRAL_ROWS,
                           max_megabytes=imports.MAX_REFERRAL_BYTES // (1024 * 1024))


@bp.route("/referrals/uploads/<int:upload_id>")
@allow(*COUNCIL_WRITERS)
def referral_upload(upload_id: int) -> Any:
    found = get_or_404(ReferralUpload, upload_id)
    if imports.upload_status(found) == "stopped":
        with transaction(db()) as s:
            imports.fail_if_stopped(s, found)
    status = imports.upload_status(found)
    errors = [{"text": found.message or "", "href": "#problems" if found.problems else "#result"}] \
        if status == "failed" else []
    return render_template("commissioning/upload_progress.html", upload=found, status=status, errors=errors,
                           running=status in ("queued", "checking", "saving"), refresh_seconds=2,
                           max_problems=imports.MAX_PROBLEMS_KEPT)


@bp.route("/referrals/template.csv")
@allow(*COUNCIL_STAFF)
def referral_template() -> Any:
    return Response(imports.referral_template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=referrals-template.csv"})


# Sibling groups ------------------------------------------------------------------------

@bp.route("/sibling-groups")
@allow(*REFERRAL_READERS)
def sibling_groups_list() -> Any:
    session = db()
    groups = list(session.scalars(select(SiblingGroup).order_by(SiblingGroup.name)))
    counts = sibling_groups.member_counts(session)
    councils: dict[int, str] = dict(session.execute(  # type: ignore[arg-type]
        select(Organisation.id, Organisation.name)
                                    .where(Organisation.kind == OrgKind.COUNCIL)).all())
    audit_read(AuditAction.SIBLING_GROUP_LISTED, groups)
    return render_template("commissioning/sibling_groups.html", groups=groups, counts=counts, councils=councils,
                           can_write=current_user.has_any_role(tuple(map(str, COUNCIL_WRITERS))))


@bp.route("/sibling-groups/new", methods=["GET", "POST"])
@allow(*COUNCIL_WRITERS)
def new_sibling_group() -> Any:
    form = SiblingGroupForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                group = sibling_groups.create_sibling_group(s, current_organisation(), form.name.data,
                                                            form.plan.data, form.plan_reason.data)
            flash("Sibling group created. Now add a referral for each child.")
            return redirect(url_for("commissioning.sibling_group", sibling_group_id=group.id))
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("commissioning/sibling_group_form.html", form=form, errors=form_errors(form), group=None)


@bp.route("/sibling-groups/<int:sibling_group_id>")
@allow(*REFERRAL_READERS)
def sibling_group(sibling_group_id: int) -> Any:
    group = get_or_404(SiblingGroup, sibling_group_id)
    session = db()
    members = sibling_groups.members(session, group)
    children = referral_service.children_by_id(session, members)
    add_form = AddToGroupForm()
    candidates = session.execute(
        select(Referral, Child).join(Child, Child.id == Referral.child_id).where(
            Referral.council_id == group.council_id, col(Referral.sibling_group_id).is_(None),
            col(Referral.status).in_(sibling_groups.CHANGEABLE_STATUSES)).order_by(Child.reference)).all()
    add_form.referral_id.choices = [("", "Select a child")] + [(str(r.id), c.reference) for r, c in candidates]
    # The group's children, and the council's other children offered to add to it.
    audit_read(AuditAction.SIBLING_GROUP_VIEWED, [*members, *(r for r, _c in candidates)], sibling_group_id=group.id)
    return render_template("commissioning/sibling_group.html", group=group, members=members, children=children,
                           add_form=add_form, show_initials=_is_council(),
                           council=session.get(Organisation, group.council_id),
                           can_write=current_user.has_any_role(tuple(map(str, COUNCIL_WRITERS))))


@bp.route("/sibling-groups/<int:sibling_group_id>/edit", methods=["GET", "POST"])
@allow(*COUNCIL_WRITERS)
def edit_sibling_group(sibling_group_id: int) -> Any:
    group = get_or_404(SiblingGroup, sibling_group_id)
    form = SiblingGroupForm()
    if request.method == "GET":
        form.name.data = group.name
        form.plan.data = group.plan
        form.plan_reason.data = group.plan_reason
        audit_read(AuditAction.SIBLING_GROUP_VIEWED, [group], form="edit")
        form.show_version(group)
    extra: list[dict[str, str]] = []
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                sibling_groups.update_sibling_group(s, group, form.name.data, form.plan.data,
                                                    form.plan_reason.data, seen_version=form.seen_version)
            flash("Sibling group updated")
            return redirect(url_for("commissioning.sibling_group", sibling_group_id=group.id))
        except EditConflict as error:
            extra = conflict_errors(form, error)
        except ServiceError as error:
            put_service_error(form, error, general="name")
    return render_template("commissioning/sibling_group_form.html", form=form, errors=form_errors(form) + extra,
                           group=group)


@bp.route("/sibling-groups/<int:sibling_group_id>/add", methods=["POST"])
@allow(*COUNCIL_WRITERS)
def add_to_sibling_group(sibling_group_id: int) -> Any:
    group = get_or_404(SiblingGroup, sibling_group_id)
    form = AddToGroupForm()
    form.referral_id.choices = []
    chosen = (form.referral_id.data or "").strip()
    if whole_number(chosen) is None:
        flash("Select a child to add", "important")
    else:
        found = get_or_404(Referral, int(chosen))
        try:
            with transaction(db()) as s:
                sibling_groups.add_to_group(s, group, found)
            flash("Child added to the group")
        except ServiceError as error:
            flash(error.message, "important")
    return redirect(url_for("commissioning.sibling_group", sibling_group_id=group.id))


@bp.route("/sibling-groups/<int:sibling_group_id>/remove", methods=["POST"])
@allow(*COUNCIL_WRITERS)
def remove_from_sibling_group(sibling_group_id: int) -> Any:
    group = get_or_404(SiblingGroup, sibling_group_id)
    form = RemoveFromGroupForm()
    chosen = (form.referral_id.data or "").strip()
    if whole_number(chosen) is not None:
        found = get_or_404(Referral, int(chosen))
        try:
            with transaction(db()) as s:
                sibling_groups.remove_from_group(s, group, found)
            flash("Child removed from the group")
        except ServiceError as error:
            flash(error.message, "important")
    return redirect(url_for("commissioning.sibling_group", sibling_group_id=group.id))


@bp.route("/sibling-groups/<int:sibling_group_id>/submit", methods=["POST"])
@allow(*COUNCIL_WRITERS)
def submit_sibling_group(sibling_group_id: int) -> Any:
    group = get_or_404(SiblingGroup, sibling_group_id)
    session = db()
    drafts = [r for r in sibling_groups.members(session, group) if r.status == lifecycle.DRAFT]
    if not drafts:
        flash("There are no draft referrals in this group to submit", "important")
    else:
        try:
            with transaction(session) as s:
                for draft in drafts:
                    referral_service.submit_referral(s, draft)
            flash(f"{len(drafts)} referrals submitted to the RCC")
        except ServiceError as error:
            flash(f"Nothing was submitted: {error.message}", "important")
    return redirect(url_for("commissioning.sibling_group", sibling_group_id=group.id))


# Placements ----------------------------------------------------------------------------

@bp.route("/placements/<int:placement_id>")
@allow(*REFERRAL_READERS)
def placement(placement_id: int) -> Any:
    found = get_or_404(Placement, placement_id)
    session = db()
    audit_read(AuditAction.PLACEMENT_VIEWED, [found])
    return render_template("commissioning/placement.html", placement=found,
                           child=session.get(Child, found.child_id),
                           home=session.get(Home, found.home_id) if found.home_id else None,
                           reasons=placement_end_reasons(), form=_end_form(),
                           can_write=current_user.has_any_role(tuple(map(str, COUNCIL_WRITERS))), errors=[])


def _end_form() -> EndPlacementForm:
    form = EndPlacementForm()
    form.fill_choices()
    return form


@bp.route("/placements/<int:placement_id>/end", methods=["POST"])
@allow(*COUNCIL_WRITERS)
def end_placement(placement_id: int) -> Any:
    found = get_or_404(Placement, placement_id)
    form = _end_form()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                placements.end_placement(s, found, parse_date(form.end_date.data), form.reason_code.data)
            flash("Placement ended and the place is free again")
            return redirect(url_for("commissioning.placement", placement_id=found.id))
        except ServiceError as error:
            put_service_error(form, error, general="end_date")
    session = db()
    return render_template("commissioning/placement.html", placement=found,
                           child=session.get(Child, found.child_id),
                           home=session.get(Home, found.home_id) if found.home_id else None,
                           reasons=placement_end_reasons(), form=form, can_write=True, errors=form_errors(form))


# Supply register -----------------------------------------------------------------------

@bp.route("/supply")
@allow(*COUNCIL_STAFF, *RCC_STAFF)
def supply_register() -> Any:
    args = request.args
    filters = HomeFilters(
        placement_type=args.get("placement_type") if args.get("placement_type") in PLACEMENT_TYPES else None,
        local_authority=args.get("local_authority") or None,
        provider_id=id_argument("provider_id"),
        with_vacancies=args.get("with_vacancies") == "yes", stale_only=args.get("stale") == "yes",
        search=(args.get("q") or "").strip()[:80] or None)
    page = supply.list_homes(db(), filters, page_number(), PER_PAGE)
    return render_template("commissioning/supply.html", page=page, filters=filters,
                           providers=supply.providers(db()), areas=[la.name for la in local_authorities()],
                           query=_query_without_page(), stale=supply.stale)


@bp.route("/your-homes")
@allow(*PROVIDER_STAFF)
def your_homes() -> Any:
    page = supply.list_homes(db(), HomeFilters(provider_id=current_user.organisation_id), page_number(), PER_PAGE)
    return render_template("commissioning/your_homes.html", page=page, stale=supply.stale,
                           query=_query_without_page())


@bp.route("/supply/homes/<int:home_id>")
@allow(*SUPPLY_READERS)
def home(home_id: int) -> Any:
    found = get_or_404(Home, home_id)
    session = db()
    vacancy = supply.vacancy_of(session, found)
    return render_template("commissioning/home.html", home=found, vacancy=vacancy,
                           provider=session.get(Organisation, found.provider_id), stale=supply.stale(vacancy),
                           is_owner=found.provider_id == current_user.organisation_id,
                           sees_location=supply.sees_private_location(
                               current_user.organisation_kind, current_user.organisation_id, found.provider_id),
                           can_rate=current_user.organisation_kind == OrgKind.RCC)


def _home_form_choices(form: HomeForm) -> None:
    form.local_authority.choices = [("", "Select a local authority")] + [
        (la.name, la.name) for la in local_authorities()]


def _home_details(form: HomeForm) -> HomeDetails:
    return HomeDetails(
        ofsted_urn=form.ofsted_urn.data or "", name=form.name.data or "",
        placement_type=form.placement_type.data or "", local_authority=form.local_authority.data or "",
        postcode=form.postcode.data or None, registered_places=whole_number(form.registered_places.data),
        age_min=whole_number(form.age_min.data), age_max=whole_number(form.age_max.data), sexes=form.sexes.data or [],
        needs_met=form.needs_met.data or [], max_sibling_group=whole_number(form.max_sibling_group.data),
        weekly_price=numbers.pence(form.weekly_price.data), price_band=form.price_band.data,
        dol_capable=form.dol_capable.data, active=form.active.data)


@bp.route("/supply/homes/new", methods=["GET", "POST"])
@allow(*PROVIDER_STAFF)
def new_home() -> Any:
    form = HomeForm()
    _home_form_choices(form)
    if request.method == "GET":
        form.sexes.data = ["F", "M"]
        form.max_sibling_group.data = "1"
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                created = supply.create_home(s, current_organisation(), _home_details(form))
            flash("Home added. Now tell us its vacancies.")
            return redirect(url_for("commissioning.home", home_id=created.id))
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("commissioning/home_form.html", form=form, errors=form_errors(form), home=None)


def _own_home(home_id: int) -> Home:
    found = get_or_404(Home, home_id)
    if found.provider_id != current_user.organisation_id:
        abort(404)
    return found


@bp.route("/supply/homes/<int:home_id>/edit", methods=["GET", "POST"])
@allow(*PROVIDER_STAFF)
def edit_home(home_id: int) -> Any:
    found = _own_home(home_id)
    form = HomeForm()
    _home_form_choices(form)
    if request.method == "GET":
        d = supply.home_details_of(found)
        for name in ("ofsted_urn", "name", "placement_type", "local_authority", "postcode", "sexes", "needs_met",
                     "price_band", "dol_capable", "active"):
            getattr(form, name).data = getattr(d, name)
        for name in ("registered_places", "age_min", "age_max", "max_sibling_group"):
            getattr(form, name).data = str(getattr(d, name))
        form.weekly_price.data = numbers.pounds_for_input(d.weekly_price)
        form.show_version(found)
    extra: list[dict[str, str]] = []
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                supply.update_home(s, found, _home_details(form), seen_version=form.seen_version)
            flash("Home updated")
            return redirect(url_for("commissioning.home", home_id=found.id))
        except EditConflict as error:
            extra = conflict_errors(form, error)
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("commissioning/home_form.html", form=form, errors=form_errors(form) + extra, home=found)


@bp.route("/supply/homes/<int:home_id>/rating", methods=["GET", "POST"])
@allow(*RCC_STAFF)
def home_rating(home_id: int) -> Any:
    found = get_or_404(Home, home_id)
    form = RatingForm()
    if request.method == "GET":
        form.ofsted_rating.data = found.ofsted_rating
        form.rating_date.data = found.rating_date.strftime("%d/%m/%Y") if found.rating_date else ""
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                supply.set_rating(s, found, form.ofsted_rating.data, parse_date(form.rating_date.data),
                                  current_user)
            flash("Ofsted rating saved")
            return redirect(url_for("commissioning.home", home_id=found.id))
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("commissioning/rating_form.html", form=form, errors=form_errors(form), home=found)


@bp.route("/supply/homes/<int:home_id>/inadequate-override", methods=["GET", "POST"])
@allow(*RCC_STAFF)
def home_inadequate_override(home_id: int) -> Any:
    found = get_or_404(Home, home_id)
    form = InadequateOverrideForm()
    if request.method == "GET":
        form.allow.data = "yes" if found.inadequate_override_reason else "no"
        form.reason.data = found.inadequate_override_reason or ""
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                supply.set_inadequate_override(s, found, form.allow.data == "yes", form.reason.data, current_user)
            flash("Matching may propose this home although it is rated Inadequate" if form.allow.data == "yes"
                  else "Matching will not propose this home while it is rated Inadequate")
            return redirect(url_for("commissioning.home", home_id=found.id))
        except ServiceError as error:
            put_service_error(form, error)
    errors = form_errors(form)
    return render_template("commissioning/inadequate_override_form.html", form=form, errors=errors,
                           home=found), 400 if errors else 200


@bp.route("/supply/homes/<int:home_id>/vacancy", methods=["GET", "POST"])
@allow(*PROVIDER_STAFF)
def home_vacancy(home_id: int) -> Any:
    found = _own_home(home_id)
    vacancy = supply.vacancy_of(db(), found)
    form = VacancyForm()
    if request.method == "GET" and vacancy is not None:
        form.places_free.data = str(vacancy.places_free)
        form.available_from.data = vacancy.available_from.strftime("%d/%m/%Y")
        form.show_version(vacancy)
    extra: list[dict[str, str]] = []
    if form.validate_on_submit():
        places = form.places_free.data.strip()
        try:
            with transaction(db()) as s:
                supply.set_vacancy(s, found, whole_number(places),
                                   parse_date(form.available_from.data), seen_version=form.seen_version)
            flash("Vacancy saved and confirmed")
            return redirect(url_for("commissioning.home", home_id=found.id))
        except EditConflict as error:
            extra = conflict_errors(form, error)
        except ServiceError as error:
            put_service_error(form, error, general="places_free")
    return render_template("commissioning/vacancy_form.html", form=form, errors=form_errors(form) + extra,
                           home=found)


@bp.route("/supply/vacancies/<int:vacancy_id>/confirm", methods=["POST"])
@allow(*PROVIDER_STAFF)
def confirm_vacancy(vacancy_id: int) -> Any:
    vacancy = get_or_404(Vacancy, vacancy_id)
    if vacancy.provider_id != current_user.organisation_id:
        abort(404)
    with transaction(db()) as s:
        supply.confirm_vacancy(s, vacancy)
    flash("Vacancy confirmed as still correct")
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("commissioning.your_homes"))


@bp.route("/supply/import-ofsted", methods=["GET", "POST"])
@allow(*IMPORTERS)
def import_ofsted() -> Any:
    form = ImportOfstedForm()
    summary = None
    errors: list[dict[str, str]] = []
    if form.validate_on_submit():
        upload = request.files.get("file")
        data = upload.read() if upload and upload.filename else None
        try:
            with transaction(db()) as s:
                summary = imports.import_ofsted(s, current_organisation(), data=data)
        except ServiceError as error:
            errors = put_service_error(form, error, general="file")
    return render_template("commissioning/import_ofsted.html", form=form, errors=errors, summary=summary)


# Region dashboard ----------------------------------------------------------------------

@bp.route("/region")
@allow(*RCC_STAFF)
def region_dashboard() -> Any:
    data = dashboard.region_dashboard(db())
    audit_read(AuditAction.REFERRAL_LISTED, data.referrals_shown, page="region_dashboard")
    chart = {
        "urgency": charts.bar_chart("Open referrals by urgency", data.by_urgency),
        "type": charts.bar_chart("Open referrals by placement type", data.by_type),
        "council": charts.bar_chart("Open referrals by council", data.by_council),
        "ageing": charts.bar_chart("Days waiting since submitted", data.ageing),
        "vacancy_type": charts.bar_chart("Free places by placement type", data.vacancies_by_type),
        "vacancy_area": charts.bar_chart("Free places by area", data.vacancies_by_area[:15]),
    }
    return render_template("commissioning/dashboard.html", data=data, chart=chart)


# Foster households ---------------------------------------------------------------------------
# A council's in-house carers or an agency's: seen by their owner and the RCC only (tenancy returns
# 404 to anyone else); only the owner changes them.

HOUSEHOLD_OWNERS = (*COUNCIL_STAFF, *PROVIDER_STAFF)


@bp.route("/foster-households")
@allow(*HOUSEHOLD_OWNERS, *RCC_STAFF)
def foster_households() -> Any:
    page = fostering.list_households(db(), page_number(), PER_PAGE)
    preference = (fostering.in_house_preference_of(db(), current_user.organisation_id)
                  if current_user.organisation_kind == OrgKind.COUNCIL else None)
    return render_template("commissioning/foster_households.html", page=page, query=_query_without_page(),
                           is_rcc=current_user.organisation_kind == OrgKind.RCC, preference=preference,
                           is_council=current_user.organisation_kind == OrgKind.COUNCIL)


@bp.route("/foster-households/<int:household_id>")
@allow(*HOUSEHOLD_OWNERS, *RCC_STAFF)
def foster_household(household_id: int) -> Any:
    found = get_or_404(FosterHousehold, household_id)
    return render_template("commissioning/foster_household.html", household=found,
                           owner=db().get(Organisation, found.owner_id),
                           is_owner=found.owner_id == current_user.organisation_id)


def _household_details(form: HouseholdForm) -> fostering.HouseholdDetails:
    return fostering.HouseholdDetails(
        reference=form.reference.data or "", postcode=form.postcode.data or "",
        age_min=whole_number(form.age_min.data), age_max=whole_number(form.age_max.data),
        max_children=whole_number(form.max_children.data), siblings=bool(form.siblings.data),
        places_free=whole_number(form.places_free.data), needs_met=form.needs_met.data or [],
        weekly_cost=numbers.pence(form.weekly_cost.data), status=form.status.data or "")


@bp.route("/foster-households/new", methods=["GET", "POST"])
@allow(*HOUSEHOLD_OWNERS)
def new_foster_household() -> Any:
    form = HouseholdForm()
    if request.method == "GET":
        form.age_min.data, form.age_max.data, form.max_children.data = "0", "17", "1"
        form.places_free.data, form.status.data = "0", "approved"
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                created = fostering.create_household(s, current_organisation(), _household_details(form))
            flash("Foster household added")
            return redirect(url_for("commissioning.foster_household", household_id=created.id))
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("commissioning/foster_household_form.html", form=form, errors=form_errors(form),
                           household=None)


@bp.route("/foster-households/<int:household_id>/edit", methods=["GET", "POST"])
@allow(*HOUSEHOLD_OWNERS)
def edit_foster_household(household_id: int) -> Any:
    found = get_or_404(FosterHousehold, household_id)
    if found.owner_id != current_user.organisation_id:
        abort(404)
    form = HouseholdForm()
    if request.method == "GET":
        d = fostering.details_of(found)
        for name in ("reference", "postcode", "siblings", "needs_met", "status"):
            getattr(form, name).data = getattr(d, name)
        for name in ("age_min", "age_max", "max_children", "places_free"):
            getattr(form, name).data = str(getattr(d, name))
        form.weekly_cost.data = numbers.pounds_for_input(d.weekly_cost)
        form.show_version(found)
    extra: list[dict[str, str]] = []
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                fostering.update_household(s, found, _household_details(form), seen_version=form.seen_version)
            flash("Foster household updated")
            return redirect(url_for("commissioning.foster_household", household_id=found.id))
        except EditConflict as error:
            extra = conflict_errors(form, error)
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("commissioning/foster_household_form.html", form=form,
                           errors=form_errors(form) + extra, household=found)


@bp.route("/foster-households/in-house-preference", methods=["GET", "POST"])
@allow(Role.COUNCIL_ADMIN, Role.COUNCIL_PLACEMENT_OFFICER)
def in_house_preference() -> Any:
    current = fostering.in_house_preference_of(db(), current_user.organisation_id)
    form = InHousePreferenceForm()
    if request.method == "GET":
        form.points.data = str(current.points if current else 0)
        if current:
            form.show_version(current)
    extra: list[dict[str, str]] = []
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                fostering.set_in_house_preference(s, current_organisation(), whole_number(form.points.data),
                                                  seen_version=form.seen_version)
            flash("Preference for your in-house carers saved")
            return redirect(url_for("commissioning.foster_households"))
        except EditConflict as error:
            extra = conflict_errors(form, error)
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("commissioning/in_house_preference.html", form=form, errors=form_errors(form) + extra)
# SSDA903: the council's looked-after cohort in and out ----------------------------------------------

def _903_year(text: str | None) -> tuple[int | None, str | None]:
    """A collection year as typed ("2025" or "2024-25"); (None, None) when empty, (None, message) when wrong."""
    text = (text or "").strip()
    if not text:
        return None, None
    parts = text.replace("/", "-").split("-")
    year = whole_number(parts[-1], maximum=9999)
    if year is not None and len(parts) == 2 and len(parts[1]) == 2 and (whole_number(parts[0], 9999) or 0) > 1900:
        year = (whole_number(parts[0], 9999) or 0) + 1
    if year is None or not 2000 <= year <= 2100 or len(parts) > 2:
        return None, "Enter the year the return ends, like 2025 for 2024-25"
    return year, None


@bp.route("/ssda903", methods=["GET", "POST"])
@allow(*COUNCIL_WRITERS)
def ssda903_import() -> Any:
    council = current_organisation()
    errors: list[dict[str, str]] = []
    field_errors: dict[str, str] = {}
    if request.method == "POST":  # CSRF is checked for every POST by the app (rcc.app)
        year, message = _903_year(request.form.get("year"))
        if message:
            field_errors["year"] = message
        files = {name: request.files.get(name) for name in ("header", "episodes")}
        data = {name: (upload.read() if upload and upload.filename else b"") for name, upload in files.items()}
        for name in ("header", "episodes"):
            if not data[name]:
                field_errors[name] = f"Choose the {name} file of the year: 903 returns come as a pair"
        if not field_errors:
            try:
                with transaction(db()) as s:
                    names = " and ".join(upload.filename or "" for upload in files.values() if upload)
                    started = ssda903.start_upload(s, council, data["header"], data["episodes"], names, year)
                try:
                    jobs.start(current_app, "commissioning.services.ssda903:run_upload", started.id,
                               started.rcc_id, started.council_id, current_user.id, request_id())
                except jobs.JobsUnavailable as error:
                    with transaction(db()) as s:
                        ssda903.abandon_upload(s, ssda903.get_upload(s, int(started.id or 0)), error.message)
                return redirect(url_for("commissioning.ssda903_upload", import_id=started.id))
            except Ssda903Error as error:
                field = "header" if error.what == "header" else "episodes"
                field_errors[field] = error.message
        errors = [{"text": message, "href": f"#{name}"} for name, message in field_errors.items()]
    return render_template("commissioning/ssda903.html", errors=errors, field_errors=field_errors,
                           years=ssda903.years_held(db(), council)), 400 if errors else 200


@bp.route("/ssda903/imports/<int:import_id>")
@allow(*COUNCIL_WRITERS)
def ssda903_upload(import_id: int) -> Any:
    found = get_or_404(Ssda903Upload, import_id)
    if ssda903.upload_status(found) == "stopped":
        with transaction(db()) as s:
            ssda903.fail_if_stopped(s, found)
    status = ssda903.upload_status(found)
    errors = [{"text": found.message or "", "href": "#problems" if found.problems else "#result"}] \
        if status == "failed" else []
    return render_template("commissioning/ssda903_progress.html", upload=found, status=status, errors=errors,
                           running=status in ssda903.RUNNING, refresh_seconds=2,
                           max_problems=ssda903.MAX_PROBLEMS_KEPT,
                           year_label=ssda903.year_label(found.year) if found.year else "")


@bp.route("/ssda903/episodes.csv")
@allow(*COUNCIL_STAFF)
def ssda903_export() -> Any:
    year, message = _903_year(request.args.get("year"))
    if year is None:
        abort(400, message or "Choose the year to export")
    with transaction(db()) as s:
        text = ssda903.export_csv(s, current_organisation(), year)
    return Response(text, mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=ssda903-episodes-{ssda903.year_label(year)}.csv"})
