"""What every page shares: navigation by role and the links on each role's home page.

Capability packages add their items here when they register; the core knows none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from rcc import numbers
from rcc.models import Organisation
from rcc.roles import Role
from rcc.web import current_organisation


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str
    roles: frozenset[str]
    order: int = 50


@dataclass(frozen=True)
class HomeLink:
    title: str
    description: str
    endpoint: str
    roles: frozenset[str]
    order: int = 50


def add_nav_item(app: Flask, label: str, endpoint: str, roles: tuple[Role, ...], order: int = 50) -> None:
    app.extensions["rcc_nav"].append(NavItem(label, endpoint, frozenset(map(str, roles)), order))


def add_home_link(app: Flask, title: str, description: str, endpoint: str, roles: tuple[Role, ...],
                  order: int = 50) -> None:
    app.extensions["rcc_home_links"].append(
        HomeLink(title, description, endpoint, frozenset(map(str, roles)), order))


def add_record_links(app: Flask, kind: str, links: Callable[[Any], list[tuple[str, str]]]) -> None:
    """A capability offers links from another's record page (matching: from a referral to its
    proposal, offer and home) without the two importing each other: ``links(record)`` gives
    (text, address) pairs, and the page shows ``record_links(kind, record)``."""
    app.extensions["rcc_record_links"].setdefault(kind, []).append(links)


def record_links(kind: str, record: Any) -> list[dict[str, str]]:
    return [{"text": text, "href": href} for links in current_app.extensions["rcc_record_links"].get(kind, [])
            for text, href in links(record)]


def init_layout(app: Flask) -> None:
    app.extensions["rcc_nav"] = []
    app.extensions["rcc_home_links"] = []
    app.extensions["rcc_record_links"] = {}
    app.context_processor(_layout_context)
    app.add_template_filter(_select_item, "select_item")
    app.add_template_filter(_check_item, "check_item")
    app.add_template_filter(_check_item, "radio_item")
    app.add_template_global(numbers.pounds, "pounds")  # the one money formatter, for every package


def _select_item(choice: tuple, current: object) -> dict:
    value, text = choice[0], choice[1]
    return {"value": value, "text": text, "selected": str(value) == str(current)}


def _check_item(choice: tuple, current: object) -> dict:
    value, text = choice[0], choice[1]
    chosen = current if isinstance(current, (list, tuple, set)) else [current]
    return {"value": value, "text": text, "checked": str(value) in {str(c) for c in chosen}}


def home_links_for_current_user() -> list[HomeLink]:
    return _for_current_user(current_app.extensions["rcc_home_links"])


def _for_current_user(items: list) -> list:
    if not current_user.is_authenticated:
        return []
    return sorted((i for i in items if current_user.has_any_role(i.roles)), key=lambda i: (i.order, i.title
                  if hasattr(i, "title") else i.label))


def _layout_context() -> dict:
    navigation = [{"href": url_for(item.endpoint), "text": item.label, "active": False}
                  for item in _for_current_user(current_app.extensions["rcc_nav"])]
    current = _current_item(navigation)
    if current is not None:
        current["active"] = True
    return {"navigation": navigation, "service_name": current_app.config["SERVICE_NAME"],
            "organisation": _current_organisation()}


def _current_item(navigation: list[dict]) -> dict | None:
    """The one navigation item this page is under: the page itself, else the item whose address is
    the longest leading part of this page's (``/referrals`` for ``/referrals/12/edit``), else none."""
    path = request.path.rstrip("/") or "/"
    exact = [item for item in navigation if item["href"].rstrip("/") == path.rstrip("/") or item["href"] == path]
    if exact:
        return exact[0]
    under = [item for item in navigation if item["href"] != "/" and path.startswith(item["href"].rstrip("/") + "/")]
    return max(under, key=lambda item: len(item["href"]), default=None)


def _current_organisation() -> Organisation | None:
    return current_organisation() if current_user.is_authenticated else None
