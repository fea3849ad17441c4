"""Certification of copies from originals (Decree 23/2015, book SCT/BS) and Decree 30 agency copies, as plain
functions over a ``Database`` (no Flask).

certify: check the certifier and the request -> stage and check the scan (no transaction) -> build the scan PDF
with the verification strip (no transaction) -> in ONE transaction: next number in the book (row lock),
statement page, attestation, certifier's signature, agency seal, blobs, row, ledger entry. A failure anywhere
rolls the number back, so the book stays gapless. An idempotency key makes a repeated submission return the first
result (same record, same number).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..auth import PinPolicy, Principal, ensure_pin_allowed, pin_guard
from ..blobstore import CHUNK, BlobStore
from ..db import Database, utcnow
from ..documents.models import Document, NumberCounter
from ..documents.numbering import next_number
from ..errors import BadInput, Conflict, Forbidden, NotFound, TooLarge, Unavailable
from ..ledger import Ledger
from ..models import Agency, User
from . import pdfbuild, rules
from .models import (
    AGENCY_COPY_SERIES,
    BOOK_SERIES,
    BOOK_TYPE,
    CERTIFYING_KINDS,
    COPY_FORMS,
    REFUSAL_GROUNDS,
    AgencyCopy,
    CertifiedCopy,
)
from .scans import ColourPolicy, ScanFile, ScanReport, inspect_scan

VN = ZoneInfo("Asia/Ho_Chi_Minh")
Box = tuple[float, float, float, float]
_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_ID_RE = re.compile(r"^[A-Z0-9]{6,20}$")


class CopySigning(Protocol):
    """What this package needs from the signing engine. Each call reads ``src`` and writes ``dst`` (an incremental
    update of ``src``); it raises ``DomainError`` (e.g. wrong PIN) and then nothing is recorded."""

    def person(self, src: Path, dst: Path, *, user: User, pin: str, page: int, box: Box) -> None:
        """The certifier's personal signature, PAdES B-LT, visible (signature image) in ``box`` (PDF points) on
        ``page`` (1-based): the statement page."""

    def seal(self, src: Path, dst: Path, *, agency: Agency, pin: str, page: int, box: Box) -> None:
        """The certifying agency's seal signature, PAdES B-LT, seal image in ``box`` (overlapping the left third
        of the personal signature), as a second incremental update."""

    def copy(self, src: Path, dst: Path, *, agency: Agency, pin: str, form: str) -> None:
        """Decree 30 profile ``copy``: agency signature, top right of page 1, no image, text = ``form``
        (SAO Y | SAO LỤC | TRÍCH SAO), agency name, signing time ISO 8601 +07:00, 10 pt."""


# The validation engine: path of a PDF -> the verification report of interfaces.md (report_version "1").
Validator = Callable[[Path], dict[str, Any]]


@dataclass
class Deps:
    blobs: BlobStore
    ledger: Ledger
    public_url: str
    signing: CopySigning
    validate: Validator
    book_capacity: int = 500  # entries per book (quyển); the next book continues the numbering
    colour: ColourPolicy = "require"
    min_dpi: int = 200
    max_upload_bytes: int = 1024 * 1024 * 1024
    pin_policy: PinPolicy = PinPolicy()

    def verify_url(self, code: str) -> str:
        return f"{self.public_url.rstrip('/')}/verify/copy/{code}"


@dataclass
class CopyRequest:
    """The request record (domain-vn.md §4.5): requester and the original's descriptor."""

    requester_name: str
    requester_id_number: str
    original_type: str
    original_issuer: str
    page_count: int
    original_number: str = ""
    original_issue_date: str = ""  # ISO date
    copies: int = 1
    idempotency_key: str | None = None
    agency_code: str | None = None  # the book to write in; must be the certifier's own agency


@dataclass
class Upload:
    name: str
    stream: BinaryIO


# ---------------------------------------------------------------------------------------------------- checks
def _clean(value: str, limit: int) -> str:
    return " ".join(value.split())[:limit]


def validate_request(req: CopyRequest) -> CopyRequest:
    errors: list[tuple[str, str]] = []
    req.requester_name = _clean(req.requester_name, 100)
    req.requester_id_number = re.sub(r"[\s.-]", "", req.requester_id_number).upper()
    req.original_type = _clean(req.original_type, 200)
    req.original_issuer = _clean(req.original_issuer, 250)
    req.original_number = _clean(req.original_number, 60)
    if not req.requester_name:
        errors.append(("requester name is required", "họ tên người yêu cầu là bắt buộc"))
    if not _ID_RE.match(req.requester_id_number):
        errors.append(("requester ID number must be 6-20 letters/digits (CCCD, passport)",
                       "số giấy tờ tùy thân phải gồm 6-20 chữ/số (CCCD, hộ chiếu)"))
    if not req.original_type:
        errors.append(("the original's type is required", "tên loại bản chính là bắt buộc"))
    if not req.original_issuer:
        errors.append(("the original's issuer is required", "cơ quan cấp bản chính là bắt buộc"))
    if not 1 <= req.page_count <= 1000:
        errors.append(("page count of the original must be 1..1000", "số trang bản chính phải từ 1 đến 1000"))
    if not 1 <= req.copies <= 50:
        errors.append(("copies must be 1..50", "số bản sao phải từ 1 đến 50"))
    if req.original_issue_date:
        try:
            issued = date.fromisoformat(req.original_issue_date)
            if issued > utcnow().astimezone(VN).date():
                errors.append(("the original's issue date is in the future", "ngày cấp bản chính ở tương lai"))
        except ValueError:
            errors.append(("the original's issue date must be YYYY-MM-DD", "ngày cấp bản chính phải dạng YYYY-MM-DD"))
    if req.idempotency_key is not None and not 1 <= len(req.idempotency_key) <= 100:
        errors.append(("idempotency key must be 1..100 characters", "khóa chống trùng phải từ 1 đến 100 ký tự"))
    if errors:
        raise BadInput("; ".join(e for e, _ in errors), "; ".join(v for _, v in errors), code="bad_copy_request")
    return req


def _certifier(session: Session, p: Principal, agency_code: str | None) -> tuple[Agency, User]:
    p.require("certifier")
    if agency_code is not None and agency_code != p.agency_code:
        raise Forbidden("you may only certify in your own agency's book",
                        "bạn chỉ được chứng thực vào sổ chứng thực của cơ quan mình", code="other_agency_book")
    agency = session.get(Agency, p.agency_id)
    user = session.get(User, p.user_id)
    assert agency is not None and user is not None
    if agency.kind not in CERTIFYING_KINDS:
        raise Forbidden("only commune People's Committees and notary organisations certify copies",
                        "chỉ Ủy ban nhân dân cấp xã và tổ chức hành nghề công chứng được chứng thực bản sao",
                        code="agency_cannot_certify")
    return agency, user


def _keys_ready(agency: Agency, user: User | None) -> None:
    """Fail before any scan work when a key the act needs is not configured on this node (a node setting, not the
    caller's input: 503, nothing written)."""
    if user is not None and not user.key_ref:
        raise Unavailable(f"{user.full_name} has no signing key on this node",
                          f"{user.full_name} chưa có khóa ký số trên máy chủ này", code="signing_unavailable")
    if not agency.seal_key_ref:
        raise Unavailable(f"{agency.name} has no seal key on this node",
                          f"{agency.name} chưa có khóa con dấu trên máy chủ này", code="signing_unavailable")


def new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalize_code(code: str) -> str:
    raw = re.sub(r"[\s-]", "", code).upper().translate(str.maketrans("ILO", "110"))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else raw


@contextmanager
def staged(uploads: list[Upload], limit: int) -> Iterator[tuple[Path, list[ScanFile]]]:
    """Write uploads to a private temp dir (streamed, hashed, size-limited). Nothing reaches the blob store
    until the act succeeds."""
    with tempfile.TemporaryDirectory(prefix="copies-") as tmp:
        t = Path(tmp)
        files: list[ScanFile] = []
        total = 0
        for i, up in enumerate(uploads):
            path = t / f"upload-{i:04d}"
            h = hashlib.sha256()
            size = 0
            with open(path, "wb") as out:
                while chunk := up.stream.read(CHUNK):
                    size += len(chunk)
                    total += len(chunk)
                    if total > limit:
                        raise TooLarge(f"the scan exceeds {limit} bytes", f"bản quét vượt quá {limit} byte")
                    h.update(chunk)
                    out.write(chunk)
            if size == 0:
                raise BadInput(f"scan file {i + 1} is empty", f"tệp quét thứ {i + 1} rỗng", code="scan_corrupt")
            files.append(ScanFile(path, "", h.hexdigest(), size))
        yield t, files


def _by_key(session: Session, agency_id: int, key: str | None) -> CertifiedCopy | None:
    if not key:
        return None
    return session.execute(select(CertifiedCopy).where(CertifiedCopy.agency_id == agency_id,
                                                       CertifiedCopy.idempotency_key == key)).scalar_one_or_none()


def _replay(existing: CertifiedCopy, action: str) -> CertifiedCopy:
    was = "refuse" if existing.status == "refused" else "certify"
    if was != action:
        raise Conflict("this idempotency key was already used for a different decision",
                       "khóa chống trùng đã được dùng cho một quyết định khác", code="idempotency_key_reused")
    return existing


class _Duplicate(Exception):
    pass


def _book_no(session: Session, agency_id: int, year: int, capacity: int) -> int:
    """The book (quyển) the next entry goes in: the current one, or the next when it holds ``capacity``."""
    last = session.execute(select(func.max(CertifiedCopy.book_no)).where(
        CertifiedCopy.agency_id == agency_id, CertifiedCopy.year == year, CertifiedCopy.book_type == BOOK_TYPE,
        CertifiedCopy.number.is_not(None))).scalar()
    if last is None:
        return 1
    used = session.execute(select(func.count()).select_from(CertifiedCopy).where(
        CertifiedCopy.agency_id == agency_id, CertifiedCopy.year == year, CertifiedCopy.book_type == BOOK_TYPE,
        CertifiedCopy.book_no == last)).scalar_one()
    return int(last) + 1 if used >= capacity else int(last)


def _original_line(req: CopyRequest) -> str:
    parts = [f"Bản chính: {req.original_type}"]
    if req.original_number:
        parts.append(f"số {req.original_number}")
    parts.append(f"do {req.original_issuer} cấp")
    if req.original_issue_date:
        d = date.fromisoformat(req.original_issue_date)
        parts.append(f"ngày {d.day:02d}/{d.month:02d}/{d.year}")
    return ", ".join(parts) + f"; {req.page_count} trang."


def _money(v: int) -> str:
    return f"{v:,}".replace(",", ".")


# ------------------------------------------------------------------------------------------------ certify
def preview_scan(deps: Deps, uploads: list[Upload], out_pdf: Path) -> dict[str, Any]:
    """The scan checks of ``certify`` (same errors) and the scanned pages as one PDF at 100 % (no strip, no
    statement) written to ``out_pdf``, for the certifier to compare with the original before signing. Returns
    the scan parameters (pages, min dpi, colour, warnings)."""
    with staged(uploads, deps.max_upload_bytes) as (tmp, files):
        report = inspect_scan(files, colour=deps.colour, min_dpi=deps.min_dpi)
        shutil.move(pdfbuild.build_scan_pdf(report, tmp, url="", code="", strip=False), out_pdf)
        return report.params()


@dataclass
class _Prepared:
    key: tuple[int, int, date]
    text: pdfbuild.StatementText
    pdf: bytes
    layout: pdfbuild.StatementLayout


def _peek(s: Session, deps: Deps, agency_id: int, when: datetime) -> tuple[int, int, date]:
    """The number and book the next certification will most likely get (read without the lock)."""
    last = s.execute(select(NumberCounter.last_number).where(
        NumberCounter.agency_id == agency_id, NumberCounter.year == when.year,
        NumberCounter.series == BOOK_SERIES)).scalar()
    return (int(last or 0) + 1, _book_no(s, agency_id, when.year, deps.book_capacity), when.date())


def _statement(agency: Agency, user: User, req: CopyRequest, key: tuple[int, int, date], url: str,
               code: str) -> _Prepared:
    number, book_no, day = key
    fee = rules.fee_vnd(req.page_count, req.copies)
    text = pdfbuild.StatementText(
        agency_name=agency.name, agency_place=agency.place, number_text=f"{number:02d}",
        book_text=f"{book_no:02d}/{day.year}-{BOOK_TYPE}", date_digits=rules.date_digits(day),
        date_words=rules.date_words(day), certifier_name=user.full_name,
        certifier_title=user.position or "Người thực hiện chứng thực", original_line=_original_line(req),
        fee_line=f"Phí chứng thực: {_money(fee)} đồng ({req.page_count} trang bản chính, {req.copies} bản sao).")
    pdf, layout = pdfbuild.statement_page(text, url=url, code=code, with_stamp=True)
    return _Prepared(key, text, pdf, layout)


def certify(db: Database, deps: Deps, p: Principal, req: CopyRequest, uploads: list[Upload], *, pin: str,
            seal_pin: str, now: datetime | None = None) -> CertifiedCopy:
    """Certify a scan as a true copy of the original shown. See the module docstring for the order of steps."""
    with db.transaction() as s:
        agency, user = _certifier(s, p, req.agency_code)
        validate_request(req)
        existing = _by_key(s, p.agency_id, req.idempotency_key)
        if existing is not None:
            return _replay(existing, "certify")
        _keys_ready(agency, user)
        guess = _peek(s, deps, agency.id, (now or utcnow()).astimezone(VN))
    ensure_pin_allowed(db, p, ("person", "seal"))  # a locked key is refused before any scan work
    with staged(uploads, deps.max_upload_bytes) as (tmp, files):
        code = new_code()
        url = deps.verify_url(code)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # Python-heavy rendering (strip + statement for the number we expect; re-rendered under the lock if
            # another certification took that number meanwhile) overlaps the C-level image decoding
            pre = pool.submit(_statement, agency, user, req, guess, url, code)
            report = inspect_scan(files, colour=deps.colour, min_dpi=deps.min_dpi)
            prepared = pre.result()
        scan_pdf = pdfbuild.build_scan_pdf(report, tmp, url=url, code=code, stamp=prepared.pdf)
        page_hashes = pdfbuild.page_image_hashes(scan_pdf)
        try:
            with pin_guard(db, deps.ledger, p, deps.pin_policy, act="copy_certify", keys=("person", "seal")), \
                    db.transaction() as s:
                row = _certify_locked(s, deps, p, req, report, tmp, scan_pdf, page_hashes, code, url, pin, seal_pin,
                                      now, prepared)
                return row
        except (_Duplicate, IntegrityError):
            with db.transaction() as s:
                existing = _by_key(s, p.agency_id, req.idempotency_key)
            if existing is None:
                raise
            return _replay(existing, "certify")


def _certify_locked(s: Session, deps: Deps, p: Principal, req: CopyRequest, report: ScanReport, tmp: Path,
                    scan_pdf: Path, page_hashes: list[dict[str, Any]], code: str, url: str, pin: str,
                    seal_pin: str, now: datetime | None, prepared: _Prepared | None = None) -> CertifiedCopy:
    agency, user = _certifier(s, p, req.agency_code)
    when = (now or utcnow()).astimezone(VN)
    number = next_number(s, agency.id, when.year, BOOK_SERIES)  # holds the book's row lock until commit
    if _by_key(s, agency.id, req.idempotency_key) is not None:
        raise _Duplicate()  # a concurrent duplicate committed while we waited for the lock; roll back
    book_no = _book_no(s, agency.id, when.year, deps.book_capacity)
    fee = rules.fee_vnd(req.page_count, req.copies)
    title = user.position or "Người thực hiện chứng thực"
    key = (number, book_no, when.date())
    if prepared is None or prepared.key != key:
        prepared = _statement(agency, user, req, key, url, code)
    text, statement_pdf, layout = prepared.text, prepared.pdf, prepared.layout
    attestation = {
        "attestation_version": "1",
        "kind": "certified_copy_from_original",
        "code": code,
        "verification_url": url,
        "certifying_agency": {"name": agency.name, "code": agency.code, "kind": agency.kind},
        "certifier": {"name": user.full_name, "title": title},
        "certification": {"number": f"{number:02d}", "book_no": f"{book_no:02d}", "year": when.year,
                          "book_type": BOOK_TYPE, "book": text.book_text,
                          "time": when.isoformat(timespec="seconds")},
        "requester": {"name": req.requester_name, "id_number_masked": rules.mask_id(req.requester_id_number)},
        "original": {"type": req.original_type, "issuer": req.original_issuer, "number": req.original_number,
                     "issue_date": req.original_issue_date or None, "page_count": req.page_count},
        "fee": {"vnd": fee, "pages_basis": req.page_count, "copies": req.copies},
        "statement": text.statement,
        "scan": {**report.params(), "scale": "100%"},
        "pages": page_hashes,
        "statement_page": len(page_hashes) + 1,
    }
    final = tmp / "final.pdf"
    pdfa = pdfbuild.finalize(scan_pdf, tmp / "unsigned.pdf", statement=statement_pdf, attestation=attestation,
                             from_images=all(f.kind != "pdf" for f in report.files))
    page = len(page_hashes) + 1
    deps.signing.person(tmp / "unsigned.pdf", tmp / "person.pdf", user=user, pin=pin, page=page,
                        box=layout.person_box)
    deps.signing.seal(tmp / "person.pdf", final, agency=agency, pin=seal_pin, page=page, box=layout.seal_box)
    sha, size = deps.blobs.put_file(final)  # the scans themselves live on inside it (JPEG bytes unchanged)
    params = {**report.params(), "pdfa": pdfa, "statement_page": page}
    row = CertifiedCopy(
        public_id=str(uuid.uuid4()), code=code, agency_id=agency.id, idempotency_key=req.idempotency_key,
        status="certified", book_type=BOOK_TYPE, year=when.year, number=number, book_no=book_no,
        requester_name=req.requester_name, requester_id_number=req.requester_id_number,
        original_type=req.original_type, original_issuer=req.original_issuer, original_number=req.original_number,
        original_issue_date=req.original_issue_date, page_count=req.page_count, copies=req.copies, fee_vnd=fee,
        certifier_user_id=user.id, certifier_name=user.full_name, certifier_title=title, decided_at=when,
        local_date=when.date().isoformat(), scan_sha256=json.dumps([f.sha256 for f in report.files]),
        scan_params=json.dumps(params, ensure_ascii=False), statement=text.statement,
        attestation=json.dumps(attestation, ensure_ascii=False, sort_keys=True), pdf_sha256=sha, pdf_size=size)
    s.add(row)
    s.flush()
    deps.ledger.append(s, actor=p.username, agency_code=agency.code, action="copy_certified",
                       object_type="certified_copy", object_id=code, object_sha256=sha,
                       details={"number": f"{number:02d}", "book": text.book_text, "fee_vnd": fee,
                                "pages": len(page_hashes), "original_pages": req.page_count})
    return row


# ------------------------------------------------------------------------------------------------- refuse
def refuse(db: Database, deps: Deps, p: Principal, req: CopyRequest, *, ground: int | None, reason: str = "",
           now: datetime | None = None) -> CertifiedCopy:
    """Record a refusal on one of the six grounds of Decree 23/2015 Art. 22 and produce the printable note."""
    if ground not in REFUSAL_GROUNDS:
        raise BadInput("a refusal needs one of the six grounds of Decree 23/2015 Art. 22 (ground 1..6)",
                       "từ chối chứng thực phải nêu một trong sáu căn cứ tại Điều 22 Nghị định 23/2015/NĐ-CP "
                       "(căn cứ 1..6)", code="refusal_ground_required")
    reason = " ".join(reason.split())[:2000]
    try:
        with db.transaction() as s:
            return _refuse_tx(s, deps, p, req, ground, reason, now)
    except IntegrityError:
        with db.transaction() as s:
            existing = _by_key(s, p.agency_id, req.idempotency_key)
        if existing is None:
            raise
        return _replay(existing, "refuse")


def _refuse_tx(s: Session, deps: Deps, p: Principal, req: CopyRequest, ground: int, reason: str,
               now: datetime | None) -> CertifiedCopy:
    agency, user = _certifier(s, p, req.agency_code)
    validate_request(req)
    existing = _by_key(s, p.agency_id, req.idempotency_key)
    if existing is not None:
        return _replay(existing, "refuse")
    when = (now or utcnow()).astimezone(VN)
    code = new_code()
    note = refusal_note_pdf(agency, user, req, ground, reason, when)
    note_sha = deps.blobs.put_bytes(note)
    row = CertifiedCopy(
        public_id=str(uuid.uuid4()), code=code, agency_id=agency.id, idempotency_key=req.idempotency_key,
        status="refused", book_type=BOOK_TYPE, year=when.year, requester_name=req.requester_name,
        requester_id_number=req.requester_id_number, original_type=req.original_type,
        original_issuer=req.original_issuer, original_number=req.original_number,
        original_issue_date=req.original_issue_date, page_count=req.page_count, copies=req.copies, fee_vnd=0,
        certifier_user_id=user.id, certifier_name=user.full_name,
        certifier_title=user.position or "Người thực hiện chứng thực", decided_at=when,
        local_date=when.date().isoformat(), refusal_ground=ground, refusal_reason=reason, refusal_note_sha256=note_sha)
    s.add(row)
    s.flush()
    deps.ledger.append(s, actor=p.username, agency_code=agency.code, action="copy_refused",
                       object_type="certified_copy", object_id=code, object_sha256=note_sha,
                       details={"ground": ground, "reason": reason})
    return row


def refusal_note_pdf(agency: Agency, user: User, req: CopyRequest, ground: int, reason: str, when: datetime) -> bytes:
    pdf = pdfbuild._fpdf("mm", "A4", "BI")  # a refusal is rare: the italic font's cost does not matter
    pdf.add_page()
    pdf.set_margins(20, 15, 20)
    pdf.set_xy(20, 15)
    pdf.set_font("LS", "B", 12)
    pdf.multi_cell(80, 6, agency.name.upper(), align="C")
    pdf.set_xy(95, 15)
    pdf.cell(95, 6, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C")
    pdf.set_xy(95, 21)
    pdf.set_font("LS", "B", 13)
    pdf.cell(95, 6, "Độc lập - Tự do - Hạnh phúc", align="C")
    pdf.set_xy(95, 30)
    pdf.set_font("LS", "I", 12)
    pdf.cell(95, 6, f"{agency.place or agency.name}, {rules.date_digits(when.date())}", align="C")
    pdf.set_xy(20, 45)
    pdf.set_font("LS", "B", 14)
    pdf.multi_cell(170, 8, "THÔNG BÁO\nTỪ CHỐI CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH", align="C")
    pdf.set_xy(20, pdf.get_y() + 6)
    pdf.set_font("LS", "", 13)
    vi_ground = REFUSAL_GROUNDS[ground][0]
    body = (f"Người yêu cầu chứng thực: {req.requester_name}; số giấy tờ tùy thân: {req.requester_id_number}.\n"
            f"{_original_line(req)}\n"
            f"Căn cứ khoản {ground} Điều 22 Nghị định số 23/2015/NĐ-CP, {agency.name} từ chối chứng thực bản sao "
            f"từ bản chính nêu trên vì: {vi_ground}.")
    if reason:
        body += f"\nGhi chú của người thực hiện chứng thực: {reason}"
    pdf.multi_cell(170, 7.5, body, align="J")
    pdf.set_xy(105, pdf.get_y() + 12)
    pdf.set_font("LS", "B", 13)
    pdf.multi_cell(85, 6.5, f"NGƯỜI THỰC HIỆN CHỨNG THỰC\n{(user.position or '').upper()}", align="C")
    pdf.set_xy(105, pdf.get_y() + 25)
    pdf.cell(85, 7, user.full_name, align="C")
    return bytes(pdf.output())


# ---------------------------------------------------------------------------------------- read, annul, book
def get_copy(session: Session, p: Principal, public_id_or_code: str) -> CertifiedCopy:
    code = normalize_code(public_id_or_code)
    row = session.execute(select(CertifiedCopy).where(
        (CertifiedCopy.public_id == public_id_or_code) | (CertifiedCopy.code == code))).scalar_one_or_none()
    if row is None or row.agency_id != p.agency_id:
        raise NotFound("certified copy not found", "không tìm thấy bản sao chứng thực", code="copy_not_found")
    return row


def public_lookup(session: Session, code: str) -> CertifiedCopy | None:
    """For the public page: only certified or annulled copies exist there (refusals are not published)."""
    row = session.execute(select(CertifiedCopy).where(CertifiedCopy.code == normalize_code(code))
                          ).scalar_one_or_none()
    return row if row is not None and row.status in ("certified", "annulled") else None


def annul(db: Database, deps: Deps, p: Principal, public_id_or_code: str, reason: str,
          now: datetime | None = None) -> CertifiedCopy:
    """Circular 01/2020 Art. 7: the certifying agency annuls a wrongly certified copy (reason required)."""
    p.require("certifier", "admin")
    reason = " ".join(reason.split())[:2000]
    if len(reason) < 5:
        raise BadInput("a reason for the annulment is required", "phải nêu lý do hủy bỏ", code="annul_reason_required")
    with db.transaction() as s:
        row = get_copy(s, p, public_id_or_code)
        row = s.execute(select(CertifiedCopy).where(CertifiedCopy.id == row.id).with_for_update()).scalar_one()
        if row.status == "annulled":
            raise Conflict(f"this copy was already annulled on {row.annulled_at:%Y-%m-%d}",  # type: ignore[str-format]
                           "bản sao này đã bị hủy bỏ trước đó", code="already_annulled")
        if row.status != "certified":
            raise Conflict("only a certified copy can be annulled", "chỉ hủy bỏ được bản sao đã chứng thực",
                           code="not_certified")
        row.status = "annulled"
        row.annulled_at = (now or utcnow())
        row.annul_reason = reason
        row.annulled_by = p.user_id
        deps.ledger.append(s, actor=p.username, agency_code=p.agency_code, action="copy_annulled",
                           object_type="certified_copy", object_id=row.code, object_sha256=row.pdf_sha256 or "",
                           details={"reason": reason, "number": row.number_text, "book": row.book_text})
        return row


@dataclass
class SearchQuery:
    year: int | None = None
    number: int | None = None
    requester_id: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    status: str | None = None
    limit: int = 200


def search(session: Session, p: Principal, q: SearchQuery) -> list[CertifiedCopy]:
    stmt = select(CertifiedCopy).where(CertifiedCopy.agency_id == p.agency_id)
    if q.year is not None:
        stmt = stmt.where(CertifiedCopy.year == q.year)
    if q.number is not None:
        stmt = stmt.where(CertifiedCopy.number == q.number)
    if q.requester_id:
        stmt = stmt.where(CertifiedCopy.requester_id_number == re.sub(r"[\s.-]", "", q.requester_id).upper())
    for value, op in ((q.date_from, "ge"), (q.date_to, "le")):
        if value:
            try:
                date.fromisoformat(value)
            except ValueError as exc:
                raise BadInput("dates must be YYYY-MM-DD", "ngày phải có dạng YYYY-MM-DD", code="bad_date") from exc
            col = CertifiedCopy.local_date
            stmt = stmt.where(col >= value if op == "ge" else col <= value)
    if q.status:
        stmt = stmt.where(CertifiedCopy.status == q.status)
    return list(session.execute(stmt.order_by(CertifiedCopy.year.desc(), CertifiedCopy.decided_at.desc(),
                                              CertifiedCopy.id.desc()).limit(min(q.limit, 1000))).scalars())


def book_rows(session: Session, agency_id: int, year: int, month: int | None = None) -> list[CertifiedCopy]:
    """Entries of the SCT/BS book in number order (certified and later annulled; refusals are not entries)."""
    stmt = select(CertifiedCopy).where(CertifiedCopy.agency_id == agency_id, CertifiedCopy.year == year,
                                       CertifiedCopy.number.is_not(None))
    if month is not None:
        stmt = stmt.where(CertifiedCopy.local_date.like(f"{year:04d}-{month:02d}-%"))
    return list(session.execute(stmt.order_by(CertifiedCopy.number)).scalars())


BOOK_COLUMNS = (
    ("number_col", "Số chứng thực", 14),
    ("book_col", "Quyển số", 22),
    ("date_col", "Ngày, tháng, năm chứng thực", 20),
    ("requester_col", "Họ tên, số giấy tờ của người yêu cầu chứng thực", 40),
    ("original_col", "Tên bản chính giấy tờ, văn bản (số, cơ quan cấp, ngày cấp)", 62),
    ("pages_col", "Số trang bản chính", 12),
    ("copies_col", "Số bản sao", 10),
    ("certifier_col", "Họ tên, chức danh người ký chứng thực", 34),
    ("fee_col", "Lệ phí (đồng)", 16),
    ("notes_col", "Ghi chú", 34),
)


@dataclass
class BookLine:
    number_col: str
    book_col: str
    date_col: str
    requester_col: str
    original_col: str
    pages_col: int
    copies_col: int
    certifier_col: str
    fee_col: str
    notes_col: str
    extra: dict[str, Any] = field(default_factory=dict)


def book_line(r: CertifiedCopy) -> BookLine:
    d = date.fromisoformat(r.local_date)
    original = ", ".join(x for x in (r.original_type, f"số {r.original_number}" if r.original_number else "",
                                     r.original_issuer, r.original_issue_date) if x)
    notes = f"Mã kiểm tra {r.code}"
    if r.status == "annulled" and r.annulled_at is not None:
        notes += f"; ĐÃ HỦY BỎ ngày {r.annulled_at.astimezone(VN):%d/%m/%Y}: {r.annul_reason}"
    return BookLine(r.number_text or "", r.book_text or "", f"{d.day:02d}/{d.month:02d}/{d.year}",
                    f"{r.requester_name} ({r.requester_id_number})", original, r.page_count, r.copies,
                    f"{r.certifier_name}, {r.certifier_title}", _money(r.fee_vnd), notes)


def book_pdf(agency: Agency, year: int, month: int, rows: list[CertifiedCopy]) -> bytes:
    """Monthly print of the book (Decree 23 Art. 13: printed and bound monthly), all columns."""
    from ..documents.register import to_pdf

    title = f"SỔ CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH ({BOOK_TYPE}) - THÁNG {month:02d}/{year}"
    return to_pdf(title, agency.name, [book_line(r) for r in rows], BOOK_COLUMNS)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ agency copies
def parse_pages(spec: str, count: int) -> list[int]:
    """"1-2,4" -> [1, 2, 4] (1-based, in order, no repeats, within the document)."""
    pages: list[int] = []
    try:
        for part in spec.replace(" ", "").split(","):
            if not part:
                continue
            a, _, b = part.partition("-")
            lo, hi = int(a), int(b or a)
            if lo < 1 or hi < lo:
                raise ValueError
            pages.extend(range(lo, hi + 1))
    except ValueError as exc:
        raise BadInput(f"bad page list {spec!r}; use e.g. 1-2,4", f"danh sách trang {spec!r} không hợp lệ",
                       code="bad_pages") from exc
    if not pages or len(set(pages)) != len(pages) or max(pages) > count:
        raise BadInput(f"pages must be distinct and within 1..{count}",
                       f"các trang phải khác nhau và trong khoảng 1..{count}", code="bad_pages")
    return pages


@dataclass
class AgencyCopyRequest:
    form: str  # SAO Y | SAO LỤC | TRÍCH SAO
    document_id: str | None = None  # public id of an issued document of this agency
    copy_id: str | None = None  # public id of a SAO Y (for SAO LỤC)
    pages: str = ""  # TRÍCH SAO
    description: str = ""


def make_agency_copy(db: Database, deps: Deps, p: Principal, req: AgencyCopyRequest, uploads: list[Upload], *,
                     pin: str, now: datetime | None = None) -> AgencyCopy:
    """Decree 30 Art. 25-27: SAO Y / SAO LỤC / TRÍCH SAO of an issued document, SAO LỤC of a SAO Y, or an
    electronic SAO Y of a paper document (scan, colour, >= 200 dpi), signed with the ``copy`` profile."""
    p.require("clerk")
    if req.form not in COPY_FORMS:
        raise BadInput("form must be SAO Y, SAO LỤC or TRÍCH SAO", "hình thức bản sao phải là SAO Y, SAO LỤC "
                       "hoặc TRÍCH SAO", code="bad_copy_form")
    sources = sum(x is not None and x != "" for x in (req.document_id, req.copy_id)) + (1 if uploads else 0)
    if sources != 1:
        raise BadInput("give exactly one source: an issued document, a SAO Y, or a paper scan",
                       "chỉ chọn một nguồn: văn bản đã ban hành, bản sao y, hoặc bản quét văn bản giấy",
                       code="bad_copy_source")
    if req.form == "SAO LỤC" and not req.copy_id:
        raise BadInput("SAO LỤC is made from a SAO Y", "bản sao lục được thực hiện từ bản sao y",
                       code="bad_copy_source")
    if req.copy_id and req.form != "SAO LỤC":
        raise BadInput("a copy of a copy is a SAO LỤC", "bản sao từ bản sao y là bản sao lục", code="bad_copy_source")
    if uploads and req.form != "SAO Y":
        raise BadInput("a paper document is digitised as SAO Y", "văn bản giấy được số hóa thành bản sao y",
                       code="bad_copy_source")
    if req.form == "TRÍCH SAO" and not req.pages:
        raise BadInput("TRÍCH SAO needs the pages to extract", "trích sao phải nêu các trang trích",
                       code="bad_pages")
    with db.transaction() as s:
        agency = s.get(Agency, p.agency_id)
        assert agency is not None
        _keys_ready(agency, None)
    ensure_pin_allowed(db, p, ("seal",))
    with tempfile.TemporaryDirectory(prefix="agency-copy-") as tmp:
        t = Path(tmp)
        src = t / "source.pdf"
        source_kind = "paper"
        doc_id: int | None = None
        copy_id: int | None = None
        scan_params: dict[str, Any] = {}
        with db.transaction() as s:
            if req.document_id:
                doc = s.execute(select(Document).where(Document.public_id == req.document_id)).scalar_one_or_none()
                if doc is None or doc.agency_id != p.agency_id:
                    raise NotFound("document not found", "không tìm thấy văn bản", code="document_not_found")
                if doc.status != "issued" or doc.issued_sha256 is None:
                    raise Conflict("only issued documents can be copied", "chỉ sao văn bản đã ban hành",
                                   code="not_issued")
                source_kind, doc_id, source_sha = "document", doc.id, doc.issued_sha256
            elif req.copy_id:
                base = s.execute(select(AgencyCopy).where(AgencyCopy.public_id == req.copy_id)).scalar_one_or_none()
                if base is None or base.agency_id != p.agency_id:
                    raise NotFound("copy not found", "không tìm thấy bản sao", code="copy_not_found")
                if base.form != "SAO Y":
                    raise BadInput("SAO LỤC is made from a SAO Y", "bản sao lục được thực hiện từ bản sao y",
                                   code="bad_copy_source")
                source_kind, copy_id, source_sha = "copy", base.id, base.pdf_sha256
        if source_kind != "paper":
            with deps.blobs.open(source_sha) as fh, open(src, "wb") as out:
                shutil.copyfileobj(fh, out)
            scan_sha_list: list[str] = []
        else:
            with staged(uploads, deps.max_upload_bytes) as (st, files):
                report = inspect_scan(files, colour=deps.colour, min_dpi=deps.min_dpi)
                shutil.move(pdfbuild.build_scan_pdf(report, st, url="", code="", strip=False), src)
                scan_params = report.params()
                scan_sha_list = [f.sha256 for f in report.files]
            source_sha = pdfbuild.sha256_file(src)[0]
        if req.form == "TRÍCH SAO":
            import pikepdf

            with pikepdf.open(src) as whole:
                wanted = parse_pages(req.pages, len(whole.pages))
                # the source's signatures do not survive extraction: their visible appearances (signature image,
                # seal) become page content, and the fields go, so no orphan signature widget is left
                whole.flatten_annotations("all")
                extract = pikepdf.Pdf.new()
                for n in wanted:
                    extract.pages.append(whole.pages[n - 1])
                extract.save(t / "extract.pdf")
            src = t / "extract.pdf"
        with pin_guard(db, deps.ledger, p, deps.pin_policy, act="agency_copy", keys=("seal",)), \
                db.transaction() as s:
            agency = s.get(Agency, p.agency_id)
            assert agency is not None
            when = (now or utcnow()).astimezone(VN)
            number = next_number(s, agency.id, when.year, AGENCY_COPY_SERIES)
            dst = t / "copy.pdf"
            deps.signing.copy(src, dst, agency=agency, pin=pin, form=req.form)
            sha, _ = deps.blobs.put_file(dst)
            row = AgencyCopy(public_id=str(uuid.uuid4()), agency_id=agency.id, year=when.year, number=number,
                             form=req.form, source_kind=source_kind, source_document_id=doc_id,
                             source_copy_id=copy_id, source_sha256=source_sha, pages=req.pages,
                             description=_clean(req.description, 500),
                             scan_params=json.dumps({**scan_params, "scan_sha256": scan_sha_list},
                                                    ensure_ascii=False),
                             pdf_sha256=sha, created_by=p.user_id, created_at=when)
            s.add(row)
            s.flush()
            deps.ledger.append(s, actor=p.username, agency_code=agency.code, action="agency_copy_made",
                               object_type="agency_copy", object_id=row.public_id, object_sha256=sha,
                               details={"number": row.number_text, "form": req.form, "source": source_kind,
                                        "source_sha256": source_sha, "pages": req.pages})
            return row


def get_agency_copy(session: Session, p: Principal, public_id: str) -> AgencyCopy:
    row = session.execute(select(AgencyCopy).where(AgencyCopy.public_id == public_id)).scalar_one_or_none()
    if row is None or row.agency_id != p.agency_id:
        raise NotFound("copy not found", "không tìm thấy bản sao", code="copy_not_found")
    return row


def list_agency_copies(session: Session, p: Principal, year: int | None = None) -> list[AgencyCopy]:
    stmt = select(AgencyCopy).where(AgencyCopy.agency_id == p.agency_id)
    if year is not None:
        stmt = stmt.where(AgencyCopy.year == year)
    return list(session.execute(stmt.order_by(AgencyCopy.year.desc(), AgencyCopy.number.desc()).limit(500)).scalars())
