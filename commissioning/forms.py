"""Forms for commissioning's pages. They check what the browser sent is well-formed; the
services check the rules (and their FieldErrors are put back on these fields by name)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from commissioning.models import HOUSEHOLD_STATUSES
from commissioning.ssda903 import categories_of_need, legal_statuses, placement_end_reasons
from commissioning.vocabulary import (
    ADDITIONAL_SUPPORT,
    COMMUNICATION_NEEDS,
    COMMUNICATION_REQUIREMENTS,
    CULTURAL_NEEDS,
    FUNDING,
    LIVING_COMPANIONS,
    NEEDS_AND_RISKS,
    OFSTED_RATINGS,
    PETS,
    PLACEMENT_TYPES,
    RISKS,
    SEXES,
    SIBLING_PLANS,
    STANDARD_PLACEMENT_TYPES,
    SUITABILITIES,
    URGENCIES,
)
from rcc import numbers
from rcc.forms import VersionedForm
from rcc.web import parse_day

YES_NO = [("yes", "Yes"), ("no", "No")]
NO_KNOWN_RISK, RISK_PRESENT = "no_known_risk", "risk_present"
RISK_CHOICES = [(NO_KNOWN_RISK, "No known risk"), (RISK_PRESENT, "Risk present")]


def _choices(options: dict[str, Any]) -> list[tuple[str, str]]:
    return [(key, option.label) for key, option in options.items()]


class MultiCheckbox(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        pass  # services name any unknown key; a stale browser tab should not get a bare "Not a valid choice"


def parse_date(text: str | None) -> date | None:
    """Accepts 27/3/2027, 27 3 2027 or 2027-03-27; raises ValueError otherwise (rcc's one date parser)."""
    return parse_day(text)


def _date_field(message: str) -> Any:
    def check(form: Any, field: Any) -> None:
        try:
            parse_date(field.data)
        except ValueError as error:
            raise ValidationError(message) from error
    return check


def _pounds_field(form: Any, field: Any) -> None:
    try:
        numbers.pence(field.data)
    except ValueError as error:
        raise ValidationError(f"{field.label.text} {error}") from error


def _whole_number(message: str) -> Any:
    def check(form: Any, field: Any) -> None:
        try:
            numbers.whole_number(field.data)
        except ValueError as error:
            raise ValidationError(message) from error
    return check


class ReferralForm(VersionedForm):
    reference = StringField("Your reference for the child", validators=[
        DataRequired("Enter your council's reference for the child"), Length(max=40)])
    initials = StringField("Initials (optional)", validators=[Optional(), Length(max=5)])
    birth_month = StringField("Month of birth", validators=[
        DataRequired("Enter the month of birth"), _whole_number("Month of birth must be a number from 1 to 12")])
    birth_year = StringField("Year of birth", validators=[
        DataRequired("Enter the year of birth"), _whole_number("Year of birth must be a number, like 2012")])
    sex = RadioField("Sex", validate_choice=False, choices=list(SEXES.items()), validators=[DataRequired("Select the child's sex")])
    legal_status = SelectField("Legal status", validate_choice=False, validators=[DataRequired("Select the child's legal status")])
    category_of_need = SelectField("Category of need", validate_choice=False, validators=[DataRequired("Select the category of need")])
    uasc = BooleanField("Unaccompanied asylum-seeking child")
    ehcp = BooleanField("Has an education, health and care plan (EHCP)")
    home_postcode = StringField("Home postcode", validators=[DataRequired("Enter the child's home postcode")])
    school_postcode = StringField("School postcode (optional)", validators=[Optional()])
    placement_type = RadioField("Type of home to look for first (optional)", validate_choice=False,
                                choices=[(k, v.label) for k, v in PLACEMENT_TYPES.items()], validators=[Optional()])
    urgency = RadioField("How urgent", validate_choice=False, choices=list(URGENCIES.items()),
                         validators=[DataRequired("Select how urgently the placement is needed")])
    date_needed = StringField("Date needed", validators=[
        DataRequired("Enter the date the placement is needed"),
        _date_field("Date needed must be a real date, like 27/3/2027")])
    communication_needs = RadioField("Does the child have communication, language and learning needs?",
                                     validate_choice=False, choices=_choices(COMMUNICATION_NEEDS),
                                     validators=[DataRequired("Select whether the child has communication needs")])
    communication_requirements = MultiCheckbox("Communication and language requirements",
                                               choices=_choices(COMMUNICATION_REQUIREMENTS))
    home_adaptation = RadioField("Does the child need an adapted home?", validate_choice=False, choices=YES_NO,
                                 validators=[DataRequired("Select whether the child needs an adapted home")])
    cultural_needs = RadioField("Cultural needs (such as a place of worship)", validate_choice=False,
                                choices=_choices(CULTURAL_NEEDS),
                                validators=[DataRequired("Select whether the child has cultural needs")])
    living_companions = RadioField("Who can the child be cared for alongside?", validate_choice=False,
                                   choices=_choices(LIVING_COMPANIONS),
                                   validators=[DataRequired("Select who the child can be cared for alongside")])
    pets = RadioField("Can the child live with pets or animals?", validate_choice=False, choices=_choices(PETS),
                      validators=[DataRequired("Select whether the child can live with pets")])
    additional_support = RadioField("Additional support (optional)", validate_choice=False,
                                    choices=_choices(ADDITIONAL_SUPPORT), validators=[Optional()])
    risk_to_child_other = TextAreaField("Other risk to the child (please specify)", validators=[Length(max=2000)])
    risk_to_others_other = TextAreaField("Other risk to others or property (please specify)",
                                         validators=[Length(max=2000)])
    preferred_location = StringField("Preferred location for the home search (optional)",
                                     validators=[Optional(), Length(max=200)])
    education_continuity = RadioField("Should the child keep their current school?", validate_choice=False,
                                      choices=YES_NO, validators=[DataRequired("Say whether the child should keep their school")])
    dol_order_needed = BooleanField("A deprivation of liberty order is needed")
    child_wishes = TextAreaField("What the child wants, in their own words", validators=[Length(max=4000)])
    provider_summary = TextAreaField("Summary for providers", validators=[Length(max=2000)])
    excluded_provider_ids = MultiCheckbox("Providers to exclude", coerce=int)
    excluded_areas = MultiCheckbox("Areas to exclude")
    max_weekly_cost = StringField("Maximum weekly cost in pounds (optional)", validators=[_pounds_field])
    max_distance_miles = StringField("Furthest distance from home in miles (optional)", validators=[
        _whole_number("Distance must be a whole number of miles, like 20")])
    out_of_area_reason = TextAreaField("Reason for a placement outside your area (if relevant)",
                                       validators=[Length(max=2000)])
    sibling_group_id = SelectField("Sibling group", validate_choice=False, coerce=str)

    def suitability_fields(self) -> list[Any]:
        return [getattr(self, f"{key}_suitability") for key in STANDARD_PLACEMENT_TYPES]

    def risk_fields(self, to_others: bool) -> list[Any]:
        return [getattr(self, f"risk_{key}") for key, risk in RISKS.items() if risk.to_others == to_others]

    def fill_choices(self, providers: list[tuple[int, str]], areas: list[str],
                     groups: list[tuple[int, str]]) -> None:
        self.legal_status.choices = [("", "Select legal status")] + [
            (code, f"{code} – {text[:70]}") for code, text in legal_statuses().items()]
        self.category_of_need.choices = [("", "Select category of need")] + [
            (code, f"{code} – {text}") for code, text in categories_of_need().items()]
        self.excluded_provider_ids.choices = providers
        self.excluded_areas.choices = [(a, a) for a in areas]
        self.sibling_group_id.choices = [("", "Not in a sibling group")] + [(str(i), n) for i, n in groups]


# One radio question per standard placement type and per listed risk, named after their keys.
for _key, _standard in STANDARD_PLACEMENT_TYPES.items():
    setattr(ReferralForm, f"{_key}_suitability", RadioField(
        f"{_standard.label}", validate_choice=False, choices=_choices(SUITABILITIES),
        validators=[DataRequired(f"Select how suitable {_standard.label.lower()} is for the child")]))
for _key, _risk in RISKS.items():
    setattr(ReferralForm, f"risk_{_key}", RadioField(
        _risk.label, validate_choice=False, choices=RISK_CHOICES,
        validators=[DataRequired(f"Say whether there is a known risk: {_risk.label.lower()}")]))


class SiblingGroupForm(VersionedForm):
    name = StringField("Name for the group", validators=[DataRequired("Enter a name for the sibling group"),
                                                          Length(max=80)])
    plan = RadioField("What is the care plan for the brothers and sisters?", validate_choice=False,
                      choices=list(SIBLING_PLANS.items()),
                      validators=[DataRequired("Choose the plan: together, together if possible, or apart")])
    plan_reason = TextAreaField("Reason for the plan", validators=[Length(max=2000)])


class AddToGroupForm(FlaskForm):
    referral_id = SelectField("Child", validate_choice=False, coerce=str, validators=[DataRequired("Select a child to add")])


class RemoveFromGroupForm(FlaskForm):
    referral_id = StringField("Child", validators=[DataRequired("Select a child to remove")])


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired("Enter the reason"), Length(max=2000)])


class UploadForm(FlaskForm):
    file = FileField("CSV file")
    submit_now = BooleanField("Submit the referrals to the RCC now (otherwise they are saved as drafts)")


class ImportOfstedForm(FlaskForm):
    file = FileField("Ofsted provider list (optional: leave empty to use the list shipped with the service)")


class HomeForm(VersionedForm):
    ofsted_urn = StringField("Ofsted URN", validators=[DataRequired("Enter the home's Ofsted URN")])
    name = StringField("Name of the home", validators=[DataRequired("Enter the home's name"), Length(max=200)])
    placement_type = RadioField("Type of placement", validate_choice=False, choices=[(k, v.label) for k, v in PLACEMENT_TYPES.items()],
                                validators=[DataRequired("Select the type of placement the home offers")])
    local_authority = SelectField("Local authority area", validate_choice=False, validators=[
        DataRequired("Select the local authority the home is in")])
    postcode = StringField("Postcode (optional)", validators=[Optional()])
    registered_places = StringField("Registered places", validators=[
        DataRequired("Enter the number of registered places"), _whole_number("Registered places must be a number")])
    age_min = StringField("Youngest age", validators=[DataRequired("Enter the youngest age"),
                                                      _whole_number("Youngest age must be a number")])
    age_max = StringField("Oldest age", validators=[DataRequired("Enter the oldest age"),
                                                    _whole_number("Oldest age must be a number")])
    sexes = MultiCheckbox("Can care for", choices=[("F", "Girls"), ("M", "Boys")])
    needs_met = MultiCheckbox("Needs and risks the home can meet", choices=list(NEEDS_AND_RISKS.items()))
    max_sibling_group = StringField("Largest sibling group it can take", validators=[
        DataRequired("Enter the largest sibling group the home can take"),
        _whole_number("Largest sibling group must be a number")])
    weekly_price = StringField("Weekly price in pounds (optional)", validators=[_pounds_field])
    price_band = StringField("Price band (optional)", validators=[Optional(), Length(max=40)])
    dol_capable = BooleanField("Can care for a child under a deprivation of liberty order")
    active = BooleanField("Taking referrals (active)", default=True)


class InadequateOverrideForm(FlaskForm):
    """For the RCC only: let matching propose a home rated Inadequate, with the reason."""

    allow = RadioField("May matching propose this home while it is rated Inadequate?", validate_choice=False,
                       choices=[("yes", "Yes, the RCC allows it (give the reason)"),
                                ("no", "No, exclude it while it is rated Inadequate (the default)")],
                       validators=[DataRequired("Say whether matching may propose this home")])
    reason = TextAreaField("Reason", validators=[Length(max=2000)])


class RatingForm(FlaskForm):
    """For the RCC only: a home's Ofsted rating is never the provider's to set."""

    ofsted_rating = RadioField("Latest Ofsted rating", validate_choice=False, choices=list(OFSTED_RATINGS.items()),
                               validators=[DataRequired("Select the latest Ofsted rating")])
    rating_date = StringField("Date of the inspection (optional)", validators=[
        Optional(), _date_field("Date of the inspection must be a real date, like 14/2/2025")])


class VacancyForm(VersionedForm):
    places_free = StringField("Free places", validators=[
        DataRequired("Enter the number of free places"), _whole_number("Free places must be a number, like 1")])
    available_from = StringField("Free from", validators=[
        DataRequired("Enter the date the places are free from"),
        _date_field("Free from must be a real date, like 27/3/2027")])


class EndPlacementForm(FlaskForm):
    end_date = StringField("Date the placement ended", validators=[
        DataRequired("Enter the date the placement ended"),
        _date_field("The end date must be a real date, like 27/3/2027")])
    reason_code = SelectField("Why it ended", validate_choice=False, validators=[DataRequired("Select why the placement ended")])

    def fill_choices(self) -> None:
        self.reason_code.choices = [("", "Select a reason")] + [
            (code, f"{code} – {text}") for code, text in placement_end_reasons().items()]


FUNDING_CHOICES = list(FUNDING.items())


class HouseholdForm(VersionedForm):
    """A foster household: approved carers, described by their owner (a council or an agency)."""

    reference = StringField("Your reference for the household", validators=[
        DataRequired("Enter your reference for the household (not the carers' names)"), Length(max=40)])
    postcode = StringField("Postcode", validators=[DataRequired("Enter the household's full postcode, like CV1 2AB")])
    age_min = StringField("Youngest age approved for", validators=[
        DataRequired("Enter the youngest age the carers are approved for"),
        _whole_number("Youngest age must be a number")])
    age_max = StringField("Oldest age approved for", validators=[
        DataRequired("Enter the oldest age the carers are approved for"),
        _whole_number("Oldest age must be a number")])
    max_children = StringField("Number of children approved for", validators=[
        DataRequired("Enter how many children the carers are approved for"),
        _whole_number("Number of children must be a number")])
    siblings = BooleanField("Approved to take brothers and sisters together")
    places_free = StringField("Free places now", validators=[
        DataRequired("Enter the number of free places, 0 or more"), _whole_number("Free places must be a number")])
    needs_met = MultiCheckbox("Needs and risks the carers can meet", choices=list(NEEDS_AND_RISKS.items()))
    weekly_cost = StringField("Weekly cost in pounds (optional)", validators=[_pounds_field])
    status = RadioField("Status", validate_choice=False, choices=list(HOUSEHOLD_STATUSES.items()),
                        validators=[DataRequired("Select the household's status")])


class InHousePreferenceForm(VersionedForm):
    points = StringField("Points taken off the score of your in-house carers", validators=[
        DataRequired("Enter the points, 0 for no preference"), _whole_number("Points must be a whole number")])
