"""Every page of the demo, for every role, read as HTML (no browser): the frame around the content
is right (issue 19, item 10).

* one navigation item at most is marked current, and a page the navigation links to marks its own;
* the page's title starts with its main heading, and no two different pages share a title;
* the icons are the service's own, not the GOV.UK crown, and the theme colour is not GOV.UK blue.

Pages are found from the URL map as the accessibility walk finds them, so new pages are checked too.
"""

from __future__ import annotations

import re
from collections import defaultdict

from bs4 import BeautifulSoup
from sqlalchemy import select
from sqlmodel import SQLModel

from rcc.demo import DEMO_PASSWORD
from rcc.tenancy import tenant_models
from tests.tenancy_world import path_for_user
from tests.test_accessibility_every_page import _may_get, _page_rules
from tests.totp import fresh_code

GOVUK_BLUE = "#1d70b8"


def _signed_in(app, person):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.post("/sign-in", data={"email": person.email, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.status_code
    if person.totp_secret:
        assert client.post("/sign-in/security-code", data={"code": fresh_code(person.totp_secret)}).status_code == 302
    return client


def _text(tag) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", tag.get_text(" ", strip=True)).strip() if tag else ""


def _demo_pages(app, setup_session, region):  # type: ignore[no-untyped-def]
    """(person's role, path, parsed page) for every page each demo person may open."""
    app.config["WTF_CSRF_ENABLED"] = False
    rows_by_model = {model: setup_session.scalars(select(model).order_by(model.id)).all()
                     for model in tenant_models(SQLModel._sa_registry)}
    pages = []
    for person in region.people:
        client = _signed_in(app, person)
        for rule in _page_rules(app):
            if not _may_get(app, rule, person):
                continue
            path = path_for_user(rule, rows_by_model, person)
            if path is None:
                continue
            response = client.get(path)
            if response.status_code != 200 or not response.content_type.startswith("text/html"):
                continue
            pages.append((str(person.roles[0]), path, rule.rule,
                          BeautifulSoup(response.get_data(as_text=True), "html.parser")))
    assert len(pages) > 100
    return pages


def test_every_page_has_one_current_navigation_item_and_a_title_that_starts_with_its_heading(
        app, setup_session, demo_region):
    """One walk of every demo page for every role (a few minutes), checked twice."""
    pages = _demo_pages(app, setup_session, demo_region)
    _one_navigation_item_at_most_and_its_own(pages)
    _titles_start_with_the_main_heading_and_different_pages_have_different_titles(pages)


def _one_navigation_item_at_most_and_its_own(demo_pages):  # type: ignore[no-untyped-def]
    wrong = []
    for role, path, _rule, page in demo_pages:
        current = page.select(".govuk-service-navigation__item--active")
        if len(current) > 1:
            wrong.append(f"{path} as {role}: {[_text(item) for item in current]} all current")
        linked = [item for item in page.select(".govuk-service-navigation__item")
                  if (item.a or {}).get("href", "").rstrip("/") == path.rstrip("/")]
        if linked and linked[0] not in current:
            wrong.append(f"{path} as {role}: its own item {_text(linked[0])!r} is not current")
    assert wrong == []


def _titles_start_with_the_main_heading_and_different_pages_have_different_titles(demo_pages):  # type: ignore[no-untyped-def]
    wrong = []
    titles: dict[str, set[str]] = defaultdict(set)
    for role, path, rule, page in demo_pages:
        title = _text(page.title).removeprefix("Error: ")
        for tag in page.select("h1 .govuk-tag"):  # a status beside the heading is not its name
            tag.decompose()
        heading = _text(page.h1)
        if not heading or not title.startswith(heading):
            wrong.append(f"{path} as {role}: title {title!r}, heading {heading!r}")
        titles[title].add(rule)
    shared = {title: sorted(rules) for title, rules in titles.items() if len(rules) > 1}
    assert wrong == [], "\n".join(wrong)
    assert shared == {}


def test_the_icons_and_theme_colour_are_the_services_own(client):
    page = BeautifulSoup(client.get("/sign-in").get_data(as_text=True), "html.parser")
    icons = [link["href"] for link in page.select("link[rel~=icon], link[rel=apple-touch-icon], link[rel=manifest]")]
    assert icons and all("/static/icons/" in href for href in icons), icons
    for href in icons:
        assert client.get(href).status_code == 200, href
    assert page.select_one("meta[name=theme-color]")["content"].lower() != GOVUK_BLUE
    manifest = client.get("/static/icons/manifest.json").get_json()
    assert manifest["theme_color"].lower() != GOVUK_BLUE
    assert all("/govuk/" not in icon["src"] for icon in manifest["icons"])
