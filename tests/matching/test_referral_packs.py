"""Referral packs and expressions of interest (issue 18 item 5): a council sends an anonymised pack
with documents to the homes that could take a child; each provider answers by the deadline; the
next run leaves out a home whose provider said "cannot" (with the reason in the funnel) and scores
a home at the price its provider offered."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from matching.models import (
    CAN_MEET,
    CANNOT,
    ExpressionOfInterest,
    Proposal,
    ReferralDocument,
    ReferralDocumentRelease,
)
from matching.services import jobs, referral_packs, runs
from matching.services.keys import child_key, home_key
from matching.services.offers import DECLINE_REASONS
from matching.services.referral_packs import Answer
from rcc import users
from rcc.db import transaction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import AuditEvent, utcnow
from rcc.notification_models import Notification
from rcc.roles import Role
from tests.factories import make_user
from tests.matching import builders

PDF = b"%PDF-1.4 care plan summary for providers"


def _pack(session_for, scenario, referral_index=0, days=3):
    session = session_for(scenario.council_officer)
    referral = session.get(type(scenario.referrals[0]), scenario.referrals[referral_index].id)
    with transaction(session):
        pack = referral_packs.create_pack(session, referral, utcnow() + timedelta(days=days))
        document = referral_packs.attach_document(session, pack, "care_plan_summary", "plan.pdf", PDF)
        kept = referral_packs.attach_document(session, pack, "risk_assessment", "risks.pdf", PDF + b" risks")
    return session, pack, document, kept


def _release(session, pack, homes, documents):
    with transaction(session):
        return referral_packs.release(session, pack, [h.id for h in homes], [d.id for d in documents])


def _answer(session, found, answer):
    with transaction(session):
        return referral_packs.answer(session, found, answer)


def _run(app, session_for, scenario, referral_ids):
    officer = scenario.officer
    session = session_for(officer)
    with transaction(session):
        run = runs.start_run(session, officer.rcc_id, runs.RunRequest(referral_ids=referral_ids))
    assert jobs.perform_run(app.extensions["rcc_sessions"], run.id, officer.rcc_id, officer.id)
    session.expire_all()
    return runs.get_run(session, run.id)


def test_the_pack_goes_to_homes_that_could_take_the_child_and_their_provider_is_told(session_for, scenario,
                                                                                     setup_session):
    session, pack, document, _ = _pack(session_for, scenario)
    referral = scenario.referrals[0]
    eligible = referral_packs.eligible_homes(session, session.get(type(referral), referral.id))
    assert {h.id for h in eligible} == {h.id for h in scenario.homes}
    # The secure-placement child's pack could go to no home here (no secure home).
    secure = session.get(type(referral), scenario.referrals[2].id)
    assert referral_packs.eligible_homes(session, secure) == []

    made = _release(session, pack, scenario.homes, [document])
    assert {e.home_id for e in made} == {h.id for h in scenario.homes}
    profile = made[0].profile
    assert "COV-0001" not in str(profile) and profile.get("initials") != "AB" and "CV2" not in str(profile)
    told = setup_session.scalars(select(Notification).where(Notification.event == "referral_pack_released")).all()
    assert {n.organisation_id for n in told} == {scenario.region.provider.id}
    assert len(told) == 1 and "Elm House" in told[0].title and "COV-0001" not in told[0].body

    with pytest.raises(FieldErrors) as not_eligible:
        _release(session, pack, [builders.add_home(setup_session, scenario.region.provider, "Secure unit",
                                                   placement_type="secure")], [])
    assert "home_ids" in not_eligible.value.errors


def test_one_answer_per_home_per_referral_is_kept_by_the_database(session_for, scenario, setup_session):
    session, pack, document, _ = _pack(session_for, scenario)
    made = _release(session, pack, scenario.homes[:1], [document])
    setup_session.add(ExpressionOfInterest(
        rcc_id=made[0].rcc_id, council_id=made[0].council_id, provider_id=made[0].provider_id,
        home_id=made[0].home_id, pack_id=made[0].pack_id, referral_id=made[0].referral_id, profile={},
        respond_by=made[0].respond_by))
    with pytest.raises(Exception, match="(?i)unique"):
        setup_session.flush()
    setup_session.rollback()
    # Sending the pack again to the same home keeps its one row.
    assert _release(session, pack, scenario.homes[:1], [document]) == []


def test_answers_are_checked_editable_until_the_deadline_and_refused_after_it(session_for, scenario,
                                                                             setup_session):
    session, pack, document, _ = _pack(session_for, scenario)
    made = _release(session, pack, scenario.homes[:1], [document])
    provider = session_for(scenario.provider_manager)
    found = provider.get(ExpressionOfInterest, made[0].id)
    with pytest.raises(FieldErrors) as missing:
        referral_packs.answer(provider, found, Answer(can_meet=True))
    assert set(missing.value.errors) == {"available_from", "weekly_price"}
    with pytest.raises(FieldErrors) as no_reason:
        referral_packs.answer(provider, found, Answer(can_meet=False))
    assert set(no_reason.value.errors) == {"reason"}
    provider.rollback()

    _answer(provider, found, Answer(True, date.today() + timedelta(days=7), 420_000))
    assert (found.answer, found.weekly_price) == (CAN_MEET, 420_000)
    _answer(provider, found, Answer(False, reason="staffing", details="Two staff leaving"))
    assert (found.answer, found.weekly_price, found.cannot_reason) == (CANNOT, None, "staffing")

    setup_session.execute(text("UPDATE expression_of_interest SET respond_by = :past WHERE id = :id"),
                          {"past": utcnow() - timedelta(minutes=1), "id": found.id})
    setup_session.commit()
    provider.expire_all()
    with pytest.raises(Conflict, match="deadline"):
        _answer(provider, provider.get(ExpressionOfInterest, found.id),
                Answer(True, date.today() + timedelta(days=7), 300_000))
    provider.expire_all()
    assert provider.get(ExpressionOfInterest, found.id).answer == CANNOT


def test_a_cannot_excludes_the_home_from_the_next_run_with_the_reason_in_the_funnel(app, session_for, scenario,
                                                                                    setup_session):
    referral = scenario.referrals[0]
    before = _run(app, session_for, scenario, [referral.id])
    assert runs.stored_proposals(before)[child_key(referral.id)] is not None

    session, pack, document, _ = _pack(session_for, scenario)
    made = _release(session, pack, scenario.homes, [document])
    provider = session_for(scenario.provider_manager)
    for row in made:
        _answer(provider, provider.get(ExpressionOfInterest, row.id),
                Answer(False, reason="risks_to_or_from_others", details="A girl here was exploited"))

    after = _run(app, session_for, scenario, [referral.id])
    assert runs.stored_proposals(after)[child_key(referral.id)] is None
    proposal = setup_session.scalars(select(Proposal).where(Proposal.run_id == after.id)).one()
    steps = {s["rule"]: s for s in proposal.funnel}
    assert steps["provider_cannot"]["removed"] == 2 and steps["provider_cannot"]["remaining"] == 0
    reasons = referral_packs.cannot_reasons(session_for(scenario.officer), referral.id)
    assert {name for name, _ in reasons} == {h.name for h in scenario.homes}
    assert all(why == "Risks to or from the children already living here. A girl here was exploited"
               for _, why in reasons)

    # A child nobody asked about is unaffected: the second child still gets a home.
    other = _run(app, session_for, scenario, [scenario.referrals[1].id])
    assert runs.stored_proposals(other)[child_key(scenario.referrals[1].id)] is not None


def test_an_offered_price_is_the_price_the_engine_scores(app, session_for, scenario):
    referral = scenario.referrals[0]
    session, pack, document, _ = _pack(session_for, scenario)
    elm, oak = scenario.homes
    made = {e.home_id: e for e in _release(session, pack, [elm, oak], [document])}
    provider = session_for(scenario.provider_manager)
    _answer(provider, provider.get(ExpressionOfInterest, made[oak.id].id),
            Answer(True, date.today() + timedelta(days=3), 123_400))

    run = _run(app, session_for, scenario, [referral.id])
    child = next(c for c in run.problem["children"] if c["id"] == child_key(referral.id))
    assert child["offered_prices"] == [[home_key(oak.id), 1234.0]]
    oak_listed = next(h for h in run.problem["homes"] if h["id"] == home_key(oak.id))["weekly_cost"]
    assert oak_listed == 4500.0  # the home's own price is unchanged for everyone else
    proposal = session_for(scenario.officer).scalars(select(Proposal).where(Proposal.run_id == run.id)).one()
    assert proposal.home_id == oak.id
    assert proposal.parts["weekly_cost"] == 1234.0 and proposal.parts["points"]["cost"] == 123


def test_documents_are_encrypted_at_rest_and_each_download_is_audited(session_for, scenario, setup_session):
    session, pack, document, kept = _pack(session_for, scenario)
    stored = setup_session.execute(text("SELECT content FROM referral_document WHERE id = :id"),
                                   {"id": document.id}).scalar_one()
    assert PDF not in bytes(stored) and b"care plan" not in bytes(stored)
    _release(session, pack, scenario.homes[:1], [document])

    for person in (scenario.council_officer, scenario.officer, scenario.provider_manager):
        reader = session_for(person)
        with transaction(reader):
            if person is scenario.provider_manager:
                release_id = reader.scalars(select(ReferralDocumentRelease.id)).one()
                got = referral_packs.released_document_for_download(reader, release_id)
            else:
                got = referral_packs.document_for_download(reader, document.id)
        assert got.content == PDF
    downloads = setup_session.scalars(select(AuditEvent).where(
        AuditEvent.action == "referral_document.downloaded")).all()
    assert [e.user_id for e in downloads] == [scenario.council_officer.id, scenario.officer.id,
                                              scenario.provider_manager.id]
    assert all(e.object_id == str(document.id) for e in downloads)

    # Not released to the provider (it has no release for it, and cannot read documents), or another
    # council's: as if it did not exist.
    provider = session_for(scenario.provider_manager)
    assert [r.document_id for r in provider.scalars(select(ReferralDocumentRelease))] == [document.id]
    with pytest.raises(NotFound):
        referral_packs.document_for_download(provider, kept.id)
    with pytest.raises(NotFound):
        referral_packs.document_for_download(
            session_for(scenario.region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER]), document.id)


def test_another_provider_sees_neither_the_pack_nor_the_answers(session_for, scenario, setup_session):
    region = scenario.region
    rival = users.add_provider(setup_session, region.rcc, "Rival Homes Ltd", "private")
    setup_session.flush()
    rival_manager = make_user(setup_session, rival, Role.PROVIDER_MANAGER, "rival-manager")
    setup_session.commit()
    session, pack, document, _ = _pack(session_for, scenario)
    made = _release(session, pack, scenario.homes, [document])
    provider = session_for(scenario.provider_manager)
    _answer(provider, provider.get(ExpressionOfInterest, made[0].id),
            Answer(True, date.today() + timedelta(days=3), 400_000))

    outsider = session_for(rival_manager)
    assert outsider.scalars(select(ExpressionOfInterest)).all() == []
    assert outsider.scalars(select(ReferralDocument)).all() == []
    assert referral_packs.released_documents(provider, provider.get(ExpressionOfInterest, made[0].id)) == [
        (provider.scalars(select(ReferralDocumentRelease.id)).one(), "Care plan summary", "plan.pdf", len(PDF))]
    release_id = provider.scalars(select(ReferralDocumentRelease.id)).first()
    with pytest.raises(NotFound):
        referral_packs.released_document_for_download(outsider, release_id)
    with pytest.raises(NotFound):
        referral_packs.document_for_download(outsider, document.id)
    other_council = session_for(region.other_council_people[Role.COUNCIL_PLACEMENT_OFFICER])
    assert other_council.scalars(select(ExpressionOfInterest)).all() == []
    assert referral_packs.pack_for(other_council, scenario.referrals[0].id) is None


@pytest.mark.parametrize(("name", "data", "field"), [
    ("plan.exe", b"MZ...", "document"),
    ("plan.pdf", b"not really a pdf", "document"),
    ("plan.pdf", b"%PDF-" + b"x" * (5 * 1024 * 1024), "document"),
    ("plan.pdf", b"", "document"),
    ("notes.txt", b"\xff\xfe\x00bad", "document"),
])
def test_bad_documents_are_refused_naming_the_field(session_for, scenario, name, data, field):
    session, pack, _, _ = _pack(session_for, scenario)
    with pytest.raises(FieldErrors) as refused:
        referral_packs.attach_document(session, pack, "care_plan_summary", name, data)
    assert field in refused.value.errors


def test_an_offer_to_a_home_that_answered_is_made_at_the_price_it_offered(session_for, scenario):
    from matching.services.offers import make_offer

    session, pack, document, _ = _pack(session_for, scenario)
    elm, oak = scenario.homes
    made = {e.home_id: e for e in _release(session, pack, [elm, oak], [])}
    provider = session_for(scenario.provider_manager)
    _answer(provider, provider.get(ExpressionOfInterest, made[oak.id].id),
            Answer(True, date.today() + timedelta(days=3), 399_900))
    officer = session_for(scenario.officer)
    with transaction(officer):
        offer = make_offer(officer, officer.get(type(scenario.referrals[0]), scenario.referrals[0].id),
                           officer.get(type(oak), oak.id))
    assert (offer.funding, offer.weekly_cost) == ("spot", 399_900)  # not the home's £4,500


def test_a_provider_cannot_download_a_released_document_once_the_referral_is_closed(session_for, scenario,
                                                                                      setup_session):
    session, pack, document, _ = _pack(session_for, scenario)
    _release(session, pack, scenario.homes[:1], [document])
    provider = session_for(scenario.provider_manager)
    release_id = provider.scalars(select(ReferralDocumentRelease.id)).one()
    with transaction(provider):
        assert referral_packs.released_document_for_download(provider, release_id).content == PDF
    setup_session.execute(text("UPDATE referral SET status = 'withdrawn' WHERE id = :id"), {"id": document.referral_id})
    setup_session.commit()
    provider = session_for(scenario.provider_manager)
    with pytest.raises(Conflict), transaction(provider):
        referral_packs.released_document_for_download(provider, release_id)
    # The council keeps its own documents.
    council = session_for(scenario.council_officer)
    with transaction(council):
        assert referral_packs.document_for_download(council, document.id).content == PDF


def test_the_retention_purge_removes_a_childs_documents_and_the_words_copied_from_the_referral(
        app, session_for, scenario, setup_session):
    from commissioning.retention import _REFERRAL_STEPS  # noqa: PLC0415

    assert referral_packs.forget_referral_copies in _REFERRAL_STEPS  # matching joins the purge when the app is built
    session, pack, document, kept = _pack(session_for, scenario)
    made = _release(session, pack, scenario.homes[:1], [document])
    provider = session_for(scenario.provider_manager)
    _answer(provider, provider.get(ExpressionOfInterest, made[0].id),
            Answer(False, reason=next(iter(DECLINE_REASONS)), details="The child's risk assessment says ..."))
    referral_id = document.referral_id
    referral_packs.forget_referral_copies(setup_session, [referral_id])
    setup_session.commit()
    assert setup_session.scalars(select(ReferralDocument).where(ReferralDocument.referral_id == referral_id)).all() == []
    assert setup_session.scalars(select(ReferralDocumentRelease)).all() == []
    answer = setup_session.get(ExpressionOfInterest, made[0].id)
    assert answer.cannot_details is None and not answer.profile.get("summary")
    assert answer.answer == "cannot"  # the answer itself, a figure, stays
