"""The cost transparency JSON API: the same services and permissions as the pages.

Routes with an object id load the object first (a 404 for anyone else's) and then read the
body, so another tenant's id never gets as far as validation. A change to an approved or
published version of a report answers 409.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import request
from flask_login import current_user
from flask_smorest import Page
from flask_smorest import abort as api_abort
from marshmallow import ValidationError

from commissioning.models import Placement
from cost_transparency.models import CostRecord, HighCostReview, Publication
from cost_transparency.schemas import (
    APPROVED_PUBLICATION_EXAMPLE,
    CORRECTION_EXAMPLE,
    COST_COMPARISON_EXAMPLE,
    COST_RECORD_EXAMPLE,
    HIGH_COST_REVIEW_EXAMPLE,
    PROVIDER_RISK_EXAMPLE,
    PUBLICATION_DETAIL_EXAMPLE,
    PUBLICATION_EXAMPLE,
    PUBLISHED_PUBLICATION_EXAMPLE,
    REVIEWED_EXAMPLE,
    SUFFICIENCY_EXAMPLE,
    CostComparisonArgs,
    CostComparisonSchema,
    CostPublicationChangeSchema,
    CostPublicationDetailSchema,
    CostPublicationSchema,
    CostRecordSchema,
    CostRecordUpdateSchema,
    HighCostReviewSchema,
    ProviderRiskQueryArgs,
    ProviderRiskSchema,
    PublicationCorrectionSchema,
    ReviewOutcomeSchema,
    SufficiencyQueryArgs,
    SufficiencySchema,
)
from cost_transparency.services import (
    comparison,
    cost_records,
    forecast,
    high_cost_review,
    provider_risk,
    publications,
    sufficiency,
)
from cost_transparency.services.cost_records import CostDetails
from rcc.api import (
    ETAG_HEADER,
    api_blueprint,
    edits_a_versioned_record,
    raise_service_error,
    seen_version,
    with_etag,
)
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.errors import ServiceError
from rcc.permissions import allow
from rcc.roles import Role
from rcc.tenancy import OrgKind
from rcc.web import audit_read, current_organisation, db, get_or_404

bp = api_blueprint("cost_transparency_api", __name__, "Placement cost records, comparison, high-cost reviews, "
                   "publications, sufficiency and provider risk")

COST_READERS = (Role.COUNCIL_FINANCE_LEAD, Role.RCC_COMMISSIONER)
COMMISSIONER = (Role.RCC_COMMISSIONER,)
RCC_READERS = (Role.RCC_COMMISSIONER, Role.RCC_ADMIN, Role.RCC_PLACEMENT_OFFICER)

RECORD_EXAMPLE = {"placement_id": 12, "start_date": "2026-04-01", "end_date": None, "core_weekly": 580000,
                  "additional_support_weekly": 65000, "education_weekly": 0, "health_weekly": 0,
                  "nhs_contribution_weekly": 30000, "education_contribution_weekly": 0, "need_band": "enhanced",
                  "notes": "Extra night staffing"}


def _body(schema: Any) -> dict[str, Any]:
    try:
        return schema.load(request.get_json(silent=True) or {})
    except ValidationError as error:
        api_abort(422, errors={"json": error.messages}, message="Some fields are wrong")
    raise AssertionError  # pragma: no cover


def _details(data: dict[str, Any]) -> CostDetails:
    return CostDetails(start_date=data["start_date"], end_date=data.get("end_date"), core_weekly=data["core_weekly"],
                       additional_support_weekly=data["additional_support_weekly"],
                       education_weekly=data["education_weekly"], health_weekly=data["health_weekly"],
                       nhs_contribution_weekly=data["nhs_contribution_weekly"],
                       education_contribution_weekly=data["education_contribution_weekly"],
                       need_band=data["need_band"], notes=data["notes"])


@bp.route("/cost-records")
@bp.response(200, CostRecordSchema(many=True), example=[COST_RECORD_EXAMPLE])
@allow(*COST_READERS)
@bp.paginate(Page)
def list_cost_records() -> Any:
    """Cost records you may see: your council's, or the whole region's for the RCC."""
    from sqlalchemy import select  # noqa: PLC0415

    found = db().scalars(select(CostRecord).order_by(CostRecord.placement_id, CostRecord.start_date)).all()
    audit_read(AuditAction.COST_RECORD_LISTED, found, cost_records.referral_of(db(), found))
    return found


@bp.route("/cost-records", methods=["POST"])
@bp.arguments(CostRecordSchema, example=RECORD_EXAMPLE)
@bp.response(201, CostRecordSchema, example=COST_RECORD_EXAMPLE)
@allow(*COST_READERS)
def create_cost_record(data: dict[str, Any]) -> Any:
    """Add a cost record to a placement. Amounts are pence a week; records of a placement may not overlap."""
    placement = get_or_404(Placement, data["placement_id"])
    try:
        with transaction(db()) as s:
            return cost_records.create_record(s, placement, _details(data), "entered", current_user.id)
    except ServiceError as error:
        raise_service_error(error)


@bp.route("/cost-records/<int:cost_record_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, CostRecordSchema, example=COST_RECORD_EXAMPLE)
@allow(*COST_READERS)
def get_cost_record(cost_record_id: int) -> Any:
    record = get_or_404(CostRecord, cost_record_id)
    audit_read(AuditAction.COST_RECORD_VIEWED, [record], cost_records.referral_of(db(), [record]))
    return with_etag(record, record.row_version)


@bp.route("/cost-records/<int:cost_record_id>", methods=["PUT"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@edits_a_versioned_record(bp)
@bp.doc(requestBody={"content": {"application/json": {"schema": CostRecordUpdateSchema,
                                                      "example": {**{k: v for k, v in RECORD_EXAMPLE.items()
                                                                     if k != "placement_id"}, "row_version": 2}}}})
@bp.response(200, CostRecordSchema, example=COST_RECORD_EXAMPLE, headers=ETAG_HEADER)
@allow(*COST_READERS)
def update_cost_record(cost_record_id: int) -> Any:
    """Replace a cost record's dates, amounts, need band and notes. Send the version you read (If-Match
    header or ``row_version``); if someone changed the record since, nothing is written."""
    record = get_or_404(CostRecord, cost_record_id)
    data = _body(CostRecordUpdateSchema())
    seen = seen_version(data)
    try:
        with transaction(db()) as s:
            cost_records.update_record(s, record, _details(data), seen_version=seen)
    except ServiceError as error:
        raise_service_error(error)
    return with_etag(record, record.row_version)


def _cells(stats: dict[str, comparison.CellStats]) -> list[dict[str, Any]]:
    return [{"group": key, "count": s.count, "median": s.summary.median if s.summary else None,
             "lower_quartile": s.summary.lower_quartile if s.summary else None,
             "upper_quartile": s.summary.upper_quartile if s.summary else None,
             "mean": s.summary.mean if s.summary else None, "outliers": s.summary.outliers if s.summary else None}
            for key, s in sorted(stats.items())]


@bp.route("/cost-comparison")
@bp.arguments(CostComparisonArgs, location="query")
@bp.response(200, CostComparisonSchema, example=COST_COMPARISON_EXAMPLE)
@allow(*COST_READERS)
def cost_comparison(args: dict[str, Any]) -> Any:
    """Unit costs by placement type: your own beside the region's (councils get the region with
    disclosure control applied; the RCC gets the region's own figures)."""
    is_council = current_user.organisation_kind == OrgKind.COUNCIL
    if is_council and args.get("start") is None and args.get("end") is None:
        default = comparison.council_windows(date.today())[0]
        args = {**args, "start": default.start, "end": default.end}
    end = args.get("end") or date.today()
    start = args.get("start") or end - timedelta(days=364)
    if start > end:
        api_abort(422, errors={"query": {"from": ["must be on or before 'to'"]}}, message="The period is back to front")
    if is_council and not comparison.is_fixed_window(start, end):
        api_abort(422, errors={"query": {"from": [comparison.WINDOW_REFUSED]}}, message=comparison.WINDOW_REFUSED)
    if is_council:
        council = current_organisation()
        own = comparison.by_type(comparison.observations(db(), start, end, council_id=current_user.organisation_id))
        region = comparison.region_figures_for_council(db(), council, start, end, lambda o: o.placement_type)
        region_rows = [{"group": k, **vars(v)} for k, v in sorted(region.items())]
    else:
        own = comparison.by_type(comparison.observations(db(), start, end, rcc_id=current_user.rcc_id))
        region_rows = _cells(own)
    return {"start": start, "end": end, "own": _cells(own), "region": region_rows}


@bp.route("/high-cost-reviews")
@bp.response(200, HighCostReviewSchema(many=True), example=[HIGH_COST_REVIEW_EXAMPLE])
@allow(*COST_READERS)
@bp.paginate(Page)
def list_reviews() -> Any:
    """The high-cost review queue: open first, highest cost first."""
    found = high_cost_review.queue(db())
    audit_read(AuditAction.HIGH_COST_REVIEW_LISTED, found, cost_records.referral_of(db(), found))
    return found


@bp.route("/high-cost-reviews/<int:high_cost_review_id>/outcome", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@bp.doc(requestBody={"content": {"application/json": {"schema": ReviewOutcomeSchema, "example": {
    "outcome": "step_down_plan", "notes": "Step down to a two-bed home by March", "next_review_on": "2026-03-01"}}}})
@bp.response(200, HighCostReviewSchema, example=REVIEWED_EXAMPLE)
@allow(*COST_READERS)
def record_review_outcome(high_cost_review_id: int) -> Any:
    found = get_or_404(HighCostReview, high_cost_review_id)
    data = _body(ReviewOutcomeSchema())
    try:
        with transaction(db()) as s:
            return high_cost_review.record_outcome(s, found, data["outcome"], data["notes"], data["next_review_on"],
                                                   current_user.id)
    except ServiceError as error:
        raise_service_error(error)


@bp.route("/publications")
@bp.response(200, CostPublicationSchema(many=True), example=[PUBLICATION_EXAMPLE])
@allow(*COMMISSIONER)
@bp.paginate(Page)
def list_publications() -> Any:
    return publications.all_publications(db())


@bp.route("/publications", methods=["POST"])
@bp.arguments(CostPublicationSchema, example={"title": "Placement unit costs, year to September 2026",
                                          "period_start": "2025-10-01", "period_end": "2026-09-30"})
@bp.response(201, CostPublicationDetailSchema, example=PUBLICATION_DETAIL_EXAMPLE)
@allow(*COMMISSIONER)
def create_publication(data: dict[str, Any]) -> Any:
    """A draft report built from the current data."""
    rcc = current_organisation()
    try:
        with transaction(db()) as s:
            return publications.create_draft(s, rcc, data["title"], data["period_start"], data["period_end"],
                                             current_user.id)
    except ServiceError as error:
        raise_service_error(error)


@bp.route("/publications/<int:publication_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, CostPublicationDetailSchema, example=PUBLICATION_DETAIL_EXAMPLE)
@allow(*COMMISSIONER)
def get_publication(publication_id: int) -> Any:
    found = get_or_404(Publication, publication_id)
    return with_etag(found, found.row_version)


@bp.route("/publications/<int:publication_id>", methods=["PATCH"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@edits_a_versioned_record(bp)
@bp.doc(requestBody={"content": {"application/json": {"schema": CostPublicationChangeSchema(partial=True), "example": {
    "title": "Placement unit costs, year to October 2026", "period_end": "2026-10-31"}}}})
@bp.response(200, CostPublicationDetailSchema, example=PUBLICATION_DETAIL_EXAMPLE, headers=ETAG_HEADER)
@allow(*COMMISSIONER)
def update_publication(publication_id: int) -> Any:
    """Change a draft's title or period (it is rebuilt). 409 once approved or published; 409/412 if it
    changed after you read the version you send (If-Match header or ``row_version``)."""
    found = get_or_404(Publication, publication_id)
    if found.status != "draft":
        api_abort(409, message=f"Version {found.version} is {found.status} and cannot be changed; "
                               "publish a correction as a new version")
    data = _body(CostPublicationChangeSchema(partial=True))
    seen = seen_version(data)
    try:
        with transaction(db()) as s:
            publications.update_draft(s, found, data.get("title", found.title),
                                      data.get("period_start", found.period_start),
                                      data.get("period_end", found.period_end), seen_version=seen)
    except ServiceError as error:
        raise_service_error(error)
    return with_etag(found, found.row_version)


@bp.route("/publications/<int:publication_id>", methods=["DELETE"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.response(204)
@allow(*COMMISSIONER)
def delete_publication(publication_id: int) -> Any:
    found = get_or_404(Publication, publication_id)
    try:
        with transaction(db()) as s:
            publications.delete_draft(s, found)
    except ServiceError as error:
        raise_service_error(error)
    return None


def _move(publication_id: int, action: Any) -> Any:
    found = get_or_404(Publication, publication_id)
    try:
        with transaction(db()) as s:
            return action(s, found, current_user.id)
    except ServiceError as error:
        raise_service_error(error)


@bp.route("/publications/<int:publication_id>/approve", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@edits_a_versioned_record(bp)
@bp.response(200, CostPublicationSchema, example=APPROVED_PUBLICATION_EXAMPLE, headers=ETAG_HEADER)
@allow(*COMMISSIONER)
def approve_publication(publication_id: int) -> Any:
    """Approve a draft. Send the ETag you read as If-Match to approve exactly that version: if it was
    changed since, nothing is approved (412)."""
    seen = seen_version({})
    found = _move(publication_id, lambda s, p, user_id: publications.approve(s, p, user_id, seen_version=seen))
    return with_etag(found, found.row_version)


@bp.route("/publications/<int:publication_id>/publish", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.response(200, CostPublicationSchema, example=PUBLISHED_PUBLICATION_EXAMPLE)
@allow(*COMMISSIONER)
def publish_publication(publication_id: int) -> Any:
    return _move(publication_id, publications.publish)


@bp.route("/publications/<int:publication_id>/corrections", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@bp.doc(requestBody={"content": {"application/json": {"schema": PublicationCorrectionSchema, "example": {
    "changes": "Corrected Wigan's children's home costs, which double-counted education"}}}})
@bp.response(201, CostPublicationDetailSchema, example=CORRECTION_EXAMPLE)
@allow(*COMMISSIONER)
def correct_publication(publication_id: int) -> Any:
    """A new draft version of a published report, saying what changed."""
    found = get_or_404(Publication, publication_id)
    data = _body(PublicationCorrectionSchema())
    try:
        with transaction(db()) as s:
            return publications.correct(s, found, data["changes"], current_user.id)
    except ServiceError as error:
        raise_service_error(error)


@bp.route("/sufficiency")
@bp.arguments(SufficiencyQueryArgs, location="query")
@bp.response(200, SufficiencySchema, example=SUFFICIENCY_EXAMPLE)
@allow(*RCC_READERS)
def sufficiency_snapshot(args: dict[str, Any]) -> Any:
    """The region's sufficiency on a day, and the demand forecast per placement type."""
    on = args.get("on") or date.today()
    snap = sufficiency.snapshot(db(), on)
    return {
        "on": on,
        "by_type": [{"placement_type": k, "placed": r.placed, "in_area": r.in_area, "out_of_area": r.out_of_area,
                     "median_miles": r.median_miles, "share_over_20_miles": r.share_far, "homes": r.homes,
                     "registered_places": r.registered_places, "vacancies": r.vacancies,
                     "block_places": r.block_places, "free_block_places": r.free_block_places,
                     "waiting_referrals": r.waiting} for k, r in snap.by_type.items()],
        "unmatched_in_last_run": snap.unmatched_in_last_run,
        "forecast": [{"placement_type": f.placement_type, "reason": f.reason,
                      "backtest_mape": None if f.backtest_mape is None else round(f.backtest_mape, 4),
                      "points": [{"month": p.month, "expected": round(p.expected, 1),
                                  "low": round(p.low, 1), "high": round(p.high, 1)} for p in f.points]}
                     for f in forecast.forecast_for(db(), current_user.rcc_id, None, args["horizon"], on).types],
    }


@bp.route("/provider-risk")
@bp.arguments(ProviderRiskQueryArgs, location="query")
@bp.response(200, ProviderRiskSchema, example=PROVIDER_RISK_EXAMPLE)
@allow(*RCC_READERS)
def provider_risk_summary(args: dict[str, Any]) -> Any:
    """Spend and places by provider group, concentration (HHI), alerts and rating drops."""
    risk = provider_risk.assess(db(), current_user.rcc_id, args.get("on") or date.today())
    return {
        "on": risk.on, "spend_hhi": risk.spend_hhi, "places_hhi": risk.places_hhi,
        "alert_percent": risk.alert_percent, "alerts": risk.alerts,
        "groups": [{"provider_id": g.provider_id, "name": g.name, "sector": g.sector, "weekly_spend": g.weekly_spend,
                    "placements": g.placements, "places": g.places, "spend_share": round(g.spend_share, 2),
                    "places_share": round(g.places_share, 2)} for g in risk.groups],
        "rating_drops": [{"home_id": d.home_id, "home": d.home_name, "provider": d.provider_name,
                          "from_rating": d.from_rating, "to_rating": d.to_rating, "seen_on": d.seen_on}
                         for d in risk.drops],
    }
