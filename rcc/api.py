"""JSON API plumbing: one flask-smorest Api, token authentication, JSON errors.

Capability packages create blueprints with ``api_blueprint`` and register them with
``register_api_blueprint``. Handlers carry the same ``allow`` decorators as pages and
read through the same tenant-scoped session, so the API can show nothing a page would not.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, NoReturn

from flask import Flask, Response, g, jsonify, request
from flask_login import current_user
from flask_smorest import Api, Blueprint, Page
from flask_smorest import abort as api_abort
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from rcc import numbers
from rcc.errors import Conflict, FieldError, FieldErrors, NotFound, ServiceError
from rcc.models import TOKEN_READ_WRITE, AuditEvent, Organisation
from rcc.permissions import allow, signed_in
from rcc.roles import ADMINS
from rcc.versions import EditConflict, parse_version
from rcc.web import DAYS_ERROR, EARLIEST_DAY, LATEST_DAY, MAX_ID, db

API_PREFIX = "/api/v1"
API_CHALLENGE = 'Bearer realm="RCC API"'  # WWW-Authenticate on every 401 (RFC 6750)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
__all__ = ["DAYS_ERROR", "EARLIEST_DAY", "LATEST_DAY", "MAX_ID"]  # re-exported for the capabilities' schemas
PROBLEM_JSON = "application/problem+json"  # every API error (RFC 9457)


class ProblemSchema(Schema):
    """An API error as RFC 9457 problem details, the field errors inside ``errors``."""

    type = fields.String(required=True, metadata={
        "description": "A URI naming the kind of problem; `about:blank` when the HTTP status says it all"})
    title = fields.String(required=True, metadata={"description": "The HTTP status's name, like `Not Found`"})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    detail = fields.String(required=True, metadata={"description": "What went wrong, in plain English"})
    errors = fields.Dict(metadata={
        "description": "Field errors: where (`json`, `query`, `headers`) → field → messages. A service's rule about "
                       "a field comes as `json` → field → message"})
    code = fields.Integer(metadata={"description": "The same as `status`; kept for clients written before "
                                                   "problem details"})
    message = fields.String(metadata={"description": "The same as `detail`; kept for clients written before "
                                                     "problem details"})


class RccApi(Api):  # type: ignore[misc]  # flask_smorest is untyped
    """flask-smorest's Api, documenting every error response as problem details (``ProblemSchema``)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        success_type: str = Api.DEFAULT_RESPONSE_CONTENT_TYPE  # success answers stay application/json
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_JSON
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = success_type

    def handle_http_exception(self, error: HTTPException) -> Any:
        return api_error_response(error)


smorest = RccApi()


# Bounds for request fields, so the database never sees a value it cannot store.
MAX_WEEKLY_PENCE = numbers.MAX_WEEKLY_PENCE
MAX_LIST = 500  # ids or names in one list: more than a region has


class Text(fields.String):
    """Text someone typed. The database cannot store the NUL character or half a surrogate pair,
    so either is refused as a 422 naming the field rather than failing on the way in."""

    default_error_messages = {"unstorable": "Must be plain text, without the NUL character or broken characters"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise self.make_error("unstorable") from error
        if "\x00" in text:
            raise self.make_error("unstorable")
        return text


def bounded_text(maximum: int, **kwargs: Any) -> fields.String:
    return Text(validate=validate.Length(max=maximum, error=f"Must be {maximum:,} characters or fewer"), **kwargs)


def whole_number(minimum: int, maximum: int, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(
        min=minimum, max=maximum, error=f"Enter a whole number from {minimum:,} to {maximum:,}"), **kwargs)


def id_field(**kwargs: Any) -> fields.Integer:
    """A record id in a request: a whole number from 1 up, refused with a clear message otherwise."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class _BodyParser(FlaskParser):
    """webargs' parser, refusing a body nested too deeply for the JSON reader as a 400 like any
    other unreadable JSON (Python's reader gives up with RecursionError, which would be a 500)."""

    def _raw_load_json(self, req: Any) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError as error:
            self._handle_invalid_json_error(error, req)  # type: ignore[arg-type]


# Every list is paged the same way (``blueprint.paginate``): ``page`` from 1 and ``page_size`` from 1 to
# MAX_PAGE_SIZE (PAGE_SIZE when not given); the ``X-Pagination`` header carries ``total`` and the pages.
# A page size over the maximum is refused (422), never silently cut.
PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
PAGING_DOC = ("Lists come a page at a time: `page` (from 1) and `page_size` (1 to 500; 100 when not given). "
              "The `X-Pagination` response header says `total` (items in the whole list), `total_pages`, "
              "`first_page`, `last_page`, `page` and, where there is one, `previous_page` and `next_page`.")


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    blueprint = Blueprint(name, import_name, url_prefix=API_PREFIX, description=description)
    blueprint.ARGUMENTS_PARSER = _BodyParser()
    blueprint.DEFAULT_PAGINATION_PARAMETERS = {"page": 1, "page_size": PAGE_SIZE, "max_page_size": MAX_PAGE_SIZE}
    return blueprint


MAX_PAGE = 1_000_000  # further than any list goes; keeps a query's OFFSET within what a database can store


def page_of(pagination_parameters: Any, total: int) -> tuple[int, int]:
    """For a handler that pages in its query (``@bp.paginate()``): records the list's total for the
    header, and gives (page, page size) to query, the page held below MAX_PAGE."""
    pagination_parameters.item_count = total
    return min(pagination_parameters.page, MAX_PAGE), pagination_parameters.page_size


def register_api_blueprint(app: Flask, blueprint: Blueprint) -> None:
    from rcc.app import csrf  # noqa: PLC0415 - the API authenticates by token, never by cookie

    csrf.exempt(blueprint)
    app.extensions["rcc_api"].register_blueprint(blueprint)


def init_api(app: Flask) -> None:
    spec = {
        "info": {"description": "The Regional Care Cooperative platform's API. Every request needs a token, "
                                "made by an admin on the API tokens page, sent as `Authorization: Bearer <token>`. "
                                + PAGING_DOC + " Every error is RFC 9457 problem details "
                                "(`application/problem+json`): `type`, `title`, `status`, `detail`, and the "
                                "field errors in `errors`."},
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
    }
    smorest.init_app(app, spec_kwargs=spec)
    app.extensions["rcc_api"] = smorest
    register_api_blueprint(app, core)

    @app.before_request
    def _read_only_tokens_only_read() -> Any:
        if not request.path.startswith("/api/") or request.method not in WRITES:
            return None
        if current_user.is_authenticated and g.get("api_token_scope") != TOKEN_READ_WRITE:
            return problem(403, "This API token is read-only. Make a read-and-change token to send changes.")
        return None


def problem(status: int, detail: str, errors: dict[str, Any] | None = None, **extra: Any) -> Any:
    """An RFC 9457 problem details response: ``type``, ``title``, ``status``, ``detail``, the field
    ``errors`` when there are any, and ``extra`` members (``current_version``, ``changes``)."""
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    body.update(code=status, message=detail)  # the members clients read before problem details
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def api_error_response(error: HTTPException) -> Any:
    """Problem details (``problem``) for every API error, keeping the plain-English message a handler
    gave (``flask_smorest.abort(409, message=...)``) as ``detail`` and marshmallow's per-field messages
    as ``errors``."""
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages") or None
    detail = data.get("message") or ("Not found" if error.code == 404 else error.description) or error.name
    extra = {name: data[name] for name in ("current_version", "changes") if name in data}
    response = problem(error.code or 500, detail, errors, **extra)
    if "current_version" in data:
        response.headers["ETag"] = etag(data["current_version"])
    if error.code == 401:
        response.headers["WWW-Authenticate"] = API_CHALLENGE
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if isinstance(error.response, Response):  # a 405's Allow header, say
        for name in ("Allow", "Retry-After"):
            if name in error.response.headers:
                response.headers[name] = error.response.headers[name]
    elif hasattr(error, "get_headers"):
        for name, value in error.get_headers():
            if name in ("Allow", "Retry-After"):
                response.headers[name] = value
    return response


def raise_service_error(error: ServiceError) -> NoReturn:
    """Raise the HTTP error for a service error, for ``api_error_response`` to turn into JSON.

    NotFound is a 404; wrong fields a 422 naming each field under ``errors.json``; Conflict a 409;
    any other business rule a 400. The person's message goes in ``message``.
    """
    if isinstance(error, NotFound):
        api_abort(404)
    if isinstance(error, EditConflict):
        api_abort(412 if request.headers.get("If-Match") else 409, message=error.message,
                  current_version=error.current_version,
                  changes=[{"field": c.field, "theirs": c.theirs, "yours": c.yours} for c in error.changes])
    if isinstance(error, FieldErrors | FieldError):
        fields = error.errors if isinstance(error, FieldErrors) else {error.field: error.message}
        api_abort(422, errors={"json": fields}, message="The request has problems: " + "; ".join(fields.values()))
    api_abort(409 if isinstance(error, Conflict) else 400, message=error.message)
    raise AssertionError  # pragma: no cover - api_abort always raises; mypy cannot see it (flask_smorest is untyped)


# Optimistic locking: the version a client read travels with its change -----------------------

IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": "The ETag (row version) of the record as you read it, like `\"3\"`. If someone has "
                           "changed the record since, nothing is written and the answer is 412 with the current "
                           "version and what differs. The body's `row_version` field does the same (then 409)."}
ETAG_HEADER = {"ETag": {"description": "The record's row version, for `If-Match` on your next change",
                        "schema": {"type": "string"}}}
EDIT_CONFLICT_DOC = ("Refused: the record is not in a state that allows this, or someone else changed it after "
                     "you read it. Then `current_version` is its version now and `changes` lists each field with "
                     "their value and yours (412 when you sent If-Match, else 409).")


class ChangeSchema(Schema):
    field = fields.String(required=True)
    theirs = fields.String(required=True)
    yours = fields.String(required=True)


_CONFLICT_DETAIL = ("Someone else changed this referral while you were editing it. Check their changes below; "
                    "save again to replace them with yours.")
EDIT_CONFLICT_EXAMPLE = {
    "type": "about:blank", "title": "Precondition Failed", "status": 412, "detail": _CONFLICT_DETAIL,
    "current_version": 4,
    "changes": [{"field": "child_wishes", "theirs": "Live near my brother", "yours": "Keep my school"}],
    "code": 412, "message": _CONFLICT_DETAIL}


class EditConflictSchema(ProblemSchema):
    current_version = fields.Integer()
    changes = fields.List(fields.Nested(ChangeSchema))


def row_version_field(**kwargs: Any) -> fields.Integer:
    """The ``row_version`` a change schema accepts (optional) and a record schema shows."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), metadata={
        "description": "The record's version: send back the one you read, and a change made by someone else "
                       "since is refused rather than overwritten"}, **kwargs)


def etag(version: int) -> str:
    return f'"{version}"'


def seen_version(body: dict[str, Any]) -> int | None:
    """The version the client read: its ``If-Match`` header, else the body's ``row_version`` (taken out
    of ``body``), else None (then only a change made at the same moment is refused).

    An ``If-Match`` that is no version of ours can match no record, so it is refused as 412 too."""
    from_body = body.pop("row_version", None)
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return from_body
    return parse_version(header) or 0


def edits_a_versioned_record(blueprint: Blueprint) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Documents a handler that changes a versioned record: its If-Match header and 409/412 answers."""

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        for code in (409, 412):
            handler = blueprint.alt_response(code, schema=EditConflictSchema, description=EDIT_CONFLICT_DOC,
                                             example=EDIT_CONFLICT_EXAMPLE, content_type=PROBLEM_JSON)(handler)
        return blueprint.doc(parameters=[IF_MATCH])(handler)

    return decorate


def with_etag(data: Any, version: int, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    """A handler's answer with the record's version as its ETag header."""
    return data, status, {"ETag": etag(version)}


# The core's own endpoints --------------------------------------------------------------

core = api_blueprint("core_api", __name__, "Who you are, your region's organisations, your audit trail")


class MeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.Email(required=True)
    roles = fields.List(fields.String(), required=True)
    organisation_id = fields.Integer(required=True)


class OrganisationSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["rcc", "council", "provider"]})
    name = fields.String(required=True)
    ons_code = fields.String(allow_none=True)
    dfe_code = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    provider_sector = fields.String(allow_none=True)


class AuditEventSchema(Schema):
    id = fields.Integer(required=True)
    occurred_at = fields.DateTime(required=True)
    user_id = fields.Integer(allow_none=True)
    action = fields.String(required=True)
    object_type = fields.String(required=True)
    object_id = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    organisation_id = fields.Integer(allow_none=True, metadata={"description": "The organisation of who acted"})
    subject_organisation_id = fields.Integer(allow_none=True, metadata={
        "description": "The council whose child's record it is, when it is one"})
    record_ids = fields.Function(lambda event: [int(i) for i in (event.record_ids or "").strip(",").split(",") if i],
                                 metadata={"description": "Every record a read named (a list, an export)"})


@core.route("/me")
@core.response(200, MeSchema, example={"id": 7, "name": "Sam Patel", "email": "sam.patel@example.gov.uk",
                                        "roles": ["council_placement_officer"], "organisation_id": 3})
@signed_in
def me() -> Any:
    """The user the token acts as."""
    return current_user


@core.route("/organisations")
@core.response(200, OrganisationSchema(many=True), example=[
    {"id": 1, "kind": "rcc", "name": "North West Regional Care Cooperative", "ons_code": None, "dfe_code": None,
     "region": "North West", "provider_sector": None},
    {"id": 3, "kind": "council", "name": "Manchester", "ons_code": "E08000003", "dfe_code": "352",
     "region": "North West", "provider_sector": None}])
@signed_in
@core.paginate(Page)
def organisations() -> Any:
    """The RCC, its member councils and its providers."""
    return db().scalars(select(Organisation).order_by(Organisation.kind, Organisation.name)).all()


@core.route("/audit-events")
@core.response(200, AuditEventSchema(many=True), example=[
    {"id": 912, "occurred_at": "2027-03-01T10:15:00+00:00", "user_id": 7, "action": "referral.submitted",
     "object_type": "referral", "object_id": "41", "request_id": "5f0c9a7e2b1d4c3a"}])
@allow(*ADMINS)
@core.paginate()
def audit_events(pagination_parameters: Any) -> Any:
    """Your organisation's audit events, newest first: your own actions, and anyone's actions on your
    organisation's children (the RCC reading one of your referrals, say)."""
    page, size = page_of(pagination_parameters, db().scalar(select(func.count(AuditEvent.id))) or 0)
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).offset((page - 1) * size).limit(size)
    return db().scalars(query).all()
