"""Hostile values in every field the platform takes: no 500 and a clear refusal.

Nothing here is a hand list of endpoints. The forms are found by walking every page each role
may open (from the URL map, as the tenancy matrix does) and reading the ``<form method=post>``
elements on it; the API bodies come from the OpenAPI document's request schemas and examples;
the CSV columns come from each import's own template. Every case of issue 14's defect 8 is sent
to every field that takes text, a number or a date.
"""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select
from sqlmodel import SQLModel

from rcc import users
from rcc.permissions import declared_access
from rcc.tenancy import tenant_models
from tests.conftest import sign_in
from tests.tenancy_world import build_world, path_for_user

# Issue 14, defect 8: each sent as typed into a box (forms, CSV) or as raw JSON text (API).
HOSTILE_TEXT: dict[str, str | bytes] = {
    "NUL byte": "before\x00after",
    "control character": "bell\x07here",
    "not UTF-8": b"broken\xff\xfetext",
    "huge": "x" * 200_000,
}
HOSTILE_NUMBERS = {
    "1e30": "1e30",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "NaN": "NaN",
    "sNaN": "sNaN",
    "superscript digit": "\u00b2",
    "Arabic-Indic digits": "\u0661\u0662",
    "too big for the column": "99999999999999999999999",
    "negative": "-5",
    "year 0": "0000-01-01",
    "year 99999": "99999-12-31",
}
FORM_CASES = {**HOSTILE_TEXT, **HOSTILE_NUMBERS}

# Form actions whose success would end the visit (or the person) rather than test a field.
LEAVES_THE_VISIT = ("sign-out", "deactivate", "reset-authenticator", "/revoke", "sessions")
NOT_PAGES = (".csv", ".pdf", ".json", "static", "healthz", "stylesheet", "/api/")


def _page_rules(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not any(n in rule.rule or n in rule.endpoint for n in NOT_PAGES):
            yield rule


def _may_get(app, rule, user) -> bool:  # type: ignore[no-untyped-def]
    access = declared_access(app, rule.endpoint, ["GET"])
    return all(a is not None and ("public" in a or user.has_any_role(a)) for a in access)


def _post_forms(html: bytes, page_path: str) -> list[tuple[str, dict[str, str], list[str]]]:
    """Each POST form on a page: its action, the values it would send untouched, and the names of
    the fields a person types into."""
    forms = []
    for form in BeautifulSoup(html, "html.parser").select("form"):
        if (form.get("method") or "get").lower() != "post" or form.get("enctype") == "multipart/form-data":
            continue
        action = urlsplit(urljoin(page_path, form.get("action") or page_path)).path
        defaults: dict[str, str] = {}
        typed: list[str] = []
        for field in form.select("input[name], textarea[name], select[name]"):
            name = field["name"]
            kind = (field.get("type") or "text").lower() if field.name == "input" else field.name
            if kind in ("checkbox", "radio"):
                if field.has_attr("checked") or name not in defaults:
                    defaults[name] = field.get("value", "on")
                continue
            if kind == "select":
                option = field.select_one("option[selected]") or field.select_one("option")
                defaults[name] = option.get("value", option.get_text()) if option else ""
                continue
            defaults[name] = field.get_text() if kind == "textarea" else field.get("value", "")
            if kind in ("text", "textarea", "number", "date", "email", "tel", "search", "url"):
                typed.append(name)
        forms.append((action, defaults, typed))
    return forms


@pytest.fixture
def world_rows(setup_session):
    world = build_world(setup_session)
    rows = {model: setup_session.scalars(select(model).order_by(model.id)).all()
            for model in tenant_models(SQLModel._sa_registry)}
    return world, rows


def test_every_form_field_refuses_hostile_values_without_a_server_error(app, world_rows, setup_session):
    world, rows_by_model = world_rows
    region = world.regions["A"]
    tried: set[tuple[str, str]] = set()
    failures: list[str] = []
    sent = 0
    for person in region.people.values():
        client = sign_in(app.test_client(), person)
        for rule in _page_rules(app):
            if not _may_get(app, rule, person):
                continue
            path = path_for_user(rule, rows_by_model, person)
            if path is None:
                continue
            page = client.get(path)
            if page.status_code != 200:
                continue
            for action, defaults, typed in _post_forms(page.data, path):
                if any(word in action for word in LEAVES_THE_VISIT):
                    continue
                for name in typed:
                    if (action, name) in tried:
                        continue
                    tried.add((action, name))
                    for case, value in FORM_CASES.items():
                        response = client.post(action, data=urlencode({**defaults, name: value}),
                                               content_type="application/x-www-form-urlencoded")
                        sent += 1
                        if response.status_code >= 500:
                            failures.append(f"{action} {name} ({case}) as {person.roles[0]}: {response.status_code}")
    print(f"\n{sent} hostile form posts to {len(tried)} fields")
    assert len(tried) > 40, "the walk found too few form fields: is the page walk broken?"
    assert failures == [], "\n".join(failures)


def _schema(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _hostile_json_values(kind: str) -> dict[str, str]:
    """Raw JSON text for a property, by its type: numbers the JSON parser turns into inf or NaN
    included (Python's json reads ``1e999`` as infinity and ``NaN`` as not-a-number)."""
    number_cases = {"1e30": "1e30", "1e999": "1e999", "NaN": "NaN", "Infinity": "Infinity",
                    "too big": "99999999999999999999999", "negative": "-5", "fraction": "2.5",
                    "numeric text": json.dumps("\u00b2")}
    text_cases = {name: json.dumps(value) for name, value in HOSTILE_TEXT.items() if isinstance(value, str)}
    text_cases["lone surrogate"] = '"broken\\ud800text"'
    text_cases["year 0"] = json.dumps("0000-01-01")
    text_cases["year 99999"] = json.dumps("99999-12-31")
    if kind in ("integer", "number"):
        return {**number_cases, "text": json.dumps("12")}
    if kind == "array":
        return {"deep nesting": "[" * 100_000 + "]" * 100_000, "huge list": json.dumps(list(range(100_000)))}
    return {**text_cases, **number_cases}


def _send(client, method: str, path: str, text: str, token: str):  # type: ignore[no-untyped-def]
    return client.open(path, method=method.upper(), data=text.encode("utf-8", "surrogatepass"),
                       headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def _token_allowed(client, method: str, path: str, example: str, tokens: list[str]) -> str:  # type: ignore[no-untyped-def]
    """The first token whose role may call the operation, so the body is what gets checked."""
    for token in tokens:
        if _send(client, method, path, example, token).status_code not in (401, 403):
            return token
    return tokens[0]


def test_every_api_body_property_refuses_hostile_values_without_a_server_error(app, setup_session):
    world = build_world(setup_session)
    tokens = []
    for user in world.regions["A"].people.values():
        _token, secret = users.create_api_token(setup_session, user, "bad input")
        tokens.append(secret)
    setup_session.commit()
    client = app.test_client()
    document = client.get("/api/openapi.json").get_json()
    failures: list[str] = []
    sent = 0
    for path, operations in document["paths"].items():
        concrete = path
        for argument in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
            concrete = concrete.replace("{" + argument + "}", "1")
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            schema = _schema(document, body["schema"])
            example = body.get("example") or {}
            cases: list[tuple[str, str]] = [("deep nesting", '{"a":' * 100_000 + "1" + "}" * 100_000)]
            for name, property_schema in schema.get("properties", {}).items():
                kind = _schema(document, property_schema).get("type", "string")
                if isinstance(kind, list):
                    kind = next(k for k in kind if k != "null")
                for case, raw in _hostile_json_values(kind).items():
                    others = {k: v for k, v in example.items() if k != name}
                    text = json.dumps(others)[:-1] + ("," if others else "") + f"{json.dumps(name)}:{raw}}}"
                    cases.append((f"{name} ({case})", text))
            token = _token_allowed(client, method, concrete, json.dumps(example), tokens)
            for label, text in cases:
                response = _send(client, method, concrete, text, token)
                sent += 1
                if response.status_code >= 500:
                    failures.append(f"{method.upper()} {path} {label}: {response.status_code}")
    print(f"\n{sent} hostile API requests")
    assert sent > 200
    assert failures == [], "\n".join(failures)


def _csv_case(value: str | bytes) -> bytes:
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return b'"' + raw.replace(b'"', b'""') + b'"'


# Each import: its upload page, the template it offers (header and example row), who uploads it,
# and the table that must stay empty when the file is refused.
def _imports(region):  # type: ignore[no-untyped-def]
    from commissioning.models import Home, Referral
    from commissioning.services.imports import referral_template_csv
    from cost_transparency.models import CostRecord
    from cost_transparency.services.imports import template_csv
    from rcc.roles import Role

    ofsted = ("urn,provider_type,sector,local_authority,region,registered_places,overall_effectiveness,"
              "organisation,postcode,name,latest_inspection_date\n"
              "SC000001,Children's home,Private,Coventry,West Midlands,4,Good,Example Care Ltd,CV1 1AA,"
              "Example home,2025-01-31\n")
    return [
        ("/referrals/upload", referral_template_csv(), region.people[Role.COUNCIL_PLACEMENT_OFFICER], Referral),
        ("/costs/import", template_csv(), region.people[Role.COUNCIL_FINANCE_LEAD], CostRecord),
        ("/supply/import-ofsted", ofsted, region.people[Role.RCC_COMMISSIONER], Home),
    ]


def test_every_csv_column_refuses_hostile_values_without_a_server_error(app, setup_session):
    world = build_world(setup_session)
    failures: list[str] = []
    sent = 0
    cases: dict[str, str | bytes] = {**FORM_CASES, "field over csv's limit": "y" * 140_000}
    for path, template, person, _model in _imports(world.regions["A"]):
        client = sign_in(app.test_client(), person)
        header, example = template.splitlines()[:2]
        columns = header.split(",")
        cells = next(iter(__import__("csv").reader([example])))
        for index, column in enumerate(columns):
            for case, value in cases.items():
                row = [_csv_case(cell) for cell in cells]
                row[index] = _csv_case(value)
                content = header.encode() + b"\n" + b",".join(row) + b"\n"
                response = client.post(path, data={"file": (io.BytesIO(content), "upload.csv")},
                                       content_type="multipart/form-data")
                sent += 1
                if response.status_code >= 500:
                    failures.append(f"{path} {column} ({case}): {response.status_code}")
    print(f"\n{sent} hostile CSV uploads")
    assert sent > 300
    assert failures == [], "\n".join(failures)
