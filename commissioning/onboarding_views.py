"""Pages: the RCC admin adds a provider from the Ofsted register, a provider asks to join by its URN
(a public form, throttled as signing in is), and the RCC admin approves or refuses."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length

from commissioning import onboarding as service
from commissioning.models import ProviderJoinRequest
from rcc import onboarding
from rcc.db import transaction
from rcc.errors import FieldError, FieldErrors, ServiceError
from rcc.forms import ConfirmForm
from rcc.onboarding_views import add_organisation_page_part, invite_link
from rcc.permissions import allow, public
from rcc.roles import Role
from rcc.tenancy import TenantScope, acting_as
from rcc.web import current_organisation, db, form_errors, get_or_404, put_service_error, whole_number

bp = Blueprint("provider_onboarding", __name__)


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    add_organisation_page_part(app, service.organisations_page_part)


class AddProviderForm(FlaskForm):
    urn = StringField("Ofsted URN", validators=[DataRequired("Select a setting or enter its Ofsted URN"),
                                                Length(max=20)])


class JoinForm(FlaskForm):
    urn = StringField("Ofsted URN of one of your settings", validators=[DataRequired("Enter the Ofsted URN"),
                                                                         Length(max=20)])
    name = StringField("Your full name", validators=[DataRequired("Enter your full name"), Length(max=120)])
    email = EmailField("Your work email address", validators=[DataRequired("Enter your email address"),
                                                              Length(max=254)])


@bp.route("/admin/organisations/add-provider", methods=["GET", "POST"])
@allow(Role.RCC_ADMIN)
def add_provider() -> Any:
    rcc = current_organisation()
    query = (request.args.get("q") or "").strip()[:100]
    results = service.search_register(query) if query else []
    form = AddProviderForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                provider, made = service.add_provider_from_register(s, rcc, form.urn.data or "")
            flash(f"{provider.name} {'has been added' if made else 'is already on the register'}. "
                  "Invite its first manager.")
            return redirect(url_for("onboarding.invite_admin", organisation_id=provider.id))
        except ServiceError as error:
            put_service_error(form, error, general="urn")
    return render_template("commissioning/onboarding/add_provider.html", form=form, errors=form_errors(form),
                           query=query, results=results), 400 if form.errors else 200


@bp.route("/join", methods=["GET", "POST"])
@public
def ask_to_join() -> Any:
    """Each RCC shares its own link (``/join?rcc=<its number>``): the form is public by design, so the
    RCC is in the query, not a path id the tenancy matrix expects to be hidden from other RCCs."""
    rcc_id = whole_number(request.args.get("rcc"))
    if rcc_id is None:
        abort(404)
    form = JoinForm()
    if form.validate_on_submit():
        with acting_as(db(), TenantScope.public()), transaction(db()) as s:
            wait = onboarding.throttled(s, f"join:{request.remote_addr or 'unknown'}")
        if wait is not None:
            put_service_error(form, FieldError("urn", wait))
        else:
            try:
                with transaction(db()) as s:
                    made = service.request_to_join(s, rcc_id, form.urn.data or "", form.name.data or "",
                                                   form.email.data or "")
                if made is None:
                    abort(404)
                return render_template("commissioning/onboarding/join_sent.html", message=service.JOIN_ANSWER)
            except FieldErrors as errors:
                put_service_error(form, errors)
    return render_template("commissioning/onboarding/join.html", form=form, errors=form_errors(form)), \
        400 if form.errors else 200


@bp.route("/admin/join-requests/<int:join_request_id>/<any(approve, refuse):decision>", methods=["POST"])
@allow(Role.RCC_ADMIN)
def decide(join_request_id: int, decision: str) -> Any:
    join_request = get_or_404(ProviderJoinRequest, join_request_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as s:
            if decision == "approve":
                provider = service.approve(s, join_request, current_user, invite_link)
                flash(f"Approved. {join_request.requester_email} has been invited to manage {provider.name}.")
            else:
                service.refuse(s, join_request, current_user)
                flash(f"The request from {join_request.requester_name} has been refused.")
    except ServiceError as error:
        flash(error.message)
    return redirect(url_for("onboarding.organisations"))
