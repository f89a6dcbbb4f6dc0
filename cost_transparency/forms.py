"""Forms for the cost pages. Amounts are typed in pounds and stored in pence by the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from cost_transparency.vocabulary import CONTRIBUTIONS, COST_PARTS, NEED_BANDS, REVIEW_OUTCOMES
from rcc.forms import VersionedForm


class DayField(DateField):
    """A date typed as YYYY-MM-DD (the browser's date picker sends that), with a plain message."""

    def process_formdata(self, valuelist: list) -> None:
        if not valuelist or not "".join(valuelist).strip():
            self.data = None  # empty: the field's own validators say what to do
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            self.data = None
            raise ValueError(f"{self.label.text} must be a real date, like 2026-03-31") from error


class CostRecordForm(VersionedForm):
    start_date = DayField("Cost starts", validators=[InputRequired("Enter the date this cost starts")],
                           format="%Y-%m-%d")
    end_date = DayField("Cost ends (leave empty if it continues)", validators=[Optional()], format="%Y-%m-%d")
    core_weekly = StringField(COST_PARTS["core_weekly"] + " (£ a week)",
                              validators=[DataRequired("Enter the core weekly cost in pounds")])
    additional_support_weekly = StringField(COST_PARTS["additional_support_weekly"] + " (£ a week)", default="0")
    education_weekly = StringField(COST_PARTS["education_weekly"] + " (£ a week)", default="0")
    health_weekly = StringField(COST_PARTS["health_weekly"] + " (£ a week)", default="0")
    nhs_contribution_weekly = StringField(CONTRIBUTIONS["nhs_contribution_weekly"] + " (£ a week)", default="0")
    education_contribution_weekly = StringField(CONTRIBUTIONS["education_contribution_weekly"] + " (£ a week)",
                                                default="0")
    need_band = SelectField("Need band", choices=list(NEED_BANDS.items()))
    notes = TextAreaField("Notes", validators=[Length(max=2000, message="Notes must be 2,000 characters or fewer")])


class ReviewOutcomeForm(FlaskForm):
    outcome = RadioField("Outcome of the review", choices=list(REVIEW_OUTCOMES.items()),
                         validators=[InputRequired("Select the outcome of the review")])
    notes = TextAreaField("What was decided and why", validators=[
        DataRequired("Enter what was decided and why"), Length(max=4000, message="Notes must be 4,000 characters or fewer")])
    next_review_on = DayField("Next review (optional)", validators=[Optional()], format="%Y-%m-%d")


class SettingsForm(VersionedForm):
    high_cost_threshold = IntegerField("High-cost threshold (£ a week)", validators=[
        InputRequired("Enter the weekly threshold in whole pounds"),
        NumberRange(500, 100_000, "Enter a weekly threshold between £500 and £100,000")])
    provider_share_alert_percent = IntegerField("Alert when one provider group holds more than (%)", validators=[
        InputRequired("Enter a percentage"), NumberRange(5, 100, "Enter a share between 5%% and 100%%")])


class PublicationForm(VersionedForm):
    title = StringField("Title", validators=[DataRequired("Enter a title for the report"), Length(max=200)])
    period_start = DayField("First day of the period", validators=[
        InputRequired("Enter the first day of the period the report covers")], format="%Y-%m-%d")
    period_end = DayField("Last day of the period", validators=[
        InputRequired("Enter the last day of the period the report covers")], format="%Y-%m-%d")


class CorrectionForm(FlaskForm):
    changes = TextAreaField("What this correction changes", validators=[
        DataRequired("Say what this correction changes, for readers of the report"),
        Length(max=4000, message="The note must be 4,000 characters or fewer")])


class ImportForm(FlaskForm):
    file = FileField("CSV file of cost records")


class ParentGroupForm(FlaskForm):
    provider_id = SelectField("Provider (Ofsted legal entity)", coerce=int, validate_choice=False,
                              validators=[DataRequired("Select one of the region's providers")])
    parent_name = StringField("Parent group", validators=[
        DataRequired("Enter the name of the parent group, like Acme Care Group"),
        Length(max=200, message="The parent group's name must be 200 characters or fewer")])
