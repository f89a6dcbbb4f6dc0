"""Referral packs (the council's, seen by the RCC too) and providers' expressions of interest.

Each view parses, calls ``services.referral_packs``, renders. Provider pages are rendered from the
expression of interest (its stored anonymised profile), its home and the names of the documents
released to the provider: no referral or child object reaches a provider template.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.models import Home, Referral
from matching.models import (
    DOCUMENT_KINDS,
    EOI_ANSWER_LABELS,
    MAX_DOCUMENT_BYTES,
    ExpressionOfInterest,
    ReferralDocument,
    ReferralPack,
)
from matching.services import offers, referral_packs
from matching.services.referral_packs import Answer
from rcc import numbers
from rcc.audit import AuditAction
from rcc.db import transaction
from rcc.errors import FieldErrors, ServiceError
from rcc.permissions import allow
from rcc.roles import COUNCIL_STAFF, RCC_STAFF, Role
from rcc.web import MAX_ID, audit_read, db, get_or_404

SENDERS = (Role.COUNCIL_PLACEMENT_OFFICER, Role.COUNCIL_ADMIN)
PROVIDERS = (Role.PROVIDER_MANAGER,)
ANSWER_TIME = time(17, 0)  # answers are due by 5pm UTC on the day the council picks

packs_bp = Blueprint("matching_packs", __name__, url_prefix="/referral-packs")
provider_packs_bp = Blueprint("matching_provider_packs", __name__, url_prefix="/referral-packs-for-your-homes")
BLUEPRINTS = (packs_bp, provider_packs_bp)


def register(app: Flask) -> None:
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)


def _errors(error: ServiceError, anchors: dict[str, str] | None = None) -> list[dict[str, str]]:
    fields = error.errors if isinstance(error, FieldErrors) else {"": error.message}
    return [{"text": message, "href": (anchors or {}).get(name, f"#{name}" if name else "#main-content")}
            for name, message in fields.items()]


def _status(error: ServiceError) -> int:
    return 400 if isinstance(error, FieldErrors) else 409


def _date_from(prefix: str) -> date | None:
    try:
        return date(int(request.form.get(f"{prefix}_year", "")), int(request.form.get(f"{prefix}_month", "")),
                    int(request.form.get(f"{prefix}_day", "")))
    except (TypeError, ValueError, OverflowError):
        return None


def _ids(name: str) -> list[int]:
    return sorted({int(v) for v in request.form.getlist(name) if v.isdigit() and len(v) < 10})


# The council's pack ---------------------------------------------------------------------------

@packs_bp.route("/referral/<int:referral_id>")
@allow(*RCC_STAFF, *COUNCIL_STAFF)
def pack(referral_id: int) -> Any:
    return _pack_page(get_or_404(Referral, referral_id))


def _pack_page(referral: Referral, errors: list[dict[str, str]] | None = None, status: int = 200) -> Any:
    session = db()
    found = referral_packs.pack_for(session, int(referral.id or 0))
    documents = referral_packs.documents_of(session, found) if found else []
    answers = referral_packs.answers_of(session, found) if found else []
    homes = {h.id: h for h in session.scalars(select(Home).where(
        col(Home.id).in_([a.home_id for a in answers])))} if answers else {}
    can_send = (current_user.has_any_role(tuple(map(str, SENDERS)))
                and current_user.organisation_id == referral.council_id
                and referral.status in referral_packs.OPEN_REFERRAL)
    eligible = (referral_packs.eligible_homes(session, referral)
                if found and can_send and referral_packs.is_open(found) else [])
    sent = {a.home_id for a in answers}
    audit_read(AuditAction.REFERRAL_PACK_VIEWED, [referral])
    return render_template(
        "matching/packs/pack.html", referral=referral, pack=found, documents=documents, answers=answers,
        homes=homes, eligible=[h for h in eligible if h.id not in sent], can_send=can_send,
        is_open=bool(found and referral_packs.is_open(found)), kinds=DOCUMENT_KINDS, labels=EOI_ANSWER_LABELS,
        reasons=offers.DECLINE_REASONS, max_mb=MAX_DOCUMENT_BYTES // (1024 * 1024), errors=errors or [],
        form=request.form), status


@packs_bp.route("/referral/<int:referral_id>", methods=["POST"])
@allow(*SENDERS)
def create_pack(referral_id: int) -> Any:
    referral = get_or_404(Referral, referral_id)
    day = _date_from("respond_by")
    if day is None:
        return _pack_page(referral, [{"text": "Enter a real date providers must answer by",
                                      "href": "#respond_by_day"}], 400)
    try:
        with transaction(db()) as s:
            referral_packs.create_pack(s, referral, datetime.combine(day, ANSWER_TIME, tzinfo=UTC))
    except ServiceError as error:
        return _pack_page(referral, _errors(error, {"respond_by": "#respond_by_day"}), _status(error))
    flash("Referral pack prepared. Attach documents, then send it to the homes that could take the child.")
    return redirect(url_for("matching_packs.pack", referral_id=referral_id))


@packs_bp.route("/<int:pack_id>/documents", methods=["POST"])
@allow(*SENDERS)
def attach_document(pack_id: int) -> Any:
    found = get_or_404(ReferralPack, pack_id)
    referral = get_or_404(Referral, found.referral_id)
    upload = request.files.get("document")
    data = upload.read(MAX_DOCUMENT_BYTES + 1) if upload else b""
    try:
        with transaction(db()) as s:
            referral_packs.attach_document(s, found, request.form.get("kind", ""),
                                           upload.filename or "" if upload else "", data)
    except ServiceError as error:
        return _pack_page(referral, _errors(error, {"kind": "#kind"}), _status(error))
    flash("Document attached. It is stored encrypted and no provider sees it until you release it.")
    return redirect(url_for("matching_packs.pack", referral_id=found.referral_id))


@packs_bp.route("/<int:pack_id>/release", methods=["POST"])
@allow(*SENDERS)
def release(pack_id: int) -> Any:
    found = get_or_404(ReferralPack, pack_id)
    referral = get_or_404(Referral, found.referral_id)
    try:
        with transaction(db()) as s:
            made = referral_packs.release(s, found, _ids("home_ids"), _ids("document_ids"))
    except ServiceError as error:
        return _pack_page(referral, _errors(error), _status(error))
    flash(f"Pack sent to {len(made)} more home{'s' if len(made) != 1 else ''}. Their providers have been told.")
    return redirect(url_for("matching_packs.pack", referral_id=found.referral_id))


@packs_bp.route("/documents/<int:document_id>")
@allow(*RCC_STAFF, *COUNCIL_STAFF)
def download(document_id: int) -> Any:
    return _download(referral_packs.document_for_download, document_id)


@provider_packs_bp.route("/documents/<int:release_id>")
@allow(*PROVIDERS)
def provider_download(release_id: int) -> Any:
    return _download(referral_packs.released_document_for_download, release_id)


def _download(find: Callable[[Session, int], ReferralDocument], object_id: int) -> Any:
    if not 1 <= object_id <= MAX_ID:
        abort(404)
    try:
        with transaction(db()) as s:
            document = find(s, object_id)
    except ServiceError:
        abort(404)
    response = Response(document.content, mimetype=document.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{_safe_name(document.file_name)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in " ._-" else "_" for c in name)[:200] or "document"


# The provider's answers -----------------------------------------------------------------------

@provider_packs_bp.route("/")
@allow(*PROVIDERS)
def provider_packs() -> Any:
    session = db()
    found = list(session.scalars(select(ExpressionOfInterest).order_by(col(ExpressionOfInterest.respond_by).desc(),
                                                                       ExpressionOfInterest.id).limit(500)))
    homes = {h.id: h for h in session.scalars(select(Home).where(col(Home.id).in_({e.home_id for e in found})))}
    audit_read(AuditAction.EXPRESSION_OF_INTEREST_LISTED, found)
    return render_template("matching/packs/provider_packs.html", answers=found, homes=homes,
                           profiles={e.id: offers.anonymised_profile(e) for e in found}, labels=EOI_ANSWER_LABELS,
                           is_open=referral_packs.is_open)


@provider_packs_bp.route("/<int:answer_id>")
@allow(*PROVIDERS)
def provider_pack(answer_id: int) -> Any:
    return _provider_page(get_or_404(ExpressionOfInterest, answer_id))


def _provider_page(found: ExpressionOfInterest, errors: list[dict[str, str]] | None = None,
                   status: int = 200) -> Any:
    session = db()
    audit_read(AuditAction.EXPRESSION_OF_INTEREST_VIEWED, [found])
    return render_template("matching/packs/provider_pack.html", answer=found,
                           profile=offers.anonymised_profile(found), home=session.get(Home, found.home_id),
                           documents=referral_packs.released_documents(session, found),
                           is_open=referral_packs.is_open(found), labels=EOI_ANSWER_LABELS,
                           reasons=offers.DECLINE_REASONS, errors=errors or [], form=request.form), status


@provider_packs_bp.route("/<int:answer_id>", methods=["POST"])
@allow(*PROVIDERS)
def answer(answer_id: int) -> Any:
    found = get_or_404(ExpressionOfInterest, answer_id)
    choice = request.form.get("can_meet", "")
    price = request.form.get("weekly_price", "")
    try:
        pence = numbers.pence(price) if price.strip() else None
    except ValueError:
        return _provider_page(found, [{"text": "Enter the weekly price in pounds, for example 4,500",
                                       "href": "#weekly_price"}], 400)
    given = Answer(can_meet={"yes": True, "no": False}.get(choice), available_from=_date_from("available_from"),
                   weekly_price=pence, reason=request.form.get("reason", ""),
                   details=request.form.get("details", ""))
    if choice == "yes" and given.available_from is None and any(
            request.form.get(f"available_from_{p}") for p in ("day", "month", "year")):
        return _provider_page(found, [{"text": "Enter a real date the home can take the child from",
                                       "href": "#available_from_day"}], 400)
    try:
        with transaction(db()) as s:
            referral_packs.answer(s, found, given)
    except ServiceError as error:
        db().expire_all()
        return _provider_page(found, _errors(error, {"available_from": "#available_from_day", "can_meet": "#can_meet",
                                                     "reason": "#reason"}), _status(error))
    flash("Your answer is saved. You can change it until the deadline.")
    return redirect(url_for("matching_provider_packs.provider_pack", answer_id=found.id))
