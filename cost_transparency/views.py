"""Signed-in pages: council finance leads' costs, the RCC's comparison, high-cost reviews,
publications, sufficiency and provider risk. Each handler parses, calls a service, renders."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlmodel import col

from commissioning.models import Home, Placement
from cost_transparency.forms import (
    CorrectionForm,
    CostRecordForm,
    ImportForm,
    ParentGroupForm,
    PublicationForm,
    ReviewOutcomeForm,
    SettingsForm,
)
from cost_transparency.models import CostRecord, HighCostReview, Publication
from cost_transparency.services import (
    charts,
    comparison,
    cost_records,
    forecast,
    high_cost_review,
    imports,
    pdf,
    provider_groups,
    provider_risk,
    publications,
    report_tables,
    spend_forecast,
    statistics,
    sufficiency,
)
from cost_transparency.services.cost_records import CostDetails
from cost_transparency.vocabulary import (
    CONTRIBUTIONS,
    COST_PARTS,
    COST_SOURCES,
    FUNDING,
    NEED_BANDS,
    PLACEMENT_TYPES,
    PUBLICATION_STATUSES,
    PUBLICATION_TAGS,
    REVIEW_OUTCOMES,
    REVIEW_REASONS,
    REVIEW_STATUSES,
    REVIEW_TAGS,
    SECTOR_LABELS,
    type_label,
)
from rcc import numbers
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.errors import Conflict, FieldError, FieldErrors, NotFound, ServiceError
from rcc.forms import ConfirmForm
from rcc.models import Organisation
from rcc.permissions import allow
from rcc.roles import Role
from rcc.tenancy import OrgKind
from rcc.versions import EditConflict, conflict_errors, parse_version
from rcc.web import (
    audit_read,
    current_organisation,
    db,
    form_errors,
    get_or_404,
    parse_day,
    put_service_error,
    whole_number,
)

bp = Blueprint("cost_transparency", __name__, template_folder="templates")

FINANCE = (Role.COUNCIL_FINANCE_LEAD,)
COMMISSIONER = (Role.RCC_COMMISSIONER,)
COST_READERS = (Role.COUNCIL_FINANCE_LEAD, Role.RCC_COMMISSIONER)
RCC_READERS = (Role.RCC_COMMISSIONER, Role.RCC_ADMIN, Role.RCC_PLACEMENT_OFFICER)


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"type_label": type_label, "render_chart": report_tables.render_chart}


def _rcc_id() -> int:
    return int(current_user.rcc_id)


def _is_council() -> bool:
    return current_user.organisation_kind == OrgKind.COUNCIL


def _day(name: str, default: date) -> date:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        return parse_day(text) or default
    except ValueError as error:
        flash(f"{error}, so {default:%-d %B %Y} is shown instead.", "important")
        return default


def _period() -> tuple[date, date]:
    today = date.today()
    end = _day("to", today)
    start = _day("from", end - timedelta(days=364))
    if start > end:
        flash("The start of the period was after its end, so the 12 months to the end are shown.", "important")
        start = end - timedelta(days=364)
    return start, end


# Costs: a council's own beside the region's ---------------------------------------------------

@bp.route("/costs")
@allow(*COST_READERS)
def overview() -> Any:
    if not _is_council():
        return redirect(url_for("cost_transparency.comparison_page"))
    council = current_organisation()
    today = date.today()
    period_error = None
    if "from" in request.args or "to" in request.args:
        period_error = comparison.WINDOW_REFUSED
    try:
        window = comparison.council_window(request.args.get("period", "").strip(), today)
    except FieldError as error:
        period_error, window = error.message, comparison.council_windows(today)[0]
    start, end = window.start, window.end
    own = comparison.observations(db(), start, end, council_id=council.id)
    own_by_type = comparison.by_type(own)
    region = comparison.region_figures_for_council(db(), council, start, end, lambda o: o.placement_type)
    kinds = [k for k in PLACEMENT_TYPES if k in own_by_type or k in region]
    quarters = comparison.last_quarters(end, 4)
    rows = comparison.load_rows(db(), quarters[0].start, end, council_id=council.id)
    own_trend = {q.key: comparison.by_type(comparison.observations_in(rows, q.start, q.end)) for q in quarters}
    region_trend = {q.key: comparison.region_figures_for_council(db(), council, q.start, q.end,
                                                                 lambda o: o.placement_type) for q in quarters}
    focus = "childrens_home" if "childrens_home" in kinds else (kinds[0] if kinds else None)
    chart = None
    if focus:
        own_series = [_median_of(own_trend[q.key].get(focus)) for q in quarters]
        region_series = [region_trend[q.key].get(focus).median if region_trend[q.key].get(focus) else None
                         for q in quarters]
        chart = charts.line_chart(
            "chart-own-trend", f"Median weekly cost of {type_label(focus).lower()} placements: "
            f"{council.name} and the region", [q.label for q in quarters],
            [(council.name, own_series), ("Region", region_series)])
    reviews = high_cost_review.queue(db())
    audit_read(AuditAction.HIGH_COST_REVIEW_LISTED, reviews, cost_records.referral_of(db(), reviews), page="overview")
    return render_template("cost_transparency/overview.html", council=council, start=start, end=end, kinds=kinds,
                           period_error=period_error,
                           period_items=[{"value": w.key, "text": w.label, "selected": w.key == window.key}
                                         for w in comparison.council_windows(today)],
                           own=own_by_type, region=region, quarters=quarters, own_trend=own_trend,
                           region_trend=region_trend, focus=focus, chart=chart, reviews=reviews,
                           missing=len(cost_records.placements_without_records(db()))), 400 if period_error else 200


def _median_of(stats: comparison.CellStats | None) -> int | None:
    return stats.summary.median if stats and stats.summary else None


@bp.route("/costs/placements")
@allow(*COST_READERS)
def placements() -> Any:
    today = date.today()
    rows = cost_records.placements_with_costs(db(), today)
    audit_read(AuditAction.PLACEMENT_LISTED, [p for p, _ in rows], page="costs")
    return render_template("cost_transparency/placements.html", rows=rows, today=today, form=ConfirmForm(),
                           councils=_council_names(), homes=_home_names([p for p, _ in rows]))


def _council_names() -> dict[int, str]:
    query = select(Organisation).where(Organisation.kind == OrgKind.COUNCIL)
    return {o.id or 0: o.name for o in db().scalars(query)}


def _home_names(found: list[Placement]) -> dict[int, str]:
    ids = {p.home_id for p in found}
    return {h.id or 0: h.name for h in db().scalars(select(Home).where(col(Home.id).in_(ids)))} if ids else {}


@bp.route("/costs/placements/create-missing", methods=["POST"])
@allow(*COST_READERS)
def create_missing() -> Any:
    with transaction(db()) as s:
        made = cost_records.create_missing_records(s, current_user.id)
    flash(f"Cost records made from the placements' prices for {made} placement{'s' if made != 1 else ''}."
          if made else "Every placement already has a cost record.")
    return redirect(url_for("cost_transparency.placements"))


def _details(form: CostRecordForm) -> CostDetails:
    amounts: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name in cost_records.AMOUNT_FIELDS:
        try:
            amounts[name] = numbers.pence(getattr(form, name).data) or 0  # a blank amount is nothing paid
        except ValueError as error:
            errors[name] = f"Enter an amount in pounds, like 6108 or 6108.50 (it {error})"
    if errors:
        raise FieldErrors(errors)
    return CostDetails(start_date=form.start_date.data, end_date=form.end_date.data, need_band=form.need_band.data,
                       notes=form.notes.data or "", **amounts)


@bp.route("/costs/placements/<int:placement_id>", methods=["GET", "POST"])
@allow(*COST_READERS)
def placement_costs(placement_id: int) -> Any:
    placement = get_or_404(Placement, placement_id)
    try:
        cost_records.check_costed_by_reader(db(), placement)
    except NotFound:
        abort(404)
    records = cost_records.records_for(db(), placement)
    form = CostRecordForm()
    if request.method == "GET":
        derived = cost_records.derived_details(db(), placement)
        latest_end = max((r.end_date for r in records if r.end_date), default=None)
        form.start_date.data = (latest_end + timedelta(days=1)) if latest_end else placement.start_date  # type: ignore[assignment]
        form.core_weekly.data = f"{(derived.core_weekly or 0) / 100:.2f}"
        form.need_band.data = derived.need_band
    elif form.validate_on_submit():
        try:
            with transaction(db()) as s:
                cost_records.create_record(s, placement, _details(form), "entered", current_user.id)
            flash("Cost record added.")
            return redirect(url_for("cost_transparency.placement_costs", placement_id=placement.id))
        except ServiceError as error:
            put_service_error(form, error)
    home = db().get(Home, placement.home_id) if placement.home_id else None
    audit_read(AuditAction.PLACEMENT_VIEWED, [placement], page="costs")
    return render_template("cost_transparency/placement_costs.html", placement=placement, records=records,
                           form=form, errors=form_errors(form), home=home, sources=COST_SOURCES,
                           bands=NEED_BANDS, funding=FUNDING, council=db().get(Organisation, placement.council_id))


@bp.route("/costs/records/<int:cost_record_id>/edit", methods=["GET", "POST"])
@allow(*COST_READERS)
def edit_record(cost_record_id: int) -> Any:
    record = get_or_404(CostRecord, cost_record_id)
    placement = cost_records.placement_of(db(), record)
    form = CostRecordForm()
    if request.method == "GET":
        details = cost_records.details_of(record)
        form.start_date.data, form.end_date.data = details.start_date, details.end_date  # type: ignore[assignment]
        for name in cost_records.AMOUNT_FIELDS:
            getattr(form, name).data = f"{getattr(details, name) / 100:.2f}"
        form.need_band.data, form.notes.data = details.need_band, details.notes
        form.show_version(record)
        audit_read(AuditAction.COST_RECORD_FORM_OPENED, [record], lambda _row: placement.referral_id, form="edit")
    elif form.validate_on_submit():
        try:
            with transaction(db()) as s:
                cost_records.update_record(s, record, _details(form), seen_version=form.seen_version)
            flash("Cost record updated.")
            return redirect(url_for("cost_transparency.placement_costs", placement_id=placement.id))
        except EditConflict as error:
            return render_template("cost_transparency/edit_record.html", record=record, placement=placement,
                                   form=form, errors=conflict_errors(form, error)), 409
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("cost_transparency/edit_record.html", record=record, placement=placement, form=form,
                           errors=form_errors(form))


@bp.route("/costs/import", methods=["GET", "POST"])
@allow(*FINANCE)
def import_costs() -> Any:
    form = ImportForm()
    problems: list[imports.RowError] = []
    errors: list[dict[str, str]] = []
    if request.method == "POST" and form.validate_on_submit():
        upload = request.files.get("file")
        data = upload.read() if upload else b""
        try:
            with transaction(db()) as s:
                made = imports.import_cost_records(s, current_organisation(), data, current_user.id)
            flash(f"{len(made)} cost record{'s' if len(made) != 1 else ''} imported.")
            return redirect(url_for("cost_transparency.placements"))
        except imports.ImportRejected as error:
            problems = error.problems
            errors = [{"text": error.message, "href": "#file"}]
        except ServiceError as error:
            errors = [{"text": error.message, "href": "#file"}]
    return render_template("cost_transparency/import.html", form=form, problems=problems, errors=errors,
                           columns=imports.COLUMNS)


@bp.route("/costs/import/template.csv")
@allow(*FINANCE)
def import_template() -> Any:
    return Response(imports.template_csv(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=cost-records-template.csv"})


# High-cost reviews ------------------------------------------------------------------------------

@bp.route("/costs/high-cost-reviews")
@allow(*COST_READERS)
def reviews() -> Any:
    status = request.args.get("status") or None
    if status not in (None, *REVIEW_STATUSES):
        status = None
    found = high_cost_review.queue(db(), status)
    audit_read(AuditAction.HIGH_COST_REVIEW_LISTED, found, cost_records.referral_of(db(), found))
    settings = high_cost_review.settings_for(db(), _rcc_id())
    return render_template("cost_transparency/reviews.html", reviews=found, status=status, settings=settings,
                           councils=_council_names(), statuses=REVIEW_STATUSES, tags=REVIEW_TAGS,
                           reasons=REVIEW_REASONS, outcomes=REVIEW_OUTCOMES, form=ConfirmForm())


@bp.route("/costs/high-cost-reviews/check", methods=["POST"])
@allow(*COMMISSIONER)
def check_reviews() -> Any:
    with transaction(db()) as s:
        result = high_cost_review.refresh_queue(s, _rcc_id(), date.today())
    flash(f"Checked {result.checked} current placement costs: {result.flagged} newly flagged for review.")
    return redirect(url_for("cost_transparency.reviews"))


@bp.route("/costs/high-cost-reviews/<int:high_cost_review_id>", methods=["GET", "POST"])
@allow(*COST_READERS)
def review(high_cost_review_id: int) -> Any:
    found = get_or_404(HighCostReview, high_cost_review_id)
    form = ReviewOutcomeForm(data={"outcome": found.outcome, "notes": found.notes,
                                   "next_review_on": found.next_review_on} if request.method == "GET" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction(db()) as s:
                high_cost_review.record_outcome(s, found, form.outcome.data, form.notes.data or "",
                                                form.next_review_on.data, current_user.id)
            flash("Review outcome recorded.")
            return redirect(url_for("cost_transparency.reviews"))
        except ServiceError as error:
            put_service_error(form, error)
    record = db().get(CostRecord, found.cost_record_id)
    placement = db().get(Placement, found.placement_id)
    home = db().get(Home, placement.home_id) if placement and placement.home_id else None
    audit_read(AuditAction.HIGH_COST_REVIEW_VIEWED, [found], cost_records.referral_of(db(), [found]))
    return render_template("cost_transparency/review.html", review=found, record=record, placement=placement,
                           home=home, form=form, errors=form_errors(form), reasons=REVIEW_REASONS,
                           outcomes=REVIEW_OUTCOMES, statuses=REVIEW_STATUSES, tags=REVIEW_TAGS,
                           council=db().get(Organisation, found.council_id), parts=COST_PARTS,
                           contributions=CONTRIBUTIONS)


@bp.route("/costs/settings", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def settings() -> Any:
    current = high_cost_review.settings_for(db(), _rcc_id())
    form = SettingsForm(data={"high_cost_threshold": current.high_cost_threshold // 100,
                              "provider_share_alert_percent": current.provider_share_alert_percent,
                              "row_version": str(current.row_version) if current.id else ""}
                        if request.method == "GET" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction(db()) as s:
                high_cost_review.update_settings(s, _rcc_id(), form.high_cost_threshold.data,
                                                 form.provider_share_alert_percent.data, current_user.id,
                                                 seen_version=form.seen_version)
            flash("Settings saved.")
            return redirect(url_for("cost_transparency.reviews"))
        except EditConflict as error:
            return render_template("cost_transparency/settings.html", form=form,
                                   errors=conflict_errors(form, error)), 409
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("cost_transparency/settings.html", form=form, errors=form_errors(form))


# The RCC's comparison -----------------------------------------------------------------------------

@bp.route("/costs/comparison")
@allow(*RCC_READERS, *FINANCE)
def comparison_page() -> Any:
    if _is_council():  # a council compares its own costs with the region's figures, disclosure-controlled
        return redirect(url_for("cost_transparency.overview", **request.args))
    start, end = _period()
    found = comparison.observations(db(), start, end, rcc_id=_rcc_id())
    councils = sorted(_council_names().items(), key=lambda item: item[1])
    kinds = [k for k in PLACEMENT_TYPES if any(o.placement_type == k for o in found)]
    quarters = comparison.last_quarters(end, 4)
    rows = comparison.load_rows(db(), quarters[0].start, end, rcc_id=_rcc_id())
    trend = {q.key: comparison.by_type(comparison.observations_in(rows, q.start, q.end)) for q in quarters}
    by_type = comparison.by_type(found)
    boxes = [charts.Box(type_label(k), s.summary.lower_quartile, s.summary.median,
                                      s.summary.upper_quartile) for k, s in by_type.items() if s.summary]
    chart = charts.box_chart("chart-comparison", "Weekly cost by placement type: median and "
                                           "interquartile range", boxes) if boxes else None
    return render_template(
        "cost_transparency/comparison.html", start=start, end=end, kinds=kinds, councils=councils,
        by_type=by_type, grid=comparison.grid(found, lambda o: o.council_id, lambda o: o.placement_type),
        by_sector=comparison.grid(found, lambda o: o.placement_type, lambda o: o.sector),
        by_funding=comparison.grid(found, lambda o: o.placement_type, lambda o: o.funding),
        by_band=comparison.grid(found, lambda o: o.placement_type, lambda o: o.need_band),
        quarters=quarters, trend=trend, chart=chart, sectors=SECTOR_LABELS, funding=FUNDING, bands=NEED_BANDS)


# Publications ---------------------------------------------------------------------------------------

@bp.route("/costs/publications")
@allow(*COMMISSIONER)
def publications_list() -> Any:
    return render_template("cost_transparency/publications.html", publications=publications.all_publications(db()),
                           statuses=PUBLICATION_STATUSES, tags=PUBLICATION_TAGS)


@bp.route("/costs/publications/new", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def new_publication() -> Any:
    today = date.today()
    last_quarter = comparison.Quarter.containing(today).previous()
    form = PublicationForm(data={"title": f"Placement unit costs, year to {last_quarter.end:%B %Y}",
                                 "period_start": last_quarter.end - timedelta(days=364),
                                 "period_end": last_quarter.end} if request.method == "GET" else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with transaction(db()) as s:
                made = publications.create_draft(s, current_organisation(), form.title.data or "", form.period_start.data,
                                                 form.period_end.data, current_user.id)
            flash("Draft made from the current data. Check it, then approve it.")
            return redirect(url_for("cost_transparency.publication", publication_id=made.id))
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("cost_transparency/new_publication.html", form=form, errors=form_errors(form))


@bp.route("/costs/publications/<int:publication_id>")
@allow(*COMMISSIONER)
def publication(publication_id: int) -> Any:
    found = get_or_404(Publication, publication_id)
    return render_template("cost_transparency/publication.html", publication=found, snapshot=found.snapshot,
                           versions=publications.versions_of(db(), found.slug), statuses=PUBLICATION_STATUSES,
                           tags=PUBLICATION_TAGS, form=ConfirmForm(), correction=CorrectionForm(),
                           edit=PublicationForm(data={"title": found.title, "period_start": found.period_start,
                                                      "period_end": found.period_end,
                                                      "row_version": str(found.row_version)}))


def _publication_action(publication_id: int, action: Any, done: str) -> Any:
    found = get_or_404(Publication, publication_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            action(s, found)
        flash(done)
    except Conflict as error:
        flash(error.message, "important")
    return redirect(url_for("cost_transparency.publication", publication_id=found.id))


@bp.route("/costs/publications/<int:publication_id>/approve", methods=["POST"])
@allow(*COMMISSIONER)
def approve_publication(publication_id: int) -> Any:
    seen = parse_version(request.form.get("row_version"))  # the version on the page the person approved
    return _publication_action(publication_id, lambda s, p: publications.approve(s, p, current_user.id, seen),
                               "Version approved. Publish it when it should go public.")


@bp.route("/costs/publications/<int:publication_id>/publish", methods=["POST"])
@allow(*COMMISSIONER)
def publish_publication(publication_id: int) -> Any:
    return _publication_action(publication_id, lambda s, p: publications.publish(s, p, current_user.id),
                               "Published: anyone can now read this version, and it can no longer change.")


@bp.route("/costs/publications/<int:publication_id>/rebuild", methods=["POST"])
@allow(*COMMISSIONER)
def rebuild_publication(publication_id: int) -> Any:
    return _publication_action(publication_id, publications.rebuild_draft, "Draft rebuilt from the current data.")


@bp.route("/costs/publications/<int:publication_id>/edit", methods=["POST"])
@allow(*COMMISSIONER)
def edit_publication(publication_id: int) -> Any:
    found = get_or_404(Publication, publication_id)
    form = PublicationForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                publications.update_draft(s, found, form.title.data or "", form.period_start.data,
                                          form.period_end.data, seen_version=form.seen_version)
            flash("Draft changed and rebuilt.")
            return redirect(url_for("cost_transparency.publication", publication_id=found.id))
        except EditConflict as error:
            edit_errors = conflict_errors(form, error)
            db().refresh(found)
            return render_template("cost_transparency/publication.html", publication=found,
                                   snapshot=found.snapshot, versions=publications.versions_of(db(), found.slug),
                                   statuses=PUBLICATION_STATUSES, tags=PUBLICATION_TAGS, form=ConfirmForm(),
                                   correction=CorrectionForm(), edit=form, errors=edit_errors), 409
        except Conflict as error:
            flash(error.message, "important")
            return redirect(url_for("cost_transparency.publication", publication_id=found.id))
        except ServiceError as error:
            put_service_error(form, error)
    db().refresh(found)
    return render_template("cost_transparency/publication.html", publication=found, snapshot=found.snapshot,
                           versions=publications.versions_of(db(), found.slug), statuses=PUBLICATION_STATUSES,
                           tags=PUBLICATION_TAGS, form=ConfirmForm(), correction=CorrectionForm(), edit=form,
                           errors=form_errors(form)), 400


@bp.route("/costs/publications/<int:publication_id>/delete", methods=["POST"])
@allow(*COMMISSIONER)
def delete_publication(publication_id: int) -> Any:
    found = get_or_404(Publication, publication_id)
    try:
        with transaction(db()) as s:
            publications.delete_draft(s, found)
    except Conflict as error:
        flash(error.message, "important")
        return redirect(url_for("cost_transparency.publication", publication_id=found.id))
    flash("Draft deleted.")
    return redirect(url_for("cost_transparency.publications_list"))


@bp.route("/costs/publications/<int:publication_id>/correct", methods=["POST"])
@allow(*COMMISSIONER)
def correct_publication(publication_id: int) -> Any:
    found = get_or_404(Publication, publication_id)
    form = CorrectionForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                made = publications.correct(s, found, form.changes.data or "", current_user.id)
            flash(f"Version {made.version} drafted from the current data. Check, approve and publish it.")
            return redirect(url_for("cost_transparency.publication", publication_id=made.id))
        except Conflict as error:
            flash(error.message, "important")
            return redirect(url_for("cost_transparency.publication", publication_id=found.id))
        except ServiceError as error:
            put_service_error(form, error)
    return render_template("cost_transparency/publication.html", publication=found, snapshot=found.snapshot,
                           versions=publications.versions_of(db(), found.slug), statuses=PUBLICATION_STATUSES,
                           tags=PUBLICATION_TAGS, form=ConfirmForm(), correction=form,
                           edit=PublicationForm(), errors=form_errors(form)), 400


@bp.route("/costs/publications/<int:publication_id>/preview.pdf")
@allow(*COMMISSIONER)
def publication_preview_pdf(publication_id: int) -> Any:
    found = get_or_404(Publication, publication_id)
    body = pdf.draft_pdf(found.title, found.version, found.changes, found.snapshot, date.today())
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename={found.slug}-v{found.version}-preview.pdf"})


# Sufficiency and market oversight ---------------------------------------------------------------------

def _chosen_council(raw: str | None = None) -> Organisation | None:
    raw = (request.args.get("council", "") if raw is None else raw).strip()
    if not raw:
        return None
    council_id = whole_number(raw)
    if council_id is None:
        abort(404)
    council = db().get(Organisation, council_id)
    if council is None or council.kind != OrgKind.COUNCIL:
        abort(404)
    return council


def _horizon() -> int:
    raw = request.args.get("horizon", "24")
    return int(raw) if raw in ("12", "24", "36") else 24


def _sufficiency(on: date, council: Organisation | None, horizon: int) -> dict[str, Any]:
    """What the page and the statement show: the snapshot, the forecast with its backtest, the places
    needed by type, area and date, and the spend forecast; a council's own figures, or the region's."""
    snap = sufficiency.snapshot(db(), on, council)
    found = forecast.forecast_for(db(), _rcc_id(), council, horizon, on)
    return {"snap": snap, "on": on, "council": council, "horizon": horizon, "fc": found,
            "gaps": forecast.gaps(found, sufficiency.local_places(db(), on), on),
            "spend": spend_forecast.forecast_spend(db(), found, on), "charts": _forecast_charts(found, snap),
            "method": forecast.METHOD_TEXT, "far": sufficiency.FAR_MILES}


@bp.route("/sufficiency")
@allow(*RCC_READERS)
def sufficiency_page() -> Any:
    on = _day("on", date.today())
    context = _sufficiency(on, _chosen_council(), _horizon())
    return render_template("cost_transparency/sufficiency.html",
                           councils=sorted(_council_names().items(), key=lambda item: item[1]), **context)


def _forecast_charts(found: forecast.AreaForecast, snap: sufficiency.Snapshot) -> dict[str, Any]:
    charts_found = {}
    for item in found.types:
        if not item.has_forecast:
            continue
        history, points = item.history[-12:], item.points
        labels = [f"{m:%b %y}" for m, _ in history] + [f"{p.month:%b %y}" for p in points]
        actual: list[int | None] = [v for _, v in history] + [None] * len(points)
        expected: list[int | None] = ([None] * (len(history) - 1) + ([history[-1][1]] if history else [])
                                      + [round(p.expected) for p in points])
        bands: list[tuple[int, int] | None] = [None] * len(history) + [(round(p.low), round(p.high)) for p in points]
        row = snap.by_type.get(item.placement_type)
        references = [("Registered places", row.registered_places)] if row and row.registered_places else []
        if row and row.block_places:
            references.append(("Block places", row.block_places))
        charts_found[item.placement_type] = charts.line_chart(
            f"chart-forecast-{item.placement_type}", f"{item.label}: children looked after and forecast",
            labels, [("Children looked after", actual), ("Forecast", expected)], money=False,
            bands=bands, reference_lines=references)
    return charts_found


@bp.route("/sufficiency/statements/<area>.pdf")
@allow(*RCC_READERS)
def sufficiency_statement(area: str) -> Any:
    """``area`` is "region" or "council-<id>": a council's statement holds its own figures and, for
    context, the region's totals only."""
    if area != "region" and not area.startswith("council-"):
        abort(404)
    on = _day("on", date.today())
    council = _chosen_council(area.removeprefix("council-") if area != "region" else "")
    horizon = _horizon()
    context = _sufficiency(on, council, horizon)
    region_context = forecast.forecast_for(db(), _rcc_id(), None, horizon, on) if council is not None else None
    rcc = db().get(Organisation, _rcc_id())
    body = pdf.render("cost_transparency/sufficiency_pdf.html", rcc=rcc, region=region_context,
                      day_text=pdf.day_text, **context)
    name = (council.name if council else "region").lower().replace(" ", "-")
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=sufficiency-statement-{name}-{on}.pdf"})


@bp.route("/provider-risk", methods=["GET"])
@allow(*RCC_READERS)
def provider_risk_page() -> Any:
    on = _day("on", date.today())
    risk = provider_risk.assess(db(), _rcc_id(), on)
    top = [g for g in risk.groups if g.weekly_spend][:10]
    spend_chart = charts.bar_chart(
        "chart-spend-share", "Share of the region's placement spend: the ten largest provider groups (%)",
        [(g.name, round(g.spend_share)) for g in top], money=False)
    return render_template("cost_transparency/provider_risk.html", risk=risk, on=on, form=ConfirmForm(),
                           spend_chart=spend_chart, sectors=SECTOR_LABELS,
                           band=statistics.concentration_band,
                           hhi_rule=statistics.HHI_RULE)


@bp.route("/provider-risk/parent-groups", methods=["GET"])
@allow(*RCC_READERS)
def provider_parent_groups() -> Any:
    """Which providers (Ofsted legal entities) belong to one parent group; the commissioner links them."""
    return _parent_groups_page(ParentGroupForm(formdata=None))


def _parent_groups_page(form: ParentGroupForm, status: int = 200) -> Any:
    form.provider_id.choices = [(0, "Select a provider")] + [
        (p.id or 0, p.name) for p in provider_groups.providers(db(), _rcc_id())]
    return render_template("cost_transparency/provider_groups.html", form=form, remove=ConfirmForm(),
                           links=provider_groups.links(db(), _rcc_id()), errors=form_errors(form),
                           can_change=current_user.has_any_role((Role.RCC_COMMISSIONER,))), status


@bp.route("/provider-risk/parent-groups", methods=["POST"])
@allow(*COMMISSIONER)
def set_provider_parent_group() -> Any:
    form = ParentGroupForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                name = provider_groups.set_parent_group(s, _rcc_id(), form.provider_id.data, form.parent_name.data)
            flash(f"Provider added to the parent group {name}. Provider risk now counts the group as one.")
            return redirect(url_for("cost_transparency.provider_parent_groups"))
        except ServiceError as error:
            put_service_error(form, error)
    return _parent_groups_page(form, 400)


@bp.route("/provider-risk/parent-groups/<int:provider_parent_group_id>/remove", methods=["POST"])
@allow(*COMMISSIONER)
def remove_provider_parent_group(provider_parent_group_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            provider_groups.remove_parent_group(s, provider_parent_group_id)
    except ServiceError:
        abort(404)
    flash("Provider taken out of its parent group: it counts as its own group again.")
    return redirect(url_for("cost_transparency.provider_parent_groups"))


@bp.route("/provider-risk/record-ratings", methods=["POST"])
@allow(*COMMISSIONER)
def record_ratings() -> Any:
    with transaction(db()) as s:
        added = provider_risk.record_ratings(s, _rcc_id(), date.today())
    flash(f"Recorded today's rating for {added} home{'s' if added != 1 else ''} whose rating had changed."
          if added else "No home's rating has changed since it was last recorded.")
    return redirect(url_for("cost_transparency.provider_risk_page"))
