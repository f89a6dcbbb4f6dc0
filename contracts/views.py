"""Contracts' pages: read the form, call a service, render. Rules live in services/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlmodel import col
from werkzeug.wrappers import Response as BaseResponse

from commissioning.models import Home, Placement
from commissioning.vocabulary import NEEDS_AND_RISKS, PLACEMENT_TYPES
from contracts import charts, forms
from contracts.models import Bid, BlockContract, ClarificationQuestion, Lot, PlacementAgreement, Tender
from contracts.services import (
    agreements,
    clarifications,
    documents,
    evaluation,
    letters,
    tenders,
    utilisation,
    variations,
)
from contracts.services import bids as bid_service
from contracts.services import contracts as contract_service
from contracts.services import settings as tender_rules
from contracts.services.common import percentage
from rcc import audit as audit_trail
from rcc import numbers
from rcc.audit import AuditAction
from rcc.db import Session, transaction
from rcc.errors import Conflict, FieldErrors, NotFound, ServiceError
from rcc.models import Organisation, utcnow
from rcc.permissions import allow
from rcc.roles import COUNCIL_STAFF, EVERY_ROLE, PROVIDER_STAFF, RCC_STAFF, Role
from rcc.tenancy import OrgKind
from rcc.versions import EditConflict, conflict_summary, parse_version
from rcc.web import db

bp = Blueprint("contracts", __name__, template_folder="templates", url_prefix="/contracts")
Result = TypeVar("Result")

COMMISSIONER = (Role.RCC_COMMISSIONER,)
EVALUATION_READERS = (Role.RCC_COMMISSIONER, Role.RCC_ADMIN)
CONTRACT_READERS = (Role.RCC_COMMISSIONER, Role.RCC_ADMIN, Role.RCC_PLACEMENT_OFFICER, Role.COUNCIL_FINANCE_LEAD,
                    Role.COUNCIL_ADMIN, Role.PROVIDER_MANAGER)
# Where the error summary should take you, when a field's input has a different id from its name.
ANCHORS = {"clarification_closes_at": "clarification_closes_date", "bids_close_at": "bids_close_date",
           "questions": "question_1"}


def register(app: Flask) -> None:
    from rcc.layout import add_home_link, add_nav_item  # noqa: PLC0415

    app.register_blueprint(bp)
    add_nav_item(app, "Tenders", "contracts.tender_list", (*RCC_STAFF, *PROVIDER_STAFF), order=40)
    add_nav_item(app, "Block contracts", "contracts.contract_list",
                 (Role.RCC_COMMISSIONER, Role.RCC_ADMIN, Role.COUNCIL_FINANCE_LEAD), order=45)
    add_home_link(app, "Tenders", "Block tenders: lots, questions and answers, bids and evaluation.",
                  "contracts.tender_list", (*RCC_STAFF, *PROVIDER_STAFF, *COUNCIL_STAFF), order=40)
    add_home_link(app, "Block contracts", "Reserved places, prices, uplifts, cost shares and how well places are used.",
                  "contracts.contract_list", CONTRACT_READERS, order=45)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"percentage": percentage, "tender_status": tenders.tender_status,
            "STATUS_LABELS": tenders.STATUS_LABELS, "STATUS_TAG_CLASSES": tenders.STATUS_TAG_CLASSES,
            "uk_datetime": _uk_datetime, "uk_date": _uk_date, "NEEDS_AND_RISKS": NEEDS_AND_RISKS,
            "PLACEMENT_TYPES": PLACEMENT_TYPES, "MARKS": evaluation.MARKS}


def _uk_datetime(moment: Any) -> str:
    if moment is None:
        return ""
    if not hasattr(moment, "hour"):
        return _uk_date(moment)
    local = tenders.aware(moment).astimezone(forms.UK)
    return local.strftime("%-d %B %Y at %-I:%M%p").replace("AM", "am").replace("PM", "pm")


def _uk_date(day: Any) -> str:
    return day.strftime("%-d %B %Y") if day else ""


def _summary(errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"text": message, "href": f"#{_anchor(field)}"} for field, message in errors.items()]


def _anchor(field: str) -> str:
    return ANCHORS.get(field, field)


def _kind() -> str:
    return str(current_user.organisation_kind)


def _ok(message: str) -> None:
    flash(message, "success")


def _change(change: Callable[[Session], Result], done: str | Callable[[Result], str],
            then: str | Callable[[Result], str], *, back: str) -> tuple[BaseResponse | None, dict[str, str]]:
    """Make ``change`` in one transaction. After success: flash ``done``, redirect to ``then``.
    After a conflict: flash its message as an error, redirect to ``back``. When the input needs
    correcting: no redirect, and the field errors for the form to show again."""
    try:
        with transaction(db()) as s:
            result = change(s)
    except FieldErrors as problem:
        return None, problem.errors
    except EditConflict:
        raise  # the page shows the form again with what changed
    except Conflict as problem:
        flash(problem.message, "error")
        return redirect(back), {}
    _ok(done if isinstance(done, str) else done(result))
    return redirect(then if isinstance(then, str) else then(result)), {}


def _or_404(find: Any, *args: Any) -> Any:
    try:
        return find(db(), *args)
    except NotFound:
        abort(404)


def _tender(tender_id: int) -> Tender:
    return _or_404(tenders.get_tender, tender_id)


def _lot(lot_id: int) -> tuple[Tender, Lot]:
    return _or_404(tenders.get_lot, lot_id)


def _councils() -> list[Organisation]:
    return list(db().scalars(select(Organisation).where(Organisation.kind == OrgKind.COUNCIL)
                             .order_by(Organisation.name)))


# Tenders --------------------------------------------------------------------------------

@bp.route("/tenders")
@allow(*EVERY_ROLE)
def tender_list() -> Any:
    now = utcnow()
    found = tenders.visible_tenders(db(), now)
    return render_template("contracts/tenders.html", tenders=found, now=now)


@bp.route("/tenders/new", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def new_tender() -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        details, errors = forms.tender_from(request.form)
        if not errors:
            moved, errors = _change(
                lambda s: tenders.create_tender(s, current_user.rcc_id, details, current_user.id),
                lambda tender: f"Tender {tender.reference} saved as a draft. Add its lots, then publish it.",
                lambda tender: url_for(".tender_detail", tender_id=tender.id), back=url_for(".tender_list"))
            if moved:
                return moved
    return render_template("contracts/tender_form.html", values=request.form, errors=_summary(errors),
                           field_errors=errors, tender=None)


@bp.route("/tenders/<int:tender_id>/edit", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def edit_tender(tender_id: int) -> Any:
    tender = _tender(tender_id)
    errors: dict[str, str] = {}
    values: Any = request.form
    if request.method == "POST":
        details, errors = forms.tender_from(request.form)
        if not errors:
            page = url_for(".tender_detail", tender_id=tender.id)
            seen = parse_version(request.form.get("row_version"))
            try:
                moved, errors = _change(lambda s: tenders.update_tender(s, tender, details, utcnow(), seen),
                                        "Tender saved", page, back=page)
            except EditConflict as conflict:
                values = {**request.form.to_dict(), "row_version": str(conflict.current_version)}
                return render_template("contracts/tender_form.html", values=values, field_errors={}, tender=tender,
                                       errors=conflict_summary(conflict, lambda name: (name.replace("_", " ")
                                                                                       .capitalize(), _anchor(name))))
            if moved:
                return moved
    else:
        values = {"reference": tender.reference, "title": tender.title, "description": tender.description,
                  "clarification_closes_date": forms.uk_date_text(tenders.aware(tender.clarification_closes_at)),
                  "clarification_closes_time": forms.uk_time_text(tenders.aware(tender.clarification_closes_at)),
                  "bids_close_date": forms.uk_date_text(tenders.aware(tender.bids_close_at)),
                  "bids_close_time": forms.uk_time_text(tenders.aware(tender.bids_close_at)),
                  "contract_start": tender.contract_start.strftime("%-d/%-m/%Y"), "row_version": tender.row_version}
    return render_template("contracts/tender_form.html", values=values, errors=_summary(errors),
                           field_errors=errors, tender=tender)


@bp.route("/tenders/<int:tender_id>")
@allow(*EVERY_ROLE)
def tender_detail(tender_id: int) -> Any:
    tender = _tender(tender_id)
    now = utcnow()
    s = db()
    lots = tenders.lots_of(s, tender)
    kind = _kind()
    own_bids = {}
    if kind == OrgKind.PROVIDER:
        own_bids = {b.lot_id: b for b in bid_service.own_bids(s) if b.tender_id == tender.id}
    return render_template(
        "contracts/tender.html", tender=tender, now=now, status=tenders.tender_status(tender, now), lots=lots,
        questions={lot.id: tenders.questions_of(s, lot) for lot in lots},
        councils={c.id: c.name for c in _councils()}, timeline=tenders.timeline(tender),
        answers=clarifications.published_answers(s, tender),
        asked=clarifications.questions_for(s, tender) if kind in (OrgKind.RCC, OrgKind.PROVIDER) else [],
        own_bids=own_bids, kind=kind, accepts_bids=tenders.accepts_bids(tender, now),
        accepts_questions=tenders.accepts_questions(tender, now), unsealed=tenders.bids_unsealed(tender, now),
        is_commissioner=current_user.has_any_role(("rcc_commissioner",)),
        can_evaluate=current_user.has_any_role(tuple(map(str, EVALUATION_READERS))),
        contracts_by_lot={c.lot_id: c for c in s.scalars(select(BlockContract).where(
            BlockContract.tender_id == tender.id))},
        result_visible=tenders.is_awarded(tender), documents=documents.documents_of(s, tender),
        document_labels=documents.KIND_LABELS,
        award_letters=(found_letters := {x.bid_id: x for x in letters.letters_for(s, tender)}
                       if tenders.is_awarded(tender) else {}),
        letters_by_lot=letters.by_lot(s, list(found_letters.values())))


@bp.route("/tenders/<int:tender_id>/lots/new", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def new_lot(tender_id: int) -> Any:
    tender = _tender(tender_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        details, errors = forms.lot_from(request.form)
        if not errors:
            page = url_for(".tender_detail", tender_id=tender.id)
            moved, errors = _change(lambda s: tenders.add_lot(s, tender, details, utcnow()),
                                    lambda lot: f"Lot {lot.number} added", page, back=page)
            if moved:
                return moved
    values = request.form if request.method == "POST" else {"price_weight": "60", "extension_months": "0",
                                                            "max_extensions": "0"}
    return render_template("contracts/lot_form.html", tender=tender, values=values, errors=_summary(errors),
                           field_errors=errors, councils=_councils(), max_questions=forms.MAX_QUESTIONS,
                           chosen_councils=request.form.getlist("council_ids"), chosen_needs=request.form.getlist("needs"))


@bp.route("/lots/<int:lot_id>/edit", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def edit_lot(lot_id: int) -> Any:
    tender, lot = _lot(lot_id)
    errors: dict[str, str] = {}
    page = url_for(".tender_detail", tender_id=tender.id)
    if request.method == "POST":
        details, errors = forms.lot_from(request.form)
        if not errors:
            moved, errors = _change(lambda s: tenders.update_lot(s, tender, lot, details, utcnow()),
                                    f"Lot {lot.number} saved", page, back=page)
            if moved:
                return moved
        values: Any = request.form
        chosen_councils, chosen_needs = request.form.getlist("council_ids"), request.form.getlist("needs")
    else:
        if tenders.tender_status(tender, utcnow()) != tenders.DRAFT:
            flash("You can only change a lot while the tender is a draft", "error")
            return redirect(page)
        values = {"title": lot.title, "placement_type": lot.placement_type, "places": str(lot.places),
                  "max_weekly_price": f"{lot.max_weekly_price / 100:.2f}", "term_months": str(lot.term_months),
                  "extension_months": str(lot.extension_months), "max_extensions": str(lot.max_extensions),
                  "price_weight": str(lot.price_weight),
                  **{f"question_{q.number}": q.text for q in tenders.questions_of(db(), lot)},
                  **{f"weight_{q.number}": str(q.weight) for q in tenders.questions_of(db(), lot)}}
        chosen_councils, chosen_needs = [str(i) for i in lot.council_ids], list(lot.needs)
    return render_template("contracts/lot_form.html", tender=tender, lot=lot, values=values, errors=_summary(errors),
                           field_errors=errors, councils=_councils(), max_questions=forms.MAX_QUESTIONS,
                           chosen_councils=chosen_councils, chosen_needs=chosen_needs)


@bp.route("/lots/<int:lot_id>/withdraw", methods=["POST"])
@allow(*COMMISSIONER)
def withdraw_lot(lot_id: int) -> Any:
    tender, lot = _lot(lot_id)
    try:
        with transaction(db()) as s:
            tenders.remove_lot(s, tender, lot, utcnow())
        _ok(f"Lot {lot.number} withdrawn")
    except ServiceError as problem:
        flash(problem.message, "error")
    return redirect(url_for(".tender_detail", tender_id=tender.id))


@bp.route("/tenders/<int:tender_id>/documents", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def upload_document(tender_id: int) -> Any:
    tender = _tender(tender_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        upload = request.files.get("file")
        content = upload.read(documents.MAX_DOCUMENT_BYTES + 1) if upload else b""
        filename = (upload.filename or "") if upload else ""
        kind = request.form.get("kind", "")
        page = url_for(".tender_detail", tender_id=tender.id)
        moved, errors = _change(
            lambda s: documents.upload_document(s, tender, kind, filename, content, current_user.id, utcnow()),
            lambda document: f"{documents.KIND_LABELS[document.kind]} uploaded: {document.filename}",
            page + "#documents", back=page)
        if moved:
            return moved
    return render_template("contracts/document_form.html", tender=tender, values=request.form,
                           errors=_summary(errors), field_errors=errors, kinds=documents.KIND_LABELS,
                           allowed=documents.ALLOWED_TEXT, max_mb=documents.MAX_DOCUMENT_BYTES // (1024 * 1024))


@bp.route("/tenders/<int:tender_id>/documents/<any(specification,terms,pricing_schedule):kind>")
@allow(*EVERY_ROLE)
def download_document(tender_id: int, kind: str) -> Any:
    try:
        with transaction(db()) as s:
            document = documents.download_document(s, tender_id, kind)
            content, filename, content_type = document.content, document.filename, document.content_type
    except NotFound:
        abort(404)
    return Response(content, mimetype=content_type, headers={
        "Content-Disposition": f'attachment; filename="{_safe_filename(filename)}"',
        "X-Content-Type-Options": "nosniff"})


def _safe_filename(name: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in name)[:200] or "document"


@bp.route("/bids/<int:bid_id>/award-letter")
@allow(Role.PROVIDER_MANAGER, *EVALUATION_READERS)
def award_letter(bid_id: int) -> Any:
    try:
        with transaction(db()) as s:
            letter, bid, provider = letters.letter_for_bid(s, bid_id)
            html, tender = letter.html, tenders.get_tender(s, bid.tender_id)
    except NotFound:
        abort(404)
    if request.args.get("format") == "pdf":
        from contracts.pdf import render_report_pdf  # noqa: PLC0415 - WeasyPrint is heavy; load it only here

        pdf = render_report_pdf(render_template("contracts/award_letter_pdf.html", letter_html=html, tender=tender))
        return Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="award-letter-{_safe_filename(tender.reference)}-{bid_id}.pdf"'})
    return render_template("contracts/award_letter.html", letter_html=html, tender=tender, bid_id=bid_id,
                           provider=provider)


@bp.route("/tender-settings", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def tender_settings() -> Any:
    errors: dict[str, str] = {}
    current = tender_rules.settings_for(db(), current_user.rcc_id)
    values: Any = {"min_tender_days": str(current.min_tender_days), "standstill_days": str(current.standstill_days)}
    if request.method == "POST":
        values = request.form
        moved, errors = _change(
            lambda s: tender_rules.update_settings(s, current_user.rcc_id, forms.parse_int(values.get("min_tender_days")),
                                                   forms.parse_int(values.get("standstill_days")), current_user.id,
                                                   utcnow()),
            "Tender rules saved", url_for(".tender_list"), back=url_for(".tender_settings"))
        if moved:
            return moved
    return render_template("contracts/tender_settings.html", values=values, errors=_summary(errors),
                           field_errors=errors)


def _move(tender_id: int, move: Any, done: str) -> Any:
    tender = _tender(tender_id)
    try:
        with transaction(db()) as s:
            move(s, tender, utcnow())
        _ok(done)
    except FieldErrors as problem:
        flash(" ".join(problem.errors.values()), "error")
    except ServiceError as problem:
        flash(problem.message, "error")
    return redirect(url_for(".tender_detail", tender_id=tender.id))


@bp.route("/tenders/<int:tender_id>/publish", methods=["POST"])
@allow(*COMMISSIONER)
def publish_tender(tender_id: int) -> Any:
    return _move(tender_id, tenders.publish, "Tender published: providers can now see it, ask questions and bid")


@bp.route("/tenders/<int:tender_id>/start-evaluation", methods=["POST"])
@allow(*COMMISSIONER)
def start_evaluation(tender_id: int) -> Any:
    return _move(tender_id, tenders.start_evaluation, "Evaluation started: bids are open to the evaluation panel")


@bp.route("/tenders/<int:tender_id>/award", methods=["POST"])
@allow(*COMMISSIONER)
def award_tender(tender_id: int) -> Any:
    return _move(tender_id, evaluation.award_tender,
                 "Tender awarded. Every bidder has been sent an award letter and the standstill period has started.")


@bp.route("/tenders/<int:tender_id>/cancel", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def cancel_tender(tender_id: int) -> Any:
    tender = _tender(tender_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        page = url_for(".tender_detail", tender_id=tender.id)
        moved, errors = _change(lambda s: tenders.cancel(s, tender, request.form.get("reason", ""), utcnow()),
                                "Tender cancelled", page, back=page)
        if moved:
            return moved
    return render_template("contracts/cancel.html", tender=tender, values=request.form, errors=_summary(errors),
                           field_errors=errors)


# Clarifications -------------------------------------------------------------------------

@bp.route("/tenders/<int:tender_id>/ask", methods=["GET", "POST"])
@allow(*PROVIDER_STAFF)
def ask_question(tender_id: int) -> Any:
    tender = _tender(tender_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        page = url_for(".tender_detail", tender_id=tender.id)
        moved, errors = _change(
            lambda s: clarifications.ask_question(s, tender, request.form.get("text", ""), current_user.id, utcnow()),
            "Question sent. When the RCC answers, the answer is published to every provider without your name.",
            page + "#clarifications", back=page)
        if moved:
            return moved
    return render_template("contracts/ask.html", tender=tender, values=request.form, errors=_summary(errors),
                           field_errors=errors)


@bp.route("/questions/<int:clarification_id>/answer", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def answer_question(clarification_id: int) -> Any:
    question: ClarificationQuestion = _or_404(clarifications.get_question, clarification_id)
    tender = _tender(question.tender_id)
    errors: dict[str, str] = {}
    values: Any = request.form if request.method == "POST" else {"published_question": question.text}
    if request.method == "POST":
        page = url_for(".tender_detail", tender_id=tender.id)
        moved, errors = _change(
            lambda s: clarifications.answer_question(s, question, request.form.get("published_question", ""),
                                                     request.form.get("answer", ""), utcnow()),
            "Answer published to every provider", page + "#clarifications", back=page)
        if moved:
            return moved
    return render_template("contracts/answer.html", tender=tender, question=question, values=values,
                           errors=_summary(errors), field_errors=errors)


# Bids -----------------------------------------------------------------------------------

@bp.route("/lots/<int:lot_id>/bid", methods=["GET", "POST"])
@allow(*PROVIDER_STAFF)
def bid_form(lot_id: int) -> Any:
    tender, lot = _lot(lot_id)
    s = db()
    questions = tenders.questions_of(s, lot)
    existing = bid_service.own_bid(s, lot)
    now = utcnow()
    if not tenders.accepts_bids(tender, now):
        flash(f"Bids for this tender closed on {_uk_datetime(tender.bids_close_at)}", "error")
        return redirect(url_for(".tender_detail", tender_id=tender.id))
    errors: dict[str, str] = {}
    if request.method == "POST":
        details, errors = forms.bid_from(request.form, [q.id or 0 for q in questions])
        if not errors:
            moved, errors = _change(
                lambda s: bid_service.submit_bid(s, lot, details, current_user.id, now),
                f"Bid {'updated' if existing else 'submitted'}. You can change it until "
                f"{_uk_datetime(tender.bids_close_at)}.",
                lambda bid: url_for(".bid_detail", bid_id=bid.id),
                back=url_for(".tender_detail", tender_id=tender.id))
            if moved:
                return moved
        values: Any = request.form
        chosen = request.form.getlist("home_ids")
    elif existing:
        values = {"weekly_price": f"{existing.weekly_price / 100:.2f}", "places_offered": existing.places_offered,
                  "summary": existing.summary, **{f"answer_{k}": v for k, v in existing.answers.items()}}
        chosen = [str(i) for i in existing.home_ids]
    else:
        values, chosen = {}, []
    return render_template("contracts/bid_form.html", tender=tender, lot=lot, questions=questions,
                           homes=bid_service.provider_homes(s, lot), existing=existing, values=values, chosen=chosen,
                           errors=_summary(errors), field_errors=errors)


@bp.route("/bids/<int:bid_id>")
@allow(Role.PROVIDER_MANAGER, *EVALUATION_READERS)
def bid_detail(bid_id: int) -> Any:
    now = utcnow()
    bid: Bid = _or_404(bid_service.get_bid, bid_id, now)
    tender, lot = _lot(bid.lot_id)
    s = db()
    homes = list(s.scalars(select(Home).where(col(Home.id).in_(bid.home_ids)).order_by(Home.name)))
    return render_template("contracts/bid.html", bid=bid, tender=tender, lot=lot, homes=homes,
                           questions=tenders.questions_of(s, lot), provider=s.get(Organisation, bid.provider_id),
                           accepts_bids=tenders.accepts_bids(tender, now), kind=_kind(),
                           result_visible=bid_service.result_visible(bid, tender))


@bp.route("/bids/<int:bid_id>/withdraw", methods=["POST"])
@allow(*PROVIDER_STAFF)
def withdraw_bid(bid_id: int) -> Any:
    now = utcnow()
    bid: Bid = _or_404(bid_service.get_bid, bid_id, now)
    try:
        with transaction(db()) as s:
            bid_service.withdraw_bid(s, bid, now)
        _ok("Bid withdrawn")
    except ServiceError as problem:
        flash(problem.message, "error")
    return redirect(url_for(".tender_detail", tender_id=bid.tender_id))


# Evaluation -----------------------------------------------------------------------------

@bp.route("/lots/<int:lot_id>/evaluation")
@allow(*EVALUATION_READERS)
def lot_evaluation(lot_id: int) -> Any:
    tender, lot = _lot(lot_id)
    now = utcnow()
    report = _or_404(evaluation.lot_report, lot, now, current_user.id)
    return render_template("contracts/evaluation.html", report=report, tender=tender, lot=lot,
                           status=tenders.tender_status(tender, now),
                           is_commissioner=current_user.has_any_role(("rcc_commissioner",)))


def _bid_for_evaluation(bid_id: int) -> tuple[Tender, Lot, Bid]:
    bid: Bid = _or_404(bid_service.get_bid, bid_id, utcnow())
    tender, lot = _lot(bid.lot_id)
    return tender, lot, bid


@bp.route("/bids/<int:bid_id>/marks", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def mark_bid(bid_id: int) -> Any:
    tender, lot, bid = _bid_for_evaluation(bid_id)
    s = db()
    questions = tenders.questions_of(s, lot)
    errors: dict[str, str] = {}
    mine = {score.question_id: score for scores in evaluation.evaluator_scores(s, lot, current_user.id).values()
            for score in scores if score.bid_id == bid.id and score.evaluator_user_id == current_user.id}
    if request.method == "POST":
        marks = {q.id: forms.parse_int(request.form.get(f"mark_{q.id}")) for q in questions}
        errors = {f"mark_{qid}": f"Enter a mark from 0 to 5 for question {q.number}"
                  for q in questions for qid in [q.id] if marks[qid] is None or not 0 <= (marks[qid] or 0) <= 5}
        if not errors:
            def record_marks(s: Session) -> None:
                for q in questions:
                    evaluation.record_score(s, bid.id, q.id, current_user.id, marks[q.id],
                                            request.form.get(f"comment_{q.id}", ""), utcnow())

            page = url_for(".lot_evaluation", lot_id=lot.id)
            moved, errors = _change(record_marks, "Your marks are saved", page, back=page)
            if moved:
                return moved
        values: Any = request.form
    else:
        values = {**{f"mark_{qid}": str(sc.score) for qid, sc in mine.items()},
                  **{f"comment_{qid}": sc.comment for qid, sc in mine.items()}}
    return render_template("contracts/marks.html", tender=tender, lot=lot, bid=bid, questions=questions,
                           values=values, errors=_summary(errors), field_errors=errors,
                           provider=s.get(Organisation, bid.provider_id))


@bp.route("/bids/<int:bid_id>/moderation", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def moderate_bid(bid_id: int) -> Any:
    tender, lot, bid = _bid_for_evaluation(bid_id)
    s = db()
    questions = tenders.questions_of(s, lot)
    report = evaluation.lot_report(s, lot, utcnow(), current_user.id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        marks = {q.id: forms.parse_int(request.form.get(f"mark_{q.id}")) for q in questions}
        for q in questions:
            if marks[q.id] is None or not 0 <= (marks[q.id] or 0) <= 5:
                errors[f"mark_{q.id}"] = f"Enter the agreed mark from 0 to 5 for question {q.number}"
            if not request.form.get(f"reason_{q.id}", "").strip():
                errors[f"reason_{q.id}"] = f"Enter the reason for the agreed mark for question {q.number}"
        if not errors:
            def record_agreed_marks(s: Session) -> None:
                for q in questions:
                    evaluation.moderate(s, bid.id, q.id, marks[q.id], request.form.get(f"reason_{q.id}", ""),
                                        current_user.id, utcnow())

            page = url_for(".lot_evaluation", lot_id=lot.id)
            moved, errors = _change(record_agreed_marks, "Agreed marks saved", page, back=page)
            if moved:
                return moved
        values: Any = request.form
    else:
        values = {**{f"mark_{q.id}": str(m.score) for (b, qid), m in report.moderated.items() if b == bid.id
                     for q in questions if q.id == qid},
                  **{f"reason_{qid}": m.reason for (b, qid), m in report.moderated.items() if b == bid.id}}
    return render_template("contracts/moderation.html", tender=tender, lot=lot, bid=bid, questions=questions,
                           report=report, values=values, submitted=evaluation.has_submitted(s, bid, current_user.id), errors=_summary(errors), field_errors=errors,
                           provider=s.get(Organisation, bid.provider_id))


@bp.route("/lots/<int:lot_id>/award", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def award_lot(lot_id: int) -> Any:
    tender, lot = _lot(lot_id)
    now = utcnow()
    report = _or_404(evaluation.lot_report, lot, now, current_user.id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        moved, errors = _change(
            lambda s: evaluation.decide_lot_award(s, lot, forms.parse_int(request.form.get("bid_id")),
                                                  request.form.get("justification", ""), now),
            f"Award decision for lot {lot.number} recorded", url_for(".tender_detail", tender_id=tender.id),
            back=url_for(".lot_evaluation", lot_id=lot.id))
        if moved:
            return moved
    values: Any = request.form if request.method == "POST" else {
        "bid_id": str(lot.awarded_bid_id or (report.ranking[0].bid.id if report.ranking else "")),
        "justification": lot.award_justification or ""}
    return render_template("contracts/award.html", tender=tender, lot=lot, report=report, values=values,
                           errors=_summary(errors), field_errors=errors)


@bp.route("/lots/<int:lot_id>/report")
@allow(*EVALUATION_READERS)
def lot_report(lot_id: int) -> Any:
    tender, lot = _lot(lot_id)
    report = _or_404(evaluation.lot_report, lot, utcnow(), current_user.id)
    return render_template("contracts/report.html", report=report, tender=tender, lot=lot)


@bp.route("/lots/<int:lot_id>/report.pdf")
@allow(*EVALUATION_READERS)
def lot_report_pdf(lot_id: int) -> Any:
    tender, lot = _lot(lot_id)
    report = _or_404(evaluation.lot_report, lot, utcnow(), current_user.id)
    from contracts.pdf import render_report_pdf  # noqa: PLC0415 - WeasyPrint is heavy; load it only here

    pdf = render_report_pdf(render_template("contracts/report_pdf.html", report=report, tender=tender, lot=lot))
    filename = f"evaluation-{tender.reference}-lot-{lot.number}.pdf".replace(" ", "-")
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# Block contracts ------------------------------------------------------------------------

@bp.route("/")
@allow(*CONTRACT_READERS)
def contract_list() -> Any:
    s = db()
    found = contract_service.visible_contracts(s)
    today = date.today()
    providers = {o.id: o.name for o in s.scalars(select(Organisation).where(Organisation.kind == OrgKind.PROVIDER))}
    mix = None
    if _kind() == OrgKind.RCC:
        first = utilisation.month_start(date(today.year - 1, today.month, 1))
        mix = utilisation.funding_mix(s, utilisation.next_month(first), today)
    return render_template("contracts/contracts.html", contracts=found, providers=providers, today=today, mix=mix,
                           is_commissioner=current_user.has_any_role(("rcc_commissioner",)),
                           current_price={c.id: contract_service.weekly_price_on(
                               c, contract_service.price_history(s, c), today) for c in found})


def _contract_form(lot: Lot | None, tender: Tender | None, proposed: contract_service.ContractDetails | None) -> Any:
    s = db()
    councils = _councils()
    homes = list(s.scalars(select(Home).where(col(Home.active).is_(True)).order_by(Home.name)))
    providers = list(s.scalars(select(Organisation).where(Organisation.kind == OrgKind.PROVIDER)
                               .order_by(Organisation.name)))
    # One provider's homes, never every home in the region: an award names its provider, otherwise the
    # person picks the provider first (``?provider_id=``) and then sees only that provider's homes.
    chosen = proposed.provider_id if proposed is not None else forms.parse_int(request.values.get("provider_id"))
    provider = next((p for p in providers if p.id == chosen), None)
    homes = [h for h in homes if provider is not None and h.provider_id == provider.id]
    if provider is None and lot is None:
        error = "Select the provider the contract is with" if "provider_id" in request.values else None
        return render_template("contracts/contract_provider.html", providers=providers, error=error,
                               errors=[{"text": error, "href": "#provider_id"}] if error else [])
    errors: dict[str, str] = {}
    if request.method == "POST":
        details, errors = forms.contract_from(request.form, [h.id or 0 for h in homes], [c.id or 0 for c in councils])
        if not errors:
            def save_contract(s: Session) -> BlockContract:
                if lot is not None:
                    contract = contract_service.create_contract_from_award(s, lot, details, current_user.id,
                                                                           utcnow())
                else:
                    contract = contract_service.create_contract(s, current_user.rcc_id, details, current_user.id)
                contract_service.apply_due_uplifts(s, contract, date.today())
                return contract

            moved, errors = _change(
                save_contract, lambda contract: f"Block contract {contract.reference} saved",
                lambda contract: url_for(".contract_detail", contract_id=contract.id),
                back=url_for(".tender_detail", tender_id=tender.id) if tender else url_for(".contract_list"))
            if moved:
                return moved
        values: Any = request.form
    elif proposed is not None:
        values = {"reference": proposed.reference, "title": proposed.title, "provider_id": str(proposed.provider_id),
                  "placement_type": proposed.placement_type, "annual_uplift": "0",
                  "start_date": proposed.start_date.strftime("%-d/%-m/%Y") if proposed.start_date else "",
                  "end_date": proposed.end_date.strftime("%-d/%-m/%Y") if proposed.end_date else "",
                  "weekly_price": f"{(proposed.weekly_price or 0) / 100:.2f}",
                  **{f"places_{k}": str(v) for k, v in proposed.homes.items()},
                  **{f"share_{k}": f"{v / 100:g}" for k, v in proposed.cost_shares_bp.items()}}
    else:
        values = {"annual_uplift": "0", "placement_type": "childrens_home", "provider_id": str(chosen)}
    return render_template("contracts/contract_form.html", values=values, errors=_summary(errors),
                           field_errors=errors, councils=councils, homes=homes, providers=providers, lot=lot,
                           tender=tender, provider_names={p.id: p.name for p in providers})


@bp.route("/new", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def new_contract() -> Any:
    return _contract_form(None, None, None)


@bp.route("/lots/<int:lot_id>/contract", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def contract_from_award(lot_id: int) -> Any:
    tender, lot = _lot(lot_id)
    try:
        proposed = contract_service.details_from_award(db(), lot, utcnow())
    except Conflict as problem:
        flash(problem.message, "error")
        return redirect(url_for(".tender_detail", tender_id=tender.id))
    except NotFound:
        abort(404)
    return _contract_form(lot, tender, proposed)


@bp.route("/<int:contract_id>")
@allow(*CONTRACT_READERS)
def contract_detail(contract_id: int) -> Any:
    contract: BlockContract = _or_404(contract_service.get_contract, contract_id)
    s = db()
    today = date.today()
    months = utilisation.contract_utilisation(s, contract, today)
    history = contract_service.price_history(s, contract)
    return render_template(
        "contracts/contract.html", contract=contract, homes=contract_service.contract_homes(s, contract),
        shares=contract_service.cost_shares(s, contract), history=history,
        schedule=contract_service.price_schedule(contract, history, contract.end_date),
        current_price=contract_service.weekly_price_on(contract, history, today), months=months,
        totals=utilisation.totals(months), chart=charts.utilisation_chart(months),
        provider=contract_service.provider_name(s, contract), today=today,
        live=contract_service.is_live(contract, today), variations=variations.variations_of(s, contract),
        describe_variation=variations.describe, can_vary=current_user.has_any_role(("rcc_commissioner",)),
        placements=list(s.scalars(select(Placement).where(Placement.block_contract_id == contract.id)
                                  .order_by(col(Placement.start_date).desc()))),
        agreed=set(s.scalars(select(PlacementAgreement.placement_id).where(
            PlacementAgreement.contract_id == contract.id))),
        can_agree=current_user.has_any_role(tuple(map(str, AGREEMENT_MAKERS))))


@bp.route("/<int:contract_id>/vary", methods=["GET", "POST"])
@allow(*COMMISSIONER)
def vary_contract(contract_id: int) -> Any:
    contract: BlockContract = _or_404(contract_service.get_contract, contract_id)
    s = db()
    homes = contract_service.contract_homes(s, contract)
    errors: dict[str, str] = {}
    values: Any = {"row_version": str(contract.row_version)}
    if request.method == "POST":
        values = request.form
        price = _typed_amount(values.get("weekly_price"))
        change = variations.Variation(
            kind=values.get("kind", ""), effective_from=forms.parse_date(values.get("effective_from")),
            reason=values.get("reason", ""), weekly_price=price, home_id=forms.parse_int(values.get("home_id")),
            places=forms.parse_int(values.get("places")), end_date=forms.parse_date(values.get("end_date")))
        page = url_for(".contract_detail", contract_id=contract.id)
        moved, errors = _change(
            lambda s: variations.vary_contract(s, contract, change, parse_version(values.get("row_version")),
                                               current_user.id, utcnow()),
            "Contract varied", page + "#variations", back=page)
        if moved:
            return moved
    return render_template("contracts/vary.html", contract=contract, values=values, errors=_summary(errors),
                           field_errors=errors, kinds=variations.KINDS,
                           home_choices=[(str(r.home_id), h.name if h else f"Home {r.home_id}") for r, h in homes])


def _typed_amount(text: str | None) -> int | None:
    """``numbers.pence`` for a hand-parsed form: None when blank or not an amount, which the service
    refuses naming the field."""
    try:
        return numbers.pence(text)
    except ValueError:
        return None


# Individual placement agreements ----------------------------------------------------------

AGREEMENT_MAKERS = (Role.RCC_COMMISSIONER, Role.RCC_ADMIN, Role.RCC_PLACEMENT_OFFICER,
                    Role.COUNCIL_PLACEMENT_OFFICER, Role.COUNCIL_ADMIN, Role.COUNCIL_FINANCE_LEAD)


@bp.route("/placements/<int:placement_id>/agreement", methods=["GET", "POST"])
@allow(*AGREEMENT_MAKERS)
def placement_agreement(placement_id: int) -> Any:
    errors: dict[str, str] = {}
    s = db()
    try:
        view = agreements.agreement_for(s, placement_id)
    except NotFound:
        abort(404)
    if request.method == "POST":
        values: Any = request.form
        fee, support = _typed_amount(values.get("weekly_fee")), _typed_amount(values.get("additional_support_weekly") or "0")
        terms = agreements.AgreementTerms(fee, values.get("additional_support", ""), support,
                                          forms.parse_date(values.get("review_date")))
        page = url_for(".placement_agreement", placement_id=placement_id)
        moved, errors = _change(lambda s: agreements.make_agreement(s, placement_id, terms, current_user.id, utcnow()),
                                "Individual placement agreement saved", page, back=page)
        if moved:
            return moved
    else:
        values = {"weekly_fee": numbers.pounds_for_input(view.contract_price), "additional_support_weekly": "0"}
        with transaction(s):
            audit_trail.record_read(s, AuditAction.PLACEMENT_AGREEMENT_VIEWED, [view.placement])
    return render_template("contracts/agreement.html", view=view, values=values, errors=_summary(errors),
                           field_errors=errors)


@bp.route("/placements/<int:placement_id>/agreement.pdf")
@allow(*AGREEMENT_MAKERS, Role.PROVIDER_MANAGER)
def placement_agreement_pdf(placement_id: int) -> Any:
    try:
        with transaction(db()) as s:
            view = agreements.download_agreement(s, placement_id)
            html = render_template("contracts/agreement_pdf.html", view=view)
    except NotFound:
        abort(404)
    from contracts.pdf import render_report_pdf  # noqa: PLC0415 - WeasyPrint is heavy; load it only here

    return Response(render_report_pdf(html), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="placement-agreement-{placement_id}.pdf"'})


# Template filters for the choice lists -----------------------------------------------------

@bp.app_template_filter("contracts_replace_key")
def _replace_key(errors: dict[str, str], old: str, new: str) -> dict[str, str]:
    return {new if key == old else key: message for key, message in errors.items()}


@bp.app_template_filter("contracts_placement_choice")
def _placement_choice(item: tuple[str, Any]) -> tuple[str, str]:
    return item[0], item[1].label


@bp.app_template_filter("contracts_organisation_choice")
def _organisation_choice(organisation: Organisation) -> tuple[int | None, str]:
    return organisation.id, organisation.name


@bp.app_template_filter("contracts_home_choice")
def _home_choice(home: Home) -> tuple[int | None, str]:
    return home.id, f"{home.name} ({home.local_authority})"


@bp.app_template_filter("contracts_mark_choice")
def _mark_choice(item: tuple[int, str]) -> tuple[str, str]:
    return str(item[0]), f"{item[0]}: {item[1]}"


@bp.app_template_filter("contracts_ranked_choice")
def _ranked_choice(ranked: evaluation.RankedBid) -> tuple[int | None, str]:
    rank = f"ranked {ranked.rank}, " if ranked.rank else ""
    return ranked.bid.id, f"{ranked.provider_name} ({rank}total {ranked.total_score})"
