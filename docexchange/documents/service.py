"""The outgoing-documents workflow as plain functions over a session (no Flask).

draft (uploaded, normalized to PDF, number/date fields added)
  -> signed    the competent person's signature (profile ``person``), PIN required
  -> approved  only when the agency requires a second person to approve use of its seal
  -> issued    number assigned (gapless), number and date filled into the fields, agency seal (profile
               ``seal``), each attachment sealed (profile ``attachment``), outgoing register row, outbox rows
Every step is one transaction with its ledger entry; a failure changes nothing.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, BinaryIO, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ..auth import PinPolicy, Principal
from ..blobstore import BlobStore
from ..db import Database, utcnow
from ..errors import BadInput, Conflict, Forbidden, NotFound
from ..ledger import Ledger
from ..models import Agency, User
from .fields import add_issue_fields, fill_issue_fields
from .models import AUTHORITY_MARKERS, URGENCY, Document, DocumentAttachment, DocumentEvent, OutgoingRegisterEntry
from .numbering import next_number

VN = ZoneInfo("Asia/Ho_Chi_Minh")


class Signing(Protocol):
    """What the workflow needs from the signing engine (bound in ``docexchange.documents.engine``)."""

    def person(self, src: Path, dst: Path, *, user: User, pin: str, marker: str, position: str) -> None: ...

    def seal(self, src: Path, dst: Path, *, agency: Agency, pin: str) -> None: ...

    def attachment(self, src: Path, dst: Path, *, agency: Agency, pin: str, number_text: str) -> None: ...


@dataclass
class DraftInput:
    type_name: str
    type_abbr: str
    subject: str
    recipients: list[str]
    signer_username: str
    authority_marker: str = ""
    signer_position: str = ""
    urgency: int = 0
    notation_suffix: str = ""
    series: str = "main"
    replaces: str | None = None  # public id of an issued document of this agency that this one replaces
    attachments: list[tuple[str, IO[bytes]]] = field(default_factory=list)


@dataclass
class Deps:
    blobs: BlobStore
    ledger: Ledger
    signing: Signing | None = None
    normalize: Callable[[Path, str], tuple[Path, list[dict[str, str]]]] | None = None
    # called inside the issuance transaction with the seal PIN: the exchange service writes the outbox row
    on_issued: Callable[[Session, Document, str, str], None] | None = None


def _event(session: Session, deps: Deps, p: Principal, doc: Document, action: str, sha: str,
           details: dict[str, object] | None = None) -> None:
    session.add(DocumentEvent(document_id=doc.id, actor=p.username, action=action, sha256=sha,
                              details=json.dumps(details or {}, ensure_ascii=False)))
    deps.ledger.append(session, actor=p.username, agency_code=p.agency_code, action=f"document_{action}",
                       object_type="document", object_id=doc.public_id, object_sha256=sha, details=details)


def _check_pdf(data: bytes) -> int:
    """Page count of an acceptable, unencrypted PDF; a clear error otherwise."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise BadInput("not a PDF file", "tệp không phải định dạng PDF", code="not_pdf")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise BadInput("encrypted PDFs cannot be signed; remove the password first",
                           "không thể ký tệp PDF có mật khẩu; hãy gỡ mật khẩu trước", code="pdf_encrypted")
        return len(reader.pages)
    except BadInput:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"the PDF cannot be read: {exc}", "không đọc được tệp PDF", code="pdf_unreadable") from exc


def create_draft(session: Session, deps: Deps, p: Principal, upload: BinaryIO, filename: str,
                 meta: DraftInput) -> Document:
    p.require("clerk")
    if meta.authority_marker not in AUTHORITY_MARKERS:
        raise BadInput(f"authority marker must be one of {AUTHORITY_MARKERS[1:]}",
                       "thẩm quyền ký phải là TM., KT., TL., TUQ. hoặc Q.", code="bad_authority_marker")
    from ..formats.metadata import lookup_document_type

    doc_type = lookup_document_type(meta.type_name)
    if doc_type is None:
        raise BadInput(f"{meta.type_name!r} is not one of the 29 document types of Decree 30",
                       f"{meta.type_name!r} không thuộc 29 loại văn bản theo Nghị định 30", code="bad_document_type")
    meta.type_name, meta.type_abbr = doc_type.name, doc_type.abbreviation or ""
    if meta.urgency not in URGENCY:
        raise BadInput("urgency must be 0..4", "độ khẩn phải từ 0 đến 4", code="bad_urgency")
    agency = session.get(Agency, p.agency_id)
    assert agency is not None
    meta.notation_suffix = meta.notation_suffix.strip()
    check_notation(meta.type_abbr, agency.abbreviation, meta.notation_suffix)
    if not meta.subject.strip() or len(meta.subject) > 500:
        raise BadInput("subject is required (at most 500 characters)",
                       "trích yếu là bắt buộc (tối đa 500 ký tự)", code="bad_subject")
    signer = session.execute(select(User).where(User.username == meta.signer_username)).scalar_one_or_none()
    if signer is None or signer.agency_id != p.agency_id or "signer" not in signer.role_set:
        raise BadInput("the signer must be a signer of your agency", "người ký phải là lãnh đạo của cơ quan",
                       code="bad_signer")
    known = set(session.execute(select(Agency.code).where(Agency.code.in_(meta.recipients))).scalars())
    unknown = [c for c in meta.recipients if c not in known]
    if unknown:
        raise BadInput(f"unknown recipient agency codes: {', '.join(unknown)}",
                       f"mã định danh nơi nhận không tồn tại: {', '.join(unknown)}", code="unknown_recipient")
    replaces_id = None
    if meta.replaces:
        old = session.execute(select(Document).where(Document.public_id == meta.replaces)).scalar_one_or_none()
        if old is None or old.agency_id != p.agency_id or old.status != "issued":
            raise BadInput("the replaced document must be an issued document of your agency",
                           "văn bản bị thay thế phải là văn bản đã ban hành của cơ quan", code="bad_replaces")
        replaces_id = old.id
    original_sha, _ = deps.blobs.put_stream(upload)
    normalizations: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "original"
        with deps.blobs.open(original_sha) as fh, open(src, "wb") as out:
            shutil.copyfileobj(fh, out)
        if deps.normalize is not None:
            pdf_path, normalizations = deps.normalize(src, filename)
        else:
            pdf_path = src
        data = pdf_path.read_bytes()
    pages = _check_pdf(data)
    draft_sha = deps.blobs.put_bytes(add_issue_fields(data))
    doc = Document(public_id=str(uuid.uuid4()), agency_id=p.agency_id, type_abbr=meta.type_abbr,
                   type_name=meta.type_name, subject=meta.subject.strip(), urgency=meta.urgency,
                   notation_suffix=meta.notation_suffix, recipients=json.dumps(meta.recipients),
                   signer_user_id=signer.id, authority_marker=meta.authority_marker,
                   signer_position=meta.signer_position or signer.position, page_count=pages, series=meta.series,
                   original_sha256=original_sha, original_name=filename[:255], draft_sha256=draft_sha,
                   normalizations=json.dumps(normalizations, ensure_ascii=False), created_by=p.user_id,
                   replaces_id=replaces_id)
    session.add(doc)
    session.flush()
    for i, (name, stream) in enumerate(meta.attachments):
        att_sha, _ = deps.blobs.put_stream(stream)
        _check_pdf(deps.blobs.get_bytes(att_sha))
        session.add(DocumentAttachment(document_id=doc.id, position=i + 1, name=name[:255],
                                       original_sha256=att_sha, pdf_sha256=att_sha))
    _event(session, deps, p, doc, "drafted", draft_sha, {"normalizations": normalizations} if normalizations else None)
    return doc


def get_document(session: Session, p: Principal, public_id: str, *, lock: bool = False) -> Document:
    stmt = select(Document).where(Document.public_id == public_id)
    if lock:
        stmt = stmt.with_for_update()
    doc = session.execute(stmt).scalar_one_or_none()
    if doc is None or doc.agency_id != p.agency_id:
        raise NotFound("document not found", "không tìm thấy văn bản")
    return doc


def visible_documents_query(p: Principal) -> Select[Document]:
    """The outgoing documents a principal's lists show: its agency's; a signer only those they are to sign.
    (One rule for the API list and the web pages; callers add filters, counts and paging.)"""
    stmt = select(Document).where(Document.agency_id == p.agency_id)
    if p.role == "signer":
        stmt = stmt.where(Document.signer_user_id == p.user_id)
    return stmt


def list_documents(session: Session, p: Principal, status: str | None = None, limit: int = 200) -> list[Document]:
    stmt = visible_documents_query(p)
    if status:
        stmt = stmt.where(Document.status == status)
    return list(session.execute(stmt.order_by(Document.id.desc()).limit(limit)).scalars())


def _work_file(blobs: BlobStore, sha: str, tmp: Path, name: str) -> Path:
    path = tmp / name
    with blobs.open(sha) as fh, open(path, "wb") as out:
        shutil.copyfileobj(fh, out)
    return path


def sign(session: Session, deps: Deps, p: Principal, public_id: str, pin: str) -> Document:
    """The competent person's signature. Only the designated signer, only on a draft."""
    p.require("signer")
    doc = get_document(session, p, public_id, lock=True)
    if doc.status != "draft":
        raise Conflict(f"the document is {doc.status}; only drafts can be signed",
                       "chỉ ký được văn bản ở trạng thái dự thảo", code="not_a_draft")
    if doc.signer_user_id != p.user_id:
        raise Forbidden("you are not the designated signer of this document",
                        "bạn không phải người ký được chỉ định của văn bản này", code="not_designated_signer")
    user = session.get(User, p.user_id)
    assert user is not None and deps.signing is not None
    with tempfile.TemporaryDirectory() as tmp:
        src = _work_file(deps.blobs, doc.draft_sha256, Path(tmp), "draft.pdf")
        dst = Path(tmp) / "signed.pdf"
        deps.signing.person(src, dst, user=user, pin=pin, marker=doc.authority_marker, position=doc.signer_position)
        doc.signed_sha256, _ = deps.blobs.put_file(dst)
    doc.status = "signed"
    _event(session, deps, p, doc, "signed", doc.signed_sha256)
    return doc


def approve_seal(session: Session, deps: Deps, p: Principal, public_id: str) -> Document:
    """Dual control: a second authorised person (a signer or admin of the agency, not the one who signed)
    approves applying the agency seal to this document."""
    p.require("signer", "admin")
    doc = get_document(session, p, public_id, lock=True)
    if doc.status != "signed":
        raise Conflict("only a signed, not yet issued document can be approved for sealing",
                       "chỉ phê duyệt đóng dấu cho văn bản đã ký và chưa ban hành", code="not_signed")
    if doc.signer_user_id == p.user_id:
        raise Forbidden("the second approval must come from another person",
                        "phê duyệt thứ hai phải do người khác thực hiện", code="same_person")
    doc.approved_by = p.user_id
    doc.status = "approved"
    _event(session, deps, p, doc, "seal_approved", doc.signed_sha256 or "")
    return doc


def issue(session: Session, deps: Deps, p: Principal, public_id: str, seal_pin: str,
          now: datetime | None = None) -> Document:
    """Number, date, seal, attachments, register — all or nothing."""
    p.require("clerk")
    doc = get_document(session, p, public_id, lock=True)
    agency = session.get(Agency, doc.agency_id)
    assert agency is not None and deps.signing is not None
    if doc.status == "issued":
        raise Conflict("the document was already issued", "văn bản đã được ban hành", code="already_issued")
    if doc.status == "draft":
        raise Conflict("the competent person has not signed the document yet",
                       "văn bản chưa được người có thẩm quyền ký", code="not_signed")
    if agency.seal_requires_approval and doc.status != "approved":
        raise Conflict("this agency requires a second person to approve use of its seal",
                       "cơ quan yêu cầu người thứ hai phê duyệt trước khi đóng dấu", code="approval_required")
    if doc.status not in ("signed", "approved") or doc.signed_sha256 is None:
        raise Conflict(f"a {doc.status} document cannot be issued", "không thể ban hành văn bản ở trạng thái này")
    when = (now or utcnow()).astimezone(VN)
    doc.year = when.year
    doc.number = next_number(session, doc.agency_id, when.year, doc.series)
    doc.notation = notation_for(doc, agency)
    number_text = doc.number_text
    assert number_text is not None
    date_text = f"{agency.place}, ngày {when.day:02d} tháng {when.month:02d} năm {when.year}"
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        signed = _work_file(deps.blobs, doc.signed_sha256, t, "signed.pdf")
        filled = t / "numbered.pdf"
        fill_issue_fields(signed, filled, number_text=number_text, date_text=date_text,
                          facts=(agency.code, f"{doc.number:02d}", doc.notation or "", when.date()))
        sealed = t / "sealed.pdf"
        deps.signing.seal(filled, sealed, agency=agency, pin=seal_pin)
        doc.issued_sha256, _ = deps.blobs.put_file(sealed)
        for att in doc.attachments:
            src = _work_file(deps.blobs, att.pdf_sha256, t, f"att{att.position}.pdf")
            dst = t / f"att{att.position}.sealed.pdf"
            deps.signing.attachment(src, dst, agency=agency, pin=seal_pin, number_text=number_text)
            att.sealed_sha256, _ = deps.blobs.put_file(dst)
    doc.status = "issued"
    doc.issued_at = when
    if doc.replaces_id is not None:
        old = session.get(Document, doc.replaces_id, with_for_update=True)
        if old is None or old.status != "issued":
            raise Conflict("the document this one replaces is no longer in force",
                           "văn bản bị thay thế không còn hiệu lực", code="bad_replaces")
        old.status = "replaced"
    signer = session.get(User, doc.signer_user_id) if doc.signer_user_id else None
    recipients = json.loads(doc.recipients)
    names = dict(session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(recipients))).all())
    session.add(OutgoingRegisterEntry(
        agency_id=doc.agency_id, document_id=doc.id, year=when.year, number_notation=number_text,
        issued_date=when.date().isoformat(), type_and_subject=f"{doc.type_name}: {doc.subject}",
        signer=" ".join(x for x in (doc.authority_marker, doc.signer_position,
                                    signer.full_name if signer else "") if x),
        recipients="; ".join(f"{names.get(c, c)} ({c})" for c in recipients),
        copies=1 + len(recipients), transfer_date=when.date().isoformat() if recipients else "",
        notes=f"{len(doc.attachments)} phụ lục/tệp đính kèm" if doc.attachments else ""))
    _event(session, deps, p, doc, "issued", doc.issued_sha256,
           {"number": number_text, "attachments": [a.sealed_sha256 for a in doc.attachments]})
    if deps.on_issued is not None:
        deps.on_issued(session, doc, seal_pin, p.username)
    return doc


def notation_for(doc: Document, agency: Agency) -> str:
    """Decree 30 notation: type abbreviation + agency abbreviation (QĐ-BNV); công văn: agency + drafting unit
    (BNV-VP). Checked by ``check_notation``: the same rule at draft creation and at issue."""
    return check_notation(doc.type_abbr, agency.abbreviation, doc.notation_suffix)


def check_notation(type_abbr: str, agency_abbr: str, suffix: str) -> str:
    """The notation a document will carry, or the refusal issuing it would meet: the edXML builder's own rule
    (``canonical_notation``: groups of A-Z, Đ, 0-9 and '.', joined by '-', at most 30 characters) with the
    builder's error code, so a draft whose notation could never be sent is refused when it is created, not
    after the competent person has signed it."""
    from ..formats.metadata import CODE_NOTATION_MAX, MetadataError, canonical_notation

    parts = [type_abbr, agency_abbr] if type_abbr else [agency_abbr]
    if suffix:
        parts.append(suffix)
    notation = "-".join(x for x in parts if x)  # official abbreviations keep their case (TTr, QyĐ)
    try:
        canonical_notation(notation)  # the path and code issuing gives
    except MetadataError as exc:
        raise BadInput(
            f"the notation {notation!r} (drafting unit {suffix!r}) cannot be issued: groups of A-Z, Đ, 0-9 and "
            f"'.' separated by '-', at most {CODE_NOTATION_MAX} characters",
            f"ký hiệu văn bản {notation!r} (đơn vị soạn thảo {suffix!r}) không hợp lệ để ban hành: gồm các nhóm "
            f"chữ A-Z, Đ, số 0-9 và dấu '.', nối bằng dấu '-', tối đa {CODE_NOTATION_MAX} ký tự",
            code=exc.code, field="notation_suffix") from exc
    return notation


def perform(db: Database, deps: Deps, p: Principal, public_id: str, action: str, pin: str = "", *,
            pin_policy: PinPolicy | None = None) -> Document:
    """Sign, approve or issue in one transaction. Signing and issuing open a key, so they run inside the PIN
    check (``auth.pin_guard``): a locked user or key may not be used; a wrong PIN rolls the act back, counts per
    user and per key and is a ledger entry."""
    from ..auth import pin_guard

    def act() -> Document:
        with db.transaction() as session:
            if action == "sign":
                return sign(session, deps, p, public_id, pin)
            if action == "approve":
                return approve_seal(session, deps, p, public_id)
            if action == "issue":
                return issue(session, deps, p, public_id, pin)
            raise BadInput(f"unknown action {action}", f"thao tác không hợp lệ: {action}")

    if action not in ("sign", "issue"):
        return act()
    with pin_guard(db, deps.ledger, p, pin_policy or PinPolicy(), act=f"document_{action}",
                   keys=("person",) if action == "sign" else ("seal",)):
        return act()
