"""The accessibility statement has the GOV.UK template's required sections and the privacy notice the
UK GDPR's required content (controller, purposes, lawful basis, retention, rights, the ICO)."""

from __future__ import annotations

import re

import pytest


def text_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


@pytest.mark.parametrize("heading", [
    "How accessible this service is", "Feedback and contact information",
    "Reporting accessibility problems with this service", "Enforcement procedure",
    "Technical information about this service's accessibility", "Compliance status", "Non-accessible content",
    "Disproportionate burden", "Content that's not within the scope of the accessibility regulations",
    "What we're doing to improve accessibility", "Preparation of this accessibility statement"])
def test_the_accessibility_statement_has_every_required_section(client, heading):
    assert heading in text_of(client, "/accessibility-statement")


def test_the_accessibility_statement_names_the_regulators_status_and_dates(client):
    page = text_of(client, "/accessibility-statement")
    assert "Equality and Human Rights Commission (EHRC)" in page
    assert "Equality Advisory and Support Service (EASS)" in page
    assert "Equality Commission for Northern Ireland" in page
    assert "partially compliant with the Web Content Accessibility Guidelines version 2.2 AA standard" in page
    assert "This statement was prepared on" in page and "This service was last tested on" in page


def test_the_privacy_notice_has_what_uk_gdpr_requires(client):
    page = text_of(client, "/privacy")
    for needed in ("controller", "Why we use it", "Our lawful basis", "Article 6(1)(e)", "Article 9(2)(g)",
                   "How long we keep it", "75th birthday", "Your rights", "subject access request",
                   "Information Commissioner", "0303 123 1113", "data protection officer"):
        assert needed in page, needed


def test_the_support_address_is_shown_when_configured(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RCC_SUPPORT_EMAIL", "rcc-support@example.gov.uk")
    assert "mailto:rcc-support@example.gov.uk" in client.get("/privacy").get_data(as_text=True)
    assert "mailto:rcc-support@example.gov.uk" in client.get("/accessibility-statement").get_data(as_text=True)
