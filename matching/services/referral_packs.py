"""Referral packs and expressions of interest, as the e-brokerage systems councils use work.

A council prepares a pack for one of its referrals (``create_pack``) with a deadline for answers,
attaches documents (``attach_document``: a care plan summary, a risk assessment; PDF, Word,
OpenDocument or plain text up to ``MAX_DOCUMENT_BYTES``, stored encrypted at rest) and releases the
pack to the homes that could take the child (``release``): the homes the matching engine's hard
rules leave for this child (``eligible_homes``). Each home's provider gets the anonymised profile
(``offers.profile_document``: never the child's identity) and the documents the council chose, and
answers by the deadline (``answer``): "can meet needs, from this date, at this weekly price" or
"cannot, because". An answer can be changed until the deadline and not after (a conditional
UPDATE); the database keeps one answer per home per referral.

Matching reads the answers when it builds a run's snapshot (``answers_for_engine``): a home whose
provider said "cannot" is ruled out for that child in its own funnel step ("provider_cannot"), a
price offered replaces the home's price for that child, and a home nobody was asked about is
unaffected.

Documents are downloaded by the council and the RCC (``document_for_download``) and by providers the
document was released to (``released_document_for_download``, by the release) — each download
audited; nobody else even learns the document exists.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import Any

import numpy as np
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from commissioning.lifecycle import IN_MATCHING, OPEN_STATUSES, SUBMITTED
from commissioning.models import Child, Home, Referral
from matching.engine import PreparedProblem
from matching.models import (
    AWAITING,
    CAN_MEET,
    CANNOT,
    DOCUMENT_KINDS,
    MAX_DOCUMENT_BYTES,
    ExpressionOfInterest,
    Offer,
    ReferralDocument,
    ReferralDocumentRelease,
    ReferralPack,
)
from matching.services import keys
from matching.services.offers import DECLINE_REASONS, MAX_DETAILS, aware, profile_document
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import utcnow
from rcc.notifications import Event, To, notify
from rcc.roles import Role
from rcc.tenancy import within_rcc

# What may be attached: extension -> (content type, how the file must begin).
DOCUMENT_TYPES: dict[str, tuple[str, bytes | None]] = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
    ".odt": ("application/vnd.oasis.opendocument.text", b"PK\x03\x04"),
    ".txt": ("text/plain", None),
}
LONGEST_DEADLINE = timedelta(days=28)
MAX_WEEKLY_PRICE = 100_000_00  # pence
OPEN_REFERRAL = (SUBMITTED, IN_MATCHING)


def is_open(found: ExpressionOfInterest | ReferralPack, now: datetime | None = None) -> bool:
    """Answers can still be given or changed."""
    return aware(found.respond_by) > (now or utcnow())


# The council --------------------------------------------------------------------------------

def pack_for(session: Session, referral_id: int) -> ReferralPack | None:
    return session.scalars(select(ReferralPack).where(ReferralPack.referral_id == referral_id)).first()


def create_pack(session: Session, referral: Referral, respond_by: datetime | None,
                now: datetime | None = None) -> ReferralPack:
    now = now or utcnow()
    if respond_by is None:
        raise FieldErrors({"respond_by": "Enter the date providers must answer by"})
    if aware(respond_by) <= now:
        raise FieldErrors({"respond_by": "The date providers must answer by must be in the future"})
    if aware(respond_by) > now + LONGEST_DEADLINE:
        raise FieldErrors({"respond_by": "The date providers must answer by must be within 28 days"})
    if referral.status not in OPEN_REFERRAL:
        raise Conflict("This child is not waiting for a home, so no referral pack can be sent")
    if pack_for(session, int(referral.id or 0)) is not None:
        raise Conflict("This referral already has a pack")
    pack = ReferralPack(rcc_id=referral.rcc_id, council_id=referral.council_id, referral_id=referral.id,
                        respond_by=respond_by, created_at=now,
                        created_by_user_id=audit.current_actor(session).user_id)
    try:
        with session.begin_nested():
            session.add(pack)
    except IntegrityError as error:  # another request made it first: the database keeps one pack
        raise Conflict("This referral already has a pack") from error
    audit.record(session, AuditAction.REFERRAL_PACK_CREATED, pack, referral_id=referral.id,
                 respond_by=respond_by.isoformat())
    return pack


def check_document(kind: str, file_name: str, data: bytes) -> tuple[str, str]:
    """The safe file name and content type, or the field's error."""
    if kind not in DOCUMENT_KINDS:
        raise FieldErrors({"kind": "Select what the document is"})
    name = PurePath((file_name or "").replace("\\", "/")).name.strip()[:200]
    if not name or not data:
        raise FieldErrors({"document": "Select a file to attach"})
    extension = PurePath(name).suffix.lower()
    if extension not in DOCUMENT_TYPES:
        raise FieldErrors({"document": "The file must be a PDF, Word (.docx), OpenDocument (.odt) or text file"})
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FieldErrors({"document": f"The file must be smaller than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB"})
    content_type, magic = DOCUMENT_TYPES[extension]
    if magic is not None and not data.startswith(magic):
        raise FieldErrors({"document": f"The file is not a real {extension} file"})
    if magic is None:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FieldErrors({"document": "The text file must be plain text (UTF-8)"}) from error
    return name, content_type


def attach_document(session: Session, pack: ReferralPack, kind: str, file_name: str, data: bytes,
                    now: datetime | None = None) -> ReferralDocument:
    name, content_type = check_document(kind, file_name, data)
    document = ReferralDocument(rcc_id=pack.rcc_id, council_id=pack.council_id, pack_id=pack.id,
                                referral_id=pack.referral_id, kind=kind, file_name=name, content_type=content_type,
                                size_bytes=len(data), content=data, uploaded_at=now or utcnow(),
                                uploaded_by_user_id=audit.current_actor(session).user_id)
    session.add(document)
    audit.record(session, AuditAction.REFERRAL_DOCUMENT_ATTACHED, document, pack_id=pack.id, kind=kind,
                 size_bytes=len(data))
    return document


def documents_of(session: Session, pack: ReferralPack) -> list[ReferralDocument]:
    return list(session.scalars(select(ReferralDocument).where(ReferralDocument.pack_id == pack.id)
                                .order_by(ReferralDocument.id)))


def eligible_homes(session: Session, referral: Referral, now: datetime | None = None) -> list[Home]:
    """Homes with a free place that the engine's hard rules leave for this child (before any provider's
    answer), nearest first by the engine's own score. Read within the RCC: counting the places other
    children's offers hold is the platform's work, as when a run's snapshot is built."""
    from matching.services.snapshot import build_problem  # noqa: PLC0415 - snapshot reads this module's answers

    now = now or utcnow()
    session.flush()
    with within_rcc(session, referral.rcc_id):
        problem = build_problem(session, [referral], now)
        if not problem.children or not problem.homes:
            return []
        # The pack is about this child alone, before any provider's answer.
        child = dataclasses.replace(problem.children[0], sibling_group=None, declined_homes=frozenset(),
                                    offered_prices=frozenset())
        problem = dataclasses.replace(problem, children=(child,), sibling_groups=())
        prepared = PreparedProblem(problem)
        everything = np.arange(len(prepared.homes))
        suitable = everything[prepared.suitable(0, everything)]
        scores = prepared.pair_scores(0, suitable)
        ordered = [prepared.homes[i].id for i in suitable[np.argsort(scores, kind="stable")]]
        ids = [keys.id_of(key, keys.HOME) for key in ordered if key.startswith(keys.HOME)]
        found = {h.id: h for h in session.scalars(select(Home).where(col(Home.id).in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]


def release(session: Session, pack: ReferralPack, home_ids: list[int], document_ids: list[int],
            now: datetime | None = None) -> list[ExpressionOfInterest]:
    """Send the pack to each chosen home's provider, with the chosen documents. A home already sent the
    pack keeps its answer; a document already released to a provider is not released twice."""
    now = now or utcnow()
    if not home_ids:
        raise FieldErrors({"home_ids": "Select at least one home to send the pack to"})
    if not is_open(pack, now):
        raise Conflict("The deadline for answers to this pack has passed: nothing more can be sent")
    referral = session.get(Referral, pack.referral_id)
    if referral is None or referral.status not in OPEN_REFERRAL:
        raise Conflict("This child is not waiting for a home, so the pack cannot be sent")
    child = session.get(Child, referral.child_id)
    if child is None:
        raise NotFound()
    eligible = {int(h.id or 0): h for h in eligible_homes(session, referral, now)}
    wrong = [h for h in home_ids if h not in eligible]
    if wrong:
        raise FieldErrors({"home_ids": "Send the pack only to homes that could take the child"})
    documents = {int(d.id or 0): d for d in documents_of(session, pack)}
    if any(d not in documents for d in document_ids):
        raise FieldErrors({"document_ids": "Select only documents attached to this pack"})
    sent = set(session.scalars(select(ExpressionOfInterest.home_id)
                               .where(ExpressionOfInterest.referral_id == pack.referral_id)))
    made = []
    for home_id in sorted(set(home_ids) - sent):
        home = eligible[home_id]
        made.append(ExpressionOfInterest(
            rcc_id=pack.rcc_id, council_id=pack.council_id, provider_id=home.provider_id, home_id=home_id,
            pack_id=pack.id, referral_id=pack.referral_id, profile=profile_document(referral, child, home),
            respond_by=pack.respond_by, released_at=now))
    providers = sorted({eligible[h].provider_id for h in home_ids})
    already = {(int(d), int(p)) for d, p in session.execute(
        select(ReferralDocumentRelease.document_id, ReferralDocumentRelease.provider_id)
        .where(ReferralDocumentRelease.pack_id == pack.id)).all()}
    releases = [ReferralDocumentRelease(rcc_id=pack.rcc_id, council_id=pack.council_id, provider_id=p,
                                        document_id=d, pack_id=pack.id, released_at=now)
                for p in providers for d in sorted(set(document_ids)) if (d, p) not in already]
    try:
        with session.begin_nested():
            session.add_all([*made, *releases])
    except IntegrityError as error:
        raise Conflict("Someone else has just sent this pack to the same homes: nothing was saved. "
                       "Look at the pack again.") from error
    audit.record(session, AuditAction.REFERRAL_PACK_RELEASED, pack, home_ids=sorted(set(home_ids)),
                 document_ids=sorted(set(document_ids)), provider_ids=providers)
    told = sorted({e.provider_id for e in made} | {r.provider_id for r in releases})
    for provider_id in told:
        homes = ", ".join(sorted(eligible[h].name for h in home_ids if eligible[h].provider_id == provider_id))
        notify(session, Event.REFERRAL_PACK_RELEASED, pack.rcc_id, [To(provider_id, (Role.PROVIDER_MANAGER,))],
               {"homes": homes, "respond_by": f"{aware(pack.respond_by):%H:%M on %-d %B %Y} (UTC)"},
               about=f"referral_pack:{pack.id}:{now.isoformat()}", link="/referral-packs-for-your-homes/")
    return made


def answers_of(session: Session, pack: ReferralPack) -> list[ExpressionOfInterest]:
    return list(session.scalars(select(ExpressionOfInterest).where(ExpressionOfInterest.pack_id == pack.id)
                                .order_by(ExpressionOfInterest.id)))


# The provider ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    can_meet: bool | None
    available_from: date | None = None
    weekly_price: int | None = None  # pence
    reason: str = ""
    details: str = ""


def check_answer(given: Answer, today: date) -> Answer:
    errors: dict[str, str] = {}
    details = (given.details or "").strip()
    if given.can_meet is None:
        errors["can_meet"] = "Select whether the home can meet the child's needs"
    elif given.can_meet:
        if given.available_from is None:
            errors["available_from"] = "Enter the date the home can take the child from"
        elif given.available_from < today:
            errors["available_from"] = "The date the home can take the child from must be today or later"
        if given.weekly_price is None or given.weekly_price <= 0:
            errors["weekly_price"] = "Enter the weekly price in pounds, more than £0"
        elif given.weekly_price > MAX_WEEKLY_PRICE:
            errors["weekly_price"] = "The weekly price must be £100,000 or less"
    else:
        if given.reason not in DECLINE_REASONS:
            errors["reason"] = "Select why the home cannot meet the child's needs"
        elif given.reason == "other" and not details:
            errors["details"] = "Say why the home cannot meet the child's needs"
    if len(details) > MAX_DETAILS:
        errors["details"] = f"The details must be {MAX_DETAILS:,} characters or fewer"
    if errors:
        raise FieldErrors(errors)
    return Answer(given.can_meet, given.available_from, given.weekly_price, given.reason, details)


def answer(session: Session, found: ExpressionOfInterest, given: Answer,
           now: datetime | None = None) -> ExpressionOfInterest:
    """Record (or change) the home's answer: only while the deadline has not passed, checked in the
    UPDATE itself, so an answer arriving after it is refused however the requests interleave."""
    now = now or utcnow()
    given = check_answer(given, now.date())
    if given.can_meet:
        values: dict[str, Any] = {"answer": CAN_MEET, "available_from": given.available_from,
                                  "weekly_price": given.weekly_price, "cannot_reason": None, "cannot_details": None}
    else:
        values = {"answer": CANNOT, "available_from": None, "weekly_price": None, "cannot_reason": given.reason,
                  "cannot_details": given.details or None}
    values |= {"answered_at": now, "answered_by_user_id": audit.current_actor(session).user_id}
    changed = session.execute(
        update(ExpressionOfInterest).where(ExpressionOfInterest.id == found.id,
                                           col(ExpressionOfInterest.respond_by) > now)
        .values(**values).execution_options(synchronize_session=False))
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"The deadline to answer passed at {aware(found.respond_by):%H:%M on %-d %B %Y}. "
                       "Nothing was saved.")
    session.refresh(found)
    audit.record(session, AuditAction.EXPRESSION_OF_INTEREST_ANSWERED, found, answer=found.answer,
                 home_id=found.home_id, weekly_price=found.weekly_price, reason=found.cannot_reason)
    return found


def released_documents(session: Session, found: ExpressionOfInterest) -> list[tuple[int, str, str, int]]:
    """(release id, kind label, file name, size) of the pack's documents released to this answer's
    provider. Read within the RCC (the provider may not read the document rows): only the released ones."""
    rows = session.execute(select(ReferralDocumentRelease.document_id, ReferralDocumentRelease.id).where(
        ReferralDocumentRelease.pack_id == found.pack_id, ReferralDocumentRelease.provider_id == found.provider_id))
    releases: dict[int, int] = {int(document_id): int(release_id) for document_id, release_id in rows.all()}
    if not releases:
        return []
    with within_rcc(session, found.rcc_id):
        documents = session.execute(select(ReferralDocument.id, ReferralDocument.kind, ReferralDocument.file_name,
                                           ReferralDocument.size_bytes).where(col(ReferralDocument.id).in_(releases))
                                    .order_by(ReferralDocument.id)).all()
    return [(releases[int(i)], DOCUMENT_KINDS.get(k, k), str(n), int(s)) for i, k, n, s in documents]


# Downloads ----------------------------------------------------------------------------------

def document_for_download(session: Session, document_id: int) -> ReferralDocument:
    """The council's (or, for the RCC, any of its councils') document; anyone else: NotFound. Audited."""
    document = session.scalars(select(ReferralDocument).where(ReferralDocument.id == document_id)).first()
    if document is None:
        raise NotFound()
    return _downloaded(session, document)


def released_document_for_download(session: Session, release_id: int) -> ReferralDocument:
    """The document released to the session's provider by this release; anyone else: NotFound. The
    provider may not read document rows, so the one released is read within the RCC. Audited."""
    found = session.scalars(select(ReferralDocumentRelease).where(ReferralDocumentRelease.id == release_id)).first()
    if found is None:
        raise NotFound()
    with within_rcc(session, found.rcc_id):
        document = session.scalars(select(ReferralDocument).where(ReferralDocument.id == found.document_id)).first()
        referral = session.get(Referral, document.referral_id) if document is not None else None
    if document is None:
        raise NotFound()
    if referral is None or referral.status not in OPEN_STATUSES:
        # Released for the child's matching only: once the child is placed, or the referral closed, a
        # provider's copy of the care plan or risk assessment is no longer theirs to download.
        raise Conflict("This referral is closed: its documents are no longer available to providers.")
    return _downloaded(session, document)


def _downloaded(session: Session, document: ReferralDocument) -> ReferralDocument:
    audit.record_read(session, AuditAction.REFERRAL_DOCUMENT_DOWNLOADED, [document], kind=document.kind,
                      pack_id=document.pack_id)
    return document


# The retention purge (commissioning.retention) ---------------------------------------------------

def forget_referral_copies(session: Session, referral_ids: list[int]) -> None:
    """A purged child's referral packs keep no documents (care plan summaries, risk assessments: deleted,
    with their releases) and the anonymised profiles and answers copied from the referral keep no words
    (the summary, a provider's reasons); the figures and dates stay."""
    if not referral_ids:
        return
    document_ids = list(session.scalars(select(ReferralDocument.id).where(
        col(ReferralDocument.referral_id).in_(referral_ids))))
    if document_ids:
        session.execute(delete(ReferralDocumentRelease).where(
            col(ReferralDocumentRelease.document_id).in_(document_ids)).execution_options(synchronize_session=False))
        session.execute(delete(ReferralDocument).where(col(ReferralDocument.id).in_(document_ids))
                        .execution_options(synchronize_session=False))
    for answer in session.scalars(select(ExpressionOfInterest).where(
            col(ExpressionOfInterest.referral_id).in_(referral_ids))):
        answer.profile = {**answer.profile, "summary": ""} if answer.profile.get("summary") else answer.profile
        answer.cannot_details = None
    for offer in session.scalars(select(Offer).where(col(Offer.referral_id).in_(referral_ids))):
        if offer.profile.get("summary"):
            offer.profile = {**offer.profile, "summary": ""}
        offer.decline_details = None


# Matching -------------------------------------------------------------------------------------

def answers_for_engine(session: Session, referral_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per referral, the engine's ``declined_homes`` and ``offered_prices`` (pounds) from the answers."""
    if not referral_ids:
        return {}
    rows = session.scalars(select(ExpressionOfInterest).where(
        col(ExpressionOfInterest.referral_id).in_(referral_ids), ExpressionOfInterest.answer != AWAITING))
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        fields = found.setdefault(row.referral_id, {"declined_homes": set(), "offered_prices": {}})
        if row.answer == CANNOT:
            fields["declined_homes"].add(keys.home_key(row.home_id))
        elif row.answer == CAN_MEET and row.weekly_price is not None:
            fields["offered_prices"][keys.home_key(row.home_id)] = row.weekly_price / 100
    return found


def cannot_reasons(session: Session, referral_id: int) -> list[tuple[str, str]]:
    """(home name, reason) for each home whose provider said it cannot meet this child's needs."""
    rows = session.execute(select(Home.name, ExpressionOfInterest.cannot_reason, ExpressionOfInterest.cannot_details)
                           .join(Home, Home.id == ExpressionOfInterest.home_id)
                           .where(ExpressionOfInterest.referral_id == referral_id,
                                  ExpressionOfInterest.answer == CANNOT)
                           .order_by(Home.name)).all()
    return [(str(name), DECLINE_REASONS.get(reason or "", reason or "") + (f". {details}" if details else ""))
            for name, reason, details in rows]
