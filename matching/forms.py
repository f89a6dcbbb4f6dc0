"""Forms for matching's pages. Business rules live in the services; these only parse what was sent."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from rcc import numbers

WHOLE_REGION, CHOSEN = "all", "chosen"


class StartRunForm(FlaskForm):
    scope = RadioField("Which referrals should this run match?", validate_choice=False,
                       choices=[(WHOLE_REGION, "Every submitted referral in the region"),
                                (CHOSEN, "Only the referrals I choose")], default=WHOLE_REGION,
                       validators=[DataRequired("Select which referrals to match")])
    referral_ids = SelectMultipleField("Referrals", coerce=int, validate_choice=False, option_widget=CheckboxInput(),
                                       widget=ListWidget(prefix_label=False))
    note = StringField("Note (optional)", validators=[Optional(), Length(max=200, message="The note must be 200 "
                                                                                        "characters or fewer")])


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired("Enter a reason"),
                                                 Length(max=2000, message="The reason must be 2,000 characters "
                                                                          "or fewer")])


class AlternativeForm(FlaskForm):
    home_id = RadioField("Home to offer instead", coerce=str, validate_choice=False,
                         validators=[DataRequired("Select one of the other homes listed")])
    reason = TextAreaField("Why this home instead of the proposed one?", validators=[
        DataRequired("Say why you chose another home"),
        Length(max=2000, message="The reason must be 2,000 characters or fewer")])


class NextHomeForm(FlaskForm):
    home_id = RadioField("Home to offer next", validate_choice=False,
                         validators=[DataRequired("Select one of the homes listed")])


class DeclineForm(FlaskForm):
    reason = RadioField("Why are you declining?", validate_choice=False,
                        validators=[DataRequired("Select why you are declining the offer")])
    details = TextAreaField("More detail (optional unless you chose 'Another reason')",
                            validators=[Optional(), Length(max=2000, message="The details must be 2,000 "
                                                                             "characters or fewer")])


class DayMonthYear:
    """Three boxes of a GOV.UK date input, checked together."""

    def __init__(self, form: Any, prefix: str):
        self.day = getattr(form, f"{prefix}_day").data
        self.month = getattr(form, f"{prefix}_month").data
        self.year = getattr(form, f"{prefix}_year").data

    def value(self) -> date | None:
        try:
            return date(int(self.year), int(self.month), int(self.day))
        except (TypeError, ValueError):
            return None


class ApproveForm(FlaskForm):
    start_day = StringField("Day")
    start_month = StringField("Month")
    start_year = StringField("Year")
    weekly_cost = StringField("Weekly cost in pounds")

    def start_date(self) -> date | None:
        return DayMonthYear(self, "start").value()

    def weekly_cost_pence(self) -> int | None:
        try:
            return numbers.pence(self.weekly_cost.data)
        except ValueError:
            return None  # the service asks for the weekly cost


class EndPlacementForm(FlaskForm):
    end_day = StringField("Day")
    end_month = StringField("Month")
    end_year = StringField("Year")
    reason_code = SelectField("Why did the placement end?", validate_choice=False,
                              validators=[DataRequired("Select why the placement ended")])

    def end_date(self) -> date | None:
        return DayMonthYear(self, "end").value()
