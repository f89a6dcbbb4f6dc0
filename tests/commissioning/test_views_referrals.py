from __future__ import annotations

import io
from datetime import date, timedelta

from bs4 import BeautifulSoup
from sqlalchemy import select

from commissioning.models import Referral, SiblingGroup
from commissioning.services import referrals
from commissioning.vocabulary import RISKS
from rcc.models import AuditEvent, Organisation
from rcc.roles import Role
from tests.commissioning.world import child_details, referral_details

NEEDED = (date.today() + timedelta(days=10)).strftime("%d/%m/%Y")


def page(response):
    assert response.status_code == 200, response.status_code
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


# The Placements Data Standard's questions, answered: every risk "no known risk".
STANDARD_ANSWERS = {"foster_suitability": "preferred", "residential_suitability": "suitable",
                    "supported_accommodation_suitability": "unsuitable", "communication_needs": "no",
                    "home_adaptation": "no", "cultural_needs": "not_required", "living_companions": "no_preference",
                    "pets": "can", "education_continuity": "yes",
                    **{f"risk_{key}": "no_known_risk" for key in RISKS}}


def child_form(reference, group_id, **changes):
    data = {"reference": reference, "birth_month": "5", "birth_year": str(date.today().year - 9), "sex": "M",
            "legal_status": "C2", "category_of_need": "N1", "home_postcode": "cv1 2ab",
            "placement_type": "foster_care", "urgency": "within_7_days", "date_needed": NEEDED,
            **STANDARD_ANSWERS, "child_wishes": "Stay with my sisters",
            "sibling_group_id": str(group_id)}
    data.update(changes)
    return data


def test_a_council_officer_refers_a_sibling_group_of_three_and_the_rcc_sees_it(app, region, signed_in_client):
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    home = page(officer.get("/"))
    assert home.find("a", string="Refer a child")

    made = officer.post("/sibling-groups/new", data={"name": "Family A", "plan": "together"})
    group_url = made.headers["Location"]
    group_id = int(group_url.rstrip("/").split("/")[-1])
    group_page = page(officer.get(group_url))
    assert group_page.find("a", string="Refer a child in this group")

    empty = page(officer.post("/referrals/new", data={"sibling_group_id": str(group_id)}))
    summary = empty.select_one(".govuk-error-summary")
    assert summary is not None
    links = {a["href"]: a.get_text(strip=True) for a in summary.select("a")}
    assert links["#reference"] == "Enter your council's reference for the child"
    assert "#home_postcode" in links and "#date_needed" in links
    assert empty.title.get_text().startswith("Error:")

    for reference in ("SIB-1", "SIB-2", "SIB-3"):
        response = officer.post("/referrals/new", data=child_form(reference, group_id))
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    group_page = page(officer.get(group_url))
    assert len(group_page.select("tbody tr")) == 3
    assert officer.post(f"/sibling-groups/{group_id}/submit").status_code == 302
    statuses = [tag.get_text(strip=True) for tag in page(officer.get(group_url)).select("tbody .govuk-tag")]
    assert statuses == ["Submitted"] * 3

    rcc = signed_in_client(region.people[Role.RCC_PLACEMENT_OFFICER])
    dashboard = page(rcc.get("/region"))
    assert "3 open referrals" in dashboard.select_one(".govuk-body-l").get_text()
    waiting = [row.get_text(" ", strip=True) for row in dashboard.select("table") [-1].select("tbody tr")]
    assert waiting and "Family A" in waiting[0] and waiting[0].endswith("3")
    svg = dashboard.select_one("svg[role=img]")
    assert svg is not None and svg.find("title").get_text() == "Open referrals by urgency"


def _referral(setup_session, region, reference="V-1", council=0, **changes):
    referral = referrals.create_referral(setup_session, region.councils[council], child_details(reference),
                                         referral_details(**changes))
    setup_session.commit()
    return referral


def test_the_list_filters_by_status_urgency_and_type(app, region, setup_session, signed_in_client):
    _referral(setup_session, region, "V-1")
    _referral(setup_session, region, "V-2", urgency="emergency", placement_type="childrens_home")
    officer = signed_in_client(region.people[Role.COUNCIL_FINANCE_LEAD])
    listing = page(officer.get("/referrals?urgency=emergency"))
    rows = listing.select("tbody tr")
    assert len(rows) == 1 and "V-2" in rows[0].get_text()
    assert len(page(officer.get("/referrals?placement_type=foster_care")).select("tbody tr a")) == 1
    assert "Draft" in page(officer.get("/referrals?status=draft")).select_one("tbody .govuk-tag").get_text()


def test_reading_a_referral_is_audited_and_initials_are_for_the_council_only(app, region, setup_session,
                                                                            signed_in_client):
    referral = _referral(setup_session, region)
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    detail = page(officer.get(f"/referrals/{referral.id}"))
    assert detail.h1.get_text(strip=True) == "Referral for V-1 (AB)"
    rcc = signed_in_client(region.people[Role.RCC_PLACEMENT_OFFICER])
    assert page(rcc.get(f"/referrals/{referral.id}")).h1.get_text(strip=True) == "Referral for V-1"
    assert "(AB)" not in rcc.get("/referrals").get_data(as_text=True)
    viewed = setup_session.scalars(select(AuditEvent).where(AuditEvent.action == "referral.viewed")).all()
    assert len(viewed) == 2


def test_another_councils_referral_is_not_found(app, region, setup_session, signed_in_client):
    referral = _referral(setup_session, region, council=1)
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert officer.get(f"/referrals/{referral.id}").status_code == 404


def test_submit_and_withdraw_through_the_pages(app, region, setup_session, signed_in_client):
    referral = _referral(setup_session, region)
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    officer.post(f"/referrals/{referral.id}/submit")
    missing = page(officer.post(f"/referrals/{referral.id}/withdraw", data={"reason": ""}))
    assert missing.select_one(".govuk-error-summary a")["href"] == "#reason"
    officer.post(f"/referrals/{referral.id}/withdraw", data={"reason": "Returning home"})
    setup_session.expire_all()
    assert setup_session.get(Referral, referral.id).status == "withdrawn"
    refused = page(officer.post(f"/referrals/{referral.id}/submit", follow_redirects=True))
    assert "cannot become 'Submitted'" in refused.get_text()


def test_upload_page_reports_the_bad_row_and_saves_nothing(app, region, setup_session, signed_in_client):
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    template = officer.get("/referrals/template.csv").get_data(as_text=True)
    header, example = template.splitlines()[:2]
    bad = example.replace("ABC-1234", "ABC-9").replace(",F,", ",Q,")
    data = f"{header}\n{example}\n{bad}\n".encode()
    result = page(officer.post("/referrals/upload", data={"file": (io.BytesIO(data), "r.csv")},
                               content_type="multipart/form-data", follow_redirects=True))
    problems = [[td.get_text(strip=True) for td in tr.select("td")] for tr in result.select("#problems tbody tr")]
    assert problems == [["3", "sex", "Select the child's sex"]]
    assert setup_session.scalars(select(Referral)).all() == []
    ok = officer.post("/referrals/upload", data={"file": (io.BytesIO(f"{header}\n{example}\n".encode()), "r.csv")},
                      content_type="multipart/form-data")
    assert ok.status_code == 302
    assert len(setup_session.scalars(select(SiblingGroup)).all()) == 1


def test_export_neutralises_formula_text(app, region, setup_session, signed_in_client):
    _referral(setup_session, region, child_wishes="=HYPERLINK(\"http://x\")")
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    body = officer.get("/referrals/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body


def test_a_referral_in_matching_says_it_is_locked_before_the_edit_form_opens(app, region, setup_session,
                                                                             signed_in_client):
    """Issue 19 item 13: after a matching run the edit form opened, then refused on save."""
    referral = _referral(setup_session, region, "LOCK-1")
    referrals.submit_referral(setup_session, referral)
    referrals.start_matching(setup_session, referral)  # what a matching run does to each referral it takes
    setup_session.commit()
    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    opened = officer.get(f"/referrals/{referral.id}/edit")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/referrals/{referral.id}")
    shown = page(officer.get(opened.headers["Location"]))
    text = shown.get_text(" ", strip=True)
    assert "cannot be changed" in text and "locked while the RCC matches" in text
    assert shown.find("a", string="Change") is None
    assert officer.post(f"/referrals/{referral.id}/edit", data=child_form("LOCK-1", "")).status_code == 302


def test_the_history_credits_the_rcc_officers_decision_to_the_rcc_not_the_platform(app, region, setup_session,
                                                                                  signed_in_client):
    """Issue 19 item 13: the council's reader saw "The platform" for the RCC officer's step."""
    referral = _referral(setup_session, region, "WHO-1")
    referrals.submit_referral(setup_session, referral)
    setup_session.commit()
    rcc_officer = region.people[Role.RCC_PLACEMENT_OFFICER]
    rcc = signed_in_client(rcc_officer)
    assert rcc.post(f"/referrals/{referral.id}/start-matching").status_code == 302
    rcc_name = setup_session.get(Organisation, rcc_officer.organisation_id).name

    officer = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    history = page(officer.get(f"/referrals/{referral.id}")).find("caption", string="History").find_parent("table")
    rows = [[cell.get_text(strip=True) for cell in row.select("td")] for row in history.select("tbody tr")]
    into_matching = next(row for row in rows if row[1].endswith("In matching"))
    assert into_matching[2] == rcc_name
    # The RCC's own reader sees the person.
    rcc_history = page(rcc.get(f"/referrals/{referral.id}")).find("caption", string="History").find_parent("table")
    assert rcc_officer.name in rcc_history.get_text()
