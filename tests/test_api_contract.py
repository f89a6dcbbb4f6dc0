"""The API keeps its published contract: fuzzed with schemathesis as every role, no request
gets a server error or a response that breaks its documented schema."""

from __future__ import annotations

import os

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from rcc import users
from tests.tenancy_world import build_world

# Bounded so CI stays quick; raise it locally for a deeper run: RCC_FUZZ_EXAMPLES=200 make test
EXAMPLES = int(os.environ.get("RCC_FUZZ_EXAMPLES", "8"))


@schemathesis.check
def errors_are_problem_details(ctx, response, case):  # type: ignore[no-untyped-def]
    """Every error answer is RFC 9457 problem details (issue 19 item 11)."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or response.headers.get("Content-Type") or [""])[0]
    assert content_type.startswith("application/problem+json"), f"{response.status_code} came as {content_type}"
    body = response.json()
    missing = {"type", "title", "status", "detail"} - set(body)
    assert not missing and body["status"] == response.status_code, f"not problem details: {body}"
    return None


CONTRACT_CHECKS = [checks.not_a_server_error, checks.response_schema_conformance,
                   checks.status_code_conformance, checks.content_type_conformance, errors_are_problem_details]


@pytest.fixture
def role_tokens(setup_session):
    world = build_world(setup_session)
    region = world.regions["A"]
    tokens = {}
    for user in [*region.people.values(), *region.other_council_people.values()]:
        _token, secret = users.create_api_token(setup_session, user, "contract test")
        tokens[f"{user.roles[0]}@{user.organisation_id}"] = secret
    setup_session.commit()
    return tokens


def test_every_operation_is_documented_with_schemas_and_examples(client):
    document = client.get("/api/openapi.json").get_json()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            label = f"{method.upper()} {path}"
            success = [code for code in operation["responses"] if code.startswith("2")]
            if not success:
                missing.append(f"{label}: no success response")
            elif code_has_body(success[0]):
                missing.extend(f"{label}: {problem}"
                               for problem in _success_problems(document, operation["responses"][success[0]]))
            if method in ("post", "put", "patch") and "requestBody" not in operation and not _is_action(path):
                missing.append(f"{label}: no request body schema")
    assert missing == []


def _success_problems(document: dict, response: dict) -> list[str]:
    """What is missing from a success response's documentation, and where its example breaks its schema."""
    media = response.get("content", {}).get("application/json")
    if media is None or "schema" not in media:
        return ["success response has no schema"]
    examples = [media["example"]] if "example" in media else [e["value"] for e in media.get("examples", {}).values()]
    if not examples:
        return ["success response has no example"]
    # The response schema refers to #/components/...; carrying the components makes those references resolve.
    validator = jsonschema_rs.Draft202012Validator({**media["schema"], "components": document["components"]},
                                                   validate_formats=True)
    return [f"example does not match its schema: {error.message} at {list(error.instance_path)}"
            for example in examples for error in validator.iter_errors(example)]


def code_has_body(code: str) -> bool:
    return code != "204"


def _is_action(path: str) -> bool:
    """An action on one object, such as /offers/{offer_id}/withdraw, may need no body."""
    segments = path.strip("/").split("/")
    return len(segments) >= 2 and segments[-2].startswith("{") and not segments[-1].startswith("{")


def test_fuzzed_requests_as_every_role_get_no_server_errors_or_schema_breaks(app, role_tokens):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the API has no operations"
    for operation in operations:
        _fuzz(operation, role_tokens, failures)
    assert failures == [], "\n".join(failures[:20])


def _fuzz(operation, role_tokens, failures) -> None:  # type: ignore[no-untyped-def]
    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):  # type: ignore[no-untyped-def]
        for role, token in role_tokens.items():
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            try:
                case.validate_response(response, checks=CONTRACT_CHECKS)
            except (Exception, BaseExceptionGroup) as failure:  # schemathesis raises a group of failures
                failures.append(f"{operation.label} as {role}: {str(failure)[:400]}")

    run()
