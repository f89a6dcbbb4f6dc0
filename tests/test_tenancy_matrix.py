"""Every route with an object id, for every role: another tenant's object is a 404, and no
page or API response any role can reach shows another tenant's data."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.routing import IntegerConverter, Rule

from rcc import users
from rcc.permissions import declared_access
from rcc.roles import Role
from rcc.web import scope_for
from tests.conftest import sign_in
from tests.tenancy_world import ID_ARGUMENTS, build_world, markers_of, visible


@pytest.fixture
def world(setup_session):
    return build_world(setup_session)


def _people(world):
    region = world.regions["A"]
    return [*region.people.values(), *region.other_council_people.values()]


def _id_arguments(rule: Rule) -> list[str]:
    return [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]


def _fill_other_arguments(rule: Rule, values: dict) -> dict:
    for name, converter in rule._converters.items():
        if name in values:
            continue
        choices = getattr(converter, "items", None)
        values[name] = sorted(choices)[0] if choices else "x"
    return values


def _may_use(app: Flask, rule: Rule, method: str, user) -> bool:
    access = declared_access(app, rule.endpoint, [method])
    return bool(access) and all(a is not None and ("public" in a or user.has_any_role(a)) for a in access)


def _client_for(app, user, api: bool, tokens: dict):
    if api:
        if user.id not in tokens:
            with app.app_context():
                session = app.extensions["rcc_sessions"]()
                with users.account_access(session, user_id=user.id):  # the app's login has no system scope
                    _token, secret = users.create_api_token(session, user, "matrix")
                    session.commit()
                session.close()
            tokens[user.id] = secret
        return app.test_client(), {"Authorization": f"Bearer {tokens[user.id]}"}
    return sign_in(app.test_client(), user), {}


def test_every_integer_url_argument_names_a_known_model(app):
    unknown = {
        (rule.rule, name) for rule in app.url_map.iter_rules() for name in _id_arguments(rule)
        if name not in ID_ARGUMENTS
    }
    assert not unknown, f"add these to tests/tenancy_world.ID_ARGUMENTS: {sorted(unknown)}"


def test_another_tenants_object_is_not_found_on_every_route_for_every_role(app, world, setup_session):
    rows = world.rows(setup_session)
    rules = [rule for rule in app.url_map.iter_rules() if _id_arguments(rule)]
    assert rules, "the matrix found no routes with object ids"
    tokens: dict = {}
    checked = 0
    for user in _people(world):
        scope = scope_for(user)
        hidden = {model: [row for row in rows if isinstance(row, model) and not visible(row, scope)]
                  for model in set(ID_ARGUMENTS.values())}
        page_client, _ = _client_for(app, user, api=False, tokens=tokens)
        for rule in rules:
            values = {}
            for name in _id_arguments(rule):
                candidates = hidden[ID_ARGUMENTS[name]]
                assert candidates, f"the world has no {ID_ARGUMENTS[name].__name__} hidden from {user.roles}"
                values[name] = candidates[0].id
            url = rule.build(_fill_other_arguments(rule, values), append_unknown=False)[1]
            api = rule.rule.startswith("/api/")
            client, headers = (_client_for(app, user, api=True, tokens=tokens) if api else (page_client, {}))
            for method in sorted(rule.methods & {"GET", "POST", "PUT", "PATCH", "DELETE"}):
                response = client.open(url, method=method, headers=headers, json={} if api else None)
                expected = {404} if _may_use(app, rule, method, user) else {403, 404}
                assert response.status_code in expected, (
                    f"{method} {url} as {user.roles[0]} gave {response.status_code}, expected {expected}")
                checked += 1
    assert checked > 0


def test_no_page_or_api_list_shows_another_tenants_data(app, world, setup_session):
    rows = world.rows(setup_session)
    rules = [rule for rule in app.url_map.iter_rules()
             if not _id_arguments(rule) and "GET" in rule.methods and not rule.arguments
             and rule.endpoint not in ("static", "auth.sign_out")]
    tokens: dict = {}
    for user in _people(world):
        scope = scope_for(user)
        secrets = {marker for row in rows if not visible(row, scope) for marker in markers_of(row)}
        assert secrets, "the world has nothing hidden from this user"
        page_client, _ = _client_for(app, user, api=False, tokens=tokens)
        for rule in rules:
            if not _may_use(app, rule, "GET", user):
                continue
            api = rule.rule.startswith("/api/")
            client, headers = _client_for(app, user, api=True, tokens=tokens) if api else (page_client, {})
            response = client.get(rule.rule, headers=headers)
            body = response.get_data(as_text=True)
            leaked = [marker for marker in secrets if marker in body]
            assert not leaked, f"GET {rule.rule} as {user.roles[0]} shows {leaked[:3]}"
            assert response.status_code < 500, f"GET {rule.rule} as {user.roles[0]} failed"


def test_council_users_cannot_see_each_others_people(app, world, setup_session):
    region = world.regions["A"]
    officer = region.people[Role.COUNCIL_ADMIN]
    other = region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER]
    client = sign_in(app.test_client(), officer)
    assert client.get(f"/admin/people/{other.id}").status_code == 404
    assert other.email not in client.get("/admin/people").get_data(as_text=True)
