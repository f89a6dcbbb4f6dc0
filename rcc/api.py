"""JSON API plumbing: one flask-smorest Api, token authentication, JSON errors.

Capability packages create blueprints with ``api_blueprint`` and register them with
``register_api_blueprint``. Handlers carry the same ``allow`` decorators as pages and
read through the same tenant-scoped session, so the API can show nothing a page would not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from flask import Flask, g, jsonify, request
from flask_login import current_user
from flask_smorest import Api, Blueprint
from flask_smorest import abort as api_abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select
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
smorest = Api()


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


def api_blueprint(name: str, import_name: str, description: str) -> Blueprint:
    blueprint = Blueprint(name, import_name, url_prefix=API_PREFIX, description=description)
    blueprint.ARGUMENTS_PARSER = _BodyParser()
    return blueprint


def register_api_blueprint(app: Flask, blueprint: Blueprint) -> None:
    from rcc.app import csrf  # noqa: PLC0415 - the API authenticates by token, never by cookie

    csrf.exempt(blueprint)
    app.extensions["rcc_api"].register_blueprint(blueprint)


def init_api(app: Flask) -> None:
    spec = {
        "info": {"description": "The Regional Care Cooperative platform's API. Every request needs a token, "
                                "made by an admin on the API tokens page, sent as `Authorization: Bearer <token>`."},
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
            return jsonify(code=403, status="Forbidden",
                           message="This API token is read-only. Make a read-and-change token to send changes."), 403
        return None


def api_error_response(error: HTTPException) -> Any:
    """JSON for every API error, keeping the plain-English message a handler gave
    (``flask_smorest.abort(409, message=...)``) and marshmallow's per-field messages."""
    data = getattr(error, "data", None) or {}
    body: dict[str, Any] = {"code": error.code, "status": error.name}
    if data.get("messages"):
        body["errors"] = data["messages"]
    if data.get("errors"):
        body["errors"] = data["errors"]
    body["message"] = data.get("message") or ("Not found" if error.code == 404 else error.description)
    for extra in ("current_version", "changes"):
        if extra in data:
            body[extra] = data[extra]
    response = jsonify(body)
    if "current_version" in data:
        response.headers["ETag"] = etag(data["current_version"])
    if error.code == 401:
        response.headers["WWW-Authenticate"] = API_CHALLENGE
    return response, error.code


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


EDIT_CONFLICT_EXAMPLE = {
    "code": 412, "status": "Precondition Failed", "current_version": 4,
    "message": "Someone else changed this referral while you were editing it. Check their changes below; save "
               "again to replace them with yours.",
    "changes": [{"field": "child_wishes", "theirs": "Live near my brother", "yours": "Keep my school"}]}


class EditConflictSchema(Schema):
    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String(required=True)
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
                                             example=EDIT_CONFLICT_EXAMPLE)(handler)
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
def organisations() -> Any:
    """The RCC, its member councils and its providers."""
    return db().scalars(select(Organisation).order_by(Organisation.kind, Organisation.name)).all()


@core.route("/audit-events")
@core.response(200, AuditEventSchema(many=True), example=[
    {"id": 912, "occurred_at": "2027-03-01T10:15:00+00:00", "user_id": 7, "action": "referral.submitted",
     "object_type": "referral", "object_id": "41", "request_id": "5f0c9a7e2b1d4c3a"}])
@allow(*ADMINS)
def audit_events() -> Any:
    """Your organisation's most recent 500 audit events, newest first: your own actions, and anyone's
    actions on your organisation's children (the RCC reading one of your referrals, say)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(500)
    return db().scalars(query).all()
