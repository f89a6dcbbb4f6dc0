"""Pages of the core: signing in, each role's home page, and admins managing their people."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlparse

import pyotp
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
    session,
    url_for,
)
from flask_login import current_user, logout_user
from sqlalchemy import select

from rcc import audit_trail as audit_trail_service
from rcc import onboarding, users
from rcc.csv_files import write_csv
from rcc.db import transaction
from rcc.errors import Conflict, ServiceError
from rcc.forms import ApiTokenForm, ChoosePasswordForm, ConfirmForm, InviteForm, SignInForm, TwoFactorForm
from rcc.layout import add_nav_item, home_links_for_current_user
from rcc.models import ApiToken, User, utcnow
from rcc.permissions import allow, public, signed_in
from rcc.roles import ADMINS, EVERY_ROLE, ROLES_BY_KIND, Role
from rcc.tenancy import OrgKind
from rcc.web import (
    act_as,
    current_organisation,
    current_user_session,
    db,
    form_errors,
    get_or_404,
    page_number,
    put_service_error,
    sign_in_to_session,
    whole_number,
)

auth = Blueprint("auth", __name__)
# branch onboard: a provider has no admin role, so its managers invite and manage its people.
PEOPLE_ADMINS = (*ADMINS, Role.PROVIDER_MANAGER)
home = Blueprint("home", __name__)
admin = Blueprint("admin", __name__, url_prefix="/admin")


def register(app: Flask) -> None:
    for blueprint in (auth, home, admin):
        app.register_blueprint(blueprint)
    from rcc import notification_views  # noqa: PLC0415 - its own blueprint

    notification_views.register(app)
    from rcc import onboarding_views  # noqa: PLC0415 - its own blueprint (branch onboard)

    onboarding_views.register(app)
    add_nav_item(app, "Home", "home.index", tuple(r for roles in ROLES_BY_KIND.values() for r in roles), order=0)
    add_nav_item(app, "People", "admin.people", PEOPLE_ADMINS, order=90)
    add_nav_item(app, "Audit trail", "admin.audit_trail", ADMINS, order=91)
    add_nav_item(app, "Your sessions", "auth.your_sessions", EVERY_ROLE, order=99)


# Signing in ----------------------------------------------------------------------------

@auth.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = SignInForm()
    if form.validate_on_submit():
        with users.account_access(db(), email=form.email.data or "") as s, transaction(s):
            result = users.check_password_sign_in(s, form.email.data, form.password.data)
        if result.ok and result.user is not None:
            return _after_password(result.user)
        form.email.errors.append(result.problem)
    return render_template("rcc/sign_in.html", form=form, errors=form_errors(form))


def _after_password(user: User) -> Any:
    next_page = _safe_next(request.args.get("next"))
    with users.account_access(db(), user_id=user.id) as s, transaction(s):
        token = users.begin_pending_sign_in(s, user)
    session.clear()
    session["pending_user_id"] = user.id
    session["pending_sign_in"] = token  # the server holds its hash and when it ends
    session["next"] = next_page
    if user.totp_secret:
        return redirect(url_for("auth.two_factor"))
    if user.two_factor_required:
        return redirect(url_for("auth.set_up_two_factor"))
    return _complete_sign_in(user)


def _pending_user() -> User | None:
    """The person half signed in on this browser, or None (and the state forgotten) when there is
    none, it has expired, or a newer sign-in replaced it."""
    user_id = session.get("pending_user_id")
    if not isinstance(user_id, int):
        return None
    with users.account_access(db(), user_id=user_id) as s:
        user = s.get(User, user_id)
        problem = None if user is None or not user.active else \
            users.pending_sign_in_problem(user, session.get("pending_sign_in"))
    if user is None or not user.active or problem is not None:
        if user is not None and problem == "expired":
            with users.account_access(db(), user_id=user.id) as s, transaction(s):
                users.end_pending_sign_in(s, user)
        session.clear()
        if problem == "expired":
            flash(users.PENDING_EXPIRED, "important")
        return None
    return user


def _sign_in_again(user: User, problem: str) -> Any:
    """A wrong code ends the half-signed-in state: the password step must be done again."""
    with users.account_access(db(), user_id=user.id) as s, transaction(s):
        users.end_pending_sign_in(s, user)
    session.clear()
    form = SignInForm()
    form.email.errors = [problem if problem != users.WRONG_CODE else f"The code is not right. {users.SIGN_IN_AGAIN}"]
    return render_template("rcc/sign_in.html", form=form, errors=form_errors(form))


@auth.route("/sign-in/security-code", methods=["GET", "POST"])
@public
def two_factor() -> Any:
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.sign_in"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        with users.account_access(db(), user_id=user.id) as s, transaction(s):
            problem = users.check_two_factor(s, user, form.code.data)
        if problem is None:
            return _complete_sign_in(user)
        return _sign_in_again(user, problem)
    return render_template("rcc/two_factor.html", form=form, errors=form_errors(form))


@auth.route("/sign-in/set-up-authenticator", methods=["GET", "POST"])
@public
def set_up_two_factor() -> Any:
    """Only for someone with no authenticator yet (first sign-in, or after an admin reset it):
    anyone else enters their code, so knowing a password never lets someone replace the app."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.sign_in"))
    if user.totp_secret:
        session.pop("pending_totp_secret", None)
        return redirect(url_for("auth.two_factor"))
    secret = session.setdefault("pending_totp_secret", pyotp.random_base32())
    form = TwoFactorForm()
    if form.validate_on_submit():
        try:
            with users.account_access(db(), user_id=user.id) as s, transaction(s):
                users.set_up_two_factor(s, user, secret, form.code.data)
            return _complete_sign_in(user)
        except ServiceError as error:
            put_service_error(form, error, general="code")
    return render_template("rcc/set_up_two_factor.html", form=form, errors=form_errors(form), secret=secret,
                           uri=pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Regional Care Cooperative"))


def _complete_sign_in(user: User) -> Any:
    next_page = session.get("next")
    act_as(user)
    with transaction(db()) as s:
        token = users.record_sign_in(s, user, request.headers.get("User-Agent", ""), request.remote_addr or "")
    session.clear()  # a fresh session, so nothing from before sign-in carries over
    sign_in_to_session(user, token)
    return redirect(next_page or url_for("home.index"))


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parsed = urlparse(target)
    return target if not parsed.scheme and not parsed.netloc and target.startswith("/") else None


@auth.route("/sign-out", methods=["POST"])
@public
def sign_out() -> Any:
    record = current_user_session()
    if record is not None and current_user.is_authenticated:
        with transaction(db()) as s:
            users.end_session(s, record)  # the cookie's token never works again, wherever it was copied
    logout_user()
    session.clear()
    flash("You have signed out")
    return redirect(url_for("auth.sign_in"))


@auth.route("/invite/<token>")
@public
def open_invite(token: str) -> Any:
    """The link sent to the person moves its token into the session and redirects at once, so the
    token is in one request line only (whose access-log entry is redacted: rcc.app), never in the
    form's address, browser history or a Referer header."""
    with users.account_access(db(), invite_token=token) as s:
        if users.user_for_invite(s, token) is None:
            return render_template("rcc/invite_expired.html"), 404
    session["invite_token"] = token
    return redirect(url_for("auth.accept_invite"))


@auth.route("/invite/accept", methods=["GET", "POST"])
@public
def accept_invite() -> Any:
    user = None
    if isinstance(session.get("invite_token"), str):
        with users.account_access(db(), invite_token=session["invite_token"]) as s:
            user = users.user_for_invite(s, session["invite_token"])
    if user is None:
        return render_template("rcc/invite_expired.html"), 404
    secret = session.setdefault(f"invite_secret_{user.id}", pyotp.random_base32())
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            with users.account_access(db(), user_id=user.id) as s, transaction(s):
                users.accept_invite(s, user, form.password.data, secret, form.code.data)
            session.pop(f"invite_secret_{user.id}", None)
            session.pop("invite_token", None)
            flash("Your account is ready. Sign in with your email address, password and security code.")
            return redirect(url_for("auth.sign_in"))
        except ServiceError as error:
            put_service_error(form, error, general="code")
    return render_template("rcc/accept_invite.html", form=form, errors=form_errors(form), user=user,
                           secret=secret, uri=pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Regional Care Cooperative"))


@auth.route("/account/sessions")
@signed_in
def your_sessions() -> Any:
    found = users.open_sessions(db(), current_user, current_app.config["SESSION_IDLE_TIMEOUT"])
    return render_template("rcc/your_sessions.html", sessions=found, current=current_user_session(),
                           form=ConfirmForm())


@auth.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@signed_in
def end_session(session_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    current = current_user_session()
    if current is None:
        abort(404)
    try:  # someone else's session, or none: NotFound, which is a 404 page
        with transaction(db()) as s:
            users.end_other_session(s, current_user, session_id, current)
        flash("That session has ended. Anyone using it has been signed out.")
    except Conflict as error:
        flash(error.message, "important")
    return redirect(url_for("auth.your_sessions"))


# Home ----------------------------------------------------------------------------------

@home.route("/")
@public
def index() -> Any:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    return render_template("rcc/home.html", links=home_links_for_current_user())


@home.route("/healthz")
@public
def health() -> Any:
    """For load balancers: the app is up. Touches no database and no session."""
    return "ok", 200, {"Content-Type": "text/plain"}


@home.route("/accessibility-statement")
@public
def accessibility() -> Any:
    return render_template("rcc/accessibility.html")


@home.route("/privacy")
@public
def privacy() -> Any:
    return render_template("rcc/privacy.html")


# Admin: people, audit trail, API tokens ------------------------------------------------

@admin.route("/people")
@allow(*PEOPLE_ADMINS)
def people() -> Any:
    found = list(db().scalars(select(User).order_by(User.name)).all())
    return render_template("rcc/admin/people.html", people=found, locked=users.locked_until(db(), found))


@admin.route("/people/invite", methods=["GET", "POST"])
@allow(*PEOPLE_ADMINS)
def invite() -> Any:
    organisation = current_organisation()
    form = InviteForm()
    form.roles.choices = [(r.value, r.label) for r in ROLES_BY_KIND[OrgKind(organisation.kind)]]
    if form.validate_on_submit():
        try:
            try:
                with transaction(db()) as s:
                    user, token = users.invite_user(s, organisation, form.email.data, form.name.data,
                                                    form.roles.data)
                    onboarding.send_invitation(s, user, token, organisation, current_user.name,
                                               url_for("auth.open_invite", token=token, _external=True))
            except users.AddressElsewhere as elsewhere:  # rolled back; answered as any invite is
                if elsewhere.decoy is None:
                    raise
                user, token = elsewhere.decoy
            return render_template("rcc/admin/invite_sent.html", person=user)
        except ServiceError as error:
            put_service_error(form, error, general="email")
    return render_template("rcc/admin/invite.html", form=form, errors=form_errors(form))


@admin.route("/people/<int:user_id>")
@allow(*PEOPLE_ADMINS)
def person(user_id: int) -> Any:
    person_ = get_or_404(User, user_id)
    return render_template("rcc/admin/person.html", person=person_, form=ConfirmForm(),
                           locked=users.locked_until(db(), [person_]))


PERSON_ACTIONS = {
    "deactivate": ("deactivated", lambda s, person: users.deactivate_user(s, person, current_user)),
    "reactivate": ("reactivated", users.reactivate_user),
    "reset-authenticator": ("must set up a new authenticator app at their next sign-in", users.reset_two_factor),
    "unlock": ("unlocked", users.unlock_user),
}


@admin.route("/people/<int:user_id>/<any(deactivate, reactivate, 'reset-authenticator', unlock):action>",
             methods=["POST"])
@allow(*PEOPLE_ADMINS)
def change_person(user_id: int, action: str) -> Any:
    person_ = get_or_404(User, user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome, change = PERSON_ACTIONS[action]
    try:
        with transaction(db()) as s:
            change(s, person_)
        flash(f"{person_.name} {outcome}" if " " in outcome else f"{person_.name} has been {outcome}")
    except ServiceError as error:
        flash(error.message, "important")
    return redirect(url_for("admin.person", user_id=user_id))


@admin.route("/audit-trail")
@allow(*ADMINS)
def audit_trail() -> Any:
    parsed = audit_trail_service.parse_filters(request.args)
    number = page_number()
    page = audit_trail_service.trail_page(db(), parsed.filters, number)
    errors = [{"text": message, "href": f"#{name}"} for name, message in parsed.errors.items()]
    return render_template(
        "rcc/admin/audit_trail.html", page=page, filters=parsed.filters, errors=errors, field_errors=parsed.errors,
        query=urlencode(parsed.filters.query_string_items()), people=audit_trail_service.people_in_trail(db()),
        actions=audit_trail_service.action_choices(), record_types=audit_trail_service.record_types(),
        describe=audit_trail_service.describe), 400 if errors else 200


@admin.route("/audit-trail.csv")
@allow(*ADMINS)
def audit_trail_csv() -> Any:
    parsed = audit_trail_service.parse_filters(request.args)
    if parsed.errors:
        abort(400)
    rows = audit_trail_service.trail_csv_rows(db(), parsed.filters)
    return Response(write_csv(audit_trail_service.CSV_HEADER, rows), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit-trail.csv"})


@admin.route("/api-tokens", methods=["GET", "POST"])
@allow(*ADMINS)
def api_tokens() -> Any:
    form = ApiTokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            with transaction(db()) as s:
                _token, secret = users.create_api_token(s, current_user, form.name.data, form.scope.data,
                                                        whole_number(form.days.data) or 0)
            form = ApiTokenForm(formdata=None)
        except ServiceError as error:
            put_service_error(form, error, general="name")
    tokens = db().scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
    return render_template("rcc/admin/api_tokens.html", form=form, errors=form_errors(form), tokens=tokens,
                           secret=secret, revoke_form=ConfirmForm(),
                           now_utc=utcnow())


@admin.route("/api-tokens/<int:api_token_id>/revoke", methods=["POST"])
@allow(*ADMINS)
def revoke_api_token(api_token_id: int) -> Any:
    token = get_or_404(ApiToken, api_token_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with transaction(db()) as s:
        users.revoke_api_token(s, token)
    flash(f"API token ‘{token.name}’ revoked")
    return redirect(url_for("admin.api_tokens"))


