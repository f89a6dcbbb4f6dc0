"""Structured logs: every line a request writes is one JSON object naming the request's id, and none
carries the signed-in person's name or email, a query string, or a failed statement's values."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from rcc import logs
from rcc.roles import Role
from tests.conftest import sign_in
from tests.factories import make_region


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "L", ("Coventry", "Warwickshire"))


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # each line is JSON, or this fails
    assert all(isinstance(line, dict) for line in parsed)
    return parsed


def test_a_requests_log_lines_are_json_with_its_id_and_no_personal_data(app, region, capsys):
    officer = region.people[Role.COUNCIL_PLACEMENT_OFFICER]
    capsys.readouterr()
    client = sign_in(app.test_client(), officer)  # the sign-in form carries the email address
    app.logger.warning("Looked at %s", officer.email)  # a careless message is scrubbed too
    response = client.get(f"/notifications?search={officer.name.replace(' ', '+')}&child=COV-0001",
                          headers={"X-Request-Id": "edge-4f2a.9"})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == "edge-4f2a.9"

    written = capsys.readouterr().err
    lines = json_lines(written)
    [line] = [x for x in lines if x.get("request_id") == "edge-4f2a.9"]
    assert line["logger"] == "rcc.requests" and line["status"] == 200 and line["method"] == "GET"
    assert line["path"] == "/notifications" and line["duration_ms"] >= 0
    sign_ins = [x for x in lines if x.get("path") == "/sign-in"]
    assert sign_ins and all(len(x["request_id"]) == 32 for x in sign_ins)  # ids of our own when none was sent
    assert officer.email not in written and officer.name not in written and "MARK-" not in written
    assert "COV-0001" not in written and "search=" not in written
    assert any(x["message"] == "Looked at [email]" for x in lines)


def test_an_unsafe_request_id_is_replaced_by_one_of_ours(app, client, capsys):
    capsys.readouterr()
    response = client.get("/", headers={"X-Request-Id": "<script>alert(1)</script>"})
    given = response.headers["X-Request-Id"]
    assert given != "<script>alert(1)</script>" and len(given) == 32
    assert [x["request_id"] for x in json_lines(capsys.readouterr().err) if x["logger"] == "rcc.requests"] == [given]


def test_a_failed_statements_values_and_emails_are_not_written():
    try:
        raise RuntimeError("(psycopg.errors.UniqueViolation) duplicate key\n[SQL: INSERT INTO user_account ...]\n"
                           "[parameters: ('Jane Doe', 'jane@example.gov.uk')]\n(Background on this error at: x)")
    except RuntimeError:
        record = logging.LogRecord("rcc", logging.ERROR, __file__, 1, "Saving %s failed", ("jo@example.org",),
                                   sys.exc_info())
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["message"] == "Saving [email] failed"
    assert "[SQL: INSERT INTO user_account ...]" in line["error"]
    assert "Jane Doe" not in line["error"] and "jane@" not in line["error"]
