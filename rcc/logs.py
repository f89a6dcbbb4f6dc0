"""Structured logs: one JSON object per line, each naming the request it belongs to, with no personal data.

``RCC_LOG_FORMAT=json`` (the default outside development) writes every log line to standard error as
JSON: ``time``, ``level``, ``logger``, ``message``, the ``request_id`` of the web request it came from
(the client's ``X-Request-Id`` if it is a short plain token, else one of ours, and sent back in the
response's ``X-Request-Id`` header) and, for the one line each request ends with, ``method``,
``endpoint``, ``path`` (the route's pattern, e.g. ``/referrals/<int:referral_id>``: no record's
id, no token, never the query string), ``status`` and ``duration_ms``.

What is never written: names, email addresses, children's details, query strings (a search or a
filter can carry a child's name or reference), and the parameters of failed database statements (they
can hold anything a form was sent). Email addresses that reach a message anyway (an email service's
error, say) are replaced by ``[email]``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Flask, g, has_request_context, request

REQUEST_LOG = logging.getLogger("rcc.requests")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# SQLAlchemy's error text ends with the statement's values; they may be anything a form held.
SQL_PARAMETERS = re.compile(r"\[parameters: .*?\](?=\n|$)", re.DOTALL)
QUERY_STRING = re.compile(r"(\s/[^\s?]*)\?[^\s\"]*")
# A path carrying a single-use token (an invitation, a password reset): logged as ``/invite/[redacted]``.
INVITE_PATH = re.compile(r"(/invite/|/reset-password/)(?!accept\b)[^\s?\"/]+")
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")
# Fields a line may carry besides the message (``log.info(..., extra={...})``); nothing else is copied.
EXTRA_FIELDS = ("method", "endpoint", "path", "status", "duration_ms", "job", "task")


def scrub(text: str) -> str:
    """``text`` without email addresses or database statement parameters."""
    return EMAIL.sub("[email]", SQL_PARAMETERS.sub("[parameters: not logged]", text))


def current_request_id() -> str | None:
    if not has_request_context():
        return None
    from rcc.web import request_id  # noqa: PLC0415 - rcc.web imports the models; this module must not

    return request_id()


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        for field in EXTRA_FIELDS:
            if hasattr(record, field):
                line[field] = getattr(record, field)
        if record.exc_info:
            line["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, default=str, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id of the web request it was logged in, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            try:
                record.request_id = current_request_id()
            except RuntimeError:  # no application context for rcc.web's helpers
                record.request_id = None
        return True


class ScrubAccessLog(logging.Filter):
    """Access logs (werkzeug's development server, gunicorn's) show paths without their query strings and
    without single-use tokens (``/invite/[redacted]``, ``/reset-password/[redacted]``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = INVITE_PATH.sub(r"\1[redacted]", QUERY_STRING.sub(r"\1", message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class StandardErrorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged (a process supervisor's pipe, or a
    test's capture), never to a stream closed since the handler was made."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure(app: Flask) -> None:
    """Install the JSON handler on the root logger (once per process) and the per-request line."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubAccessLog) for f in logger.filters):
            logger.addFilter(ScrubAccessLog())
    if app.config.get("RCC_LOG_FORMAT") == "json":
        root = logging.getLogger()
        if not any(isinstance(h, StandardErrorHandler) for h in root.handlers):
            handler = StandardErrorHandler()
            handler.setFormatter(JsonFormatter())
            handler.addFilter(RequestIdFilter())
            root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
        app.logger.handlers.clear()  # Flask's own handler would write the same line again, as text
    REQUEST_LOG.setLevel(logging.INFO)

    @app.before_request
    def _started() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _finished(response: Any) -> Any:
        from rcc.web import request_id  # noqa: PLC0415

        response.headers["X-Request-Id"] = request_id()
        started = g.get("request_started")
        path = _loggable_path()
        REQUEST_LOG.info("%s %s %s", request.method, path, response.status_code, extra={
            "method": request.method, "endpoint": request.endpoint, "path": path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None})
        return response


def _loggable_path() -> str:
    """The matched route's pattern; for a path no route matched, the path itself, short, tokens hidden."""
    if request.url_rule is not None:
        return str(request.url_rule.rule)
    return INVITE_PATH.sub(r"\1[redacted]", request.path)[:200]
