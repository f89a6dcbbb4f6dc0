"""Request plumbing shared by every blueprint: the request's database session and its scope."""

from __future__ import annotations

import re
import time
import uuid
from datetime import date
from typing import Any, TypeVar

from flask import Flask, abort, current_app, flash, g, request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from rcc.audit import Actor, set_actor
from rcc.db import Session
from rcc.models import Organisation, User
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


def sign_in_to_session(user: User) -> None:
    """Start a signed-in session for ``user``, remembering whose data it may see."""
    login_user(user)
    session["scope"] = [str(user.organisation_kind), user.organisation_id, user.rcc_id]
    note_activity()


def signed_in_person(user_id: int) -> User | None:
    """The person a session cookie names, if still active, with their organisation in the same query.

    The person is looked up within the scope their session remembers, so the request's first
    statement already runs as them rather than as the platform.
    """
    remembered = _remembered_scope()
    if remembered is None:
        return None
    set_scope(db(), remembered)
    row = db().execute(select(User, Organisation).join(Organisation, Organisation.id == User.organisation_id)
                       .where(User.id == user_id)).first()
    if row is None or not row[0].is_active or scope_for(row[0]) != remembered:
        set_scope(db(), PUBLIC_SCOPE)
        return None
    g.current_organisation = row[1]
    return row[0]  # type: ignore[no-any-return]


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
    """The whole number from 0 to ``maximum`` in ``text`` (a form field or query argument), else None.

    Only ASCII digits count: ``str.isdigit`` also accepts '²', which ``int`` then refuses.
    """
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)) or int(text) > maximum:
        return None
    return int(text)


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


def init_request_handling(app: Flask) -> None:
    @app.before_request
    def _scope_request() -> None:
        user = current_user._get_current_object()  # type: ignore[attr-defined]
        if not user.is_authenticated:
            return
        if _idle_too_long():
            logout_user()
            session.clear()
            set_scope(db(), PUBLIC_SCOPE)
            flash("You were signed out because you had not used the service for a while. Sign in again.")
            return
        note_activity()
        act_as(user)

    @app.teardown_request
    def _close_session(_error: BaseException | None) -> None:
        opened = g.pop("db_session", None)
        if opened is not None:
            opened.close()


IDLE_CLOCK_SECONDS = 60


def note_activity() -> None:
    # To the minute: the idle time-out is 30 minutes, and re-signing the cookie on every
    # request would make each response carry a new one.
    now = time.time()
    if now - float(session.get("last_seen") or 0) >= IDLE_CLOCK_SECONDS:
        session["last_seen"] = now
    if not session.permanent:
        session.permanent = True


def _idle_too_long() -> bool:
    if request.path.startswith("/api/"):
        return False  # API clients authenticate every request with a token
    last_seen = session.get("last_seen")
    limit = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    return last_seen is not None and time.time() - float(last_seen) > limit


def form_errors(form: Any) -> list[dict[str, str]]:
    """Errors for the GOV.UK error summary, each linking to its field."""
    return [
        {"text": messages[0], "href": f"#{getattr(form, name).id}"}
        for name, messages in form.errors.items() if messages and hasattr(form, name)
    ]
