"""Every CSV import, fed bad files through its page: a clear message naming the problem,
nothing written, and CSV downloads that a spreadsheet cannot run as formulas."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from commissioning.models import Child, Home, Referral
from commissioning.services.imports import referral_template_csv
from cost_transparency.models import CostRecord
from rcc.roles import Role
from tests.conftest import sign_in
from tests.factories import make_region

INJECTION = "=cmd|' /C calc'!A0"


@pytest.fixture
def region(setup_session):
    return make_region(setup_session, "A", ("Coventry", "Warwickshire"))


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _upload(client, path: str, content: bytes, **fields):
    data = {"file": (io.BytesIO(content), "upload.csv"), **fields}
    return client.post(path, data=data, content_type="multipart/form-data")


def _referral_rows(*references: str) -> bytes:
    header, example = referral_template_csv().splitlines()[:2]
    needed = (date.today() + timedelta(days=30)).isoformat()
    rows = [example.replace("ABC-1234", reference).replace("2027-03-27", needed).replace(",Family A,yes,", ",,,")
            for reference in references]
    return "\n".join([header, *rows]).encode()


def _messages(response) -> str:
    page = BeautifulSoup(response.data, "html.parser")
    summary = page.select_one(".govuk-error-summary")
    assert summary is not None, "no error summary on the page"
    return " ".join(page.get_text(" ").split())


BAD_FILES = {
    "wrong encoding": (b"latin-1 text" + "\nJosé,£5".encode("latin-1"), "not UTF-8"),
    "missing columns": (b"reference,sex\nA1,F\n", "missing these columns"),
    "empty": (b"", "empty"),
}


@pytest.mark.parametrize("case", ["wrong encoding", "missing columns", "empty"])
def test_referral_upload_refuses_bad_files_and_writes_nothing(app, region, setup_session, case):
    content, expected = BAD_FILES[case]
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    response = _upload(client, "/referrals/upload", content)
    assert response.status_code == 200
    assert expected in _messages(response)
    assert _count(setup_session, Referral) == 0 and _count(setup_session, Child) == 0


def test_referral_upload_with_one_bad_row_writes_nothing_and_names_row_and_field(app, region, setup_session):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    content = _referral_rows("GOOD-1", "GOOD-2").decode().replace("GOOD-2,JS,4,2012,F", "GOOD-2,JS,4,2012,X")
    response = _upload(client, "/referrals/upload", content.encode())
    assert response.status_code == 302  # to the upload's own page, where the background check reports
    page = _messages(client.get(response.headers["Location"]))
    assert "3" in page and "sex" in page.lower()
    assert _count(setup_session, Referral) == 0


def test_huge_uploads_are_refused_with_a_clear_message(app, region, setup_session):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    over_service_limit = b"reference\n" + b"x" * (9 * 1024 * 1024 + 1)
    assert "larger than 9 MB" in _messages(_upload(client, "/referrals/upload", over_service_limit))
    over_server_limit = b"x" * (11 * 1024 * 1024)
    response = _upload(client, "/referrals/upload", over_server_limit)
    assert response.status_code == 413 and "The file is too large" in response.get_data(as_text=True)
    assert _count(setup_session, Referral) == 0


def test_formula_looking_text_is_stored_as_text_and_neutralised_on_export(app, region, setup_session):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    content = _referral_rows("SAFE-1").decode().replace("I want to stay at my school", INJECTION.replace(",", " "))
    response = _upload(client, "/referrals/upload", content.encode())
    assert response.status_code == 302, _messages(response)
    stored = setup_session.scalar(select(Referral.child_wishes))
    assert stored == INJECTION.replace(",", " ")
    exported = list(csv.DictReader(io.StringIO(client.get("/referrals/export.csv").get_data(as_text=True))))
    assert exported[0]["child_wishes"] == "'" + INJECTION.replace(",", " ")


@pytest.mark.parametrize("case", ["wrong encoding", "missing columns", "empty"])
def test_ofsted_import_refuses_bad_files_and_writes_nothing(app, region, setup_session, case):
    content, expected = BAD_FILES[case]
    client = sign_in(app.test_client(), region.people[Role.RCC_COMMISSIONER])
    if case == "empty":
        content, expected = b"urn,name\n", "missing these columns"
    response = _upload(client, "/supply/import-ofsted", content)
    assert expected in _messages(response)
    assert _count(setup_session, Home) == 0


def test_ofsted_import_refuses_a_file_over_the_upload_limit(app, region, setup_session):
    """The full Ofsted list is about 0.6 MB; anything over the 10 MB upload limit is refused before it is read."""
    client = sign_in(app.test_client(), region.people[Role.RCC_COMMISSIONER])
    response = _upload(client, "/supply/import-ofsted", b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413 and "The file is too large" in response.get_data(as_text=True)
    assert _count(setup_session, Home) == 0


@pytest.mark.parametrize("case", ["wrong encoding", "missing columns", "empty"])
def test_cost_import_refuses_bad_files_and_writes_nothing(app, region, setup_session, case):
    content, expected = BAD_FILES[case]
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_FINANCE_LEAD])
    response = _upload(client, "/costs/import", content)
    assert expected in _messages(response)
    assert _count(setup_session, CostRecord) == 0


def test_cost_import_lists_each_bad_row_and_column_and_writes_nothing(app, region, setup_session):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_FINANCE_LEAD])
    template = client.get("/costs/import/template.csv").get_data(as_text=True)
    response = _upload(client, "/costs/import", (template + f"{INJECTION},2026-01-05,2026-01-05,,x,,,,,,,\n").encode())
    table = BeautifulSoup(response.data, "html.parser").select("table tbody tr")
    problems = {(cells[0], cells[1]) for cells in ([td.get_text(strip=True) for td in tr.select("td")]
                                                   for tr in table)}
    assert ("3", "core_weekly") in problems, problems
    assert any(row == "2" for row, _ in problems)  # the template's example child is not one of this council's
    assert _count(setup_session, CostRecord) == 0


def test_templates_offered_for_download_are_formula_safe(app, region):
    client = sign_in(app.test_client(), region.people[Role.COUNCIL_FINANCE_LEAD])
    for row in csv.reader(io.StringIO(client.get("/costs/import/template.csv").get_data(as_text=True))):
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)
