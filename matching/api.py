"""Matching's JSON API: runs, proposals, offers (RCC, councils and providers), approvals, placements
and the shortage report. Same services, permissions and tenancy as the pages.

Service errors become 404, 409 (a conflict: already decided, no place left) or 422 (named fields).
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_login import current_user
from flask_smorest import Page
from flask_smorest import abort as api_abort
from sqlalchemy import select

from commissioning.models import Placement
from commissioning.services import placements
from matching import schemas
from matching.models import MatchingRun, Offer, Proposal
from matching.services import approvals, jobs, offers, policy, review, runs, shortage
from rcc.api import api_blueprint, raise_service_error, register_api_blueprint
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.errors import ServiceError
from rcc.permissions import allow
from rcc.roles import COUNCIL_STAFF, RCC_STAFF, Role
from rcc.web import audit_read, db, get_or_404, request_id

bp = api_blueprint("matching_api", __name__, "Matching runs, proposals, offers, approvals and placements")
provider_bp = api_blueprint("matching_provider_api", __name__, "Offers for a provider's homes (anonymised)")

RUNNERS = (Role.RCC_PLACEMENT_OFFICER, Role.RCC_ADMIN)
COUNCIL_DECIDERS = (Role.COUNCIL_PLACEMENT_OFFICER, Role.COUNCIL_ADMIN)
PROVIDERS = (Role.PROVIDER_MANAGER,)


def register(app: Any) -> None:
    register_api_blueprint(app, bp)
    register_api_blueprint(app, provider_bp)


def _run_out(run: MatchingRun) -> dict[str, Any]:
    out = {name: getattr(run, name) for name in schemas.RunSchema().fields if hasattr(run, name)}
    out["elapsed_seconds"] = runs.elapsed_seconds(run)
    if runs.is_running(run):
        out["stage"] = runs.shown_stage(db(), run)  # derived in SQL: right even before the reaper runs
    return out


def _reap() -> None:
    """Fail runs whose worker stopped, so what is listed is true."""
    with transaction(db()) as session:
        runs.reap_stale_runs(session)


def _dispatch(run: MatchingRun) -> MatchingRun:
    session = db()
    try:
        jobs.dispatch_run(session, current_app.extensions["rcc_sessions"], run, current_app.config.get("REDIS_URL"),
                          current_user.id, request_id(), current_app.config.get("MATCHING_QUEUE", jobs.QUEUE_NAME))
    except jobs.QueueUnavailable as error:
        api_abort(503, message=error.message)
    session.refresh(run)
    return run


def _offer_out(offer: Offer) -> dict[str, Any]:
    out = {name: getattr(offer, name) for name in schemas.OfferSchema().fields if hasattr(offer, name)}
    out["shown_status"] = offers.shown_status(offer)
    out["profile"] = offers.anonymised_profile(offer)
    return out


def _provider_offer_out(offer: Offer, homes: dict[str, Any]) -> dict[str, Any]:
    """``homes``: place key -> ``places.Place`` (``offers.places_of``)."""
    out = {name: getattr(offer, name) for name in schemas.ProviderOfferSchema().fields if hasattr(offer, name)}
    out["shown_status"] = offers.shown_status(offer)
    out["home_name"] = homes[offer.place_key].name if offer.place_key in homes else ""
    out["profile"] = offers.anonymised_profile(offer)
    return out


# Runs ------------------------------------------------------------------------------------

@bp.route("/matching/runs")
@bp.response(200, schemas.RunSchema(many=True), example=[schemas.RUN_EXAMPLE])
@allow(*RCC_STAFF)
@bp.paginate(Page)
def list_runs() -> Any:
    """The region's matching runs, newest first."""
    _reap()
    return [_run_out(r) for r in runs.list_runs(db(), limit=None)]


@bp.route("/matching/runs", methods=["POST"])
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(503, response="SERVICE_UNAVAILABLE")
@bp.arguments(schemas.RunInSchema, example={"referral_ids": None, "note": "Weekly run"})
@bp.response(201, schemas.RunSchema, example=schemas.RUN_EXAMPLE)
@allow(*RUNNERS)
def start_run(body: dict) -> Any:
    """Start a run over every submitted referral (or the ones named). Without Redis it finishes before
    this returns; with Redis it runs in the background: poll the run until ``stage`` is done, failed or
    cancelled. One run at a time per region: while one is waiting or working this is a 409 naming it.
    If the job queue is not answering, this is a 503 and the run is recorded as failed (retry it later)."""
    session = db()
    try:
        with transaction(session) as s:
            run = runs.start_run(s, current_user.rcc_id, runs.RunRequest(body.get("referral_ids"), body["note"]))
    except ServiceError as error:
        raise_service_error(error)
    return _run_out(_dispatch(run))


@bp.route("/matching/runs/<int:run_id>/cancel", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.response(200, schemas.RunSchema, example=schemas.RUN_EXAMPLE)
@allow(*RUNNERS)
def cancel_run(run_id: int) -> Any:
    """Cancel a waiting or working run: a queued job is taken off the queue; a working one stops at its next stage."""
    session = db()
    try:
        with transaction(session) as s:
            run = runs.cancel_run(s, run_id)
    except ServiceError as error:
        raise_service_error(error)
    jobs.cancel_job(current_app.config.get("REDIS_URL"), run.job_id)
    return _run_out(run)


@bp.route("/matching/runs/<int:run_id>/retry", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(503, response="SERVICE_UNAVAILABLE")
@bp.response(201, schemas.RunSchema, example=schemas.RUN_EXAMPLE)
@allow(*RUNNERS)
def retry_run(run_id: int) -> Any:
    """Try a failed or cancelled run again: a new run over its referrals that are still open, linked to it."""
    session = db()
    try:
        with transaction(session) as s:
            run = runs.retry_run(s, run_id)
    except ServiceError as error:
        raise_service_error(error)
    return _run_out(_dispatch(run))


@bp.route("/matching/runs/<int:run_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.RunSchema, example=schemas.RUN_EXAMPLE)
@allow(*RCC_STAFF)
def get_run(run_id: int) -> Any:
    """A run's stage, timings and counts."""
    _reap()
    return _run_out(get_or_404(MatchingRun, run_id))


@bp.route("/matching/runs/<int:run_id>/result")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.RunResultSchema, example=schemas.RUN_RESULT_EXAMPLE)
@allow(*RCC_STAFF)
def run_result(run_id: int) -> Any:
    """A run's engine result (null until it is done) and its proposals."""
    run = get_or_404(MatchingRun, run_id)
    proposals = db().scalars(select(Proposal).where(Proposal.run_id == run.id).order_by(Proposal.id)).all()
    audit_read(AuditAction.MATCHING_RUN_VIEWED, proposals, run_id=run.id)
    return {"run": _run_out(run), "result": run.result, "proposals": proposals}


# Proposals -------------------------------------------------------------------------------

@bp.route("/matching/proposals")
@bp.response(200, schemas.ProposalSchema(many=True), example=[schemas.PROPOSAL_EXAMPLE, schemas.NO_HOME_PROPOSAL_EXAMPLE])
@allow(*RCC_STAFF, *COUNCIL_STAFF)
@bp.paginate(Page)
def list_proposals() -> Any:
    """Proposals you may see (your council's children, or every child for the RCC), newest first."""
    found = db().scalars(select(Proposal).order_by(Proposal.id.desc())).all()
    audit_read(AuditAction.MATCHING_PROPOSAL_LISTED, found)
    return found


@bp.route("/matching/proposals/<int:proposal_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.ProposalSchema, example=schemas.PROPOSAL_EXAMPLE)
@allow(*RCC_STAFF, *COUNCIL_STAFF)
def get_proposal(proposal_id: int) -> Any:
    """One child's proposal: home, score parts, alternatives, or the funnel."""
    found = get_or_404(Proposal, proposal_id)
    audit_read(AuditAction.MATCHING_PROPOSAL_VIEWED, [found])
    return found


@bp.route("/matching/runs/<int:run_id>/accept-first-choices", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.FirstChoicesInSchema, example={"expected": 95})
@bp.response(200, schemas.FirstChoicesSchema, example={"accepted": 2, "offer_ids": [41, 42]})
@allow(*RUNNERS)
def accept_first_choices(body: dict, run_id: int) -> Any:
    """Accept every proposal still to review that is the child's first choice and conflicts with nothing
    (see matching/README.md), in one transaction: an offer each. 409 when there is none, or when the
    number differs from ``expected``."""
    run = get_or_404(MatchingRun, run_id)
    try:
        with transaction(db()) as s:
            made = review.accept_first_choices(s, run, body.get("expected"))
    except ServiceError as error:
        raise_service_error(error)
    return {"accepted": len(made), "offer_ids": [o.id for o in made]}


@bp.route("/matching/policy")
@bp.response(200, schemas.PolicySchema, example=schemas.POLICY_EXAMPLE)
@allow(*RCC_STAFF)
def get_policy() -> Any:
    """The matching policy in use: the newest version, or the defaults when none is saved."""
    return _policy_out(policy.current_policy(db()))


@bp.route("/matching/policy", methods=["POST"])
@bp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@bp.arguments(schemas.PolicyInSchema, example={"home_miles": 30, "school_miles": 15, "cost_per_100_pounds": 3,
                                                "rating_percent": 100, "block_place_credit": 200,
                                                "sibling_split": 1000, "note": "Closer to home"})
@bp.response(201, schemas.PolicySchema, example=schemas.POLICY_EXAMPLE)
@allow(*RUNNERS)
def save_policy(body: dict) -> Any:
    """Save a new version of the policy (whole numbers; each bad field named); the next run uses it."""
    values = {name: str(body.get(name, "")) for name in policy.FIELD_NAMES}
    try:
        with transaction(db()) as s:
            saved = policy.save_policy(s, current_user.rcc_id, values, body.get("note", ""))
    except ServiceError as error:
        raise_service_error(error)
    return _policy_out(saved)


def _policy_out(found: Any) -> dict[str, Any]:
    values = policy.PolicyValues.of(found) if found is not None else policy.DEFAULTS
    return {"id": found.id if found else None, "version": found.version if found else None,
            "preset": policy.preset_of(values), "note": found.note if found else "",
            "trade_off": policy.trade_off(values), **values.as_dict()}


@bp.route("/matching/proposals/<int:proposal_id>/accept", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.response(201, schemas.OfferSchema, example=schemas.OFFER_EXAMPLE)
@allow(*RUNNERS)
def accept_proposal(proposal_id: int) -> Any:
    """Accept the proposed home and send the offer to its provider."""
    proposal = get_or_404(Proposal, proposal_id)
    try:
        with transaction(db()) as s:
            offer = review.accept_proposal(s, proposal)
    except ServiceError as error:
        raise_service_error(error)
    return _offer_out(offer)


@bp.route("/matching/proposals/<int:proposal_id>/alternative", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.AlternativeInSchema, example={"home_id": 12, "reason": "Closer to her grandmother"})
@bp.response(201, schemas.OfferSchema, example=schemas.OFFER_EXAMPLE)
@allow(*RUNNERS)
def choose_alternative(body: dict, proposal_id: int) -> Any:
    """Offer one of the runner-up homes instead, with a reason."""
    proposal = get_or_404(Proposal, proposal_id)
    try:
        with transaction(db()) as s:
            chosen = f"F{body['foster_household_id']}" if body.get("foster_household_id") else body["home_id"]
            offer = review.choose_alternative(s, proposal, chosen, body["reason"])
    except ServiceError as error:
        raise_service_error(error)
    return _offer_out(offer)


@bp.route("/matching/proposals/<int:proposal_id>/unmatched", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.ReasonInSchema, example={"reason": "Waiting for a new secure home to open"})
@bp.response(200, schemas.ProposalSchema, example=schemas.LEFT_UNMATCHED_EXAMPLE)
@allow(*RUNNERS)
def leave_unmatched(body: dict, proposal_id: int) -> Any:
    """Leave the child unmatched in this run, with a reason."""
    proposal = get_or_404(Proposal, proposal_id)
    try:
        with transaction(db()) as s:
            review.leave_unmatched(s, proposal, body["reason"])
    except ServiceError as error:
        raise_service_error(error)
    return proposal


# Offers (RCC and councils) ---------------------------------------------------------------

@bp.route("/matching/offers")
@bp.response(200, schemas.OfferSchema(many=True), example=[schemas.OFFER_EXAMPLE])
@allow(*RCC_STAFF, *COUNCIL_STAFF)
@bp.paginate(Page)
def list_offers() -> Any:
    """Offers you may see, newest first."""
    found = offers.list_offers(db(), limit=None)
    audit_read(AuditAction.MATCHING_OFFER_LISTED, found)
    return [_offer_out(o) for o in found]


@bp.route("/matching/offers/<int:offer_id>")
@bp.alt_response(404, response="NOT_FOUND")
@bp.response(200, schemas.OfferSchema, example=schemas.OFFER_EXAMPLE)
@allow(*RCC_STAFF, *COUNCIL_STAFF)
def get_offer(offer_id: int) -> Any:
    """One offer."""
    found = get_or_404(Offer, offer_id)
    audit_read(AuditAction.MATCHING_OFFER_VIEWED, [found])
    return _offer_out(found)


@bp.route("/matching/offers/<int:offer_id>/withdraw", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.ReasonInSchema, example={"reason": "No answer by the deadline"})
@bp.response(200, schemas.OfferSchema, example=schemas.WITHDRAWN_OFFER_EXAMPLE)
@allow(*RUNNERS)
def withdraw_offer(body: dict, offer_id: int) -> Any:
    """Withdraw an open offer; the child goes back to matching."""
    offer = get_or_404(Offer, offer_id)
    try:
        with transaction(db()) as s:
            offers.withdraw_offer(s, offer, body["reason"])
    except ServiceError as error:
        raise_service_error(error)
    return _offer_out(offer)


@bp.route("/matching/offers/<int:offer_id>/approve", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.ApproveInSchema, example={"start_date": "2027-03-27", "weekly_cost": 480000})
@bp.response(201, schemas.PlacementSchema, example=schemas.PLACEMENT_EXAMPLE)
@allow(*COUNCIL_DECIDERS)
def approve_offer(body: dict, offer_id: int) -> Any:
    """Approve the home a provider accepted for your child, recording the placement (takes the place)."""
    offer = get_or_404(Offer, offer_id)
    try:
        with transaction(db()) as s:
            placement = approvals.approve_offer(s, offer, body["start_date"], body["weekly_cost"])
    except ServiceError as error:
        raise_service_error(error)
    return placement


@bp.route("/matching/offers/<int:offer_id>/reject", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.ReasonInSchema, example={"reason": "Too far from his brother"})
@bp.response(200, schemas.OfferSchema, example=schemas.REJECTED_OFFER_EXAMPLE)
@allow(*COUNCIL_DECIDERS)
def reject_offer(body: dict, offer_id: int) -> Any:
    """Reject the home; the child goes back to matching with this home excluded."""
    offer = get_or_404(Offer, offer_id)
    try:
        with transaction(db()) as s:
            approvals.reject_offer(s, offer, body["reason"])
    except ServiceError as error:
        raise_service_error(error)
    return _offer_out(offer)


# Placements ------------------------------------------------------------------------------

@bp.route("/matching/placements")
@bp.response(200, schemas.PlacementSchema(many=True), example=[schemas.PLACEMENT_EXAMPLE])
@allow(*RCC_STAFF, *COUNCIL_STAFF)
@bp.paginate(Page)
def list_placements() -> Any:
    """Placements you may see, newest first."""
    found = approvals.list_placements(db())
    audit_read(AuditAction.PLACEMENT_LISTED, found)
    return found


@bp.route("/matching/placements/<int:placement_id>/end", methods=["POST"])
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.arguments(schemas.EndPlacementInSchema, example={"end_date": "2027-09-30", "reason_code": "CARPL"})
@bp.response(200, schemas.PlacementSchema, example=schemas.ENDED_PLACEMENT_EXAMPLE)
@allow(*COUNCIL_DECIDERS)
def end_placement(body: dict, placement_id: int) -> Any:
    """End a placement with its SSDA903 reason; the place becomes free."""
    placement = get_or_404(Placement, placement_id)
    try:
        with transaction(db()) as s:
            placements.end_placement(s, placement, body["end_date"], body["reason_code"])
    except ServiceError as error:
        raise_service_error(error)
    return placement


# Shortage --------------------------------------------------------------------------------

@bp.route("/matching/shortage")
@bp.response(200, schemas.ShortageSchema, example=schemas.SHORTAGE_EXAMPLE)
@allow(*RCC_STAFF)
def shortage_report() -> Any:
    """The latest run's unmatched children by placement type, need and area, and its capacity pressure."""
    session = db()
    report = shortage.shortage_report(session, runs.latest_finished_run(session))
    return {"run_id": report.run.id if report.run else None, "unmatched_children": report.unmatched_children,
            "lines": [{"placement_type": line.placement_type, "need": line.need, "area": line.area,
                       "children": line.children, "rules": dict(line.rules)} for line in report.lines],
            "pressure": report.pressure}


# Offers (providers) ----------------------------------------------------------------------

@provider_bp.route("/provider/offers")
@provider_bp.response(200, schemas.ProviderOfferSchema(many=True), example=[schemas.PROVIDER_OFFER_EXAMPLE])
@allow(*PROVIDERS)
@provider_bp.paginate(Page)
def provider_offers() -> Any:
    """Offers for your homes, newest first: each child as an anonymised profile only."""
    found = offers.list_offers(db(), limit=None)
    homes = offers.places_of(db(), found)
    audit_read(AuditAction.MATCHING_OFFER_LISTED, found)
    return [_provider_offer_out(o, homes) for o in found]


@provider_bp.route("/provider/offers/<int:offer_id>")
@provider_bp.alt_response(404, response="NOT_FOUND")
@provider_bp.response(200, schemas.ProviderOfferSchema, example=schemas.PROVIDER_OFFER_EXAMPLE)
@allow(*PROVIDERS)
def provider_offer(offer_id: int) -> Any:
    """One offer for your home."""
    offer = get_or_404(Offer, offer_id)
    audit_read(AuditAction.MATCHING_OFFER_VIEWED, [offer])
    return _provider_offer_out(offer, offers.places_of(db(), [offer]))


@provider_bp.route("/provider/offers/<int:offer_id>/accept", methods=["POST"])
@provider_bp.alt_response(404, response="NOT_FOUND")
@provider_bp.alt_response(409, response="CONFLICT")
@provider_bp.response(200, schemas.ProviderOfferSchema, example=schemas.ACCEPTED_PROVIDER_OFFER_EXAMPLE)
@allow(*PROVIDERS)
def provider_accept(offer_id: int) -> Any:
    """Accept: one of the home's free places is promised to the child until their council decides.
    409 if the last place has just been promised to another child, or the deadline has passed."""
    offer = get_or_404(Offer, offer_id)
    try:
        with transaction(db()) as s:
            offers.accept_offer(s, offer)
    except ServiceError as error:
        raise_service_error(error)
    return _provider_offer_out(offer, offers.places_of(db(), [offer]))


@provider_bp.route("/provider/offers/<int:offer_id>/decline", methods=["POST"])
@provider_bp.alt_response(404, response="NOT_FOUND")
@provider_bp.alt_response(409, response="CONFLICT")
@provider_bp.arguments(schemas.DeclineInSchema, example={"reason": "group_mix", "details": "Two boys aged 16"})
@provider_bp.response(200, schemas.ProviderOfferSchema, example=schemas.DECLINED_PROVIDER_OFFER_EXAMPLE)
@allow(*PROVIDERS)
def provider_decline(body: dict, offer_id: int) -> Any:
    """Decline with a reason from the list (and details; required for 'other')."""
    offer = get_or_404(Offer, offer_id)
    try:
        with transaction(db()) as s:
            offers.decline_offer(s, offer, body.get("reason", ""), body["details"])
    except ServiceError as error:
        raise_service_error(error)
    return _provider_offer_out(offer, offers.places_of(db(), [offer]))
