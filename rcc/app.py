"""The app factory."""

from __future__ import annotations

import importlib
import os
from typing import Any

from flask import Flask, g, render_template, request
from flask.json.provider import DefaultJSONProvider
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict as HTTPConflict
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.exceptions import NotFound as werkzeug_not_found
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from rcc import users
from rcc.api import API_CHALLENGE, MAX_ID
from rcc.config import load_config
from rcc.db import lost_connection, make_engine, session_factory
from rcc.encryption import SecretBox, check_stored_secrets, key_for
from rcc.errors import NotFound
from rcc.layout import init_layout
from rcc.permissions import refuse_undeclared_routes
from rcc.web import db, init_request_handling, signed_in_person

# The capability packages; the core only registers them and never reads their contents.
CAPABILITIES: tuple[str, ...] = ("commissioning", "contracts", "matching", "cost_transparency")

csrf = CSRFProtect()
login_manager = LoginManager()

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class _JsonProvider(DefaultJSONProvider):
    """Flask's JSON, refusing a body nested too deeply for the reader as unreadable JSON (a 400)
    rather than letting the reader's RecursionError become a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError("The JSON is nested too deeply") from error


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False,
                instance_path=os.environ.get("RCC_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance"))
    app.config.update(load_config(app.instance_path, overrides))
    app.json = _JsonProvider(app)
    if app.config.get("RCC_PROXY_HOPS"):  # the visitor's own address, not the proxy's (public forms' back-off)
        hops = int(app.config["RCC_PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    os.makedirs(app.instance_path, exist_ok=True)
    # Refuses to start in production without RCC_TOTP_KEY; development and testing derive one.
    app.extensions["rcc_secret_box"] = SecretBox(key_for(app.config["RCC_ENV"], app.config["RCC_TOTP_KEY"]))

    # The web and the workers log in as a role that cannot see past row-level security; in
    # production the app refuses to work otherwise (README, "Database roles").
    engine = make_engine(app.config["DATABASE_URL"], app.config["DATABASE_APP_ROLE"],
                         check_login="refuse" if app.config["RCC_ENV"] == "production" else "warn")
    app.extensions["rcc_engine"] = engine
    if app.config["RCC_TOTP_KEY"] or app.config["RCC_ENV"] == "production":
        # The wrong key is a clear start-up error (naming RCC_TOTP_KEY), not a failure at each sign-in.
        check_stored_secrets(engine, app.extensions["rcc_secret_box"])
    app.extensions["rcc_sessions"] = session_factory(engine)

    app.url_map.converters["int"] = RecordIdConverter
    _init_templates(app)
    init_layout(app)
    csrf.init_app(app)
    _init_login(app)
    init_request_handling(app)
    _init_security_headers(app)
    from rcc import logs  # noqa: PLC0415 - the JSON log lines (branch ops)

    logs.configure(app)

    from rcc import api, views  # noqa: PLC0415 - blueprints need the extensions above

    views.register(app)
    api.init_api(app)
    for name in CAPABILITIES:
        importlib.import_module(name).register(app)
    refuse_undeclared_routes(app)
    _init_error_pages(app)
    from rcc import cli  # noqa: PLC0415

    cli.register(app)
    return app


class RecordIdConverter(IntegerConverter):
    """``<int:…>`` in a URL matches only numbers that can be a record id, so a huge number is a 404."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _init_templates(app: Flask) -> None:
    app.jinja_loader = ChoiceLoader([
        PackageLoader("rcc", "templates"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ])
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see this page"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(user_id: str) -> Any:
        if request.path.startswith("/api/"):
            return None  # the API takes tokens only, so a browser's cookie cannot act there
        return signed_in_person(int(user_id))

    @login_manager.request_loader
    def _load_api_client(req: Any) -> Any:
        header = req.headers.get("Authorization", "")
        if not req.path.startswith("/api/") or not header.startswith("Bearer "):
            return None
        secret = header.removeprefix("Bearer ").strip()
        with users.account_access(db(), api_token=secret) as session:
            found = users.api_client(session, secret)
        if found is None:
            return None
        g.api_token_scope = found[1].scope  # read-only tokens are refused writes (rcc.api)
        return found[0]

    @login_manager.unauthorized_handler
    def _unauthorized() -> Any:
        if request.path.startswith("/api/"):
            from rcc.api import problem  # noqa: PLC0415

            return (problem(401, "Send a current API token in the Authorization header: Bearer <token>"),
                    401, {"WWW-Authenticate": API_CHALLENGE})
        from flask import flash, redirect, url_for  # noqa: PLC0415

        flash(login_manager.login_message, "important")
        return redirect(url_for("auth.sign_in", next=request.full_path if request.query_string else request.path))



def _init_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if app.config["RCC_ENV"] == "production" or app.config["SESSION_COOKIE_SECURE"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        return response


def _init_error_pages(app: Flask) -> None:
    from rcc.api import api_error_response  # noqa: PLC0415

    @app.errorhandler(CSRFError)
    def _csrf_failed(error: CSRFError) -> Any:
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(NotFound)
    def _not_found(error: NotFound) -> Any:
        return _http_error(werkzeug_not_found())

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return api_error_response(error)
        template = {403: "errors/403.html", 404: "errors/404.html", 413: "errors/413.html"}.get(
            error.code or 500, "errors/generic.html")
        return render_template(template, error=error), error.code

    @app.errorhandler(StaleDataError)
    def _changed_meanwhile(_error: StaleDataError) -> Any:
        # A write whose row another request changed after this one read it (rcc.versions): never a 500.
        return _http_error(HTTPConflict("Someone else changed this record at the same moment, so your change "
                                        "was not saved. Go back, reload the page and try again."))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        if lost_connection(error):  # it was retried once already (rcc.web); nothing of the request was kept
            app.logger.warning("The database connection was lost twice in one request: %s", error)
            return _http_error(ServiceUnavailable(
                "The service lost its connection to the database, so nothing was saved. Try again in a moment."))
        app.logger.exception("Unexpected error")
        if request.path.startswith("/api/"):
            from rcc.api import problem  # noqa: PLC0415

            return problem(500, "Something went wrong. Try again later.")
        return render_template("errors/500.html"), 500
