"""What every page shares: navigation by role and the links on each role's home page.

Capability packages add their items here when they register; the core knows none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def init_layout(app: Flask) -> None:
    app.extensions["rcc_nav"] = []
    app.extensions["rcc_home_links"] = []
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
    navigation = [
        {"href": url_for(item.endpoint), "text": item.label,
         "active": request.endpoint == item.endpoint or
                   (request.blueprint is not None and item.endpoint.split(".")[0] == request.blueprint)}
        for item in _for_current_user(current_app.extensions["rcc_nav"])
    ]
    return {"navigation": navigation, "service_name": current_app.config["SERVICE_NAME"],
            "organisation": _current_organisation()}


def _current_organisation() -> Organisation | None:
    return current_organisation() if current_user.is_authenticated else None
