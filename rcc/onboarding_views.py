"""Pages for onboarding a region (the RCC admin's organisations and member councils) and for a person's
own account: forgot password, change password, a new authenticator app."""

from __future__ import annotations

from typing import Any

import pyotp
from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from rcc import onboarding, users
from rcc.db import transaction
from rcc.errors import FieldError, ServiceError
from rcc.layout import add_nav_item
from rcc.models import Organisation
from rcc.permissions import allow, public, signed_in
from rcc.roles import EVERY_ROLE, Role
from rcc.tenancy import OrgKind, TenantScope, acting_as
from rcc.web import current_organisation, current_user_session, db, form_errors, get_or_404, put_service_error

blueprint = Blueprint("onboarding", __name__)
ISSUER = "Regional Care Cooperative"


def register(app: Flask) -> None:
    app.register_blueprint(blueprint)
    add_nav_item(app, "Organisations", "onboarding.organisations", (Role.RCC_ADMIN,), order=89)
    add_nav_item(app, "Your account", "onboarding.your_account", EVERY_ROLE, order=98)


class CouncilForm(FlaskForm):
    name = StringField("Council name", validators=[DataRequired("Enter the council's name"), Length(max=200)])
    ons_code = StringField("ONS code", validators=[DataRequired("Enter the council's ONS code"), Length(max=9)])
    dfe_code = StringField("DfE code", validators=[DataRequired("Enter the council's DfE code"), Length(max=3)])


class FirstAdminForm(FlaskForm):
    admin_name = StringField("Their full name", validators=[DataRequired("Enter the admin's full name"),
                                                            Length(max=120)])
    admin_email = EmailField("Their email address", validators=[DataRequired("Enter the admin's email address"),
                                                                Length(max=254)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address"), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[
        DataRequired("Enter a new password"), Length(min=12, message="Password must be 12 characters or more")])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password")])


CODE = [DataRequired("Enter the 6-digit code"), Regexp(r"^\s*\d{6}\s*$", message="The code must be 6 digits, like 123456")]


class ReEnrolForm(FlaskForm):
    current_code = StringField("Code from your current authenticator app", validators=CODE)
    code = StringField("Code from your new authenticator app", validators=CODE)


def invite_link(token: str) -> str:
    return url_for("auth.open_invite", token=token, _external=True)


# The RCC admin: organisations --------------------------------------------------------------------

@blueprint.route("/admin/organisations")
@allow(Role.RCC_ADMIN)
def organisations() -> Any:
    rcc = current_organisation()
    found = onboarding.organisations(db(), int(rcc.id or 0))
    counts = {o.id: onboarding.people_count(db(), o) for o in found}
    extra = [hook(db(), rcc) for hook in _organisation_page_parts()]
    return render_template("rcc/onboarding/organisations.html", organisations=found, counts=counts,
                           councils=sum(1 for o in found if o.kind == OrgKind.COUNCIL),
                           most=users.MAX_MEMBER_COUNCILS, extra=[part for part in extra if part])


def _organisation_page_parts() -> list[Any]:
    """Capabilities add sections to the organisations page (commissioning: providers asking to join)."""
    from flask import current_app  # noqa: PLC0415

    return list(current_app.extensions.get("rcc_organisation_page_parts", []))


def add_organisation_page_part(app: Flask, part: Any) -> None:
    """``part(session, rcc)`` gives HTML (Markup) for the RCC admin's organisations page, or None."""
    app.extensions.setdefault("rcc_organisation_page_parts", []).append(part)


@blueprint.route("/admin/organisations/add-council", methods=["GET", "POST"])
@allow(Role.RCC_ADMIN)
def add_council() -> Any:
    rcc = current_organisation()
    form = CouncilForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                council = onboarding.add_council(s, rcc, form.name.data or "", form.ons_code.data or "",
                                                 form.dfe_code.data or "")
            flash(f"{council.name} is now a member council. Invite its first admin.")
            return redirect(url_for("onboarding.invite_admin", organisation_id=council.id))
        except ServiceError as error:
            put_service_error(form, error, general="name")
    return render_template("rcc/onboarding/add_council.html", form=form, errors=form_errors(form)), \
        400 if form.errors else 200


@blueprint.route("/admin/organisations/<int:organisation_id>/invite-admin", methods=["GET", "POST"])
@allow(Role.RCC_ADMIN)
def invite_admin(organisation_id: int) -> Any:
    organisation = get_or_404(Organisation, organisation_id)
    form = FirstAdminForm()
    if form.validate_on_submit():
        try:
            try:
                with transaction(db()) as s:
                    user = onboarding.invite_first_admin(s, organisation, form.admin_name.data or "",
                                                         form.admin_email.data or "", current_user.name, invite_link)
                email = user.email
            except users.AddressElsewhere as elsewhere:  # rolled back; answered as any invitation is
                if elsewhere.decoy is None:
                    raise
                email = elsewhere.decoy[0].email
            flash(f"Invitation sent to {email}")
            return redirect(url_for("onboarding.organisations"))
        except ServiceError as error:
            put_service_error(form, error, general="admin_email", fields={"name": "admin_name", "email": "admin_email"})
    return render_template("rcc/onboarding/invite_admin.html", form=form, errors=form_errors(form),
                           target=organisation), 400 if form.errors else 200


# Forgot password ---------------------------------------------------------------------------------

def _client_key(kind: str) -> str:
    """The back-off's key: the visitor's own address (behind a proxy, set RCC_PROXY_HOPS so that this is
    not the proxy's, which would lock the form for everyone)."""
    return f"{kind}:{request.remote_addr or 'unknown'}"


@blueprint.route("/forgot-password", methods=["GET", "POST"])
@public
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        address = (form.email.data or "").strip().lower()
        with acting_as(db(), TenantScope.public()), transaction(db()) as s:
            wait = onboarding.throttled(s, _client_key("reset"))
        if wait is not None:
            put_service_error(form, FieldError("email", wait))
        else:
            try:
                with users.account_access(db(), email=address) as account, transaction(account):
                    onboarding.request_password_reset(
                        account, address, lambda token: url_for("onboarding.open_reset", token=token, _external=True))
            except ServiceError:
                pass  # answered the same way, whatever happened
            return render_template("rcc/onboarding/reset_sent.html", message=onboarding.RESET_SENT)
    return render_template("rcc/onboarding/forgot_password.html", form=form, errors=form_errors(form)), \
        400 if form.errors else 200


@blueprint.route("/reset-password/<token>")
@public
def open_reset(token: str) -> Any:
    """As an invitation link: the token moves into the session at once, out of the address bar."""
    session["reset_token"] = token
    return redirect(url_for("onboarding.reset_password"))


def _reset_user() -> Any:
    token = session.get("reset_token")
    if not isinstance(token, str):
        return None
    with users.account_access(db(), reset_token=token) as s:
        return onboarding.user_for_reset(s, token)


@blueprint.route("/reset-password", methods=["GET", "POST"])
@public
def reset_password() -> Any:
    user = _reset_user()
    if user is None:
        return render_template("rcc/onboarding/reset_expired.html"), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            with users.account_access(db(), user_id=user.id) as s, transaction(s):
                onboarding.reset_password(s, session["reset_token"], form.password.data or "")
            session.pop("reset_token", None)
            flash("Your password has been changed. Sign in with your new password.")
            return redirect(url_for("auth.sign_in"))
        except ServiceError as error:
            put_service_error(form, error, general="password")
    return render_template("rcc/onboarding/reset_password.html", form=form, errors=form_errors(form)), \
        400 if form.errors else 200


# Your account ------------------------------------------------------------------------------------

@blueprint.route("/account")
@signed_in
def your_account() -> Any:
    return render_template("rcc/onboarding/your_account.html")


def _this_session_id() -> int | None:
    current = current_user_session()
    return None if current is None else current.id


@blueprint.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password() -> Any:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                onboarding.change_password(s, current_user._get_current_object(), form.current_password.data or "",
                                           form.password.data or "", keep_session_id=_this_session_id())
            flash("Your password has been changed")
            return redirect(url_for("onboarding.your_account"))
        except ServiceError as error:
            put_service_error(form, error, general="password")
    return render_template("rcc/onboarding/change_password.html", form=form, errors=form_errors(form)), \
        400 if form.errors else 200


@blueprint.route("/account/authenticator", methods=["GET", "POST"])
@signed_in
def re_enrol() -> Any:
    if not current_user.totp_secret:
        flash("You have no authenticator app yet. You will set one up when you next sign in.")
        return redirect(url_for("onboarding.your_account"))
    secret = session.setdefault("reenrol_totp_secret", pyotp.random_base32())
    form = ReEnrolForm()
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                onboarding.re_enrol_authenticator(s, current_user._get_current_object(), form.current_code.data or "", secret,
                                                  form.code.data or "", keep_session_id=_this_session_id())
            session.pop("reenrol_totp_secret", None)
            flash("Your new authenticator app is set up. Use it from now on.")
            return redirect(url_for("onboarding.your_account"))
        except ServiceError as error:
            put_service_error(form, error, general="code")
    return render_template("rcc/onboarding/re_enrol.html", form=form, errors=form_errors(form), secret=secret,
                           uri=pyotp.TOTP(secret).provisioning_uri(name=current_user.email, issuer_name=ISSUER)), \
        400 if form.errors else 200


__all__ = ["FieldError", "add_organisation_page_part", "register"]
