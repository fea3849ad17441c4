"""The node side of the axis, as plain functions (no Flask): package outgoing documents into the outbox,
send them, receive and verify incoming packages, register them, and exchange status feedback.

Receipt rules (domain-vn.md §7.2, Decree 30 Art. 21.2): every PDF signature must validate (integrity, chain to
the configured anchors, not revoked); the main document needs an agency (organisation) signature; each separate
attachment needs an agency signature. Failure → status 02 with the reason in Vietnamese, nothing registered.
Success → 01 at once, then 03 when registered. A verdict that cannot be reached now (INDETERMINATE, e.g. the
OCSP responder is down) leaves the package unacknowledged on the hub, to be retried; it is never a pass. Such
a package (or one whose download failed) gets a ``DeferredReceipt`` row with a bounded exponential back-off, so
it is not downloaded and verified again on every worker pass, and clerks can see what waits (D13, D18).
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from cryptography import x509
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ..axis.client import (
    VDXP_URL_PREFIX,
    HubClient,
    HubError,
    HubUnavailable,
    IntegrityMismatch,
    ReceivedItem,
    hub_client,
)
from ..axis.edxml import (
    Attachment,
    Business,
    EdocMessage,
    Organ,
    ParsedPackage,
    Replacement,
    ResponseFor,
    StaffInfo,
    StatusMessage,
    build_status,
    default_document_id,
    parse_package,
    write_edoc,
)
from ..blobstore import BlobStore
from ..db import Database, db_now, utcnow
from ..documents.models import Document
from ..documents.numbering import next_number
from ..errors import Conflict
from ..ledger import Ledger
from ..models import Agency, User
from ..pki.ca import Identity
from ..signing.validation import ValidationPolicy, validate_pdf
from .models import STATUS_LABELS, DeferredReceipt, IncomingDocument, IncomingRegisterEntry, OutboxItem, RecipientStatus
from .outbox import claim, mark_failed_attempt, mark_sent
from .trust import (
    FLAG_LABELS,
    DirectoryUnavailable,
    SealDirectory,
    Trust,
    accepts_unsigned,
    header_reason,
    main_pdf_binding,
    package_signature,
)
from .visibility import get_visible_incoming, incoming_in_force

log = logging.getLogger("docexchange.exchange")
T = TypeVar("T")
DEFER_MAX_SECONDS = 300  # the back-off of a deferred package stops growing at 5 minutes
# a signer that does not chain to a configured trust anchor will not pass by waiting (nothing is fetched to
# complete an unknown chain, docs/security.md §3): refused (02) after this many deferrals or this long
UNTRUSTED_MAX_DEFERRALS = 5
UNTRUSTED_MAX_SECONDS = 15 * 60
UNTRUSTED = "NO_CERTIFICATE_CHAIN_FOUND"
HUB_LIST_MAX = 1000  # getReceivedEdocList returns at most this many items (docs/hub.md)
IDLE_OUTCOMES = frozenset({"retry_later", "busy_elsewhere", "deferred_wait"})  # not work done
VN = ZoneInfo("Asia/Ho_Chi_Minh")
INCOMING_SERIES = "so-den"


@dataclass
class ExchangeDeps:
    db: Database
    blobs: BlobStore
    ledger: Ledger
    hub_url: str
    policy: ValidationPolicy
    anchors: list[x509.Certificate] = field(default_factory=list)
    auto_register: bool = True
    client_factory: Callable[[Agency], HubClient] | None = None
    directory: SealDirectory = field(default_factory=SealDirectory)  # seal certificates the hub publishes

    def client(self, agency: Agency) -> HubClient:
        if self.client_factory is not None:
            return self.client_factory(agency)
        assert agency.hub_system_id and agency.hub_secret
        urls = [u.strip() for u in self.hub_url.split(",") if u.strip()]
        if len(urls) > 1:
            if any(u.startswith(VDXP_URL_PREFIX) for u in urls):
                raise ValueError("DOCEXCHANGE_HUB_URL: fail-over between hubs is for dxhub1 URLs only")
            return FailoverHubClient(urls, agency.hub_system_id, agency.hub_secret)
        # vdxp+http(s)://… speaks the VDXP SDK's scheme (national axis, provincial adapter), else dxhub1
        return hub_client(self.hub_url.strip(), agency.hub_system_id, agency.hub_secret, agency_code=agency.code,
                          retries=2)


class FailoverHubClient(HubClient):
    """Several hub processes behind one hub database (``DOCEXCHANGE_HUB_URL=http://h1,http://h2``): each call
    starts at a random one (spreading the load) and moves on to the next when a hub is unreachable or answers
    502/503/504, so a killed hub process costs a connection refusal, not a back-off. Every hub operation is
    idempotent (sendEdoc deduplicates on content), so trying another hub is safe."""

    def __init__(self, urls: list[str], system_id: str, secret: str, rounds: int = 3) -> None:
        super().__init__(urls[0], system_id, secret, retries=0)
        self.urls = [u.rstrip("/") for u in urls]
        self.rounds = rounds

    def _retrying(self, call: Callable[[], T]) -> T:
        start = random.randrange(len(self.urls))
        last: HubUnavailable | None = None
        for attempt in range(self.rounds):
            for i in range(len(self.urls)):
                self.base_url = self.urls[(start + i) % len(self.urls)]
                try:
                    return super()._retrying(call)
                except HubUnavailable as exc:
                    last = exc
            time.sleep(min(self.max_backoff, self.backoff * 2 ** attempt))
        assert last is not None
        raise last


# ---------------------------------------------------------------------------------------------- sending
def queue_issued_document(session: Session, deps: ExchangeDeps, doc: Document, seal: Identity | None,
                          actor: str) -> OutboxItem | None:
    """Called inside the issuance transaction: build the signed edXML package and write its outbox row, so
    issuing and queueing commit together."""
    recipients = json.loads(doc.recipients)
    if not recipients:
        return None
    business = Business()
    if doc.replaces_id is not None:
        old = session.get(Document, doc.replaces_id)
        if old is not None and old.edxml_document_id:
            business = Business(doc_type=3, reason="Thay thế văn bản", replacements=[
                Replacement(document_id=old.edxml_document_id, organ_ids=recipients)])
    return _queue_document_package(session, deps, doc, seal, actor, business)


def queue_recall(session: Session, deps: ExchangeDeps, doc: Document, seal: Identity | None, actor: str,
                 reason: str) -> OutboxItem:
    """Recall an issued document (BussinessDocType 1, domain-vn.md §3.3, §7.2): the document is frozen here,
    and each recipient removes it from its working views and answers 15 (agreed) or 16."""
    if doc.status != "issued" or not doc.edxml_document_id:
        raise Conflict("only an issued, sent document can be recalled",
                       "chỉ thu hồi được văn bản đã ban hành và gửi đi", code="not_issued")
    if not reason.strip():
        from ..errors import BadInput

        raise BadInput("a reason is required", "cần ghi lý do thu hồi", code="reason_required")
    doc.status = "recalled"
    return _queue_document_package(session, deps, doc, seal, actor,
                                   Business(doc_type=1, reason=reason[:500], document_id=doc.edxml_document_id))


def queue_update(session: Session, deps: ExchangeDeps, doc: Document, seal: Identity | None, actor: str,
                 reason: str, subject: str | None = None) -> OutboxItem:
    """Send corrected metadata of an issued document (BussinessDocType 2, update order); recipients apply it and
    answer 15 (accepted) or 16 (refused)."""
    if doc.status != "issued" or not doc.edxml_document_id:
        raise Conflict("only an issued, sent document can be updated",
                       "chỉ cập nhật được văn bản đã ban hành và gửi đi", code="not_issued")
    if subject is not None and subject.strip():
        doc.subject = subject.strip()[:500]
    return _queue_document_package(session, deps, doc, seal, actor,
                                   Business(doc_type=2, reason=reason[:500] or "Cập nhật văn bản điện tử",
                                            document_id=doc.edxml_document_id, document_info=1))


def _queue_document_package(session: Session, deps: ExchangeDeps, doc: Document, seal: Identity | None,
                            actor: str, business: Business) -> OutboxItem:
    recipients = json.loads(doc.recipients)
    agency = session.get(Agency, doc.agency_id)
    assert agency is not None and doc.issued_sha256 and doc.number is not None and doc.issued_at is not None
    names = dict(session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(recipients))).all())
    signer = session.get(User, doc.signer_user_id) if doc.signer_user_id else None
    files = [Attachment(name=f"{doc.number_text.replace('/', '_')}.pdf" if doc.number_text else "vanban.pdf",
                        content_type="application/pdf", data=deps.blobs.path_for(doc.issued_sha256),
                        description="Văn bản chính")]
    for att in doc.attachments:
        assert att.sealed_sha256
        files.append(Attachment(name=att.name, content_type="application/pdf",
                                data=deps.blobs.path_for(att.sealed_sha256), description="Phụ lục / tệp đính kèm"))
    issued_local = doc.issued_at.astimezone(VN)
    msg = EdocMessage(
        sender=Organ(organ_id=agency.code, organ_name=agency.name, email=agency.email or None),
        recipients=[Organ(organ_id=c, organ_name=names.get(c)) for c in recipients],
        code_number=f"{doc.number:02d}", code_notation=doc.notation or "",
        promulgation_date=issued_local.date(), promulgation_place=agency.place or None,
        subject=doc.subject, type_code=_type_code(doc.type_name), type_name=doc.type_name,
        signer_position=" ".join(x for x in (doc.authority_marker, doc.signer_position) if x) or "Lãnh đạo",
        signer_full_name=signer.full_name if signer else "",
        signer_competence=doc.authority_marker or None, priority=doc.urgency, page_amount=doc.page_count,
        attachments=files, business=business)
    msg.document_id = doc.edxml_document_id or default_document_id(msg)
    with tempfile.TemporaryFile() as spool:  # streamed: attachments may be hundreds of MB
        write_edoc(msg, spool, seal)
        spool.seek(0)
        sha, size = deps.blobs.put_stream(spool)
    doc.edxml_document_id = msg.document_id
    item = OutboxItem(agency_id=doc.agency_id, kind="edoc", document_id=doc.id, edxml_document_id=msg.document_id,
                      package_sha256=sha, package_size=size, next_attempt_at=db_now(session))
    session.add(item)
    action = {0: "package_queued", 1: "recall_queued", 2: "update_queued"}.get(business.doc_type, "package_queued")
    deps.ledger.append(session, actor=actor, agency_code=agency.code, action=action,
                       object_type="edxml", object_id=msg.document_id, object_sha256=sha,
                       details={"recipients": recipients, "business_doc_type": business.doc_type})
    return item


def _type_code(type_name: str) -> int:
    from ..formats.metadata import lookup_document_type

    found = lookup_document_type(type_name)
    return found.code if found else 1


def queue_status(session: Session, deps: ExchangeDeps, incoming: IncomingDocument, code: str,
                 description: str, actor: str, staff: str | None = None) -> OutboxItem:
    agency = session.get(Agency, incoming.agency_id)
    assert agency is not None
    number = incoming.number_notation or ""
    promulgation = date.fromisoformat(incoming.promulgation_date) if incoming.promulgation_date else None
    msg = StatusMessage(
        sender=Organ(organ_id=agency.code, organ_name=agency.name),
        response_for=ResponseFor(organ_id=incoming.sender_code, code=number or incoming.edxml_document_id,
                                 promulgation_date=promulgation, document_id=incoming.edxml_document_id),
        status_code=code, timestamp=utcnow().astimezone(VN).replace(microsecond=0),
        description=description[:500],
        staff=StaffInfo(department="Văn thư", staff=staff or actor))
    package = build_status(msg)
    sha = deps.blobs.put_bytes(package)
    item = OutboxItem(agency_id=incoming.agency_id, kind="status", incoming_id=incoming.id, status_code=code,
                      edxml_document_id=incoming.edxml_document_id, package_sha256=sha, package_size=len(package),
                      next_attempt_at=db_now(session))
    session.add(item)
    deps.ledger.append(session, actor=actor, agency_code=agency.code, action=f"status_{code}_queued",
                       object_type="edxml", object_id=incoming.edxml_document_id, object_sha256=sha,
                       details={"description": description[:500]})
    return item


def send_pending(deps: ExchangeDeps, owner: str, limit: int = 20, lease_seconds: int = 120) -> int:
    """One pass of the sender worker. Returns how many packages reached the hub. A worker killed mid-pass
    leaves its claimed rows to others after ``lease_seconds``."""
    with deps.db.transaction() as s:
        claimed = claim(s, owner, limit=limit, lease_seconds=lease_seconds)
        agencies = {a.id: a for a in s.execute(select(Agency).where(
            Agency.id.in_({c.agency_id for c in claimed}))).scalars()}
    sent = 0
    for item in claimed:
        agency = agencies[item.agency_id]
        try:
            # the message type travels with the package (the VDXP scheme requires it; dxhub1 checks it)
            receipt = deps.client(agency).send_edoc(deps.blobs.path_for(item.package_sha256), item.kind)
        except HubUnavailable as exc:
            with deps.db.transaction() as s:
                mark_failed_attempt(s, item.id, f"hub unavailable: {exc}", permanent=False)
            continue
        except HubError as exc:
            permanent = exc.status in (400, 403, 404, 409, 413)
            with deps.db.transaction() as s:
                row = mark_failed_attempt(s, item.id, f"{exc.status} {exc}", permanent=permanent)
                if row is not None and row.state == "failed":
                    deps.ledger.append(s, actor=owner, agency_code=agency.code, action="package_failed",
                                       object_type="edxml", object_id=row.edxml_document_id,
                                       object_sha256=row.package_sha256, details={"error": str(exc)[:500]})
            continue
        except OSError as exc:
            with deps.db.transaction() as s:
                mark_failed_attempt(s, item.id, f"network: {exc}", permanent=False)
            continue
        with deps.db.transaction() as s:
            row = mark_sent(s, item.id, owner, receipt.doc_id)
            if row is not None:
                deps.ledger.append(s, actor=owner, agency_code=agency.code, action="package_sent",
                                   object_type="edxml", object_id=row.edxml_document_id,
                                   object_sha256=row.package_sha256,
                                   details={"hub_doc_id": receipt.doc_id, "duplicate": receipt.duplicate})
                sent += 1
    return sent


# -------------------------------------------------------------------------------------------- receiving
@dataclass
class FileVerdict:
    name: str
    sha256: str
    role: str  # main | attachment
    indication: str
    has_agency_signature: bool
    report: dict[str, object]


def must_wait(verdicts: list[FileVerdict]) -> bool:
    """Leave the package on the hub for a later attempt: some file's verdict cannot be reached yet and no file
    has already failed (one forged or altered file settles it: 02 at once, naming that file)."""
    return any(v.indication == "INDETERMINATE" for v in verdicts) and \
        not any(v.indication == "TOTAL_FAILED" for v in verdicts)


def _untrusted(v: FileVerdict) -> bool:
    """The file is INDETERMINATE because a signer does not chain to a configured trust anchor."""
    if v.indication != "INDETERMINATE":
        return False
    sigs = v.report.get("signatures") or []
    return v.report.get("subindication") == UNTRUSTED or any(
        isinstance(sig, dict) and sig.get("indication") == "INDETERMINATE" and sig.get("subindication") == UNTRUSTED
        for sig in sigs)  # type: ignore[attr-defined]


def untrusted_is_final(verdicts: list[FileVerdict], deferrals: int, waited_s: float) -> bool:
    """Stop waiting for a package with an untrusted signer: after ``UNTRUSTED_MAX_DEFERRALS`` deferrals or
    ``UNTRUSTED_MAX_SECONDS`` since the first one, it is refused instead of deferred again."""
    return any(_untrusted(v) for v in verdicts) and (
        deferrals >= UNTRUSTED_MAX_DEFERRALS or waited_s >= UNTRUSTED_MAX_SECONDS)


def _verify_files(deps: ExchangeDeps, parsed: ParsedPackage, work: Path) -> list[FileVerdict]:
    verdicts: list[FileVerdict] = []
    pdfs = [a for a in parsed.attachments if a.is_pdf]
    for i, att in enumerate(pdfs):
        path = work / f"f{i}.pdf"
        with open(path, "wb") as out:
            assert att.stream is not None
            att.stream.seek(0)
            while chunk := att.stream.read(1 << 20):
                out.write(chunk)
        report = validate_pdf(path, deps.policy, name=att.name or f"file{i}.pdf")
        seal = any(sig.signer is not None and sig.signer.is_organization_seal and sig.indication == "TOTAL_PASSED"
                   for sig in report.signatures)
        verdicts.append(FileVerdict(att.name or f"file{i}.pdf", att.sha256, "main" if i == 0 else "attachment",
                                    report.indication, seal, report.to_dict()))
    return verdicts


def _rejection_reason(parsed: ParsedPackage, verdicts: list[FileVerdict], agency_code: str) -> str | None:
    """The Vietnamese reason to refuse, or None when the package is acceptable."""
    if not parsed.readable:
        return "Gói tin không đúng định dạng edXML: " + "; ".join(i.message_vi for i in parsed.errors[:3])
    msg = parsed.message
    if not isinstance(msg, EdocMessage):
        return "Gói tin không phải văn bản điện tử"
    if agency_code not in {r.organ_id for r in msg.recipients}:
        return f"Gửi nhầm nơi nhận: cơ quan {agency_code} không có trong danh sách nơi nhận"
    fatal = [i for i in parsed.errors if i.code.startswith("M.")]
    if fatal:
        return "Gói tin bị lỗi: " + "; ".join(i.message_vi for i in fatal[:3])
    if not verdicts:
        return "Gói tin không có văn bản PDF đã ký số"
    for v in sorted(verdicts, key=lambda v: v.indication != "TOTAL_FAILED"):  # a failed file is named first
        if _untrusted(v):
            return (f"Chữ ký số trên tệp {v.name} không xác thực được tới chứng thư gốc tin cậy đã cấu hình "
                    f"({UNTRUSTED})")
        if v.indication != "TOTAL_PASSED":
            return f"Chữ ký số trên tệp {v.name} không hợp lệ ({v.indication})"
        if not v.has_agency_signature:
            what = "văn bản chính" if v.role == "main" else f"tệp đính kèm {v.name}"
            return f"Thiếu chữ ký số của cơ quan, tổ chức trên {what}"
    return None


def receive_pending(deps: ExchangeDeps, owner: str) -> dict[str, int]:
    """One pass of the receiver worker over every agency this node hosts. Packages whose deferral is not yet
    due are skipped without a download (outcome ``deferred_wait``); the agency's deferrals are read once."""
    counts = {"received": 0, "statuses": 0, "retry_later": 0}
    with deps.db.transaction() as s:
        hosted = list(s.execute(select(Agency).where(Agency.hub_secret.is_not(None))).scalars())
        s.expunge_all()
    for agency in hosted:
        client = deps.client(agency)
        deferred = _deferrals(deps, agency.id)
        listed: set[str] = set()
        complete = True
        for kind in ("status", "edoc"):
            try:
                items = client.get_received_edoc_list(kind)
            except (HubError, OSError) as exc:
                log.warning("hub list failed for %s: %s", agency.code, exc)
                complete = False
                continue
            complete = complete and len(items) < HUB_LIST_MAX
            for item in items:
                listed.add(item.doc_id)
                due = deferred.get(item.doc_id)
                if due is not None and due[1] > due[0]:
                    outcome = "deferred_wait"
                else:
                    outcome = receive_one(deps, agency, client, item, owner)
                counts[outcome] = counts.get(outcome, 0) + 1
        if complete and deferred.keys() - listed:
            _forget_deferrals(deps, agency, deferred.keys() - listed, owner)
    return counts


def _deferrals(deps: ExchangeDeps, agency_id: int) -> dict[str, tuple[datetime, datetime]]:
    """hub DocId → (now, next attempt) for the agency's deferred packages, with "now" from the database clock."""
    with deps.db.reading() as s:
        rows = s.execute(select(DeferredReceipt.hub_doc_id, DeferredReceipt.next_attempt_at).where(
            DeferredReceipt.agency_id == agency_id)).all()
        if not rows:
            return {}
        now = db_now(s)
    return {doc_id: (now, when) for doc_id, when in rows}


def _forget_deferrals(deps: ExchangeDeps, agency: Agency, doc_ids: set[str], owner: str) -> None:
    """Deferred packages that the hub no longer lists (acknowledged by another node process, purged by the
    operator) are not waiting any more. Only called when the whole mailbox was listed."""
    with deps.db.transaction() as s:
        gone = list(s.execute(select(DeferredReceipt).where(
            DeferredReceipt.agency_id == agency.id, DeferredReceipt.hub_doc_id.in_(doc_ids))).scalars())
        for row in gone:
            s.delete(row)
            deps.ledger.append(s, actor=owner, agency_code=agency.code, action="receipt_deferral_dropped",
                               object_type="edxml", object_id=row.edxml_document_id or row.hub_doc_id,
                               details={"hub_doc_id": row.hub_doc_id, "attempts": row.attempts})


def defer_delay(attempts: int) -> int:
    """Seconds until the next attempt after ``attempts`` deferrals: 1, 2, 4, … capped at 300."""
    return int(min(2 ** max(attempts - 1, 0), DEFER_MAX_SECONDS))


@dataclass(frozen=True)
class DeferReason:
    indication: str
    subindication: str
    vi: str
    en: str


def _defer(deps: ExchangeDeps, agency: Agency, item: ReceivedItem, owner: str, why: DeferReason,
           parsed: ParsedPackage | None = None) -> str:
    """Record (upsert) the deferral of a package left on the hub, in its own short transaction. The ledger gets
    one entry, at the first deferral. Concurrent workers of one node are serialised by ``_receipt_lock``
    (PostgreSQL) or by the single SQLite writer."""
    msg = parsed.message if parsed is not None and isinstance(parsed.message, EdocMessage) else None
    for attempt in range(2):
        try:
            with deps.db.transaction() as s:
                now = db_now(s)
                row = s.execute(select(DeferredReceipt).where(
                    DeferredReceipt.agency_id == agency.id, DeferredReceipt.hub_doc_id == item.doc_id)
                    .with_for_update()).scalar_one_or_none()
                first = row is None
                if row is None:
                    row = DeferredReceipt(agency_id=agency.id, hub_doc_id=item.doc_id, first_deferred_at=now,
                                          attempts=0, sender_code=(item.from_code or "")[:35],
                                          edxml_document_id=(item.document_id or "")[:200])
                    s.add(row)
                if msg is not None:
                    row.sender_code = msg.sender.organ_id[:35]
                    row.sender_name = (msg.sender.organ_name or "")[:200]
                    row.subject = (msg.subject or "")[:500]
                    row.edxml_document_id = (msg.document_id or row.edxml_document_id)[:200]
                row.attempts = (row.attempts or 0) + 1
                row.last_attempt_at = now
                row.next_attempt_at = now + timedelta(seconds=defer_delay(row.attempts))
                row.last_indication, row.last_subindication = why.indication[:20], why.subindication[:60]
                row.last_reason_vi, row.last_reason_en = why.vi[:2000], why.en[:2000]
                s.flush()
                if first:
                    deps.ledger.append(s, actor=owner, agency_code=agency.code, action="receipt_deferred",
                                       object_type="edxml", object_id=row.edxml_document_id or item.doc_id,
                                       details={"hub_doc_id": item.doc_id, "from": row.sender_code,
                                                "indication": row.last_indication,
                                                "subindication": row.last_subindication,
                                                "reason": row.last_reason_vi[:300]})
            return "retry_later"
        except IntegrityError:  # inserted meanwhile by a process outside our lock: update it instead
            if attempt:
                raise
    return "retry_later"


def _indeterminate_reason(verdicts: list[FileVerdict]) -> DeferReason:
    """Why the verdict could not be reached: the first INDETERMINATE file and its signature's first warning or
    error message, in both languages."""
    v = next(v for v in verdicts if v.indication == "INDETERMINATE")
    sub = str(v.report.get("subindication") or "")
    detail_vi = detail_en = ""
    for sig in v.report.get("signatures") or []:  # type: ignore[attr-defined]
        if not isinstance(sig, dict) or sig.get("indication") != "INDETERMINATE":
            continue
        sub = sub or str(sig.get("subindication") or "")
        for m in sig.get("messages") or []:
            if isinstance(m, dict) and m.get("severity") in ("error", "warning"):
                detail_vi, detail_en = str(m.get("vi", "")).rstrip(". "), str(m.get("en", "")).rstrip(". ")
                break
        break
    suffix = f" ({sub})" if sub else ""
    return DeferReason(
        "INDETERMINATE", sub,
        f"Chưa xác định được hiệu lực chữ ký số trên tệp {v.name}{suffix}"
        + (f": {detail_vi}" if detail_vi else "") + "; sẽ kiểm tra lại",
        f"The signature on {v.name} could not be verified yet{suffix}"
        + (f": {detail_en}" if detail_en else "") + "; it will be checked again")


@contextmanager
def _receipt_lock(deps: ExchangeDeps, agency_id: int, doc_id: str) -> Iterator[bool]:
    """On PostgreSQL, a session advisory lock per (agency, hub DocId) held while one worker downloads, verifies
    and records a package, so that concurrent workers polling the same hub list do not verify it twice (a
    killed worker's connection closes and releases it). SQLite nodes run one writer: always True."""
    if deps.db.engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(f"{agency_id}:{doc_id}".encode()) - (1 << 31)
    with deps.db.engine.connect() as conn:
        got = bool(conn.execute(select(func.pg_try_advisory_lock(7301, key))).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                try:
                    conn.execute(select(func.pg_advisory_unlock(7301, key)))
                    conn.commit()
                except DBAPIError as exc:  # the connection died (PostgreSQL restarted): so did its lock
                    log.warning("advisory unlock of %s failed, the session's end released it: %s", doc_id, exc.orig)


def receive_one(deps: ExchangeDeps, agency: Agency, client: HubClient, item: ReceivedItem, owner: str) -> str:
    with _receipt_lock(deps, agency.id, item.doc_id) as mine:
        if not mine:
            return "busy_elsewhere"  # another worker of this node has it in hand
        try:
            return _receive_one(deps, agency, client, item, owner)
        except IntegrityError:
            if not _recorded(deps, agency, item):
                raise  # some other constraint: not ours to acknowledge
            log.info("%s was recorded by another worker; acknowledging", item.doc_id)  # unique per agency
            _ack(client, item.doc_id, "done")
            return "already_processed"


def _recorded(deps: ExchangeDeps, agency: Agency, item: ReceivedItem) -> bool:
    table = RecipientStatus if item.message_type == "status" else IncomingDocument
    with deps.db.transaction() as s:
        return s.execute(select(table.id).where(table.agency_id == agency.id,  # type: ignore[attr-defined]
                                                table.hub_doc_id == item.doc_id)).first() is not None  # type: ignore[attr-defined]


def _receive_one(deps: ExchangeDeps, agency: Agency, client: HubClient, item: ReceivedItem, owner: str) -> str:
    table = RecipientStatus if item.message_type == "status" else IncomingDocument
    with deps.db.transaction() as s:
        seen = s.execute(select(table.id).where(table.agency_id == agency.id,  # type: ignore[attr-defined]
                                                table.hub_doc_id == item.doc_id)).first()  # type: ignore[attr-defined]
        prior = s.execute(select(DeferredReceipt.next_attempt_at, DeferredReceipt.attempts,
                                 DeferredReceipt.first_deferred_at).where(
            DeferredReceipt.agency_id == agency.id, DeferredReceipt.hub_doc_id == item.doc_id)).first()
        now = db_now(s)
        due = prior[0] if prior is not None else None
        waiting = due is not None and seen is None and due > now  # deferred by another worker meanwhile
        deferrals = int(prior[1] or 0) if prior is not None else 0
        waited_s = (now - prior[2]).total_seconds() if prior is not None else 0.0
    if seen is not None:  # processed before a crash or before the ack got through: acknowledge only
        _ack(client, item.doc_id, "done")
        return "already_processed"
    if waiting:
        return "deferred_wait"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        try:
            path = client.get_edoc(item.doc_id, work / "package.edxml", item.content_sha256, item.content_length)
        except IntegrityMismatch as exc:
            return _reject_tampered(deps, agency, client, item, owner, str(exc))
        except (HubError, OSError) as exc:
            log.warning("download of %s failed: %s", item.doc_id, exc)
            return _defer(deps, agency, item, owner, DeferReason(
                "", "", f"Không tải được gói tin từ trục: {str(exc)[:300]}",
                f"The package could not be downloaded from the hub: {str(exc)[:300]}"))
        package_sha, _ = deps.blobs.put_file(path)
        parsed = parse_package(path, anchors=deps.anchors)
        if item.message_type == "status":
            return _record_status(deps, agency, client, item, parsed, package_sha, owner)
        trust = Trust(header_reason(parsed, item.from_code, agency.code) if parsed.readable else None)
        verdicts = _verify_files(deps, parsed, work) if parsed.readable and trust.reason is None else []
        if must_wait(verdicts) and not untrusted_is_final(verdicts, deferrals, waited_s):
            log.info("verification of %s indeterminate; retrying later", item.doc_id)
            return _defer(deps, agency, item, owner, _indeterminate_reason(verdicts), parsed)
        if trust.reason is None and parsed.header is not None:
            try:
                _assess_trust(deps, agency, client, item, parsed, verdicts, work, trust)
            except DirectoryUnavailable as exc:
                return _defer(deps, agency, item, owner, DeferReason(
                    "", "", f"Không đọc được danh bạ trục (chứng thư số con dấu của cơ quan gửi): {str(exc)[:300]}",
                    f"The hub directory (the sender's seal certificate) could not be read: {str(exc)[:300]}"), parsed)
        for att in parsed.attachments:  # keep every received file (the clerk downloads them by hash)
            if att.stream is not None:
                att.stream.seek(0)
                deps.blobs.put_stream(att.stream)
        return _record_edoc(deps, agency, client, item, parsed, verdicts, package_sha, owner, trust)


def _assess_trust(deps: ExchangeDeps, agency: Agency, client: HubClient, item: ReceivedItem, parsed: ParsedPackage,
                  verdicts: list[FileVerdict], work: Path, trust: Trust) -> None:
    """Package signature by the sender's published seal; the main PDF's seal is the sender's; the header agrees
    with the sealed PDF (``exchange.trust``)."""
    assert parsed.header is not None
    sender = item.from_code
    seal = deps.directory.seal_of(client, sender)
    with deps.db.reading() as s:
        legacy_ok = accepts_unsigned(s, agency.id, sender)
        if seal is None:  # a directory without certificates (the VDXP scheme): the node's own copy of it
            from ..models import Certificate

            seal = s.execute(select(Certificate.sha256).join(Agency, Agency.seal_cert_serial == Certificate.serial)
                             .where(Agency.code == sender, Certificate.kind == "seal")).scalars().first()
    package_signature(parsed, sender, seal, legacy_ok, trust)
    if trust.reason is None and verdicts and verdicts[0].role == "main" and verdicts[0].indication == "TOTAL_PASSED":
        main_pdf_binding(parsed.header, sender, seal, verdicts[0].report, work / "f0.pdf", trust)


def _clear_deferral(s: Session, agency_id: int, doc_id: str) -> None:
    """The package is recorded (passed or refused): it no longer waits. Same transaction as the recording."""
    s.execute(delete(DeferredReceipt).where(DeferredReceipt.agency_id == agency_id,
                                            DeferredReceipt.hub_doc_id == doc_id))


def _ack(client: HubClient, doc_id: str, status: str, desc: str | None = None) -> None:
    try:
        client.update_status(doc_id, status, desc)
    except (HubError, OSError) as exc:  # the next pass finds it again and acknowledges it then
        log.warning("ack of %s failed: %s", doc_id, exc)


def _reject_tampered(deps: ExchangeDeps, agency: Agency, client: HubClient, item: ReceivedItem, owner: str,
                     error: str) -> str:
    reason = "Gói tin bị thay đổi trên trục (mã băm SHA-256 không khớp với trục đã nhận)"
    with deps.db.transaction() as s:
        inc = IncomingDocument(public_id=str(uuid.uuid4()), agency_id=agency.id, hub_doc_id=item.doc_id,
                               sender_code=item.from_code, edxml_document_id=item.document_id or item.doc_id,
                               package_sha256="", status="rejected", reason=reason, verdict="TOTAL_FAILED")
        s.add(inc)
        s.flush()
        _clear_deferral(s, agency.id, item.doc_id)
        deps.ledger.append(s, actor=owner, agency_code=agency.code, action="package_rejected",
                           object_type="edxml", object_id=inc.edxml_document_id, details={"reason": error[:300]})
        queue_status(s, deps, inc, "02", reason, owner)
    _ack(client, item.doc_id, "fail", "integrity mismatch")
    return "rejected"


def _record_edoc(deps: ExchangeDeps, agency: Agency, client: HubClient, item: ReceivedItem,
                 parsed: ParsedPackage, verdicts: list[FileVerdict], package_sha: str, owner: str,
                 trust: Trust | None = None) -> str:
    """Record one edoc. Who sent it and what it is come from the strict header and the hub-authenticated sender
    (``item.from_code``), never from the lenient codec view (issue 13 §1)."""
    trust = trust or Trust()
    norm = parsed.normalized
    header = parsed.header
    msg = parsed.message if isinstance(parsed.message, EdocMessage) and header is not None else None
    document_id = (header.document_id if header else None) or item.document_id or item.doc_id
    sender = item.from_code
    business = (header.business_doc_type or 0) if header else 0
    reason = trust.reason or _rejection_reason(parsed, verdicts, agency.code)
    outcome = "received"
    with deps.db.transaction() as s:
        inc = IncomingDocument(
            public_id=str(uuid.uuid4()), agency_id=agency.id, hub_doc_id=item.doc_id, sender_code=sender,
            sender_name=(msg.sender.organ_name or "") if msg else "", edxml_document_id=document_id,
            package_sha256=package_sha, business_doc_type=business,
            number_notation=(f"{msg.code_number}/{msg.code_notation}" if msg else "")[:50],
            type_name=(msg.type_name if msg else "")[:100], subject=(msg.subject if msg else "")[:500],
            urgency=(msg.priority or 0) if msg else 0,
            promulgation_date=msg.promulgation_date.isoformat() if msg else None,
            signer=(f"{msg.signer_position} {msg.signer_full_name}" if msg else "")[:160],
            main_pdf_sha256=verdicts[0].sha256 if verdicts else None,
            files=json.dumps([{"name": v.name, "sha256": v.sha256, "role": v.role, "indication": v.indication,
                               "agency_signature": v.has_agency_signature} for v in verdicts], ensure_ascii=False),
            verdict=_worst([v.indication for v in verdicts]) if verdicts else "TOTAL_FAILED",
            verification=json.dumps({v.sha256: v.report for v in verdicts}, ensure_ascii=False, default=str),
            normalizations=json.dumps(norm.get("normalizations", []), ensure_ascii=False),
            errors=json.dumps(norm.get("errors", []), ensure_ascii=False),
            trust_flags=",".join(trust.flags)[:200], trust_note="; ".join(trust.notes))
        earlier = s.execute(select(IncomingDocument).where(
            IncomingDocument.agency_id == agency.id, IncomingDocument.sender_code == sender,
            IncomingDocument.edxml_document_id == document_id, IncomingDocument.business_doc_type == business,
            IncomingDocument.status != "rejected")).scalars().first()
        s.add(inc)
        s.flush()
        _clear_deferral(s, agency.id, item.doc_id)
        deps.ledger.append(s, actor=owner, agency_code=agency.code, action="package_received", object_type="edxml",
                           object_id=document_id, object_sha256=package_sha,
                           details={"hub_doc_id": item.doc_id, "from": sender, "verdict": inc.verdict,
                                    "files": [v.sha256 for v in verdicts]})
        if earlier is not None and earlier.package_sha256 == package_sha:
            inc.status = "duplicate"
            inc.reason = f"bản trùng của văn bản đã nhận ({earlier.public_id})"
            outcome = "duplicate"
        elif earlier is not None and business == 0:
            inc.status = "rejected"
            inc.reason = "Trùng mã định danh văn bản nhưng khác nội dung với văn bản đã nhận"
            deps.ledger.append(s, actor=owner, agency_code=agency.code, action="duplicate_conflict_alert",
                               object_type="edxml", object_id=document_id, object_sha256=package_sha)
            queue_status(s, deps, inc, "02", inc.reason, owner)
            outcome = "rejected"
        elif reason is not None:
            inc.status = "rejected"
            inc.reason = reason
            deps.ledger.append(s, actor=owner, agency_code=agency.code, action="document_rejected",
                               object_type="edxml", object_id=document_id, object_sha256=package_sha,
                               details={"reason": reason})
            queue_status(s, deps, inc, "02", reason, owner)
            outcome = "rejected"
        elif business == 1:
            outcome = _apply_revoke(s, deps, agency, inc, owner)
        elif business == 2:
            outcome = _apply_update(s, deps, agency, inc, owner)
        else:
            deps.ledger.append(s, actor=owner, agency_code=agency.code, action="document_verified",
                               object_type="edxml", object_id=document_id, object_sha256=package_sha,
                               details={"verdict": inc.verdict})
            queue_status(s, deps, inc, "01", "Đã đến: phần mềm quản lý văn bản đã nhận, văn thư chưa xử lý", owner)
            if business == 3 and msg is not None:
                _apply_replacements(s, deps, agency, inc, msg, owner)
            if deps.auto_register and not trust.blocks_auto_registration:
                register_incoming(s, deps, inc, owner)
            elif trust.blocks_auto_registration:
                deps.ledger.append(s, actor=owner, agency_code=agency.code, action="registration_held",
                                   object_type="incoming", object_id=inc.public_id, object_sha256=package_sha,
                                   details={"flags": trust.flags, "note": inc.trust_note[:500]})
    _ack(client, item.doc_id, "done")
    return outcome


def _order_target(s: Session, agency: Agency, inc: IncomingDocument) -> IncomingDocument | None:
    """The document in force that a recall or update order from the same sender refers to."""
    return s.execute(incoming_in_force(agency.id, inc.sender_code, inc.edxml_document_id,
                                       business_doc_type=0)).scalars().first()


def _apply_revoke(s: Session, deps: ExchangeDeps, agency: Agency, inc: IncomingDocument, owner: str) -> str:
    """BussinessDocType 1: the sender recalls a document. Remove it from the working views (kept for the
    ledger) and answer 15 (agreed), or 16 when there is nothing to recall."""
    target = _order_target(s, agency, inc)
    inc.status = "completed"
    if target is None:
        queue_status(s, deps, inc, "16", "Không có văn bản tương ứng để thu hồi", owner)
        return "rejected"
    target.status = "recalled"
    target.reason = "Thu hồi theo yêu cầu của cơ quan gửi"
    deps.ledger.append(s, actor=owner, agency_code=agency.code, action="document_recalled", object_type="edxml",
                       object_id=target.edxml_document_id, object_sha256=target.package_sha256)
    queue_status(s, deps, inc, "15", "Đồng ý thu hồi văn bản", owner)
    return "received"


def _apply_update(s: Session, deps: ExchangeDeps, agency: Agency, inc: IncomingDocument, owner: str) -> str:
    """BussinessDocType 2: corrected metadata for a document received earlier. Apply it and answer 15, or 16
    when there is no such document here."""
    target = _order_target(s, agency, inc)
    inc.status = "completed"
    if target is None:
        queue_status(s, deps, inc, "16", "Không có văn bản tương ứng để cập nhật", owner)
        return "rejected"
    changed: dict[str, object] = {}
    for name in ("subject", "number_notation", "type_name", "urgency", "signer", "promulgation_date"):
        if getattr(target, name) != getattr(inc, name):
            changed[name] = {"from": getattr(target, name), "to": getattr(inc, name)}
            setattr(target, name, getattr(inc, name))
    deps.ledger.append(s, actor=owner, agency_code=agency.code, action="document_updated", object_type="incoming",
                       object_id=target.public_id, object_sha256=inc.package_sha256, details=changed)
    queue_status(s, deps, inc, "15", "Đã cập nhật thông tin văn bản theo yêu cầu", owner)
    return "received"


def _apply_replacements(s: Session, deps: ExchangeDeps, agency: Agency, inc: IncomingDocument, msg: EdocMessage,
                        owner: str) -> None:
    """BussinessDocType 3: this document replaces earlier ones (ReplacementInfoList); those leave the working
    views (kept for the ledger)."""
    for rep in msg.business.replacements:
        for old in s.execute(incoming_in_force(agency.id, inc.sender_code, rep.document_id)).scalars():
            old.status = "replaced"
            old.reason = f"Được thay thế bởi văn bản {inc.number_notation}"
            deps.ledger.append(s, actor=owner, agency_code=agency.code, action="document_replaced",
                               object_type="incoming", object_id=old.public_id, object_sha256=old.package_sha256,
                               details={"replaced_by": inc.public_id})


def register_incoming(s: Session, deps: ExchangeDeps, inc: IncomingDocument, actor: str) -> IncomingRegisterEntry:
    """Arrival number (gapless per agency per year), register row, status 03."""
    if inc.status != "arrived":
        raise Conflict(f"a {inc.status} document cannot be registered", "không thể vào sổ văn bản ở trạng thái này",
                       code="not_arrived")
    now = utcnow().astimezone(VN)
    inc.arrival_year = now.year
    inc.arrival_number = next_number(s, inc.agency_id, now.year, INCOMING_SERIES)
    inc.status = "registered"
    entry = IncomingRegisterEntry(
        agency_id=inc.agency_id, incoming_id=inc.id, year=now.year, arrival_date=now.strftime("%Y-%m-%d %H:%M"),
        arrival_number=inc.arrival_number, author=f"{inc.sender_name} ({inc.sender_code})"[:250],
        number_notation=inc.number_notation, document_date=inc.promulgation_date or "",
        type_and_subject=f"{inc.type_name}: {inc.subject}"[:620],
        notes="Văn bản điện tử qua Trục liên thông" + "".join(
            f"; {FLAG_LABELS.get(f, f)}" for f in (inc.trust_flags or "").split(",") if f))
    s.add(entry)
    agency = s.get(Agency, inc.agency_id)
    deps.ledger.append(s, actor=actor, agency_code=agency.code if agency else "", action="document_registered",
                       object_type="incoming", object_id=inc.public_id, object_sha256=inc.package_sha256,
                       details={"arrival_number": inc.arrival_number, "year": now.year})
    queue_status(s, deps, inc, "03", "Đã tiếp nhận văn bản điện tử, vào sổ văn bản đến của đơn vị", actor)
    return entry


def _record_status(deps: ExchangeDeps, agency: Agency, client: HubClient, item: ReceivedItem,
                   parsed: ParsedPackage, package_sha: str, owner: str) -> str:
    header = parsed.header
    problem = header_reason(parsed, item.from_code, agency.code) if parsed.readable else "unreadable"
    if header is not None and problem is None and not header.is_status:
        problem = "not a status message"
    if problem is not None:  # a status nobody can attribute is not put on any timeline (issue 13 §1)
        with deps.db.transaction() as s:
            _clear_deferral(s, agency.id, item.doc_id)
            deps.ledger.append(s, actor=owner, agency_code=agency.code, action="status_refused",
                               object_type="edxml", object_id=item.document_id or item.doc_id,
                               object_sha256=package_sha,
                               details={"hub_doc_id": item.doc_id, "from": item.from_code, "reason": problem[:300]})
        _ack(client, item.doc_id, "fail", problem[:200])
        return "rejected"
    assert header is not None
    msg = parsed.message if isinstance(parsed.message, StatusMessage) else None
    answered = header.document_id
    with deps.db.transaction() as s:
        doc = s.execute(select(Document).where(Document.agency_id == agency.id,
                                               Document.edxml_document_id == answered)).scalars().first()
        if doc is not None and item.from_code not in json.loads(doc.recipients or "[]"):
            doc = None  # only a recipient of the document can report on it
        when = msg.timestamp.replace(tzinfo=VN) if msg and msg.timestamp.tzinfo is None else (
            msg.timestamp if msg else None)
        row = RecipientStatus(agency_id=agency.id, document_id=doc.id if doc else None,
                              edxml_document_id=answered, recipient_code=item.from_code,
                              status_code=(header.status_code or "??")[:2],
                              description=(msg.description or "") if msg else "unreadable status package",
                              status_time=when, hub_doc_id=item.doc_id, package_sha256=package_sha)
        s.add(row)
        _clear_deferral(s, agency.id, item.doc_id)
        deps.ledger.append(s, actor=owner, agency_code=agency.code, action=f"status_{row.status_code}_received",
                           object_type="edxml", object_id=row.edxml_document_id, object_sha256=package_sha,
                           details={"from": row.recipient_code, "description": row.description[:300]})
    _ack(client, item.doc_id, "done")
    return "statuses"


def _worst(indications: list[str]) -> str:
    order = ["TOTAL_PASSED", "INDETERMINATE", "TOTAL_FAILED"]
    return max(indications, key=lambda i: order.index(i) if i in order else 2)


# ------------------------------------------------------------------------------------- clerk actions
CLERK_CODES = {"04": "assigned", "05": "processing", "06": "completed"}


def incoming_action(s: Session, deps: ExchangeDeps, agency_id: int, public_id: str, action: str, actor: str,
                    note: str = "") -> IncomingDocument:
    inc = get_visible_incoming(s, agency_id, public_id, lock=True)
    if action == "register":
        register_incoming(s, deps, inc, actor)
    elif action == "reject":
        if inc.status != "arrived":
            raise Conflict("only an arrived, unregistered document can be refused",
                           "chỉ từ chối được văn bản đã đến và chưa vào sổ", code="not_arrived")
        if not note.strip():
            from ..errors import BadInput

            raise BadInput("a reason is required", "cần ghi lý do từ chối", code="reason_required")
        inc.status = "rejected"
        inc.reason = note
        queue_status(s, deps, inc, "02", note, actor)
    elif action in CLERK_CODES.values():
        if inc.status not in ("registered", "assigned", "processing"):
            raise Conflict("register the document first", "cần vào sổ văn bản trước", code="not_registered")
        code = next(c for c, a in CLERK_CODES.items() if a == action)
        inc.status = action
        if action == "assigned":
            inc.assignee = note[:200]
        queue_status(s, deps, inc, code, note or STATUS_LABELS[code][0], actor)
    else:
        from ..errors import BadInput

        raise BadInput(f"unknown action {action}", f"thao tác không hợp lệ: {action}")
    return inc
