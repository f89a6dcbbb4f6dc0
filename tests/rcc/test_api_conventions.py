"""The API's conventions (issue 19 item 11): every error is RFC 9457 problem details, in the
document and on the wire; every list is paged the same way with its total; the document has no
default outside its enum (the error openapi-spec-validator reported)."""

from __future__ import annotations

import json

import pytest

from rcc import users
from rcc.roles import Role
from tests.factories import make_region

PROBLEM = "application/problem+json"


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "A", ("Coventry", "Warwickshire"))


@pytest.fixture
def document(client):
    return client.get("/api/openapi.json").get_json()


def _resolve(document, node):
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = document["components"][kind][name]
    return node


def _walk(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def test_no_default_lies_outside_its_enum(document):
    wrong = [path for path, node in _walk(document)
             if "enum" in node and "default" in node and node["default"] not in node["enum"]]
    assert wrong == []


def test_every_error_response_is_documented_as_problem_details(document):
    wrong = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for code, response in operation["responses"].items():
                if code.startswith(("2", "3")):
                    continue
                content = _resolve(document, response).get("content", {})
                schema = _resolve(document, content.get(PROBLEM, {}).get("schema", {}))
                if set(content) != {PROBLEM} or not {"type", "title", "status", "detail"} <= set(
                        schema.get("required", [])):
                    wrong.append(f"{method.upper()} {path} {code}")
    assert wrong == []


def test_every_list_documents_page_page_size_and_its_total(document):
    wrong = []
    for path, operations in document["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        success = _resolve(document, operation["responses"]["200"])
        schema = success.get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("type") != "array":
            continue
        names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
        if not {"page", "page_size"} <= names or "X-Pagination" not in success.get("headers", {}):
            wrong.append(path)
    assert wrong == []


def _token(setup_session, user):
    _made, secret = users.create_api_token(setup_session, user, "conventions")
    setup_session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _is_problem(response, status):
    assert response.status_code == status
    assert response.mimetype == PROBLEM, response.mimetype
    body = response.get_json(force=True)
    assert body["type"] == "about:blank" and body["status"] == status and body["title"] and body["detail"]
    return body


def test_errors_are_problem_details_with_the_field_errors_inside(client, setup_session, region):
    _is_problem(client.get("/api/v1/me"), 401)
    headers = _token(setup_session, region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    _is_problem(client.get("/api/v1/referrals/999999", headers=headers), 404)
    _is_problem(client.get("/api/v1/no-such-thing", headers=headers), 404)
    refused = _is_problem(client.post("/api/v1/referrals", json={"child": {"reference": 5}}, headers=headers), 422)
    assert "json" in refused["errors"]
    wrong_page = _is_problem(client.get("/api/v1/referrals?page=0", headers=headers), 422)
    assert "page" in wrong_page["errors"]["query"]


def test_lists_honour_page_and_page_size_and_give_the_total(client, setup_session, region):
    headers = _token(setup_session, region.people[Role.RCC_ADMIN])
    first = client.get("/api/v1/organisations?page_size=2", headers=headers)
    everything = client.get("/api/v1/organisations?page_size=500", headers=headers).get_json()
    meta = json.loads(first.headers["X-Pagination"])
    assert len(first.get_json()) == 2 and meta["total"] == len(everything) > 2 and meta["next_page"] == 2
    second = client.get("/api/v1/organisations?page=2&page_size=2", headers=headers).get_json()
    assert [o["id"] for o in first.get_json() + second] == [o["id"] for o in everything[:4]]
    # More than the largest page is refused, not silently cut.
    _is_problem(client.get("/api/v1/organisations?page_size=501", headers=headers), 422)
    audit = client.get("/api/v1/audit-events?page_size=1", headers=headers)
    assert len(audit.get_json()) <= 1 and "total" in json.loads(audit.headers["X-Pagination"])


def test_a_page_far_past_the_end_is_empty_not_a_server_error(client, setup_session, region):
    headers = _token(setup_session, region.people[Role.RCC_ADMIN])
    for path in ("/api/v1/audit-events", "/api/v1/referrals", "/api/v1/homes"):
        far = client.get(f"{path}?page=1000000000000&page_size=500", headers=headers)
        assert far.status_code == 200 and far.get_json() == [], path
