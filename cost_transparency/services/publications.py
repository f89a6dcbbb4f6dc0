"""Publications: versioned, immutable snapshots of the region's comparative cost tables.

draft → approved → published. A draft can be rebuilt from current data, retitled or deleted;
once approved its snapshot never changes, and once published nothing about it changes
(here every change raises Conflict; the API answers 409; on PostgreSQL a trigger refuses
too). A correction is a new version of the same report, rebuilt from current data, whose
``changes`` names what changed; earlier versions stay published and readable. Approving and
publishing both run the attacker's audit of disclosure control (``check_disclosure``) over this
version and every earlier published version of the report, read from their CSV downloads.

The public pages read published versions only through ``published_report`` and
``published_index``: readers in the public scope (published versions only, for anyone) that return the stored JSON
snapshot (aggregated, suppressed tables), never a live row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from cost_transparency.models import Publication
from cost_transparency.services import release_audit, report_tables
from cost_transparency.vocabulary import APPROVED, DRAFT, PUBLISHED
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import Conflict, FieldErrors, NotFound
from rcc.models import Organisation, utcnow
from rcc.tenancy import public_access
from rcc.versions import save_edit

MAX_PERIOD_DAYS = 3 * 366


def check_period(title: str, start: date | None, end: date | None, today: date) -> dict[str, str]:
    errors = {}
    if not (title or "").strip():
        errors["title"] = "Enter a title for the report"
    elif len(title) > 200:
        errors["title"] = "The title must be 200 characters or fewer"
    if start is None:
        errors["period_start"] = "Enter the first day of the period the report covers"
    if end is None:
        errors["period_end"] = "Enter the last day of the period the report covers"
    if start and end:
        if end < start:
            errors["period_end"] = "The end of the period must be after its start"
        elif (end - start).days > MAX_PERIOD_DAYS:
            errors["period_end"] = "A report can cover at most three years"
        elif start > today:
            errors["period_start"] = "The period must start today or earlier"
    return errors


def slug_for(rcc: Organisation, title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", f"{rcc.name} {title}".lower().replace("regional care cooperative", "rcc"))
    return words.strip("-")[:100] or "report"


def _unused_slug(session: Session, wanted: str) -> str:
    # The RCC's own drafts and every RCC's published reports (other RCCs' drafts are theirs alone;
    # their slugs begin with their own RCC's name).
    taken = set(session.scalars(select(Publication.slug).where(col(Publication.slug).like(f"{wanted}%"))))
    with public_access(session):
        taken |= set(session.scalars(select(Publication.slug).where(col(Publication.slug).like(f"{wanted}%"))))
    slug, n = wanted, 2
    while slug in taken:
        slug, n = f"{wanted}-{n}", n + 1
    return slug


def create_draft(session: Session, rcc: Organisation, title: str, period_start: date | None,
                 period_end: date | None, user_id: int | None, today: date | None = None) -> Publication:
    today = today or date.today()
    errors = check_period(title, period_start, period_end, today)
    if errors:
        raise FieldErrors(errors)
    assert period_start is not None and period_end is not None
    publication = Publication(rcc_id=rcc.id or 0, slug=_unused_slug(session, slug_for(rcc, title)), version=1,
                              title=title.strip(), period_start=period_start, period_end=period_end,
                              created_by_user_id=user_id)
    publication.snapshot = report_tables.build_snapshot(session, rcc, publication, today)
    session.add(publication)
    audit.record(session, AuditAction.PUBLICATION_DRAFTED, publication, slug=publication.slug, version=1)
    return publication


def require_draft(publication: Publication, action: str) -> None:
    if publication.status != DRAFT:
        raise Conflict(f"Version {publication.version} of this report is {publication.status}, so it cannot be "
                       f"{action}. To change a published report, publish a correction as a new version.")


def update_draft(session: Session, publication: Publication, title: str, period_start: date | None,
                 period_end: date | None, today: date | None = None, seen_version: int | None = None) -> Publication:
    """Change a draft's title or period and rebuild it; refused if it was approved, or changed by
    someone else, after the person read version ``seen_version`` (the write is conditional on both)."""
    require_draft(publication, "changed")
    today = today or date.today()
    errors = check_period(title, period_start, period_end, today)
    if errors:
        raise FieldErrors(errors)
    publication.title = title.strip()
    publication.period_start = period_start  # type: ignore[assignment]
    publication.period_end = period_end  # type: ignore[assignment]
    _rebuild(session, publication, today)
    save_edit(session, "report", seen_version, publication)
    audit.record(session, AuditAction.PUBLICATION_REBUILT, publication)
    return publication


def rebuild_draft(session: Session, publication: Publication, today: date | None = None) -> Publication:
    """Recalculate a draft's tables from the data as it is now (refused if approved meanwhile)."""
    require_draft(publication, "rebuilt")
    _rebuild(session, publication, today or date.today())
    save_edit(session, "report", None, publication, doing="rebuilding")
    audit.record(session, AuditAction.PUBLICATION_REBUILT, publication)
    return publication


def _rebuild(session: Session, publication: Publication, today: date) -> None:
    with session.no_autoflush:  # its reads must not write the change before save_edit checks the version
        rcc = session.get(Organisation, publication.rcc_id)
        if rcc is None:
            raise NotFound()
        publication.snapshot = report_tables.build_snapshot(session, rcc, publication, today)


def delete_draft(session: Session, publication: Publication) -> None:
    require_draft(publication, "deleted")
    audit.record(session, AuditAction.PUBLICATION_DELETED, publication, slug=publication.slug, version=publication.version)
    session.delete(publication)


def approve(session: Session, publication: Publication, user_id: int | None,
            seen_version: int | None = None) -> Publication:
    """Approve the draft exactly as the person saw it (version ``seen_version``): refused if it was
    changed or approved meanwhile, so an edit can never slip into the approved version."""
    require_draft(publication, "approved again")
    check_disclosure(session, publication)
    publication.status = APPROVED
    publication.approved_by_user_id = user_id
    publication.approved_at = utcnow()
    save_edit(session, "report", seen_version, publication, doing="approving")
    audit.record(session, AuditAction.PUBLICATION_APPROVED, publication, version=publication.version)
    return publication


def publish(session: Session, publication: Publication, user_id: int | None) -> Publication:
    if publication.status != APPROVED:
        raise Conflict("Only an approved version can be published" if publication.status == DRAFT else
                       f"Version {publication.version} is already published and cannot be changed")
    check_disclosure(session, publication)
    publication.status = PUBLISHED
    publication.published_by_user_id = user_id
    publication.published_at = utcnow()
    session.add(publication)
    audit.record(session, AuditAction.PUBLICATION_PUBLISHED, publication, version=publication.version)
    return publication


def check_disclosure(session: Session, publication: Publication) -> None:
    """The attacker's audit of this version with every published version of the same report,
    read from their CSV downloads: refuse to publish if any hidden count could be narrowed down."""
    earlier = session.scalars(select(Publication).where(Publication.slug == publication.slug,
                                                        Publication.status == PUBLISHED,
                                                        col(Publication.version) < publication.version)
                              .order_by(Publication.version))
    result = release_audit.audit_snapshots([*(dict(p.snapshot) for p in earlier), dict(publication.snapshot)])
    if not result.passed:
        raise Conflict(f"Version {publication.version} cannot be published: read with the earlier versions of this "
                       "report, some hidden counts could be worked out or narrowed down. Rebuild the draft when more "
                       "placements are recorded, or delete it.")


def correct(session: Session, publication: Publication, changes: str, user_id: int | None,
            today: date | None = None) -> Publication:
    """A new draft version of a published report, rebuilt from current data, saying what changed."""
    if publication.status != PUBLISHED:
        raise Conflict("Only a published version can be corrected; change the draft instead")
    if not (changes or "").strip():
        raise FieldErrors({"changes": "Say what this correction changes, for readers of the report"})
    if len(changes) > 4000:
        raise FieldErrors({"changes": "The note must be 4,000 characters or fewer"})
    pending = session.scalars(select(Publication).where(Publication.slug == publication.slug,
                                                        Publication.status != PUBLISHED)).first()
    if pending is not None:
        raise Conflict(f"Version {pending.version} of this report is already in progress ({pending.status}); "
                       "finish or delete it first")
    latest = session.scalar(select(func.max(Publication.version)).where(Publication.slug == publication.slug)) or 0
    rcc = session.get(Organisation, publication.rcc_id)
    if rcc is None:
        raise NotFound()
    correction = Publication(rcc_id=publication.rcc_id, slug=publication.slug, version=latest + 1,
                             title=publication.title, period_start=publication.period_start,
                             period_end=publication.period_end, changes=changes.strip(),
                             created_by_user_id=user_id)
    correction.snapshot = report_tables.build_snapshot(session, rcc, correction, today or date.today())
    session.add(correction)
    audit.record(session, AuditAction.PUBLICATION_CORRECTION_DRAFTED, correction, corrects_version=publication.version)
    return correction


def versions_of(session: Session, slug: str) -> list[Publication]:
    return list(session.scalars(select(Publication).where(Publication.slug == slug)
                                .order_by(col(Publication.version).desc())))


def all_publications(session: Session) -> list[Publication]:
    return list(session.scalars(select(Publication).order_by(Publication.slug, col(Publication.version).desc())))


# The public side: published versions only, as stored -----------------------------------------

@dataclass(frozen=True)
class PublishedVersion:
    version: int
    published_at: datetime
    changes: str


@dataclass(frozen=True)
class PublishedReport:
    slug: str
    version: int
    title: str
    published_at: datetime
    changes: str
    snapshot: dict
    versions: tuple[PublishedVersion, ...]  # every published version of this report, newest first

    @property
    def latest_version(self) -> int:
        return self.versions[0].version

    @property
    def is_latest(self) -> bool:
        return self.version == self.latest_version


def published_report(session: Session, slug: str, version: int | None = None) -> PublishedReport:
    """A published version's stored snapshot (the latest if ``version`` is None); NotFound otherwise."""
    with public_access(session):
        rows = list(session.scalars(select(Publication).where(Publication.slug == slug,
                                                              Publication.status == PUBLISHED)
                                    .order_by(col(Publication.version).desc())))
        found = next((r for r in rows if version is None or r.version == version), None)
        if found is None:
            raise NotFound("There is no published report at this address")
        versions = tuple(PublishedVersion(r.version, r.published_at or r.created_at, r.changes) for r in rows)
        report = PublishedReport(found.slug, found.version, found.title, found.published_at or found.created_at,
                                 found.changes, dict(found.snapshot), versions)
        for row in rows:
            session.expunge(row)  # nothing read with public access stays in the request's session
    return report


@dataclass(frozen=True)
class PublishedSummary:
    slug: str
    title: str
    publisher: str
    version: int
    published_at: datetime
    period_start: date
    period_end: date


def published_index(session: Session) -> list[PublishedSummary]:
    """The latest published version of every report, newest first."""
    with public_access(session):
        rows = list(session.scalars(select(Publication).where(Publication.status == PUBLISHED)
                                    .order_by(Publication.slug, col(Publication.version).desc())))
        latest: dict[str, Publication] = {}
        for row in rows:
            latest.setdefault(row.slug, row)
        summaries = [PublishedSummary(r.slug, r.title, str(r.snapshot.get("publisher", "")), r.version,
                                      r.published_at or r.created_at, r.period_start, r.period_end)
                     for r in latest.values()]
        for row in rows:
            session.expunge(row)
    return sorted(summaries, key=lambda s: (s.published_at, s.slug), reverse=True)
