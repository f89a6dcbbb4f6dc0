"""Every route says who may use it; anything that does not is refused.

``allow(*roles)`` guards a view for signed-in people holding one of the roles;
``public`` marks the few routes anyone may use (sign-in, published reports).
``tests/rcc/test_route_permissions.py`` walks the URL map to prove none is missed,
and ``refuse_undeclared_routes`` refuses at run time any route that slipped through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Flask, abort, current_app, request
from flask_login import current_user

from rcc.roles import EVERY_ROLE, Role

ACCESS_ATTRIBUTE = "_rcc_access"
PUBLIC = frozenset({"public"})
# Endpoints added by libraries rather than by us.
LIBRARY_PUBLIC_ENDPOINTS = {"static", "api-docs.openapi_json"}


def allow(*roles: Role) -> Callable:
    if not roles:
        raise ValueError("allow() needs at least one role; use public for open routes")
    allowed = frozenset(str(role) for role in roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not current_user.has_any_role(allowed):
                abort(403)
            return view(*args, **kwargs)

        setattr(guarded, ACCESS_ATTRIBUTE, allowed)
        return guarded

    return decorator


signed_in = allow(*EVERY_ROLE)


def public(view: Callable) -> Callable:
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def declared_access(app: Flask, endpoint: str, methods: Iterable[str] | None = None) -> list[frozenset | None]:
    """What each handler behind ``endpoint`` declares (one entry per HTTP method for class views)."""
    if endpoint in LIBRARY_PUBLIC_ENDPOINTS or endpoint.endswith(".static"):  # blueprints' own CSS and images
        return [PUBLIC]
    view = app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return [getattr(view, ACCESS_ATTRIBUTE, None)]
    methods = [m.lower() for m in (methods or view_class.methods or ())]
    return [getattr(getattr(view_class, m, None), ACCESS_ATTRIBUTE, None) for m in methods
            if hasattr(view_class, m)]


def refuse_undeclared_routes(app: Flask) -> None:
    @app.before_request
    def _refuse() -> None:
        endpoint = request.endpoint
        if endpoint is None:
            return  # Flask answers 404/405 itself
        access = declared_access(app, endpoint, [request.method])
        if not access or any(a is None for a in access):
            app.logger.error("Route %s declares no permission; refusing it", endpoint)
            abort(404)
