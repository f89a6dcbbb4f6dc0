"""Every page of the demo, for every role, in a real browser: axe-core finds no WCAG 2.2 AA
violation. Pages are found from the URL map, so new pages are checked without anyone
remembering to add them."""

from __future__ import annotations

import pytest
from flask import current_app
from sqlalchemy import select
from sqlmodel import SQLModel
from werkzeug.routing import IntegerConverter

from rcc.demo import DEMO_PASSWORD, build_demo
from rcc.permissions import declared_access
from rcc.tenancy import tenant_models
from rcc.web import scope_for
from tests.browser_support import axe_violations, sign_in_in_browser
from tests.tenancy_world import ID_ARGUMENTS, visible

pytestmark = pytest.mark.browser

# Downloads, not pages: nothing for axe to read.
NOT_PAGES = (".csv", ".pdf", ".json", "static", "healthz", "stylesheet")


def _page_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or any(n in rule.rule or n in rule.endpoint
                                                                             for n in NOT_PAGES):
            continue
        yield rule


def _may_get(app, rule, user) -> bool:
    access = declared_access(app, rule.endpoint, ["GET"])
    return all(a is not None and ("public" in a or user.has_any_role(a)) for a in access)


def _url_for_user(rule, rows_by_model, user):
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            model = ID_ARGUMENTS.get(name)
            candidates = [row for row in rows_by_model.get(model, []) if visible(row, scope_for(user))]
            if not candidates:
                return None
            values[name] = candidates[0].id
        else:
            choices = getattr(converter, "items", None)
            if not choices:
                return None
            values[name] = sorted(choices)[0]
    return rule.build(values, append_unknown=False)[1]


def test_every_page_for_every_role_has_no_accessibility_violations(app, setup_session, live_server,
                                                                    browser_page):
    with app.app_context():
        region = build_demo(setup_session, current_app)
    setup_session.commit()
    rows_by_model = {model: setup_session.scalars(select(model).order_by(model.id)).all()
                     for model in tenant_models(SQLModel._sa_registry)}
    problems: dict[str, list] = {}
    visited = 0
    for person in region.people:
        browser_page.context.clear_cookies()
        sign_in_in_browser(browser_page, live_server, person.email, DEMO_PASSWORD, person.totp_secret)
        for rule in _page_rules(app):
            if not _may_get(app, rule, person):
                continue
            path = _url_for_user(rule, rows_by_model, person)
            if path is None:
                continue
            response = browser_page.goto(live_server.url + path)
            assert response is not None and response.status < 400, f"{path} as {person.roles[0]}: {response.status}"
            violations = axe_violations(browser_page)
            if violations:
                problems[f"{path} as {person.roles[0]}"] = violations
            visited += 1
    assert visited > 20
    assert problems == {}, problems


def test_error_and_public_pages_have_no_accessibility_violations(live_server, browser_page):
    for path in ("/sign-in", "/accessibility-statement", "/privacy", "/no-such-page"):
        browser_page.goto(live_server.url + path)
        assert axe_violations(browser_page) == [], path
