"""Request plumbing shared by every blueprint: the request's database session and its scope."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from flask import Flask, abort, current_app, flash, g, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from rcc import audit, numbers, users
from rcc.audit import Actor, AuditAction, set_actor
from rcc.config import SESSION_LIFETIME
from rcc.csv_files import UNSTORABLE
from rcc.db import Session, has_committed, lost_connection, transaction
from rcc.errors import FieldError, FieldErrors, ServiceError
from rcc.models import Organisation, User, UserSession
from rcc.tenancy import TenantScope, set_scope

Model = TypeVar("Model")
PUBLIC_SCOPE = TenantScope("public")
MAX_ID = 2**31 - 1  # ids are PostgreSQL integers; anything larger cannot name a record
MAX_PAGE = 100_000  # far past the end of any list; a larger page number is a 404, never a database error
# Dates people and links may give: anything outside cannot be stored, compared or counted back from.
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)
DAYS_ERROR = "Enter a date between 1 January 2000 and 31 December 2099"
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,40}")  # fits audit_event.request_id


def db() -> Session:
    """The current request's session, opened on first use and closed when the request ends."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["rcc_sessions"]()
        set_scope(g.db_session, PUBLIC_SCOPE)
        set_actor(g.db_session, Actor.platform(request_id()))
    return g.db_session


def audit_read(action: AuditAction, records: Sequence[Any], referral_of: Callable[[Any], int | None] | None = None,
               **detail: Any) -> None:
    """Audit this request's read of a child's ``records`` (see ``rcc.audit.record_read``), and commit it.

    Called once per page or API response, after its data is loaded: one INSERT, however many rows.
    A response that shows no child (an empty list, a run page refreshing while it runs) reads nothing.
    """
    if not records:
        return
    with transaction(db()) as session:
        audit.record_read(session, action, records, referral_of, **detail)


def request_id() -> str:
    if "request_id" not in g:
        supplied = request.headers.get("X-Request-Id", "")
        # A client's id is kept only if it is a short plain token; anything else gets one of ours.
        g.request_id = supplied if REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
    return g.request_id


def scope_for(user: User) -> TenantScope:
    return TenantScope.for_organisation(user.organisation_kind, user.organisation_id, user.rcc_id)


def act_as(user: User) -> None:
    """Narrow the request's session to what ``user`` may see, and attribute changes to them."""
    set_scope(db(), scope_for(user))
    set_actor(db(), Actor(user.id, user.organisation_id, user.rcc_id, request_id()))


def sign_in_to_session(user: User, token: str) -> None:
    """Start a signed-in session for ``user``: the cookie carries the server-side session's token
    (``users.record_sign_in`` made it) and whose data it may see."""
    login_user(user)
    session["session_token"] = token
    session["scope"] = [str(user.organisation_kind), user.organisation_id, user.rcc_id]
    session.permanent = True  # the cookie lasts as long as the session may (SESSION_LIFETIME)


SIGNED_OUT_BECAUSE = {
    "idle": "You were signed out because you had not used the service for a while. Sign in again.",
    "expired": f"You were signed out because you signed in more than {SESSION_LIFETIME.total_seconds() / 3600:.0f} "
               "hours ago. Sign in again.",
    "revoked": "You have been signed out. Sign in again.",
}


def signed_in_person(user_id: int) -> User | None:
    """The person a session cookie names, if the server-side session it carries is still good and
    they are still active, with their organisation: one indexed query.

    The person is looked up within the scope their session remembers, so the request's first
    statement already runs as them rather than as the platform.
    """
    remembered = _remembered_scope()
    token = session.get("session_token")
    if remembered is None or not isinstance(token, str):
        return None  # a session from before server-side sessions: sign in again
    set_scope(db(), remembered)
    row = db().execute(select(User, Organisation, UserSession)
                       .join(Organisation, Organisation.id == User.organisation_id)
                       .join(UserSession, UserSession.user_id == User.id)
                       .where(UserSession.token_hash == users.hash_token(token), User.id == user_id)).first()
    if row is None or not row[0].is_active or scope_for(row[0]) != remembered:
        set_scope(db(), PUBLIC_SCOPE)
        g.signed_out_because = "revoked"
        return None
    problem = users.session_problem(row[2], current_app.config["SESSION_IDLE_TIMEOUT"])
    if problem is not None:
        set_scope(db(), PUBLIC_SCOPE)
        g.signed_out_because = problem
        return None
    g.current_organisation = row[1]
    g.user_session = row[2]
    return row[0]  # type: ignore[no-any-return]


def current_user_session() -> UserSession | None:
    """The signed-in browser's server-side session, if this request has one."""
    return g.get("user_session")


def _remembered_scope() -> TenantScope | None:
    remembered = session.get("scope")
    if not isinstance(remembered, list) or len(remembered) != 3:
        return None  # a session from before scopes were remembered: sign in again
    kind, organisation_id, rcc_id = remembered
    return TenantScope.for_organisation(kind, organisation_id, rcc_id)


def current_organisation() -> Organisation:
    """The signed-in person's organisation, looked up once a request (every page's header shows it)."""
    if "current_organisation" not in g:
        g.current_organisation = get_or_404(Organisation, current_user.organisation_id)
    return g.current_organisation


def get_or_404(model: type[Model], object_id: int) -> Model:
    """The object if the signed-in organisation may see it; otherwise 404, never 403."""
    if not 1 <= object_id <= MAX_ID:
        abort(404)  # no record can have it, and the database cannot even compare it
    found = db().get(model, object_id)
    if found is None:
        abort(404)
    return found


def whole_number(text: str | None, maximum: int = MAX_ID) -> int | None:
    """The whole number from 0 to ``maximum`` in ``text`` (a form field or query argument), else None:
    for values a form's validators have already checked, or a query argument that may be anything.
    Read by rcc.numbers (ASCII digits only: ``str.isdigit`` also accepts '²', which ``int`` refuses)."""
    try:
        return numbers.whole_number(text, maximum=maximum)
    except ValueError:
        return None


def id_argument(name: str) -> int | None:
    """``?name=<record id>``: None when absent or not a number; a number no record can have is a 404."""
    text = request.args.get(name, "").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    number = whole_number(text)
    if number is None or number < 1:
        abort(404)
    return number


def page_number() -> int:
    """``?page=N`` of a list: 1 when absent or not a number; a page past ``MAX_PAGE`` is a 404."""
    text = request.args.get("page", "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    number = whole_number(text, MAX_PAGE)
    if number is None:
        abort(404)
    return max(1, number)


def parse_day(text: str | None) -> date | None:
    """The one parser for a date someone typed or a link carried: 2027-03-27, 27/3/2027 or 27 3 2027.

    None when empty; ValueError (with a message naming the allowed range) when it is not a real date
    between ``EARLIEST_DAY`` and ``LATEST_DAY``, so year 0 or 99999 never reaches date arithmetic.
    """
    text = (text or "").strip()
    if not text:
        return None
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    other = re.fullmatch(r"(\d{1,2})[\s/.-]+(\d{1,2})[\s/.-]+(\d{2}|\d{4})", text)
    try:
        if iso:
            year, month, day = (int(part) for part in iso.groups())
        elif other:
            day, month, year = (int(part) for part in other.groups())
            year = year if year > 99 else 2000 + year
        else:
            raise ValueError(f"'{text}' is not a date like 27/3/2027")
        found = date(year, month, day)
    except ValueError as error:
        raise ValueError(f"'{text}' is not a real date. {DAYS_ERROR}") from error
    if not EARLIEST_DAY <= found <= LATEST_DAY:
        raise ValueError(DAYS_ERROR)
    return found


def refuse_unstorable_form_text() -> None:
    """One check for every form: a field holding NUL or another control character is a 400 naming
    the field, before any view reads it, rather than a database error when it is saved."""
    if request.method not in ("POST", "PUT", "PATCH") or not request.form:
        return
    for name, value in request.form.items(multi=True):
        if UNSTORABLE.search(value):
            abort(400, description=f"The '{name}' field contains a control character (such as NUL) that "
                                   "cannot be saved. Remove it and try again.")


def init_request_handling(app: Flask) -> None:
    app.before_request(refuse_unstorable_form_text)

    @app.before_request
    def _scope_request() -> None:
        user = current_user._get_current_object()  # type: ignore[attr-defined]
        ended = g.pop("signed_out_because", None)
        if ended is not None:
            logout_user()
            session.clear()  # the cookie's token is no good: drop it, so it is not looked up again
            set_scope(db(), PUBLIC_SCOPE)
            flash(SIGNED_OUT_BECAUSE[ended], "important")
            return
        if not user.is_authenticated:
            return
        act_as(user)
        record = current_user_session()
        if record is not None and users.last_seen_is_stale(record):
            with transaction(db()) as s:  # at most once a minute, so most requests write nothing
                users.note_session_activity(s, record)

    @app.teardown_request
    def _close_session(_error: BaseException | None) -> None:
        opened = g.pop("db_session", None)
        if opened is not None:
            opened.close()

    _retry_once_on_lost_connection(app)


def _retry_once_on_lost_connection(app: Flask) -> None:
    """A request whose database connection dropped is run again, once, on a fresh connection.

    A pooled connection can be dropped between requests (a server restart, a terminated backend)
    and pinging only idle ones cannot see that; the server also rolls back a transaction whose
    connection dies mid-request. Either way nothing of this request was kept, so, provided nothing
    of it had been committed yet, running the whole request again (before-request handlers
    included) is safe, and the person sees their page instead of an error.
    """
    preprocess, dispatch = app.preprocess_request, app.dispatch_request

    def retryable(error: BaseException) -> bool:
        opened = g.get("db_session")
        return (lost_connection(error) and not g.get("db_retried")
                and (opened is None or not has_committed(opened)))

    def start_again() -> None:
        g.db_retried = True
        opened = g.pop("db_session", None)
        if opened is not None:
            opened.close()
        for name in ("current_organisation", "_login_user"):
            g.pop(name, None)
        for upload in request.files.values():  # the first attempt read them
            upload.stream.seek(0)
        app.logger.warning("The database connection was lost; running the request again on a new one")

    def preprocess_request() -> Any:
        try:
            return preprocess()
        except Exception as error:
            if not retryable(error):
                raise
            start_again()
            return preprocess()

    def dispatch_request() -> Any:
        try:
            return dispatch()
        except Exception as error:
            if not retryable(error):
                raise
            start_again()
            return preprocess() or dispatch()

    app.preprocess_request = preprocess_request  # type: ignore[method-assign]
    app.dispatch_request = dispatch_request  # type: ignore[method-assign]


def form_errors(form: Any) -> list[dict[str, str]]:
    """Errors for the GOV.UK error summary, each linking to its field; then any message a service
    gave that belongs to no field of the form (``put_service_error``), linked to the page's content."""
    return [
        {"text": messages[0], "href": f"#{getattr(form, name).id}"}
        for name, messages in form.errors.items() if messages and hasattr(form, name)
    ] + [{"text": message, "href": "#main-content"} for message in getattr(form, SUMMARY_ONLY, [])]


SUMMARY_ONLY = "rcc_summary_only_errors"


def put_service_error(form: Any, error: ServiceError, *, general: str | None = None,
                      fields: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The one way to show a service's refusal on a form: each message goes on the field it names.

    ``fields`` maps a service's name for a field to the form's, where they differ (``end_date`` is
    the form's ``end_day`` box, say). A message naming no field (a ``Conflict``) goes on the
    ``general`` field if one is given. Any other message, for a field the form does not have, is
    never dropped: it is shown in the error summary alone. Returns the error summary's items.
    """
    if isinstance(error, FieldErrors):
        messages = dict(error.errors)
    elif isinstance(error, FieldError):
        messages = {error.field: error.message}
    else:
        messages = {general or "": error.message}
    for name, message in messages.items():
        field = getattr(form, (fields or {}).get(name, name), None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
        else:
            setattr(form, SUMMARY_ONLY, [*getattr(form, SUMMARY_ONLY, []), message])
    return form_errors(form)
