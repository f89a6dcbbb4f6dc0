"""Pages: your notifications, your email choices, and the development outbox."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from rcc import notifications
from rcc.db import transaction
from rcc.errors import Conflict
from rcc.forms import ConfirmForm
from rcc.permissions import allow, signed_in
from rcc.roles import ADMINS
from rcc.ticks import add_tick_task
from rcc.web import db

blueprint = Blueprint("notifications", __name__)


def register(app: Flask) -> None:
    app.register_blueprint(blueprint)
    app.context_processor(_unread)
    add_tick_task(app, "emails sent again", lambda make_session, _now: notifications.send_queued(make_session))


def _unread() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {}
    return {"unread_notifications": notifications.unread_count(db(), current_user)}


@blueprint.route("/notifications")
@signed_in
def your_notifications() -> Any:
    found = notifications.for_user(db(), current_user)
    return render_template("rcc/notifications/list.html", notifications=found, form=ConfirmForm())


@blueprint.route("/notifications/<int:notification_id>/read", methods=["POST"])
@signed_in
def mark_read(notification_id: int) -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with transaction(db()) as session:
            notification = notifications.mark_read(session, current_user, notification_id)
    except Conflict:
        return redirect(url_for("notifications.your_notifications"))
    if request.form.get("open") and notification.link and notification.link.startswith("/"):
        return redirect(notification.link)
    return redirect(url_for("notifications.your_notifications"))


@blueprint.route("/notifications/email", methods=["GET", "POST"])
@signed_in
def email_choices() -> Any:
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        wanted = {name for name in request.form.getlist("email") if name in {e.value for e in notifications.Event}}
        with transaction(db()) as session:
            notifications.set_email_choices(session, current_user, wanted)
        flash("Your email choices have been saved.")
        return redirect(url_for("notifications.email_choices"))
    return render_template("rcc/notifications/email.html", choices=notifications.email_choices(db(), current_user),
                           templates=notifications.TEMPLATES, always=sorted(notifications.SAFETY_CRITICAL),
                           form=ConfirmForm())


@blueprint.route("/outbox")
@allow(*ADMINS)
def outbox() -> Any:
    """The emails the local outbox 'sent', for admins in development (no Notify key)."""
    if current_app.config["RCC_ENV"] == "production":
        abort(404)
    return render_template("rcc/notifications/outbox.html", sent=notifications.outbox(db()))
