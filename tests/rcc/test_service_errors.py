"""One way to put a service's refusal on a form (``rcc.web.put_service_error``), and nothing is dropped.

Issue 19, item 4: cost transparency's own helper dropped, silently, a message for a field its form
does not have, and flashed a refusal that named no field instead of showing it in the error summary.
"""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from flask_wtf import FlaskForm
from wtforms import StringField

from cost_transparency.services import high_cost_review
from rcc.errors import Conflict, FieldError, FieldErrors
from rcc.roles import Role
from rcc.web import form_errors, put_service_error
from tests.factories import make_region


class _Form(FlaskForm):
    name = StringField("Name")
    end_day = StringField("Day")


def test_each_message_goes_on_its_field_and_the_others_into_the_summary(app):
    with app.test_request_context("/"):
        form = _Form(meta={"csrf": False})
        summary = put_service_error(form, FieldErrors({"name": "Enter a name", "end_date": "Too late",
                                                       "quarter": "Pick a quarter"}),
                                    fields={"end_date": "end_day"})
        assert form.name.errors == ["Enter a name"] and form.end_day.errors == ["Too late"]
        assert summary == [{"text": "Enter a name", "href": "#name"}, {"text": "Too late", "href": "#end_day"},
                           {"text": "Pick a quarter", "href": "#main-content"}]
        assert form_errors(form) == summary


@pytest.mark.parametrize(("error", "general", "expected"), [
    (Conflict("Someone else has just changed it"), "name", {"text": "Someone else has just changed it", "href": "#name"}),
    (Conflict("Someone else has just changed it"), None,
     {"text": "Someone else has just changed it", "href": "#main-content"}),
    (FieldError("end_day", "Enter a real date"), None, {"text": "Enter a real date", "href": "#end_day"}),
])
def test_a_refusal_naming_no_field_goes_where_the_page_says(app, error, general, expected):
    with app.test_request_context("/"):
        form = _Form(meta={"csrf": False})
        assert put_service_error(form, error, general=general) == [expected]


@pytest.fixture
def region(app, setup_session):
    return make_region(setup_session, "T", ("Coventry", "Warwickshire"))


@pytest.mark.parametrize("error", [FieldErrors({"high_cost_threshold": "Too high", "quarter": "Pick a quarter"}),
                                   Conflict("Pick a quarter")])
def test_cost_transparency_shows_a_message_for_a_field_its_form_does_not_have(app, region, signed_in_client,
                                                                             monkeypatch, error):
    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(high_cost_review, "update_settings", refuse)
    commissioner = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    response = commissioner.post("/costs/settings", data={"high_cost_threshold": "2000",
                                                          "provider_share_alert_percent": "20", "row_version": ""})
    assert response.status_code == 200
    summary = BeautifulSoup(response.get_data(as_text=True), "html.parser").select_one(".govuk-error-summary")
    assert summary is not None
    links = {a.get_text(strip=True): a["href"] for a in summary.select("a")}
    assert links["Pick a quarter"] == "#main-content"
    if isinstance(error, FieldErrors):
        assert links["Too high"] == "#high_cost_threshold"
