"""Every page of the demo, for every role, in a real browser: axe-core finds no WCAG 2.2 AA
violation. Pages are found from the URL map, so new pages are checked without anyone
remembering to add them.

Kept fast without checking less:
  * each person signs in once, in their own browser context (through the real sign-in
    endpoints, with the context's own cookie jar), and keeps it for all their pages;
  * axe is loaded into every page by the context (no extra round trip), asked only for
    violations, and started without waiting, so the people's contexts run axe side by side
    while the next page loads;
  * the browser caches static files instead of asking again on every page;
  * a page's ``<main>`` that is byte for byte one already checked (hidden form tokens aside),
    as the same page often is for the RCC's three roles, is not checked twice: axe still
    checks everything around it (header, navigation, footer, title).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from rcc.demo import DEMO_PASSWORD
from rcc.models import User
from rcc.permissions import declared_access
from rcc.tenancy import tenant_models
from tests.browser_support import AXE_SCRIPT, WCAG_22_AA, axe_violations
from tests.tenancy_world import path_for_user
from tests.totp import fresh_code

pytestmark = pytest.mark.browser

# Downloads, not pages: nothing for axe to read.
NOT_PAGES = (".csv", ".pdf", ".json", "static", "healthz", "stylesheet",
             "/invite/",  # the invite pages need an invite token (tests/rcc/test_admin.py visits them)
             # need a reset token or an RCC's join link: tests/browser/test_onboarding_journey.py runs axe on them
             "/reset-password", "/join",
             "download_document")  # a tender document: the file itself

MAIN_WITHOUT_TOKENS = """() => {
  const main = document.querySelector('main');
  if (!main) return '';
  const copy = main.cloneNode(true);
  copy.querySelectorAll('input[type=hidden]').forEach(input => input.removeAttribute('value'));
  return copy.outerHTML;
}"""

START_AXE = """([tags, skipMain]) => {
  const context = skipMain ? {exclude: [['main']]} : document;
  // Started after this call returns (axe does most of its work synchronously), so the test can move on.
  window.__axeResult = new Promise(resolve => setTimeout(resolve, 0))
    .then(() => axe.run(context, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}))
    .then(result => result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                               targets: v.nodes.slice(0, 5).map(n => n.target)})));
}"""


def _page_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith("/api/") or any(n in rule.rule or n in rule.endpoint
                                                                             for n in NOT_PAGES):
            continue
        yield rule


def _may_get(app, rule, user) -> bool:
    access = declared_access(app, rule.endpoint, ["GET"])
    return all(a is not None and ("public" in a or user.has_any_role(a)) for a in access)


@dataclass
class Visitor:
    """One person's signed-in browser tab and the pages they still have to visit."""

    person: User
    page: object
    paths: list[str]
    current: str | None = None
    waiting: bool = False
    visited: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.current} as {self.person.roles[0]}"


def _signed_in_page(chromium, server, person: User):  # type: ignore[no-untyped-def]
    context = chromium.new_context(bypass_csp=True)
    context.add_init_script(path=str(AXE_SCRIPT))
    sign_in = context.request.post(f"{server.url}/sign-in",
                                   form={"email": person.email, "password": DEMO_PASSWORD}, max_redirects=0)
    assert sign_in.status == 302, sign_in.text()
    if person.totp_secret:
        code = context.request.post(f"{server.url}/sign-in/security-code",
                                    form={"code": fresh_code(person.totp_secret)}, max_redirects=0)
        assert code.status == 302, code.text()
    return context.new_page()


def _open_next(visitor: Visitor, server, checked_mains: set[str]) -> None:  # type: ignore[no-untyped-def]
    visitor.current = visitor.paths.pop(0)
    response = visitor.page.goto(server.url + visitor.current)
    assert response is not None and response.status < 400, f"{visitor.label}: {response and response.status}"
    main = hashlib.sha256(visitor.page.evaluate(MAIN_WITHOUT_TOKENS).encode()).hexdigest()
    visitor.page.evaluate(START_AXE, [WCAG_22_AA, main in checked_mains])
    checked_mains.add(main)
    visitor.waiting = True


def _collect(visitor: Visitor, problems: dict[str, list]) -> None:
    violations = visitor.page.evaluate("() => window.__axeResult")
    if violations:
        problems[visitor.label] = violations
    visitor.visited.append(visitor.current)
    visitor.waiting = False


def test_every_page_for_every_role_has_no_accessibility_violations(app, setup_session, live_server, chromium,
                                                                   demo_region):
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # the browser caches the stylesheet and scripts, as it would in production
    region = demo_region
    rows_by_model = {model: setup_session.scalars(select(model).order_by(model.id)).all()
                     for model in tenant_models(SQLModel._sa_registry)}
    visitors = []
    for person in region.people:
        paths = [path for rule in _page_rules(app) if _may_get(app, rule, person)
                 for path in [path_for_user(rule, rows_by_model, person)] if path is not None]
        visitors.append(Visitor(person, _signed_in_page(chromium, live_server, person), paths))

    problems: dict[str, list] = {}
    checked_mains: set[str] = set()
    while any(v.paths or v.waiting for v in visitors):
        for visitor in visitors:  # each tab's axe runs on while the others load their next page
            if visitor.waiting:
                _collect(visitor, problems)
            if visitor.paths:
                _open_next(visitor, live_server, checked_mains)
    for visitor in visitors:
        visitor.page.context.close()

    visited = sum(len(v.visited) for v in visitors)
    print(f"\n{visited} pages checked for {len(visitors)} people ({len(checked_mains)} distinct main contents)")
    assert visited > 100
    assert {str(role) for v in visitors for role in v.person.roles} >= {"council_placement_officer",
                                                                         "rcc_commissioner", "provider_manager"}
    assert problems == {}, problems


def test_error_and_public_pages_have_no_accessibility_violations(live_server, browser_page):
    for path in ("/sign-in", "/accessibility-statement", "/privacy", "/no-such-page"):
        browser_page.goto(live_server.url + path)
        assert axe_violations(browser_page) == [], path
