"""The referral pack's pages: the council prepares, attaches and sends; the provider answers and
downloads only what was released; everyone else gets a 404."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import select

from matching.models import (
    CAN_MEET,
    ExpressionOfInterest,
    ReferralDocument,
    ReferralDocumentRelease,
    ReferralPack,
)
from rcc.models import AuditEvent
from rcc.roles import Role

PDF = b"%PDF-1.4 risk assessment"


def _date_fields(prefix, day):
    return {f"{prefix}_day": str(day.day), f"{prefix}_month": str(day.month), f"{prefix}_year": str(day.year)}


def test_council_sends_a_pack_and_the_provider_answers_and_downloads(signed_in_client, scenario, setup_session):
    referral = scenario.referrals[0]
    council = signed_in_client(scenario.council_officer)
    page = council.get(f"/referral-packs/referral/{referral.id}")
    assert page.status_code == 200 and "Prepare the pack" in page.get_data(as_text=True)

    bad_date = council.post(f"/referral-packs/referral/{referral.id}", data={"respond_by_day": "31",
                                                                             "respond_by_month": "2",
                                                                             "respond_by_year": "2027"})
    assert bad_date.status_code == 400 and "#respond_by_day" in bad_date.get_data(as_text=True)
    made = council.post(f"/referral-packs/referral/{referral.id}",
                        data=_date_fields("respond_by", date.today() + timedelta(days=3)))
    assert made.status_code == 302
    pack_id = setup_session.scalars(select(ReferralPack.id)).one()
    assert "Attach document" in council.get(f"/referral-packs/referral/{referral.id}").get_data(as_text=True)

    refused = council.post(f"/referral-packs/{pack_id}/documents", content_type="multipart/form-data",
                           data={"kind": "risk_assessment", "document": (io.BytesIO(b"MZ"), "run-me.exe")})
    assert refused.status_code == 400 and "must be a PDF" in refused.get_data(as_text=True)
    attached = council.post(f"/referral-packs/{pack_id}/documents", content_type="multipart/form-data",
                            data={"kind": "risk_assessment", "document": (io.BytesIO(PDF), "risks.pdf")})
    assert attached.status_code == 302
    document = setup_session.scalars(select(ReferralDocument)).one()

    sent = council.post(f"/referral-packs/{pack_id}/release",
                        data={"home_ids": [str(scenario.homes[0].id)], "document_ids": [str(document.id)]})
    assert sent.status_code == 302
    answer = setup_session.scalars(select(ExpressionOfInterest)).one()

    provider = signed_in_client(scenario.provider_manager)
    listed = provider.get("/referral-packs-for-your-homes/").get_data(as_text=True)
    assert "Elm House" in listed and "COV-0001" not in listed
    shown = provider.get(f"/referral-packs-for-your-homes/{answer.id}").get_data(as_text=True)
    assert "risks.pdf" in shown and "COV-0001" not in shown and "AB" not in shown.split("About the child")[1][:2000]
    no_price = provider.post(f"/referral-packs-for-your-homes/{answer.id}",
                             data={"can_meet": "yes", **_date_fields("available_from", date.today())})
    assert no_price.status_code == 400 and "#weekly_price" in no_price.get_data(as_text=True)
    saved = provider.post(f"/referral-packs-for-your-homes/{answer.id}",
                          data={"can_meet": "yes", "weekly_price": "4,250",
                                **_date_fields("available_from", date.today() + timedelta(days=2))})
    assert saved.status_code == 302
    setup_session.expire_all()
    answer = setup_session.get(ExpressionOfInterest, answer.id)
    assert (answer.answer, answer.weekly_price) == (CAN_MEET, 425_000)
    assert "£4,250" in council.get(f"/referral-packs/referral/{referral.id}").get_data(as_text=True)

    release = setup_session.scalars(select(ReferralDocumentRelease)).one()
    assert provider.get(f"/referral-packs/documents/{document.id}").status_code == 403
    download = provider.get(f"/referral-packs-for-your-homes/documents/{release.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"] == 'attachment; filename="risks.pdf"'
    audited = setup_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "referral_document.downloaded")).all()
    assert [e.user_id for e in audited] == [scenario.provider_manager.id]


def test_nobody_else_can_download_or_open_the_pack(signed_in_client, scenario, setup_session, session_for):
    from matching.services import referral_packs
    from rcc.db import transaction
    from rcc.models import utcnow

    session = session_for(scenario.council_officer)
    referral = session.get(type(scenario.referrals[0]), scenario.referrals[0].id)
    with transaction(session):
        pack = referral_packs.create_pack(session, referral, utcnow() + timedelta(days=2))
        kept = referral_packs.attach_document(session, pack, "care_plan_summary", "plan.pdf", PDF)
        referral_packs.release(session, pack, [scenario.homes[0].id], [])
    other_council = signed_in_client(scenario.region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert other_council.get(f"/referral-packs/documents/{kept.id}").status_code == 404
    assert other_council.get(f"/referral-packs/referral/{referral.id}").status_code == 404
    provider = signed_in_client(scenario.provider_manager)
    released = session.scalars(select(ReferralDocumentRelease)).all()
    assert released == []  # the pack went to the provider without the document
    assert provider.get(f"/referral-packs/documents/{kept.id}").status_code == 403
    for release_id in (1, 2, kept.id):
        assert provider.get(f"/referral-packs-for-your-homes/documents/{release_id}").status_code == 404
    assert provider.get(f"/referral-packs/referral/{referral.id}").status_code == 403
    assert signed_in_client(scenario.officer).get(f"/referral-packs/documents/{kept.id}").status_code == 200
    assert not setup_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "referral_document.downloaded", AuditEvent.user_id != scenario.officer.id)).all()


def test_the_proposal_page_shows_the_provider_cannot_step_and_its_reasons(app, signed_in_client, scenario,
                                                                          session_for, setup_session):
    from matching.models import Proposal
    from matching.services import jobs, referral_packs, runs
    from matching.services.referral_packs import Answer
    from rcc.db import transaction
    from rcc.models import utcnow

    council = session_for(scenario.council_officer)
    referral = council.get(type(scenario.referrals[0]), scenario.referrals[0].id)
    with transaction(council):
        pack = referral_packs.create_pack(council, referral, utcnow() + timedelta(days=2))
        made = referral_packs.release(council, pack, [h.id for h in scenario.homes], [])
    provider = session_for(scenario.provider_manager)
    for row in made:
        with transaction(provider):
            referral_packs.answer(provider, provider.get(ExpressionOfInterest, row.id),
                                  Answer(False, reason="other", details=f"Full of younger children ({row.home_id})"))
    officer = session_for(scenario.officer)
    with transaction(officer):
        run = runs.start_run(officer, scenario.officer.rcc_id, runs.RunRequest(referral_ids=[referral.id]))
    assert jobs.perform_run(app.extensions["rcc_sessions"], run.id, scenario.officer.rcc_id, scenario.officer.id)
    proposal = setup_session.scalars(select(Proposal).where(Proposal.run_id == run.id)).one()
    assert proposal.home_id is None

    page = signed_in_client(scenario.officer).get(f"/matching/proposals/{proposal.id}").get_data(as_text=True)
    funnel = page.split('id="funnel"')[1].split("</table>")[0]
    assert "Its provider did not say it cannot meet the child" in funnel
    reasons = page.split('id="provider-cannot"')[1].split("</dl>")[0]
    for home in scenario.homes:
        assert home.name in reasons and f"Full of younger children ({home.id})" in reasons
