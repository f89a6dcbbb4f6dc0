"""Tender documents: the specification, terms and pricing schedule, uploaded as files.

A file is accepted only if its name ends in an allowed type *and* its content has that type's
signature (PDF's header; DOCX and XLSX are ZIP packages holding their main part; ODT and ODS are
ZIP packages whose ``mimetype`` entry names them; a CSV is text with no control bytes), it is no
larger than ``MAX_DOCUMENT_BYTES``, and the virus-scan hook passes it. The bytes are kept in the
database with their SHA-256. Providers download the documents of published tenders only, and
every download is audited.

Virus scanning: set ``RCC_VIRUS_SCAN_HOOK`` to ``package.module:function``. The function is
called with ``(filename, content)`` on every upload, before anything is saved; it returns None
for a clean file or a short reason (text) to refuse it, and may raise to refuse it too. Unset, the
hook is a no-op that logs, at WARNING, that the file was accepted without a virus scan.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import logging
import os
import zipfile
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.models import DOCUMENT_KINDS, Tender, TenderDocument
from contracts.services import tenders
from contracts.services.common import is_rcc
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import FieldErrors, NotFound

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 8 * 1024 * 1024  # below the 10 MB a request may carry, so the limit is ours to explain
KIND_LABELS = {"specification": "Specification", "terms": "Terms and conditions", "pricing_schedule": "Pricing schedule"}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
}
ALLOWED_TEXT = "PDF, Word (DOCX), Excel (XLSX), OpenDocument text (ODT) or spreadsheet (ODS), or CSV"
VIRUS_SCAN_SETTING = "RCC_VIRUS_SCAN_HOOK"


def _zip_names(content: bytes) -> zipfile.ZipFile | None:
    if not content.startswith(b"PK\x03\x04"):
        return None
    try:
        return zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def _opendocument(content: bytes, mimetype: str) -> bool:
    package = _zip_names(content)
    if package is None:
        return False
    try:
        if package.getinfo("mimetype").file_size > 200:  # never inflate a large entry (a zip bomb)
            return False
        return package.read("mimetype").strip() == mimetype.encode()
    except (KeyError, zipfile.BadZipFile, ValueError, OSError, RuntimeError):
        return False


def _ooxml(content: bytes, main_part: str) -> bool:
    package = _zip_names(content)
    return package is not None and "[Content_Types].xml" in package.namelist() and main_part in package.namelist()


def _csv(content: bytes) -> bool:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 and c not in "\t\r\n" for c in text)


SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "pdf": lambda content: content.startswith(b"%PDF-"),
    "docx": lambda content: _ooxml(content, "word/document.xml"),
    "xlsx": lambda content: _ooxml(content, "xl/workbook.xml"),
    "odt": lambda content: _opendocument(content, CONTENT_TYPES["odt"]),
    "ods": lambda content: _opendocument(content, CONTENT_TYPES["ods"]),
    "csv": _csv,
}


def _no_scan(filename: str, content: bytes) -> str | None:
    log.warning("virus scan not configured (%s unset): %s (%d bytes) accepted without a scan",
                VIRUS_SCAN_SETTING, filename, len(content))
    return None


def virus_scan_hook() -> Callable[[str, bytes], str | None]:
    """The configured hook, or the logging no-op."""
    target = os.environ.get(VIRUS_SCAN_SETTING, "").strip()
    if not target:
        return _no_scan
    module_name, _, function = target.partition(":")
    hook: Callable[[str, bytes], str | None] = getattr(importlib.import_module(module_name), function)
    return hook


def check_file(filename: str, content: bytes) -> tuple[str, str]:
    """The file's type (extension) and content type, or FieldErrors on ``file`` saying what is wrong."""
    name = os.path.basename(filename.replace("\\", "/")).strip()
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not name:
        raise FieldErrors({"file": "Select a file"})
    if len(name) > 200:
        raise FieldErrors({"file": "The file's name must be 200 characters or fewer"})
    if not content:
        raise FieldErrors({"file": "The selected file is empty"})
    if len(content) > MAX_DOCUMENT_BYTES:
        raise FieldErrors({"file": f"The file must be smaller than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB"})
    if extension not in SIGNATURES:
        raise FieldErrors({"file": f"The file must be a {ALLOWED_TEXT}"})
    if not SIGNATURES[extension](content):
        raise FieldErrors({"file": f"The file's content is not a {extension.upper()} file, whatever its name says. "
                                   f"Upload a {ALLOWED_TEXT}"})
    try:
        reason = virus_scan_hook()(name, content)
    except Exception as error:  # noqa: BLE001 - any failure of the scanner refuses the file
        log.warning("virus scan refused %s: %s", name, type(error).__name__)
        reason = "it could not be scanned for viruses"
    if reason:
        raise FieldErrors({"file": f"The file was refused: {reason}"})
    return name, CONTENT_TYPES[extension]


def upload_document(session: Session, tender: Tender, kind: str, filename: str, content: bytes,
                    user_id: int | None, now: datetime) -> TenderDocument:
    """Add or replace one of a draft tender's documents."""
    if not is_rcc(session):
        raise NotFound()
    if kind not in DOCUMENT_KINDS:
        raise FieldErrors({"kind": "Select which document this is"})
    tenders._refuse_unless_draft(tender, now, "change the documents of")
    name, content_type = check_file(filename, content)
    tenders._claim_draft(session, tender, "change the documents of")
    document = session.scalars(select(TenderDocument).where(TenderDocument.tender_id == tender.id,
                                                            TenderDocument.kind == kind)).first()
    if document is None:
        document = TenderDocument(rcc_id=tender.rcc_id, tender_id=tender.id or 0, kind=kind, filename=name,
                                  content_type=content_type, size_bytes=len(content), sha256="", content=b"")
        session.add(document)
    document.filename, document.content_type, document.size_bytes = name, content_type, len(content)
    document.content, document.sha256 = content, hashlib.sha256(content).hexdigest()
    document.uploaded_by_user_id, document.uploaded_at = user_id, now
    session.flush()
    audit.record(session, AuditAction.TENDER_DOCUMENT_UPLOADED, document, tender_id=tender.id, kind=kind,
                 filename=name, size_bytes=len(content), sha256=document.sha256)
    return document


def documents_of(session: Session, tender: Tender) -> list[TenderDocument]:
    """The tender's documents (no content loaded), for anyone who may see the tender."""
    found = session.scalars(select(TenderDocument).where(TenderDocument.tender_id == tender.id)).all()
    order = {kind: i for i, kind in enumerate(DOCUMENT_KINDS)}
    return sorted(found, key=lambda d: order.get(d.kind, 99))


def download_document(session: Session, tender_id: int, kind: str) -> TenderDocument:
    """One document: the RCC's at any time, anyone else's only once the tender is published. Audited."""
    tender = tenders.get_tender(session, tender_id)  # a draft is not found for anyone but the RCC
    if tender.published_at is None and not is_rcc(session):
        raise NotFound()
    document = session.scalars(select(TenderDocument).where(TenderDocument.tender_id == tender.id,
                                                            TenderDocument.kind == kind)).first()
    if document is None:
        raise NotFound()
    audit.record(session, AuditAction.TENDER_DOCUMENT_DOWNLOADED, document, tender_id=tender.id, kind=kind,
                 sha256=document.sha256)
    return document
