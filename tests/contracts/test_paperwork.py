"""Issue 18 item 4: the minimum tender period, lots changed only before publication, evaluators
marking independently, award letters and the standstill, contracts from an award on the lot's terms."""

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from contracts.models import AwardLetter, Tender
from contracts.services import contracts as contract_service
from contracts.services import documents, evaluation, settings, tenders
from rcc import users
from rcc.errors import Conflict, FieldErrors
from rcc.models import utcnow
from rcc.notification_models import Notification
from rcc.roles import Role
from tests.contracts.helpers import (
    NOW,
    add_provider,
    bid_for,
    lot_details,
    make_home,
    moderate_all,
    published_tender,
    tender_details,
)
from tests.factories import make_region, make_user


def page(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


# Minimum tender period ------------------------------------------------------------------

def _draft(session, region, now, bids_close_in):
    details = tender_details(now=now)
    details.clarification_closes_at = now + bids_close_in / 2
    details.bids_close_at = now + bids_close_in
    details.contract_start = (now + timedelta(days=90)).date()
    tender = tenders.create_tender(session, region.rcc.id, details, None)
    session.flush()
    tenders.add_lot(session, tender, lot_details(region), now)
    return tender


def test_a_forty_minute_tender_is_refused_naming_the_bid_deadline(setup_session):
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    tender = _draft(setup_session, region, NOW, timedelta(minutes=40))
    with pytest.raises(FieldErrors) as refused:
        tenders.publish(setup_session, tender, NOW)
    assert set(refused.value.errors) == {"bids_close_at"}
    assert "at least 14 days" in refused.value.errors["bids_close_at"]
    assert tender.published_at is None


def test_the_rcc_sets_its_own_minimum_tender_period(setup_session):
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    settings.update_settings(setup_session, region.rcc.id, 30, 10, None, NOW)
    tender = _draft(setup_session, region, NOW, timedelta(days=20))
    with pytest.raises(FieldErrors, match="at least 30 days"):
        tenders.publish(setup_session, tender, NOW)
    settings.update_settings(setup_session, region.rcc.id, 7, 10, None, NOW)
    tenders.publish(setup_session, tender, NOW)
    assert tender.published_at is not None
    with pytest.raises(FieldErrors) as refused:
        settings.update_settings(setup_session, region.rcc.id, 0, 100, None, NOW)
    assert set(refused.value.errors) == {"min_tender_days", "standstill_days"}


def test_publishing_a_forty_minute_tender_through_the_page_says_why(app, setup_session, signed_in_client):
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    now = utcnow()
    tender = _draft(setup_session, region, now, timedelta(minutes=40))
    setup_session.commit()
    commissioner = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    followed = commissioner.post(f"/contracts/tenders/{tender.id}/publish", follow_redirects=True)
    assert "Bids must close at least 14 days after the tender is published" in followed.get_data(as_text=True)
    setup_session.expire_all()
    assert setup_session.get(Tender, tender.id).published_at is None


# Lots before publication ----------------------------------------------------------------

def test_lots_can_be_edited_and_withdrawn_only_before_publication(setup_session):
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    tender = tenders.create_tender(setup_session, region.rcc.id, tender_details(), None)
    setup_session.flush()
    lot = tenders.add_lot(setup_session, tender, lot_details(region), NOW)
    spare = tenders.add_lot(setup_session, tender, lot_details(region, title="Spare lot"), NOW)
    changed = lot_details(region, title="Lot: Coventry only")
    changed.places, changed.max_weekly_price, changed.term_months = 6, 650000, 36
    changed.questions = [("Safety?", 100)]
    tenders.update_lot(setup_session, tender, lot, changed, NOW)
    assert (lot.title, lot.places, lot.max_weekly_price, lot.term_months) == ("Lot: Coventry only", 6, 650000, 36)
    assert [(q.text, q.weight) for q in tenders.questions_of(setup_session, lot)] == [("Safety?", 100)]
    tenders.remove_lot(setup_session, tender, spare, NOW)
    assert [x.id for x in tenders.lots_of(setup_session, tender)] == [lot.id]
    tenders.publish(setup_session, tender, NOW)
    with pytest.raises(Conflict):
        tenders.update_lot(setup_session, tender, lot, changed, NOW)
    with pytest.raises(Conflict):
        tenders.remove_lot(setup_session, tender, lot, NOW)


def test_a_lot_change_after_someone_published_is_refused_by_the_conditional_update(setup_session):
    """The lot change read the tender as a draft; it was published before the change wrote."""
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    tender = tenders.create_tender(setup_session, region.rcc.id, tender_details(), None)
    setup_session.flush()
    tenders.add_lot(setup_session, tender, lot_details(region), NOW)
    setup_session.execute(Tender.__table__.update().where(Tender.__table__.c.id == tender.id)
                          .values(published_at=NOW))
    with pytest.raises(Conflict, match="draft"):
        tenders._claim_draft(setup_session, tender, "change a lot of")


# Evaluators mark independently ----------------------------------------------------------

@pytest.fixture
def evaluating(setup_session):
    s = setup_session
    region = make_region(s, "T", ("Coventry", "Warwickshire"))
    now = utcnow() - timedelta(days=30)
    tender, lot = published_tender(s, region, now=now)
    rival = add_provider(s, region, "Rival Care Ltd")
    make_user(s, rival, Role.PROVIDER_MANAGER, "rival_manager")
    cheap = bid_for(s, rival, lot, 450000, [make_home(s, rival, "Elm")], now=now)
    good = bid_for(s, region.provider, lot, 500000, [make_home(s, region.provider, "Oak")], now=now)
    tender.clarification_closes_at = utcnow() - timedelta(days=2)
    tender.bids_close_at = utcnow() - timedelta(hours=1)
    s.flush()
    tenders.start_evaluation(s, tender, utcnow())
    second = make_user(s, region.rcc, Role.RCC_COMMISSIONER, "second_evaluator")
    s.commit()
    return region, tender, lot, cheap, good, second


def test_an_evaluator_cannot_see_anothers_marks_before_submitting_their_own(app, setup_session, evaluating,
                                                                             signed_in_client, client):
    region, tender, lot, cheap, _good, second = evaluating
    first = region.people[Role.RCC_COMMISSIONER]
    questions = tenders.questions_of(setup_session, lot)
    for q in questions:
        evaluation.record_score(setup_session, cheap.id, q.id, first.id, 1, "MARK-first-comment", utcnow())
    token = users.create_api_token(setup_session, second, "test")[1]
    setup_session.commit()
    other = signed_in_client(second)

    # Before marking: no sign of the first evaluator's marks, on the evaluation page, the moderation page or the API.
    for url in (f"/contracts/lots/{lot.id}/evaluation", f"/contracts/bids/{cheap.id}/moderation"):
        text = page(other.get(url)).get_text(" ")
        assert first.name not in text, url
        assert "MARK-first-comment" not in text, url
    api = client.get(f"/api/v1/bids/{cheap.id}/marks", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200, api.get_data(as_text=True)
    assert api.get_json() == {"bid_id": cheap.id, "submitted": False, "marks": []}

    # The second evaluator submits their own marks; now, at moderation, both are shown.
    marks = {f"mark_{q.id}": "4" for q in questions}
    assert other.post(f"/contracts/bids/{cheap.id}/marks", data=marks).status_code == 302
    text = page(other.get(f"/contracts/bids/{cheap.id}/moderation")).get_text(" ")
    assert first.name in text and "MARK-first-comment" in text
    api = client.get(f"/api/v1/bids/{cheap.id}/marks", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert api["submitted"] is True
    assert sorted((m["evaluator_user_id"], m["score"]) for m in api["marks"]) == sorted(
        [(first.id, 1)] * len(questions) + [(second.id, 4)] * len(questions))


def test_submitted_marks_are_not_changed_after_seeing_the_others(setup_session, evaluating):
    _region, _tender, lot, cheap, _good, second = evaluating
    question = tenders.questions_of(setup_session, lot)
    for q in question:
        evaluation.record_score(setup_session, cheap.id, q.id, second.id, 3, "", utcnow())
    with pytest.raises(Conflict, match="moderation"):
        evaluation.record_score(setup_session, cheap.id, question[0].id, second.id, 5, "", utcnow())


# Award letters, standstill and the contract ---------------------------------------------

def _award(setup_session, evaluating):
    region, tender, lot, cheap, good, _second = evaluating
    moderate_all(setup_session, lot, region.people[Role.RCC_COMMISSIONER].id,
                 {cheap.id: [2, 2], good.id: [5, 4]}, utcnow())
    evaluation.decide_lot_award(setup_session, lot, good.id, "Highest total score", utcnow())
    evaluation.award_tender(setup_session, tender, utcnow())
    return region, tender, lot, cheap, good


def test_an_award_writes_a_letter_to_every_bidder_with_the_scores_and_the_winners_advantage(setup_session,
                                                                                           evaluating):
    settings.update_settings(setup_session, evaluating[0].rcc.id, 14, 12, None, utcnow())
    region, tender, lot, cheap, good = _award(setup_session, evaluating)
    assert (tender.standstill_ends_at - tender.awarded_at) == timedelta(days=12)
    letters = {x.bid_id: x for x in setup_session.scalars(select(AwardLetter))}
    assert set(letters) == {cheap.id, good.id}
    losing = BeautifulSoup(letters[cheap.id].html, "html.parser").get_text(" ")
    # cheap: 60.00 + 40 % × 40 = 76.00; good: 54.00 + 92 % × 40 = 90.80; advantage +14.80 in total
    assert "not successful" in losing and "76.00" in losing and "90.80" in losing and "+14.80" in losing
    assert "-6.00" in losing  # the winner's price score is 6 points below the loser's
    winning = BeautifulSoup(letters[good.id].html, "html.parser").get_text(" ")
    assert "was successful" in winning and "+14.80" in winning
    assert (letters[cheap.id].provider_id, letters[good.id].provider_id) == (cheap.provider_id, good.provider_id)
    told = setup_session.scalars(select(Notification).where(Notification.event == "tender_result")).all()
    assert {n.organisation_id for n in told} == {cheap.provider_id, good.provider_id}
    assert all("award letter" in n.body for n in told)


def test_a_contract_from_an_award_has_the_lots_terms(setup_session, evaluating):
    region, tender, lot, cheap, good = _award(setup_session, evaluating)
    during = utcnow()
    with pytest.raises(Conflict, match="standstill"):
        contract_service.create_contract_from_award(
            setup_session, lot, contract_service.details_from_award(setup_session, lot, during), None, during)
    after = tender.standstill_ends_at + timedelta(days=1)
    proposed = contract_service.details_from_award(setup_session, lot, after)
    # Someone edits the proposal: the lot's terms win.
    proposed.weekly_price, proposed.placement_type = 999999, "secure"
    proposed.end_date = proposed.start_date + timedelta(days=3000)
    contract = contract_service.create_contract_from_award(setup_session, lot, proposed, None, after)
    assert contract.weekly_price == good.weekly_price <= lot.max_weekly_price
    assert contract.placement_type == lot.placement_type
    assert contract.end_date == contract_service.add_months(contract.start_date, lot.term_months) - timedelta(days=1)
    reserved = sum(row.reserved_places for row, _home in contract_service.contract_homes(setup_session, contract))
    assert reserved == good.places_offered
    assert (contract.lot_id, contract.bid_id, contract.provider_id) == (lot.id, good.id, good.provider_id)


# Tender documents -----------------------------------------------------------------------

def _docx() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("spec.exe", b"MZ\x90\x00", "must be a PDF"),
    ("spec.pdf", b"MZ\x90\x00 not a pdf", "content is not a PDF"),
    ("spec.docx", PDF, "content is not a DOCX"),
    ("prices.csv", b"a,b\x00,c", "content is not a CSV"),
    ("spec.pdf", b"%PDF-" + b"x" * (8 * 1024 * 1024), "smaller than 8 MB"),
    ("spec.pdf", b"", "empty"),
])
def test_bad_types_and_sizes_are_refused_with_a_message(setup_session, filename, content, message):
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    tender = tenders.create_tender(setup_session, region.rcc.id, tender_details(), None)
    with pytest.raises(FieldErrors) as refused:
        documents.upload_document(setup_session, tender, "specification", filename, content, None, NOW)
    assert message in refused.value.errors["file"]
    assert documents.documents_of(setup_session, tender) == []


def test_the_virus_scan_hook_is_called_and_can_refuse(setup_session, monkeypatch, caplog):
    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    tender = tenders.create_tender(setup_session, region.rcc.id, tender_details(), None)
    with caplog.at_level("WARNING"):
        documents.upload_document(setup_session, tender, "terms", "terms.docx", _docx(), None, NOW)
    assert "accepted without a scan" in caplog.text
    monkeypatch.setenv(documents.VIRUS_SCAN_SETTING, "tests.contracts.test_paperwork:_infected")
    with pytest.raises(FieldErrors, match="EICAR"):
        documents.upload_document(setup_session, tender, "specification", "spec.pdf", PDF, None, NOW)


def _infected(filename, content):
    return "it contains EICAR-Test-File"


def test_providers_download_documents_of_published_tenders_only_and_each_download_is_audited(
        app, setup_session, signed_in_client):
    from rcc.audit import AuditAction
    from rcc.models import AuditEvent

    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    now = utcnow()
    tender = tenders.create_tender(setup_session, region.rcc.id, tender_details(now=now), None)
    setup_session.commit()
    commissioner = signed_in_client(region.people[Role.RCC_COMMISSIONER])
    provider = signed_in_client(region.people[Role.PROVIDER_MANAGER])
    import io

    refused = commissioner.post(f"/contracts/tenders/{tender.id}/documents", data={
        "kind": "specification", "file": (io.BytesIO(b"MZ\x90"), "spec.pdf")}, content_type="multipart/form-data")
    assert refused.status_code == 200 and "content is not a PDF" in refused.get_data(as_text=True)
    uploaded = commissioner.post(f"/contracts/tenders/{tender.id}/documents", data={
        "kind": "specification", "file": (io.BytesIO(PDF), "spec.pdf")}, content_type="multipart/form-data")
    assert uploaded.status_code == 302
    url = f"/contracts/tenders/{tender.id}/documents/specification"
    assert provider.get(url).status_code == 404  # a draft's documents are not the providers' yet
    tenders.add_lot(setup_session, setup_session.get(Tender, tender.id), lot_details(region), now)
    tenders.publish(setup_session, setup_session.get(Tender, tender.id), now)
    setup_session.commit()
    got = provider.get(url)
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    downloads = setup_session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.TENDER_DOCUMENT_DOWNLOADED.value)).all()
    assert [d.organisation_id for d in downloads] == [region.provider.id]


# Variations -----------------------------------------------------------------------------

@pytest.fixture
def contract_world(setup_session):
    from datetime import date

    from tests.contracts.helpers import make_contract, make_placement

    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    home = make_home(setup_session, region.provider, "Oak")
    contract = make_contract(setup_session, region, region.provider, [(home, 3)], date(2027, 1, 1),
                             date(2028, 12, 31), 450000)
    make_placement(setup_session, region, home, date(2027, 2, 1), None, contract_id=contract.id)
    make_placement(setup_session, region, home, date(2027, 2, 3), None, contract_id=contract.id, reference="C-2")
    return region, home, contract


def test_a_contract_is_varied_and_ended_each_change_dated_and_audited(setup_session, contract_world):
    from datetime import date

    from contracts.services import variations
    from contracts.services.contracts import contract_homes, price_history, weekly_price_on
    from rcc.audit import AuditAction
    from rcc.models import AuditEvent

    _region, home, contract = contract_world
    today = NOW
    V = variations.Variation
    variations.vary_contract(setup_session, contract, V("price", date(2027, 6, 1), "Agreed uplift for staffing",
                                                        weekly_price=470000), None, None, today)
    assert weekly_price_on(contract, price_history(setup_session, contract), date(2027, 6, 2)) == 470000
    variations.vary_contract(setup_session, contract, V("places", date(2027, 6, 1), "More places",
                                                        home_id=home.id, places=4), None, None, today)
    assert contract_homes(setup_session, contract)[0][0].reserved_places == 4
    variations.vary_contract(setup_session, contract, V("term", date(2027, 6, 1), "Extension",
                                                        end_date=date(2029, 12, 31)), None, None, today)
    assert contract.end_date == date(2029, 12, 31)
    variations.vary_contract(setup_session, contract, V("end", date(2029, 3, 31), "Ended by agreement"),
                             None, None, today)
    assert contract.end_date == date(2029, 3, 31)
    history = variations.variations_of(setup_session, contract)
    assert [(v.sequence, v.kind) for v in history] == [(1, "price"), (2, "places"), (3, "term"), (4, "end")]
    assert history[0].changes == {"from": 450000, "to": 470000}
    assert history[1].changes == {"home_id": home.id, "from": 3, "to": 4}
    audited = setup_session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.CONTRACT_VARIED.value)).all()
    assert [a.detail["kind"] for a in audited] == ["price", "places", "term", "end"]


def test_lowering_places_below_those_in_use_is_refused(setup_session, contract_world):
    from datetime import date

    from contracts.services import variations

    _region, home, contract = contract_world
    with pytest.raises(FieldErrors) as refused:
        variations.vary_contract(setup_session, contract, variations.Variation(
            "places", date(2027, 6, 1), "Fewer places", home_id=home.id, places=1), None, None, NOW)
    assert "using 2" in refused.value.errors["places"]
    variations.vary_contract(setup_session, contract, variations.Variation(
        "places", date(2027, 6, 1), "Fewer places", home_id=home.id, places=2), None, None, NOW)


def test_a_variation_made_from_an_old_version_is_refused_not_lost(setup_session, contract_world):
    from datetime import date

    from contracts.services import variations

    _region, _home, contract = contract_world
    seen = contract.row_version
    variations.vary_contract(setup_session, contract, variations.Variation(
        "price", date(2027, 6, 1), "First", weekly_price=460000), seen, None, NOW)
    with pytest.raises(Conflict, match="Someone else changed this contract"):
        variations.vary_contract(setup_session, contract, variations.Variation(
            "price", date(2027, 7, 1), "Second, from the same page", weekly_price=470000), seen, None, NOW)


# Individual placement agreements --------------------------------------------------------

def test_a_placement_under_a_contract_gets_an_ipa_as_a_pdf(app, setup_session, signed_in_client):
    from datetime import date
    from io import BytesIO

    from pypdf import PdfReader

    from contracts.models import PlacementAgreement
    from tests.contracts.helpers import make_contract, make_placement

    region = make_region(setup_session, "T", ("Coventry", "Warwickshire"))
    home = make_home(setup_session, region.provider, "Oak")
    contract = make_contract(setup_session, region, region.provider, [(home, 3)], date(2027, 1, 1),
                             date(2028, 12, 31), 450000)
    placement = make_placement(setup_session, region, home, date(2027, 2, 1), None, contract_id=contract.id,
                               reference="CHILD-REF-SECRET")
    setup_session.commit()
    council = signed_in_client(region.people[Role.COUNCIL_PLACEMENT_OFFICER])
    url = f"/contracts/placements/{placement.id}/agreement"
    form = page(council.get(url))
    assert form.select_one("#weekly_fee")["value"] == "4500"  # the contract's price on the start date
    refused = page(council.post(url, data={"weekly_fee": "4500", "additional_support_weekly": "300",
                                           "additional_support": "", "review_date": "1/1/2026"}))
    assert {a["href"] for a in refused.select(".govuk-error-summary a")} == {"#additional_support", "#review_date"}
    assert council.post(url, data={"weekly_fee": "4500", "additional_support_weekly": "300",
                                   "additional_support": "Waking night staff", "review_date": "1/5/2027"}
                        ).status_code == 302
    agreement = setup_session.scalars(select(PlacementAgreement)).one()
    assert (agreement.weekly_fee, agreement.additional_support_weekly, agreement.review_date) == (
        450000, 30000, date(2027, 5, 1))
    provider = signed_in_client(region.people[Role.PROVIDER_MANAGER])
    pdf = provider.get(f"{url}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(pdf.data)).pages)
    assert "£4,500" in text and "Waking night staff" in text and "£300" in text and "1 May 2027" in text
    assert "CHILD-REF-SECRET" not in text
    other = make_region(setup_session, "U", ("Wigan", "Bolton"))
    setup_session.commit()
    assert signed_in_client(other.people[Role.PROVIDER_MANAGER]).get(f"{url}.pdf").status_code == 404
