"""Matching's pages: runs and their review (RCC), offers (RCC, councils, providers), approvals and
placements (councils), and the shortage report (RCC). Each view parses, calls a service, renders.

Provider pages are rendered from the offer, its home and ``offers.anonymised_profile`` only:
no referral or child object ever reaches a provider template.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
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
from sqlalchemy import select

from commissioning.models import Child, Placement, Referral
from commissioning.services import placements as placement_service
from commissioning.services.referrals import open_referrals_for_matching
from commissioning.vocabulary import PLACEMENT_TYPES, URGENCIES
from matching.forms import (
    CHOSEN,
    AlternativeForm,
    ApproveForm,
    DeclineForm,
    EndPlacementForm,
    NextHomeForm,
    ReasonForm,
    StartRunForm,
)
from matching.models import (
    OFFER_STATUS_LABELS,
    PROPOSAL_STATUS_LABELS,
    PROPOSED,
    PROVIDER_ACCEPTED,
    RUN_STAGES,
    RUNNING_STAGES,
    UNDECIDED_STATUSES,
    MatchingRun,
    Offer,
    Proposal,
)
from matching.services import (
    approvals,
    explain,
    jobs,
    offers,
    places,
    policy,
    referral_packs,
    review,
    runs,
    shortage,
)
from matching.services.alternative_costs import alternative_costs
from matching.services.snapshot import snapshot_summary
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.errors import FieldErrors, NotFound, ServiceError
from rcc.forms import ConfirmForm
from rcc.geography import distance_precision, precision_of_postcode
from rcc.layout import add_record_links
from rcc.models import Organisation
from rcc.permissions import allow
from rcc.roles import COUNCIL_STAFF, RCC_STAFF, Role
from rcc.web import (
    audit_read,
    db,
    form_errors,
    get_or_404,
    page_number,
    put_service_error,
    request_id,
    whole_number,
)

RUNNERS = (Role.RCC_PLACEMENT_OFFICER, Role.RCC_ADMIN)
COUNCIL_DECIDERS = (Role.COUNCIL_PLACEMENT_OFFICER, Role.COUNCIL_ADMIN)
PROVIDERS = (Role.PROVIDER_MANAGER,)

# One blueprint per navigation item, so the menu highlights only the section you are in.
bp = Blueprint("matching", __name__, template_folder="templates", static_folder="static", url_prefix="/matching")
offers_bp = Blueprint("matching_offers", __name__, url_prefix="/matching/offers")
provider_bp = Blueprint("matching_provider", __name__, url_prefix="/offers-for-your-homes")
approvals_bp = Blueprint("matching_approvals", __name__, url_prefix="/matching/approvals")
placements_bp = Blueprint("matching_placements", __name__, url_prefix="/matching/placements")
shortage_bp = Blueprint("matching_shortage", __name__, url_prefix="/matching/shortage")
BLUEPRINTS = (bp, offers_bp, provider_bp, approvals_bp, placements_bp, shortage_bp)


def register(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    from matching import pack_views  # noqa: PLC0415 - referral packs' pages (branch eoi)

    pack_views.register(app)
    add_record_links(app, "referral", _referral_links)


def _referral_links(referral: Referral) -> list[tuple[str, str]]:
    """From a referral's page to its latest proposal, offer and the home they name."""
    proposal, offer, home = offers.latest_for_referral(db(), int(referral.id or 0))
    links = []
    if proposal is not None:
        links.append((f"The proposal from matching run {proposal.run_id}",
                      url_for("matching.proposal", proposal_id=proposal.id)))
    if offer is not None:
        links.append((f"The offer ({OFFER_STATUS_LABELS.get(offer.status, offer.status).lower()})",
                      url_for("matching_offers.offer", offer_id=offer.id)))
    if home is not None:
        links.append((f"The home: {home.name}", url_for("commissioning.home", home_id=home.id)))
    return links


@bp.app_template_filter("matching_when")
def _when(moment: Any) -> str:
    return "" if moment is None else f"{offers.aware(moment):%-d %B %Y at %H:%M} UTC"


def _can(roles: tuple[Role, ...]) -> bool:
    return bool(current_user.has_any_role(tuple(map(str, roles))))


# Runs ------------------------------------------------------------------------------------

@bp.route("/")
@allow(*RCC_STAFF)
def runs_list() -> Any:
    _reap()
    return render_template("matching/runs.html", runs=runs.list_runs(db()), can_run=_can(RUNNERS),
                           stage_label=_stage_label)


def _reap() -> None:
    """Fail runs whose worker stopped before showing them, so no page waits on a run that will never end."""
    with transaction(db()) as session:
        runs.reap_stale_runs(session)


def _stage_label(stage: str) -> str:
    return {"queued": "Waiting to start", "snapshot": "Taking the snapshot", "candidates": "Finding candidate homes",
            "solving": "Solving", "explaining": "Explaining the proposals", "done": "Finished",
            "failed": "Failed", "cancelled": "Cancelled"}.get(stage, stage)


@bp.route("/runs/new", methods=["GET", "POST"])
@allow(*RUNNERS)
def new_run() -> Any:
    session = db()
    form = StartRunForm()
    open_referrals = open_referrals_for_matching(session)
    errors: list[dict[str, str]] = []
    status = 400
    if form.validate_on_submit():
        chosen = form.referral_ids.data if form.scope.data == CHOSEN else None
        try:
            with transaction(session) as s:
                run = runs.start_run(s, current_user.rcc_id, runs.RunRequest(chosen, form.note.data or ""))
            _execute(run)
            return redirect(url_for("matching.run", run_id=run.id))
        except runs.ActiveRunExists as error:
            errors, status = [{"text": error.message, "href": url_for("matching.run", run_id=error.run_id)}], 409
        except jobs.QueueUnavailable as error:
            errors, status = [{"text": error.message, "href": "#main-content"}], 503
        except ServiceError as error:
            errors = put_service_error(form, error)
    else:
        errors = form_errors(form)
    children = _children_of(session, open_referrals)
    councils = _councils(session, {r.council_id for r in open_referrals})
    audit_read(AuditAction.MATCHING_RUN_FORM_OPENED, open_referrals)
    return render_template("matching/new_run.html", form=form, errors=errors, referrals=open_referrals,
                           children=children, councils=councils, urgencies=URGENCIES,
                           placement_types=PLACEMENT_TYPES), 200 if not errors else status


def _execute(run: MatchingRun) -> None:
    """Queue the run on RQ when Redis is configured; otherwise run it now, inside this request.

    Raises ``jobs.QueueUnavailable`` (the run is failed, nothing queued) when Redis does not answer.
    """
    jobs.dispatch_run(db(), current_app.extensions["rcc_sessions"], run, current_app.config.get("REDIS_URL"),
                      current_user.id, request_id(), current_app.config.get("MATCHING_QUEUE", jobs.QUEUE_NAME))


def _children_of(session: Any, referrals: list[Referral]) -> dict[int, Child]:
    ids = {r.child_id for r in referrals}
    return {c.id: c for c in session.scalars(select(Child).where(Child.id.in_(ids)))} if ids else {}


def _councils(session: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {o.id: o.name for o in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}


@bp.route("/runs/<int:run_id>")
@allow(*RCC_STAFF)
def run(run_id: int, errors: list[dict[str, str]] | None = None, status: int = 200) -> Any:
    _reap()
    found = get_or_404(MatchingRun, run_id)
    session = db()
    session.refresh(found)
    show = request.args.get("show", review.SHOW_ALL)
    page = review.review_page(session, found, show, page_number()) if found.stage == "done" else None
    rows = page.rows if page else []
    summary = snapshot_summary(found.problem) if found.problem else None
    audit_read(AuditAction.MATCHING_RUN_VIEWED, [row.proposal for row in rows], run_id=found.id)
    linked = runs.runs_by_id(session, [i for i in (found.retry_of_run_id,) if i])
    retried_by = session.scalars(select(MatchingRun.id).where(MatchingRun.retry_of_run_id == found.id)).first()
    first_choices = (len(review.first_choices_without_conflict(session, found))
                     if page and _can(RUNNERS) and page.counts[review.TO_REVIEW] else 0)
    values, used = policy.values_of_run(session, found)
    return render_template(
        "matching/run.html", run=found, rows=rows, page=page, groups=review.PROPOSAL_GROUPS,
        query=urlencode({"show": page.show}) if page else "", running=runs.is_running(found), summary=summary,
        elapsed=runs.elapsed_seconds(found), stages=RUN_STAGES, stage_label=_stage_label,
        proposal_labels=PROPOSAL_STATUS_LABELS, placement_types=PLACEMENT_TYPES,
        offer_label=offers.status_label, offer_tag=offers.status_tag, errors=errors or [],
        can_cancel=_can(RUNNERS) and runs.is_running(found),
        can_retry=_can(RUNNERS) and runs.can_retry(found) and retried_by is None, retried_by=retried_by,
        retry_of=linked.get(found.retry_of_run_id or 0), form=ConfirmForm(), first_choices=first_choices,
        to_review=page.counts[review.TO_REVIEW] if page else 0, policy_values=values, policy_used=used,
        policy_name=policy.describe(values, used), trade_off=policy.trade_off(values),
        policy_versions=policy.versions(session) if found.stage == "done" and _can(RUNNERS) else [],
        repeated_by=session.scalars(select(MatchingRun.id).where(MatchingRun.repeat_of_run_id == found.id)
                                    .order_by(MatchingRun.id)).all()), status


@bp.route("/runs/<int:run_id>/progress")
@allow(*RCC_STAFF)
def run_progress(run_id: int) -> Any:
    """The run's stage as JSON, for the run page's script to update its live region in place."""
    _reap()
    found = get_or_404(MatchingRun, run_id)
    db().refresh(found)
    stage = runs.shown_stage(db(), found) if runs.is_running(found) else found.stage
    return {"stage": stage, "label": _stage_label(stage), "running": stage in RUNNING_STAGES,
            "elapsed_seconds": round(runs.elapsed_seconds(found)), "url": url_for("matching.run", run_id=run_id)}


@bp.route("/runs/<int:run_id>/accept-first-choices", methods=["GET", "POST"])
@allow(*RUNNERS)
def accept_first_choices(run_id: int) -> Any:
    """Confirm, then accept every first-choice proposal that conflicts with nothing, in one step."""
    found = get_or_404(MatchingRun, run_id)
    session = db()
    form = ConfirmForm()
    errors: list[dict[str, str]] = []
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            errors, status = [{"text": "The form has expired. Try again.", "href": "#main-content"}], 400
        else:
            expected = whole_number(request.form.get("expected", ""), 100_000)
            try:
                with transaction(session) as s:
                    made = review.accept_first_choices(s, found, expected)
                flash(f"{len(made)} proposals accepted and {len(made)} offers sent to providers.")
                return redirect(url_for("matching.run", run_id=run_id, show=review.TO_REVIEW))
            except ServiceError as error:
                errors, status = [{"text": error.message, "href": "#main-content"}], 409
    chosen = review.first_choices_without_conflict(session, found)
    audit_read(AuditAction.MATCHING_PROPOSAL_LISTED, chosen, run_id=found.id, purpose="accept_first_choices")
    return render_template("matching/accept_first_choices.html", run=found, chosen=chosen, form=form,
                           errors=errors), status


@bp.route("/runs/<int:run_id>/cancel", methods=["POST"])
@allow(*RUNNERS)
def cancel_run(run_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        return run(run_id, [{"text": "The form has expired. Try again.", "href": "#main-content"}], 400)
    try:
        with transaction(db()) as s:
            cancelled = runs.cancel_run(s, run_id)
    except NotFound:
        raise
    except ServiceError as error:
        return run(run_id, [{"text": error.message, "href": "#main-content"}], 409)
    jobs.cancel_job(current_app.config.get("REDIS_URL"), cancelled.job_id)
    flash("The run is cancelled. Nothing it had not finished is kept.")
    return redirect(url_for("matching.run", run_id=run_id))


@bp.route("/runs/<int:run_id>/retry", methods=["POST"])
@allow(*RUNNERS)
def retry_run(run_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        return run(run_id, [{"text": "The form has expired. Try again.", "href": "#main-content"}], 400)
    try:
        with transaction(db()) as s:
            retried = runs.retry_run(s, run_id)
        _execute(retried)
    except NotFound:
        raise
    except runs.ActiveRunExists as error:
        return run(run_id, [{"text": error.message, "href": url_for("matching.run", run_id=error.run_id)}], 409)
    except jobs.QueueUnavailable as error:
        return run(run_id, [{"text": error.message, "href": "#main-content"}], 503)
    except ServiceError as error:
        return run(run_id, [{"text": error.message, "href": "#main-content"}], 409)
    return redirect(url_for("matching.run", run_id=retried.id))


# Matching policy (RCC) -------------------------------------------------------------------

@bp.route("/policy", methods=["GET", "POST"])
@allow(*RCC_STAFF)
def matching_policy() -> Any:
    """The RCC's weights: presets, the trade-off in plain terms, and every saved version."""
    session = db()
    current = policy.current_policy(session)
    form = ConfirmForm()
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not _can(RUNNERS):
            abort(403)
        values = {name: request.form.get(name, "") for name in (*policy.FIELD_NAMES, "note")}
        if not form.validate_on_submit():
            errors, status = {"form": "The form has expired. Try again."}, 400
        else:
            try:
                with transaction(session) as s:
                    saved = policy.save_policy(s, current_user.rcc_id, values, values["note"])
                flash(f"Matching policy version {saved.version} saved. The next run uses it.")
                return redirect(url_for("matching.matching_policy"))
            except FieldErrors as error:
                errors, status = error.errors, 400
            except ServiceError as error:  # another save took this version first: nothing was saved
                errors, status = {"form": error.message}, 409
    else:
        preset = request.args.get("preset", "")
        start = (policy.PolicyValues.of(policy.PRESETS[preset][1]) if preset in policy.PRESETS
                 else policy.PolicyValues.of(current) if current else policy.DEFAULTS)
        values = {**{k: str(v) for k, v in start.as_dict().items()}, "note": ""}
    current_values = policy.PolicyValues.of(current) if current else policy.DEFAULTS
    return render_template(
        "matching/policy.html", fields=policy.FIELDS, values=values, field_errors=errors,
        errors=[{"text": m, "href": f"#{n}" if n != "form" else "#main-content"} for n, m in errors.items()],
        current=current, current_name=policy.describe(current_values, current),
        trade_off=policy.trade_off(current_values), presets=[
            (name, label, policy.trade_off(policy.PolicyValues.of(preset_values)))
            for name, (label, preset_values) in policy.PRESETS.items()],
        versions=policy.versions(session), describe=policy.describe, values_of=policy.PolicyValues.of,
        can_save=_can(RUNNERS), form=form), status


@bp.route("/runs/<int:run_id>/repeat", methods=["POST"])
@allow(*RUNNERS)
def repeat_run(run_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        return run(run_id, [{"text": "The form has expired. Try again.", "href": "#main-content"}], 400)
    chosen = whole_number(request.form.get("policy_id", ""))
    try:
        with transaction(db()) as s:
            repeated = runs.repeat_run(s, run_id, chosen)
        _execute(repeated)
    except NotFound:
        raise
    except runs.ActiveRunExists as error:
        return run(run_id, [{"text": error.message, "href": url_for("matching.run", run_id=error.run_id)}], 409)
    except jobs.QueueUnavailable as error:
        return run(run_id, [{"text": error.message, "href": "#main-content"}], 503)
    except FieldErrors as error:
        return run(run_id, [{"text": m, "href": f"#{n}"} for n, m in error.errors.items()], 400)
    except ServiceError as error:
        return run(run_id, [{"text": error.message, "href": "#main-content"}], 409)
    return redirect(url_for("matching.run", run_id=repeated.id))


@bp.route("/runs/<int:run_id>/compare")
@allow(*RCC_STAFF)
def compare_runs(run_id: int) -> Any:
    """The run beside the run it repeated with another policy: same snapshot, two policies."""
    found = get_or_404(MatchingRun, run_id)
    session = db()
    if found.repeat_of_run_id is None:
        abort(404)
    original = get_or_404(MatchingRun, found.repeat_of_run_id)
    pair = []
    for item in (original, found):
        values, used = policy.values_of_run(session, item)
        pair.append((item, policy.figures(item) if item.stage == "done" else None, policy.describe(values, used),
                     policy.trade_off(values)))
    return render_template("matching/compare.html", pair=pair, run=found)


# Proposals -------------------------------------------------------------------------------

@bp.route("/proposals/<int:proposal_id>")
@allow(*RCC_STAFF, *COUNCIL_STAFF)
def proposal(proposal_id: int) -> Any:
    found = get_or_404(Proposal, proposal_id)
    return _proposal_page(found)


def _proposal_page(found: Proposal, alternative_form: AlternativeForm | None = None,
                   unmatched_form: ReasonForm | None = None, errors: list[dict[str, str]] | None = None,
                   status: int = 200) -> Any:
    session = db()
    referral = session.get(Referral, found.referral_id)
    if referral is None:
        return render_template("errors/404.html"), 404
    child = session.get(Child, referral.child_id)
    named_places = places.places_by_key(session, {found.place_key, found.chosen_place_key})
    home = named_places.get(found.place_key or "")
    chosen = named_places.get(found.chosen_place_key or "") if found.chosen_place_key != found.place_key else None
    row = places.row_for(session, found.place_key) if found.place_key else None
    alternatives = review.alternatives_of(session, found)
    cost_lines, named = alternative_costs(session, found, {a.home_id: a.home.name for a in alternatives if a.home})
    costs = {line.home_id: line for line in cost_lines}
    alternative_form = alternative_form or AlternativeForm()
    alternative_form.home_id.choices = [(a.home_id, a.home.name if a.home else a.home_id)
                                        for a in alternatives]  # place keys: "H7", or "F4" for a household
    offer = session.scalars(select(Offer).where(Offer.proposal_id == found.id).order_by(Offer.id.desc())).first()
    audit_read(AuditAction.MATCHING_PROPOSAL_VIEWED, [found])
    # Other children named in "choosing it instead would leave ... unplaced (reference)".
    audit_read(AuditAction.MATCHING_PROPOSAL_VIEWED, named, shown_as="children who would lose out")
    return render_template(
        "matching/proposal.html", proposal=found, referral=referral, child=child, home=home, chosen=chosen,
        parts=explain.part_lines(found.parts) if found.parts else [], alternatives=alternatives,
        distance_note=distance_precision(precision_of_postcode(child.home_postcode if child else None),
                                         row.location_precision if row else None),
        funnel=[(explain.funnel_rule(step["rule"]), step) for step in found.funnel],
        cannot_reasons=referral_packs.cannot_reasons(session, found.referral_id),
        binding=explain.BINDING_RULE_LABELS[explain.binding_rule(found.funnel, found.all_taken)]
        if found.funnel else None,
        council=session.get(Organisation, found.council_id), offer=offer,
        can_decide=_can(RUNNERS) and review.can_be_decided(session, found), proposed=PROPOSED,
        superseded=found.status in UNDECIDED_STATUSES and review.is_superseded(session, found),
        status_label=PROPOSAL_STATUS_LABELS[found.status], alternative_form=alternative_form,
        unmatched_form=unmatched_form or ReasonForm(prefix="unmatched"), errors=errors or [],
        placement_types=PLACEMENT_TYPES, offer_label=offers.status_label, costs=costs,
        together=len(review.sibling_proposals(session, found)) if found.status == PROPOSED else 1), status


@bp.route("/proposals/<int:proposal_id>/accept", methods=["POST"])
@allow(*RUNNERS)
def accept_proposal(proposal_id: int) -> Any:
    found = get_or_404(Proposal, proposal_id)
    try:
        with transaction(db()) as s:
            offer = review.accept_proposal(s, found)
    except ServiceError as error:
        return _proposal_page(found, errors=[{"text": error.message, "href": "#decision"}], status=409)
    flash(f"Offer sent to the provider. They have until {_when(offer.respond_by)} to answer.")
    return _after_decision(found)


@bp.route("/proposals/<int:proposal_id>/alternative", methods=["POST"])
@allow(*RUNNERS)
def choose_alternative(proposal_id: int) -> Any:
    found = get_or_404(Proposal, proposal_id)
    form = AlternativeForm()
    if not form.validate_on_submit():
        return _proposal_page(found, alternative_form=form, errors=form_errors(form), status=400)
    try:
        with transaction(db()) as s:
            offer = review.choose_alternative(s, found, form.home_id.data, form.reason.data)
    except ServiceError as error:
        return _proposal_page(found, alternative_form=form, errors=put_service_error(form, error),
                              status=400 if isinstance(error, FieldErrors) else 409)
    flash(f"Offer sent for the home you chose. The provider has until {_when(offer.respond_by)} to answer.")
    return _after_decision(found)


@bp.route("/proposals/<int:proposal_id>/unmatched", methods=["POST"])
@allow(*RUNNERS)
def leave_unmatched(proposal_id: int) -> Any:
    found = get_or_404(Proposal, proposal_id)
    form = ReasonForm(prefix="unmatched")
    if not form.validate_on_submit():
        return _proposal_page(found, unmatched_form=form, errors=form_errors(form), status=400)
    try:
        with transaction(db()) as s:
            review.leave_unmatched(s, found, form.reason.data)
    except ServiceError as error:
        return _proposal_page(found, unmatched_form=form, errors=put_service_error(form, error),
                              status=400 if isinstance(error, FieldErrors) else 409)
    flash("The child is left unmatched in this run; they stay in matching for the next run.")
    return _after_decision(found)


def _after_decision(decided: Proposal) -> Any:
    """On to the run's next proposal to review, or back to the run when none is left."""
    following = review.next_to_review(db(), decided)
    if following is None:
        flash("Every proposal in this run has been decided.")
        return redirect(url_for("matching.run", run_id=decided.run_id, show=review.DECIDED))
    return redirect(url_for("matching.proposal", proposal_id=following.id))


# Offers (RCC and councils) ---------------------------------------------------------------

@offers_bp.route("/")
@allow(*RCC_STAFF, *COUNCIL_STAFF)
def offers_list() -> Any:
    session = db()
    found = offers.list_offers(session)
    audit_read(AuditAction.MATCHING_OFFER_LISTED, found)
    return render_template("matching/offers.html", offers=found, **_offer_context(session, found))


def _offer_context(session: Any, found: list[Offer]) -> dict[str, Any]:
    referrals = {r.id: r for r in session.scalars(select(Referral).where(
        Referral.id.in_({o.referral_id for o in found})))} if found else {}
    return {"homes": offers.places_of(session, found), "referrals": referrals,
            "children": _children_of(session, list(referrals.values())),
            "councils": _councils(session, {o.council_id for o in found} | {o.provider_id for o in found}),
            "offer_label": offers.status_label, "offer_tag": offers.status_tag,
            "decline_reasons": offers.DECLINE_REASONS}


@offers_bp.route("/<int:offer_id>")
@allow(*RCC_STAFF, *COUNCIL_STAFF)
def offer(offer_id: int) -> Any:
    return _offer_page(get_or_404(Offer, offer_id))


def _offer_page(found: Offer, form: ReasonForm | None = None, errors: list[dict[str, str]] | None = None,
                status: int = 200, decline_form: DeclineForm | None = None,
                next_form: NextHomeForm | None = None) -> Any:
    session = db()
    audit_read(AuditAction.MATCHING_OFFER_VIEWED, [found])
    decline_form = decline_form or DeclineForm()
    decline_form.reason.choices = list(offers.DECLINE_REASONS.items())
    next_form = next_form or NextHomeForm(prefix="next")
    next_homes = review.next_homes(session, found) if _can(RUNNERS) else []
    next_form.home_id.choices = [(line.home_id, line.home.name if line.home else "") for line in next_homes]  # place keys
    return render_template("matching/offer.html", offer=found, profile=offers.anonymised_profile(found),
                           form=form or ReasonForm(), errors=errors or [], decline_form=decline_form,
                           profiles=offers.group_profiles(session, found),
                           can_answer=_answers_for_household(found) and found.status == "sent"
                           and not offers.is_expired(found), next_form=next_form, next_homes=next_homes,
                           can_withdraw=_can(RUNNERS) and found.status in ("sent", "accepted"),
                           can_decide=_can(COUNCIL_DECIDERS) and found.status == PROVIDER_ACCEPTED
                           and found.council_id == current_user.organisation_id,
                           **_offer_context(session, [found])), status


@offers_bp.route("/<int:offer_id>/withdraw", methods=["POST"])
@allow(*RUNNERS)
def withdraw_offer(offer_id: int) -> Any:
    found = get_or_404(Offer, offer_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _offer_page(found, form, form_errors(form), 400)
    try:
        with transaction(db()) as s:
            offers.withdraw_offer(s, found, form.reason.data)
    except ServiceError as error:
        return _offer_page(found, form, put_service_error(form, error), 409)
    flash("Offer withdrawn; the child is back in matching.")
    return redirect(url_for("matching_offers.offer", offer_id=found.id))


# A council answers offers for its own in-house foster households, as a provider answers for its homes

def _answers_for_household(found: Offer) -> bool:
    """The signed-in council owns the offer's foster household (its in-house carers) and may answer."""
    return (found.foster_household_id is not None and _can(COUNCIL_DECIDERS)
            and found.provider_id == current_user.organisation_id)


@offers_bp.route("/<int:offer_id>/accept", methods=["POST"])
@allow(*COUNCIL_DECIDERS)
def household_accept(offer_id: int) -> Any:
    found = get_or_404(Offer, offer_id)
    if not _answers_for_household(found):
        abort(403)
    try:
        with transaction(db()) as s:
            offers.accept_offer(s, found)
    except ServiceError as error:
        db().refresh(found)
        return _offer_page(found, errors=[{"text": error.message, "href": "#answer"}], status=409)
    flash("You accepted the offer for your foster household; its place is now taken for the child.")
    return redirect(url_for("matching_offers.offer", offer_id=found.id))


@offers_bp.route("/<int:offer_id>/decline", methods=["POST"])
@allow(*COUNCIL_DECIDERS)
def household_decline(offer_id: int) -> Any:
    found = get_or_404(Offer, offer_id)
    if not _answers_for_household(found):
        abort(403)
    form = DeclineForm()
    form.reason.choices = list(offers.DECLINE_REASONS.items())
    if not form.validate_on_submit():
        return _offer_page(found, errors=form_errors(form), status=400, decline_form=form)
    try:
        with transaction(db()) as s:
            offers.decline_offer(s, found, form.reason.data, form.details.data or "")
    except ServiceError as error:
        db().refresh(found)
        return _offer_page(found, errors=put_service_error(form, error), decline_form=form,
                           status=400 if isinstance(error, FieldErrors) else 409)
    flash("You declined the offer for your foster household.")
    return redirect(url_for("matching_offers.offers_list"))


@offers_bp.route("/<int:offer_id>/offer-next-home", methods=["POST"])
@allow(*RUNNERS)
def offer_next_home(offer_id: int) -> Any:
    found = get_or_404(Offer, offer_id)
    form = NextHomeForm(prefix="next")
    if not form.validate_on_submit():
        return _offer_page(found, errors=form_errors(form), status=400, next_form=form)
    try:
        with transaction(db()) as s:
            made = review.offer_next_home(s, found, form.home_id.data)
    except ServiceError as error:
        return _offer_page(found, errors=put_service_error(form, error), next_form=form,
                           status=400 if isinstance(error, FieldErrors) else 409)
    flash(f"Offer sent to the next home. The provider has until {_when(made.respond_by)} to answer.")
    return redirect(url_for("matching_offers.offer", offer_id=made.id))


# Offers (providers): only the offer, its home and the anonymised profile reach these templates

@provider_bp.route("/")
@allow(*PROVIDERS)
def provider_offers() -> Any:
    session = db()
    found = offers.list_offers(session)
    audit_read(AuditAction.MATCHING_OFFER_LISTED, found)
    return render_template("matching/provider_offers.html", offers=found,
                           homes=offers.places_of(session, found),
                           profiles={o.id: offers.anonymised_profile(o) for o in found},
                           offer_label=offers.status_label, offer_tag=offers.status_tag)


@provider_bp.route("/<int:offer_id>")
@allow(*PROVIDERS)
def provider_offer(offer_id: int) -> Any:
    return _provider_offer_page(get_or_404(Offer, offer_id))


def _provider_offer_page(found: Offer, form: DeclineForm | None = None, errors: list[dict[str, str]] | None = None,
                         status: int = 200) -> Any:
    form = form or DeclineForm()
    form.reason.choices = list(offers.DECLINE_REASONS.items())
    audit_read(AuditAction.MATCHING_OFFER_VIEWED, [found])
    return render_template("matching/provider_offer.html", offer=found, profile=offers.anonymised_profile(found),
                           profiles=offers.group_profiles(db(), found),
                           home=offers.places_of(db(), [found]).get(found.place_key), form=form,
                           errors=errors or [],
                           can_answer=found.status == "sent" and not offers.is_expired(found),
                           expired=offers.is_expired(found), offer_label=offers.status_label,
                           offer_tag=offers.status_tag, decline_reasons=offers.DECLINE_REASONS), status


@provider_bp.route("/<int:offer_id>/accept", methods=["POST"])
@allow(*PROVIDERS)
def provider_accept(offer_id: int) -> Any:
    found = get_or_404(Offer, offer_id)
    try:
        with transaction(db()) as s:
            offers.accept_offer(s, found)
    except ServiceError as error:
        db().refresh(found)
        return _provider_offer_page(found, errors=[{"text": error.message, "href": "#answer"}], status=409)
    flash("You accepted the offer. The child's council will now decide, and you will see their answer here.")
    return redirect(url_for("matching_provider.provider_offer", offer_id=found.id))


@provider_bp.route("/<int:offer_id>/decline", methods=["POST"])
@allow(*PROVIDERS)
def provider_decline(offer_id: int) -> Any:
    found = get_or_404(Offer, offer_id)
    form = DeclineForm()
    form.reason.choices = list(offers.DECLINE_REASONS.items())
    if not form.validate_on_submit():
        return _provider_offer_page(found, form, form_errors(form), 400)
    try:
        with transaction(db()) as s:
            offers.decline_offer(s, found, form.reason.data, form.details.data or "")
    except ServiceError as error:
        db().refresh(found)
        return _provider_offer_page(found, form, put_service_error(form, error),
                                    400 if isinstance(error, FieldErrors) else 409)
    flash("You declined the offer. Thank you for answering.")
    return redirect(url_for("matching_provider.provider_offers"))


# Approvals (councils) --------------------------------------------------------------------

@approvals_bp.route("/")
@allow(*COUNCIL_STAFF)
def approvals_list() -> Any:
    session = db()
    # A council owning a foster household also reads other councils' offers for it: only its own
    # children's are its to approve.
    waiting = [o for o in offers.list_offers(session, statuses=(PROVIDER_ACCEPTED,))
               if o.council_id == current_user.organisation_id]
    audit_read(AuditAction.MATCHING_OFFER_LISTED, waiting)
    return render_template("matching/approvals.html", offers=waiting, **_offer_context(session, waiting))


@approvals_bp.route("/<int:offer_id>")
@allow(*COUNCIL_STAFF)
def approval(offer_id: int) -> Any:
    found = get_or_404(Offer, offer_id)
    form = ApproveForm()
    if not form.is_submitted():
        form.weekly_cost.data = f"{found.weekly_cost / 100:.2f}" if found.weekly_cost else ""
    return _approval_page(found, form)


def _approval_page(found: Offer, form: ApproveForm, reject_form: ReasonForm | None = None,
                   errors: list[dict[str, str]] | None = None, status: int = 200) -> Any:
    session = db()
    audit_read(AuditAction.MATCHING_OFFER_VIEWED, [found])
    return render_template("matching/approval.html", offer=found, form=form,
                           reject_form=reject_form or ReasonForm(prefix="reject"),
                           profile=offers.anonymised_profile(found), errors=errors or [],
                           can_decide=_can(COUNCIL_DECIDERS) and found.status == PROVIDER_ACCEPTED
                           and found.council_id == current_user.organisation_id,
                           **_offer_context(session, [found])), status


@approvals_bp.route("/<int:offer_id>/approve", methods=["POST"])
@allow(*COUNCIL_DECIDERS)
def approve(offer_id: int) -> Any:
    found = get_or_404(Offer, offer_id)
    form = ApproveForm()
    errors = approvals.check_approval(form.start_date(), form.weekly_cost_pence(), date.today())
    if errors:
        return _approval_page(found, form, errors=put_service_error(form, FieldErrors(errors), fields=APPROVAL_FIELDS),
                              status=400)
    try:
        with transaction(db()) as s:
            placement = approvals.approve_offer(s, found, form.start_date(), form.weekly_cost_pence())
    except ServiceError as error:
        db().refresh(found)
        if isinstance(error, FieldErrors):
            return _approval_page(found, form, errors=put_service_error(form, error, fields=APPROVAL_FIELDS),
                                  status=400)
        return _approval_page(found, form, errors=[{"text": error.message, "href": "#decision"}], status=409)
    flash(f"Approved. The placement starts on {placement.start_date:%-d %B %Y} and the place is taken.")
    return redirect(url_for("matching_placements.placements"))


APPROVAL_FIELDS = {"start_date": "start_day"}  # the service's date is the form's three boxes


@approvals_bp.route("/<int:offer_id>/reject", methods=["POST"])
@allow(*COUNCIL_DECIDERS)
def reject(offer_id: int) -> Any:
    found = get_or_404(Offer, offer_id)
    form = ReasonForm(prefix="reject")
    if not form.validate_on_submit():
        return _approval_page(found, ApproveForm(), form, form_errors(form), 400)
    try:
        with transaction(db()) as s:
            approvals.reject_offer(s, found, form.reason.data)
    except ServiceError as error:
        db().refresh(found)
        return _approval_page(found, ApproveForm(), form, put_service_error(form, error), 409)
    flash("You rejected the home. The child is back in matching and this home will not be proposed again.")
    return redirect(url_for("matching_approvals.approvals_list"))


# Placements (councils) -------------------------------------------------------------------

@placements_bp.route("/")
@allow(*COUNCIL_STAFF, *RCC_STAFF)
def placements() -> Any:
    session = db()
    found = approvals.list_placements(session)
    audit_read(AuditAction.PLACEMENT_LISTED, found)
    referrals = {r.id: r for r in session.scalars(select(Referral).where(
        Referral.id.in_({p.referral_id for p in found})))} if found else {}
    return render_template("matching/placements.html", placements=found,
                           homes=offers.places_of(session, found),
                           children=_children_of(session, list(referrals.values())),
                           councils=_councils(session, {p.council_id for p in found}),
                           reasons=approvals.end_reasons(), can_end=_can(COUNCIL_DECIDERS),
                           own_organisation_id=current_user.organisation_id)


@placements_bp.route("/<int:placement_id>/end", methods=["GET", "POST"])
@allow(*COUNCIL_DECIDERS)
def end_placement(placement_id: int) -> Any:
    found = get_or_404(Placement, placement_id)
    form = EndPlacementForm()
    form.reason_code.choices = [("", "Select a reason"), *approvals.end_reasons().items()]
    errors: list[dict[str, str]] = []
    conflict = False
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with transaction(db()) as s:
                    placement_service.end_placement(s, found, form.end_date(), form.reason_code.data)
                flash("The placement has ended and its place in the home is free again.")
                return redirect(url_for("matching_placements.placements"))
            except ServiceError as error:
                errors = put_service_error(form, error, general="end_day", fields={"end_date": "end_day"})
                conflict = not isinstance(error, FieldErrors)
        else:
            errors = form_errors(form)
    session = db()
    child = session.get(Child, found.child_id)
    audit_read(AuditAction.PLACEMENT_VIEWED, [found], form="end")
    return render_template("matching/end_placement.html", placement=found, form=form, errors=errors,
                           home=offers.places_of(session, [found]).get(found.place_key), child=child), \
        409 if conflict else 400 if errors else 200


# Shortage report (RCC) -------------------------------------------------------------------

@shortage_bp.route("/")
@allow(*RCC_STAFF)
def shortage_report() -> Any:
    session = db()
    report = shortage.shortage_report(session, runs.latest_finished_run(session))
    return render_template("matching/shortage.html", report=report, rule_labels=explain.BINDING_RULE_LABELS,
                           pressure_chart=shortage.pressure_chart(report))


@shortage_bp.route("/download.csv")
@allow(*RCC_STAFF)
def shortage_csv() -> Any:
    session = db()
    report = shortage.shortage_report(session, runs.latest_finished_run(session))
    name = f"shortage-run-{report.run.id}.csv" if report.run else "shortage.csv"
    return Response(shortage.shortage_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
