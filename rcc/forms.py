"""Forms for signing in and for admins managing their people."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from rcc.versions import Versioned, parse_version


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password")])


class TwoFactorForm(FlaskForm):
    code = StringField("Security code", validators=[
        DataRequired("Enter the 6-digit code from your authenticator app"),
        Regexp(r"^\s*\d{6}\s*$", message="The code must be 6 digits, like 123456"),
    ])


class ChoosePasswordForm(TwoFactorForm):
    password = PasswordField("Choose a password", validators=[
        DataRequired("Choose a password"),
        Length(min=12, message="Password must be 12 characters or more"),
    ])


class InviteForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired("Enter the person's full name"), Length(max=120)])
    email = EmailField("Email address", validators=[DataRequired("Enter their email address"), Length(max=254)])
    roles = SelectMultipleField("Roles", option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False),
                                validators=[DataRequired("Select at least one role")])


class ConfirmForm(FlaskForm):
    """A button that changes something: CSRF protection and nothing else."""


API_TOKEN_LIFETIMES = [("30", "30 days"), ("90", "90 days"), ("180", "6 months"), ("366", "1 year")]


class ApiTokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired("Enter a name for the token"), Length(max=100)])
    scope = RadioField("What may it do?", choices=[("read_only", "Read only"),
                                                   ("read_write", "Read and change (create, update and withdraw)")],
                       validators=[DataRequired("Select whether the token may only read, or read and change")])
    days = SelectField("Expires after", choices=API_TOKEN_LIFETIMES, default="90",
                       validators=[DataRequired("Select how long the token lasts")])


class VersionedForm(FlaskForm):
    """A form that changes a record people edit: the version the person saw travels in a hidden
    field (``{{ f.version(form) }}``), so a save over someone else's change is refused (rcc.versions)."""

    row_version = HiddenField()

    def show_version(self, record: Versioned) -> None:
        self.row_version.data = str(record.row_version)

    @property
    def seen_version(self) -> int | None:
        return parse_version(self.row_version.data)
