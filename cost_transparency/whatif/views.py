"""What-if pages: define a scenario, run it as a background job, see it beside the baseline.

The RCC's commissioners and officers start runs and read them; a council's finance lead reads
them, with the figures for their own council's children beside the region's totals.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlmodel import col
from wtforms import IntegerField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from commissioning.models import Home
from commissioning.vocabulary import PLACEMENT_TYPES
from cost_transparency.models import WhatifRun
from cost_transparency.services import whatif
from cost_transparency.whatif.replay import MONTHS, SupplyChange
from rcc import jobs
from rcc.db import transaction
from rcc.errors import ServiceError
from rcc.models import Organisation
from rcc.permissions import allow
from rcc.roles import Role
from rcc.tenancy import OrgKind
from rcc.web import current_organisation, db, form_errors, get_or_404, put_service_error

bp = Blueprint("whatif", __name__, template_folder="templates")

RUNNERS = (Role.RCC_COMMISSIONER, Role.RCC_ADMIN, Role.RCC_PLACEMENT_OFFICER)
READERS = (*RUNNERS, Role.COUNCIL_FINANCE_LEAD)


class ScenarioForm(FlaskForm):
    name = StringField("Name of the scenario", validators=[
        DataRequired("Enter a name for the scenario"), Length(max=120, message="Name must be 120 characters or fewer")])
    placement_type = SelectField("Type of place", choices=[(k, t.label) for k, t in PLACEMENT_TYPES.items()])
    area = SelectField("Local authority where the places are", choices=[])
    places = IntegerField("Number of new places", validators=[
        InputRequired("Enter the number of new places, a whole number"),
        NumberRange(1, 500, "Enter a number of places from 1 to 500")])
    from_month = SelectField("Places open from", choices=[])
    weekly_cost = IntegerField("Weekly cost of a place, in pounds (optional)", validators=[
        Optional(), NumberRange(0, 100_000, "Enter a weekly cost from £0 to £100,000")])
    start = RadioField("Months to replay", choices=[])
    seed = IntegerField("Seed (the same seed gives the same replay)", default=1, validators=[
        InputRequired("Enter a seed, a whole number"), NumberRange(0, whatif.MAX_SEED, "Enter a seed from 0 to 2147483647")])


def _areas() -> list[str]:
    councils = db().scalars(select(Organisation.name).where(Organisation.kind == OrgKind.COUNCIL))
    homes = db().scalars(select(Home.local_authority).where(col(Home.active).is_(True)).distinct())
    return sorted({*councils, *homes})


def _form() -> ScenarioForm:
    form = ScenarioForm()
    form.area.choices = [(a, a) for a in _areas()]
    form.from_month.choices = [(str(k), f"Month {k + 1} of {MONTHS}") for k in range(MONTHS)]
    form.start.choices = whatif.start_choices()
    if form.start.data is None:
        form.start.data = form.start.choices[0][0]
    return form


def _back() -> str:
    return url_for("cost_transparency.overview") if _council_name() else url_for("cost_transparency.sufficiency_page")


def _council_name() -> str | None:
    organisation = current_organisation()
    return organisation.name if organisation.kind == OrgKind.COUNCIL else None


@bp.route("/sufficiency/what-if", methods=["GET"])
@allow(*READERS)
def index() -> Any:
    runs = list(db().scalars(select(WhatifRun).order_by(col(WhatifRun.created_at).desc(), col(WhatifRun.id).desc())
                             .limit(50)))
    can_run = current_user.has_any_role(RUNNERS)
    return render_template("whatif/index.html", runs=runs, form=_form() if can_run else None, errors=[],
                           back=_back())


@bp.route("/sufficiency/what-if", methods=["POST"])
@allow(*RUNNERS)
def start_run() -> Any:
    form = _form()
    if form.validate_on_submit():
        change = SupplyChange(form.placement_type.data or "", int(form.places.data or 0), area=form.area.data,
                              from_month=int(form.from_month.data or 0),
                              weekly_cost=None if form.weekly_cost.data is None else float(form.weekly_cost.data))
        try:
            with transaction(db()) as s:
                run = whatif.start(s, current_organisation().rcc_id or current_organisation().id,
                                   current_user.id, form.name.data or "", change, int(form.seed.data or 0),
                                   date.fromisoformat(form.start.data or whatif.default_start().isoformat()))
            try:
                jobs.start(current_app, whatif.JOB, run.id, run.rcc_id, current_user.id)
            except jobs.JobsUnavailable as error:
                with transaction(db()) as s:
                    whatif.abandon(s, int(run.id or 0), error.message)
            return redirect(url_for("whatif.run_page", whatif_run_id=run.id))
        except ServiceError as error:
            put_service_error(form, error, general="name")
    runs = list(db().scalars(select(WhatifRun).order_by(col(WhatifRun.created_at).desc()).limit(50)))
    return render_template("whatif/index.html", runs=runs, form=form, errors=form_errors(form),
                           back=_back()), 400


@bp.route("/sufficiency/what-if/<int:whatif_run_id>")
@allow(*READERS)
def run_page(whatif_run_id: int) -> Any:
    run = get_or_404(WhatifRun, whatif_run_id)
    council = _council_name()
    share = whatif.council_share(run.result, council) if run.result and council else None
    rows = _rows(run.result) if run.result else []
    return render_template("whatif/run.html", run=run, council=council, share=share, rows=rows,
                           type_label=lambda k: PLACEMENT_TYPES[k].label if k in PLACEMENT_TYPES else k,
                           refresh=run.status in ("queued", "running"))


def _rows(result: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return list(zip(result["baseline"]["months"], result["scenario"]["months"], strict=True))
