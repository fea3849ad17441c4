"""Hub domain logic: directory, credentials, request authentication, mailboxes. No Flask here.

Every state change happens in one database transaction (``Database.transaction``). Package bytes live in a
content-addressed ``BlobStore``; rows keep only hashes."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from cryptography import x509
from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from docexchange.axis.hub import signing
from docexchange.axis.hub.header import PackageHeader, read_header
from docexchange.axis.hub.models import (
    ACKED,
    DONE,
    DOWNLOADED,
    FAIL,
    PENDING,
    PROGRESS,
    HubAgency,
    HubAlert,
    HubDelivery,
    HubDeliveryEvent,
    HubNonce,
    HubPackage,
    HubSystem,
)
from docexchange.axis.hub.settings import HubSettings
from docexchange.axis.protocol import DEFAULT_SCHEME, SCHEMES
from docexchange.axis.protocol import vdxp as vdxp_protocol
from docexchange.blobstore import BlobStore, BlobTooLarge
from docexchange.db import Database, utcnow
from docexchange.errors import BadInput, Conflict, DomainError, Forbidden, NotFound, TooLarge, Unauthorized

LEGACY_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
DECISION20_CODE = re.compile(r"^[A-Y]\d{2}(\.[0-9A-Z]+)*$")
SYSTEM_ID = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
MESSAGE_TYPES = ("edoc", "status")
EDOC_KINDS = vdxp_protocol.EDOC_KINDS  # newer VDXP message types: an edoc of one BussinessDocType
MAX_DOCUMENT_ID = 500


def code_format(code: str) -> str:
    """``legacy`` (QCVN 102:2016, 13 chars) or ``decision20`` (QĐ 20/2020, ≤ 35 chars); else BadInput."""
    if LEGACY_CODE.match(code):
        return "legacy"
    if len(code) <= 35 and DECISION20_CODE.match(code):
        return "decision20"
    raise BadInput(
        f"Bad agency code: {code!r} is neither DDD.DD.DD.MDD nor the Decision 20/2020 format",
        f"Mã định danh không hợp lệ: {code!r} không theo dạng DDD.DD.DD.MDD hay Quyết định 20/2020",
        code="bad_agency_code",
    )


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def parse_time(value: object, name: str) -> datetime | None:
    """ISO 8601 date or datetime (naive = UTC); None for empty."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise BadInput(
            f"Bad {name}: expected an ISO 8601 date or time",
            f"{name} không hợp lệ: cần ngày/giờ ISO 8601",
            code="bad_date",
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Caller:
    """The authenticated agency system of one request."""

    system_id: str
    agency_id: int
    agency_code: str


@dataclass(frozen=True)
class SendResult:
    doc_id: str
    duplicate: bool
    recipients: int


@dataclass(frozen=True)
class EdocFile:
    doc_id: str
    path: Path
    sha256: str
    length: int


def _unauthorized(code: str, en: str, vi: str) -> Unauthorized:
    return Unauthorized(en, vi, code=code)


class HubService:
    def __init__(
        self, db: Database, blobs: BlobStore, settings: HubSettings, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.clock = clock

    # ------------------------------------------------------------------ directory and credentials
    def register_agency(
        self, code: str, name: str, parent_code: str | None = None, seal_cert_pem: str | None = None
    ) -> dict[str, Any]:
        """Create or update an agency (re-registering reactivates it)."""
        fmt = code_format(code)
        if parent_code:
            code_format(parent_code)
        if not name.strip():
            raise BadInput("Agency name is empty", "Tên cơ quan trống", code="bad_agency_name")
        if seal_cert_pem:
            try:
                x509.load_pem_x509_certificate(seal_cert_pem.encode())
            except ValueError as exc:
                raise BadInput(
                    "Seal certificate is not a PEM X.509 certificate",
                    "Chứng thư số con dấu không phải PEM X.509",
                    code="bad_certificate",
                ) from exc
        now = self.clock()
        with self.db.transaction() as s:
            agency = s.scalar(select(HubAgency).where(HubAgency.code == code))
            if agency is None:
                agency = HubAgency(code=code, code_format=fmt, created_at=now)
                s.add(agency)
            agency.name = name.strip()
            agency.parent_code = parent_code or None
            if seal_cert_pem:
                agency.seal_cert_pem = seal_cert_pem
            agency.active = True
            agency.updated_at = now
            s.flush()
            return self._agency_dict(agency)

    def delete_agency(self, code: str) -> None:
        """Deactivate (never delete: its mail and history are kept)."""
        with self.db.transaction() as s:
            agency = s.scalar(select(HubAgency).where(HubAgency.code == code))
            if agency is None:
                raise NotFound(f"Unknown agency {code}", f"Không có cơ quan {code}", code="unknown_agency")
            agency.active = False
            agency.updated_at = self.clock()

    def list_agencies(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Active agencies; with ``since``, every agency changed after it (inactive ones included: sync)."""
        with self.db.sessions() as s:
            q = select(HubAgency).order_by(HubAgency.code)
            q = q.where(HubAgency.updated_at > since) if since else q.where(HubAgency.active.is_(True))
            return [self._agency_dict(a) for a in s.scalars(q)]

    @staticmethod
    def _agency_dict(a: HubAgency) -> dict[str, Any]:
        return {
            "id": str(a.id),
            "code": a.code,
            "codeFormat": a.code_format,
            "name": a.name,
            "parentCode": a.parent_code,
            "sealCertificatePem": a.seal_cert_pem,
            "active": a.active,
            "updatedTime": iso(a.updated_at),
        }

    def issue_credentials(
        self,
        agency_code: str,
        system_id: str | None = None,
        expires_at: datetime | None = None,
        scheme: str = DEFAULT_SCHEME,
    ) -> tuple[str, str]:
        """New systemId + secret for an agency, usable with one wire scheme only (``dxhub1``, docexchange's own,
        or ``vdxp``, the VNPT SDK's). The secret is shown once; the hub keeps it to check HMACs. A ``vdxp``
        credential defaults to the agency code as systemId, as on the national axis, when that id is free."""
        if scheme not in SCHEMES:
            raise BadInput(
                f"Unknown scheme {scheme!r} (expected {' or '.join(SCHEMES)})",
                f"Phương thức xác thực {scheme!r} không hợp lệ (cần {' hoặc '.join(SCHEMES)})",
                code="bad_scheme",
            )
        if system_id is None and scheme == "vdxp":
            with self.db.sessions() as s:
                if s.scalar(select(HubSystem.id).where(HubSystem.system_id == agency_code)) is None:
                    system_id = agency_code
        system_id = system_id or f"SYS-{secrets.token_hex(6).upper()}"
        if not SYSTEM_ID.match(system_id):
            raise BadInput("Bad systemId", "systemId không hợp lệ", code="bad_system_id")
        secret = secrets.token_urlsafe(32)
        with self.db.transaction() as s:
            agency = s.scalar(select(HubAgency).where(HubAgency.code == agency_code))
            if agency is None:
                raise NotFound(
                    f"Unknown agency {agency_code}", f"Không có cơ quan {agency_code}", code="unknown_agency"
                )
            if s.scalar(select(HubSystem.id).where(HubSystem.system_id == system_id)):
                raise Conflict(
                    f"systemId {system_id} exists", f"systemId {system_id} đã tồn tại", code="system_exists"
                )
            s.add(
                HubSystem(
                    system_id=system_id,
                    agency_id=agency.id,
                    secret=secret,
                    scheme=scheme,
                    expires_at=expires_at,
                    created_at=self.clock(),
                )
            )
        return system_id, secret

    def set_credentials(
        self, system_id: str, *, disabled: bool | None = None, expires_at: datetime | None = None
    ) -> None:
        with self.db.transaction() as s:
            system = s.scalar(select(HubSystem).where(HubSystem.system_id == system_id))
            if system is None:
                raise NotFound(
                    f"Unknown systemId {system_id}", f"Không có systemId {system_id}", code="unknown_system"
                )
            if disabled is not None:
                system.disabled = disabled
            if expires_at is not None:
                system.expires_at = expires_at

    # ------------------------------------------------------------------ authentication
    def authenticate(self, *, method: str, path: str, query: str, headers: dict[str, str]) -> Caller:
        """Check the signed headers (not yet the body hash: see ``check_body``) and burn the nonce."""
        system_id = headers.get(signing.H_SYSTEM, "")
        ts_raw = headers.get(signing.H_TIMESTAMP, "")
        nonce = headers.get(signing.H_NONCE, "")
        body_sha = headers.get(signing.H_CONTENT_SHA256, "").lower()
        signature = headers.get(signing.H_SIGNATURE, "")
        if not (system_id and ts_raw and nonce and body_sha and signature):
            raise _unauthorized(
                "auth_missing", "Missing signature headers", "Thiếu các trường xác thực (chữ ký HMAC)"
            )
        if not ts_raw.isdigit() or not signing.NONCE_RE.match(nonce) or not signing.SHA_RE.match(body_sha):
            raise _unauthorized(
                "auth_malformed", "Malformed signature headers", "Các trường xác thực sai định dạng"
            )
        now = self.clock()
        skew = abs(now.timestamp() - int(ts_raw))
        if skew > self.settings.clock_skew_seconds:
            # The hub's own time goes back in the body (as AWS does) so a client with a wrong clock can correct
            # its timestamps and retry; replay protection is unaffected (window and nonces stay as they are).
            raise Unauthorized(
                f"Stale request: timestamp differs from hub time by {int(skew)} s "
                f"(allowed ±{self.settings.clock_skew_seconds} s)",
                f"Yêu cầu quá hạn: thời gian lệch {int(skew)} giây so với trục "
                f"(cho phép ±{self.settings.clock_skew_seconds} giây)",
                code="stale_request",
                hub_time=now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                hub_epoch=int(now.timestamp()),
                allowed_skew_seconds=self.settings.clock_skew_seconds,
            )
        with self.db.sessions() as s:
            row = s.execute(
                select(HubSystem, HubAgency)
                .join(HubAgency, HubSystem.agency_id == HubAgency.id)
                .where(HubSystem.system_id == system_id)
            ).first()
        if row is None or row[0].scheme != "dxhub1" or not signing.verify(
            row[0].secret, signature, method, path, query, system_id, int(ts_raw), nonce, body_sha
        ):
            raise _unauthorized(
                "bad_signature",
                "Bad signature or unknown systemId",
                "Chữ ký không đúng hoặc systemId không tồn tại",
            )
        system, agency = row
        self._check_usable(system, agency, now)
        try:
            with self.db.transaction() as s:
                s.add(HubNonce(system_id=system_id, nonce=nonce, seen_at=now))
        except IntegrityError as exc:
            raise _unauthorized(
                "replayed_request",
                "Replayed request (nonce already used)",
                "Yêu cầu bị lặp lại (nonce đã dùng)",
            ) from exc
        return Caller(system_id, agency.id, agency.code)

    def authenticate_vdxp(
        self, system_header: str, sign_header: str, hash_header: str
    ) -> tuple[Caller, dict[str, str]]:
        """The VDXP SDK's scheme (domain-vn.md §6.2; docs/hub.md "VDXP face"): HMAC-SHA256(secret, the JSON of
        the signed headers). Returns the caller and the signed parameters: only those count, an unsigned
        ``XroadVnpt-*`` header is ignored. There is no nonce: the timestamp window bounds replays of reads, and
        ``sendEdoc`` replays are absorbed by the permanent dedup."""
        if not (sign_header and hash_header):
            raise _unauthorized(
                "auth_missing", "Missing XroadVnpt signature headers", "Thiếu các trường xác thực XroadVnpt"
            )
        try:
            params = vdxp_protocol.signed_params(sign_header)
        except vdxp_protocol.VdxpFormatError as exc:
            raise _unauthorized("auth_malformed", f"Malformed signature headers: {exc}",
                                "Các trường xác thực sai định dạng") from exc
        system_id = params.get("systemid", "")
        if not system_id or (system_header and system_header != system_id):
            raise _unauthorized("auth_malformed", "systemid is missing or differs from the signed one",
                                "systemid thiếu hoặc khác với giá trị đã ký")
        now = self.clock()
        try:
            stamped = vdxp_protocol.parse_timestamp(params.get("timestamp", ""), self.settings.vdxp_timezone)
        except vdxp_protocol.VdxpFormatError as exc:
            raise _unauthorized("auth_malformed", f"Malformed signature headers: {exc}",
                                "Thời điểm ký (timestamp) sai định dạng") from exc
        age = now.timestamp() - stamped.timestamp()
        max_age = self.settings.vdxp_max_age_seconds
        if -age > self.settings.clock_skew_seconds or (max_age > 0 and age > max_age):
            raise Unauthorized(
                f"Stale request: timestamp differs from hub time by {int(abs(age))} s (allowed "
                f"{self.settings.clock_skew_seconds} s ahead, {max_age or 'any'} s behind; the VDXP SDK stamps "
                "the time when its service object is built: build one per polling pass)",
                f"Yêu cầu quá hạn: thời gian lệch {int(abs(age))} giây so với trục (SDK ghi thời điểm khi khởi "
                "tạo đối tượng dịch vụ: hãy khởi tạo lại cho mỗi lượt)",
                code="stale_request",
                hub_time=now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                hub_epoch=int(now.timestamp()),
                allowed_skew_seconds=self.settings.clock_skew_seconds,
            )
        with self.db.sessions() as s:
            row = s.execute(
                select(HubSystem, HubAgency)
                .join(HubAgency, HubSystem.agency_id == HubAgency.id)
                .where(HubSystem.system_id == system_id)
            ).first()
        if (
            row is None
            or row[0].scheme != "vdxp"
            or not vdxp_protocol.hash_header_matches(row[0].secret, sign_header, hash_header)
        ):
            raise _unauthorized(
                "bad_signature",
                "Bad signature or unknown systemId",
                "Chữ ký không đúng hoặc systemId không tồn tại",
            )
        system, agency = row
        self._check_usable(system, agency, now)
        return Caller(system_id, agency.id, agency.code), params

    @staticmethod
    def _check_usable(system: HubSystem, agency: HubAgency, now: datetime) -> None:
        if system.disabled:
            raise _unauthorized(
                "credentials_disabled",
                "System credentials disabled",
                "Thông tin kết nối của hệ thống đã bị vô hiệu hóa",
            )
        if system.expires_at and system.expires_at <= now:
            raise _unauthorized(
                "credentials_expired",
                "System credentials expired",
                "Thông tin kết nối của hệ thống đã hết hạn",
            )
        if not agency.active:
            raise _unauthorized(
                "agency_inactive", "Agency is not active on the axis", "Cơ quan không còn hoạt động trên trục"
            )

    @staticmethod
    def check_body(headers: dict[str, str], actual_sha256: str) -> None:
        if headers.get(signing.H_CONTENT_SHA256, "").lower() != actual_sha256:
            raise _unauthorized(
                "body_hash_mismatch",
                "Request body does not match the signed hash",
                "Nội dung yêu cầu không khớp với giá trị băm đã ký",
            )

    # ------------------------------------------------------------------ mailboxes
    def send(self, caller: Caller, stream: BinaryIO, declared_type: str | None = None) -> SendResult:
        """Accept one package from a seekable stream: route, store the bytes, then one transaction."""
        header = read_header(stream)
        if declared_type and declared_type != header.message_type:
            raise BadInput(
                f"messagetype {declared_type} does not match the package ({header.message_type})",
                f"messagetype {declared_type} không khớp với gói tin ({header.message_type})",
                code="message_type_mismatch",
            )
        if header.from_organ != caller.agency_code:
            raise Forbidden(
                f"Package From/OrganId {header.from_organ} is not your agency {caller.agency_code}",
                f"From/OrganId {header.from_organ} không phải cơ quan của bạn {caller.agency_code}",
                code="sender_mismatch",
            )
        if len(header.document_id) > MAX_DOCUMENT_ID:
            raise BadInput("DocumentId too long", "DocumentId quá dài", code="bad_package")
        with self.db.sessions() as s:
            self._recipients(s, header.to_organs)  # fail before storing anything
        stream.seek(0)
        try:
            sha, length = self.blobs.put_stream(stream)
        except BlobTooLarge as exc:
            raise TooLarge(
                f"Package larger than {self.settings.max_package_bytes} bytes",
                f"Gói tin lớn hơn {self.settings.max_package_bytes} byte",
                code="too_large",
            ) from exc
        key = _dedup_key(header)
        for attempt in range(3):
            try:
                result = self._store(caller, header, key, sha, length)
            except IntegrityError:
                if attempt == 2:
                    raise
                continue  # a concurrent identical send won the race; the next round sees its row
            if isinstance(result, DomainError):
                raise result
            return result
        raise AssertionError("unreachable")

    def _recipients(self, s: Session, codes: Sequence[str]) -> list[HubAgency]:
        found = list(
            s.scalars(select(HubAgency).where(HubAgency.code.in_(codes), HubAgency.active.is_(True)))
        )
        unknown = sorted(set(codes) - {a.code for a in found})
        if unknown:
            raise BadInput(
                f"Unknown recipient: {', '.join(unknown)}",
                f"Không có cơ quan nhận trên trục: {', '.join(unknown)}",
                code="unknown_recipient",
                unknown=unknown,
            )
        return found

    def _store(
        self, caller: Caller, header: PackageHeader, key: str, sha: str, length: int
    ) -> SendResult | DomainError:
        now = self.clock()
        with self.db.transaction() as s:
            existing = s.scalar(
                select(HubPackage).where(
                    HubPackage.sender_id == caller.agency_id, HubPackage.dedup_key == key
                )
            )
            if existing is not None:
                if existing.content_sha256 == sha:
                    n = s.scalar(select(func.count()).where(HubDelivery.package_id == existing.id)) or 0
                    return SendResult(existing.doc_id, True, n)
                s.add(
                    HubAlert(
                        kind="document_id_conflict",
                        agency_code=caller.agency_code,
                        document_id=header.document_id,
                        existing_doc_id=existing.doc_id,
                        content_sha256=sha,
                        created_at=now,
                        detail=f"{caller.agency_code} sent {header.message_type} DocumentId "
                        f"{header.document_id!r} again with different content "
                        f"({sha} vs {existing.content_sha256}, first as {existing.doc_id})",
                    )
                )
                return Conflict(
                    f"DocumentId {header.document_id} was already sent with different content "
                    f"(as {existing.doc_id})",
                    f"DocumentId {header.document_id} đã được gửi với nội dung khác (mã {existing.doc_id})",
                    code="document_id_conflict",
                    existingDocId=existing.doc_id,
                )
            recipients = self._recipients(s, header.to_organs)
            package = HubPackage(
                doc_id=str(uuid.uuid4()),
                sender_id=caller.agency_id,
                message_type=header.message_type,
                dedup_key=key,
                document_id=header.document_id,
                business_doc_type=header.business_doc_type,
                status_code=header.status_code,
                title=(header.subject or "")[:500] or None,
                notation="/".join(x for x in (header.code_number, header.code_notation) if x)[:50] or None,
                content_sha256=sha,
                content_length=length,
                created_at=now,
            )
            s.add(package)
            s.flush()
            deliveries = [
                HubDelivery(
                    package_id=package.id, recipient_id=r.id, state=PENDING, created_at=now, updated_at=now
                )
                for r in recipients
            ]
            s.add_all(deliveries)
            s.flush()
            s.add_all(
                [
                    HubDeliveryEvent(delivery_id=d.id, state=PENDING, detail="stored", at=now)
                    for d in deliveries
                ]
            )
            return SendResult(package.doc_id, False, len(deliveries))

    def received_list(
        self,
        caller: Caller,
        message_type: str,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Unacknowledged mail of the caller's agency, oldest first. ``message_type`` ``edoc`` lists every edoc
        (new, revocation, update, replacement: SDK 2.0 knows only edoc and status); ``revocation``, ``update``
        and ``replacement`` list the edocs of that BussinessDocType only."""
        if message_type not in MESSAGE_TYPES and message_type not in EDOC_KINDS:
            raise BadInput(
                "messagetype must be edoc, status, replacement, revocation or update",
                "messagetype phải là edoc, status, replacement, revocation hoặc update",
                code="bad_message_type",
            )
        kind = EDOC_KINDS.get(message_type)
        limit = min(limit or self.settings.max_list, self.settings.max_list)
        sender = HubAgency.__table__.alias("sender")
        q = (
            select(HubDelivery, HubPackage, sender.c.code)
            .join(HubPackage, HubDelivery.package_id == HubPackage.id)
            .join(sender, sender.c.id == HubPackage.sender_id)
            .where(
                HubDelivery.recipient_id == caller.agency_id,
                HubDelivery.state.in_((PENDING, DOWNLOADED)),
                HubPackage.message_type == ("edoc" if kind is not None else message_type),
            )
            .order_by(HubDelivery.id)
            .limit(limit)
        )
        if kind is not None:
            q = q.where(HubPackage.business_doc_type == kind)
        if from_date:
            q = q.where(HubPackage.created_at >= from_date)
        if to_date:
            q = q.where(HubPackage.created_at <= to_date)
        with self.db.sessions() as s:
            return [
                {
                    "docId": p.doc_id,
                    "serviceType": "eDoc",
                    "messageType": p.message_type,
                    "created_time": iso(p.created_at),
                    "updated_time": iso(d.updated_at),
                    "from": sender_code,
                    "to": caller.agency_code,
                    "documentId": p.document_id,
                    "status": d.state,
                    "status_desc": d.state_desc,
                    "businessDocType": p.business_doc_type,
                    "contentSha256": p.content_sha256,
                    "contentLength": p.content_length,
                    "versionSdk": "docexchange-hub/1",
                }
                for d, p, sender_code in s.execute(q)
            ]

    def _delivery(self, s: Session, caller: Caller, doc_id: str) -> tuple[HubDelivery, HubPackage]:
        row = s.execute(
            select(HubDelivery, HubPackage)
            .join(HubPackage, HubDelivery.package_id == HubPackage.id)
            .where(HubPackage.doc_id == doc_id, HubDelivery.recipient_id == caller.agency_id)
        ).first()
        if row is None:  # also when the package exists but is addressed to someone else: nothing leaked
            raise NotFound(
                f"No package {doc_id} in your mailbox",
                f"Không có gói tin {doc_id} trong hộp thư",
                code="no_such_package",
            )
        return row[0], row[1]

    def open_edoc(self, caller: Caller, doc_id: str) -> EdocFile:
        """Locate the bytes for the recipient and record the first download."""
        now = self.clock()
        with self.db.transaction() as s:
            delivery, package = self._delivery(s, caller, doc_id)
            if package.purged_at is not None:
                raise NotFound(
                    f"Package {doc_id} was purged after its retention period",
                    f"Gói tin {doc_id} đã bị xóa sau thời hạn lưu giữ",
                    code="purged",
                )
            if delivery.state == PENDING:
                delivery.state = DOWNLOADED
                delivery.downloaded_at = now
                delivery.updated_at = now
                s.add(HubDeliveryEvent(delivery_id=delivery.id, state=DOWNLOADED, at=now))
            sha, length = package.content_sha256, package.content_length
        return EdocFile(doc_id, self.blobs.path_for(sha), sha, length)

    def update_status(self, caller: Caller, doc_id: str, status: str, desc: str | None = None) -> str:
        """Recipient acknowledgement: ``done`` / ``fail`` are final; ``inbox``, ``acceptance``, ``rejection``,
        ``processing`` (newer VDXP SDKs) record progress and may be followed by others. Any of them takes the
        package out of the received list. Repeating the current value is a no-op."""
        if status not in (DONE, FAIL, *PROGRESS):
            raise BadInput(
                "status must be done, fail, inbox, acceptance, rejection or processing",
                "status phải là done, fail, inbox, acceptance, rejection hoặc processing",
                code="bad_status",
            )
        now = self.clock()
        with self.db.transaction() as s:
            delivery, _ = self._delivery(s, caller, doc_id)
            if delivery.state == status:
                return status
            if delivery.state in ACKED:
                raise Conflict(
                    f"Package {doc_id} already acknowledged as {delivery.state}",
                    f"Gói tin {doc_id} đã được xác nhận là {delivery.state}",
                    code="already_acked",
                )
            delivery.state = status
            delivery.state_desc = (desc or "")[:1000] or None
            delivery.acked_at = delivery.acked_at if status in PROGRESS and delivery.acked_at else now
            delivery.updated_at = now
            s.add(HubDeliveryEvent(delivery_id=delivery.id, state=status, detail=delivery.state_desc, at=now))
        return status

    def sent_list(
        self,
        caller: Caller,
        doc_id: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Per-recipient delivery report of the caller's packages (oldest first, or the newest first)."""
        limit = min(limit or self.settings.max_list, self.settings.max_list)
        rcpt = HubAgency.__table__.alias("rcpt")
        q = (
            select(HubDelivery, HubPackage, rcpt.c.code)
            .join(HubPackage, HubDelivery.package_id == HubPackage.id)
            .join(rcpt, rcpt.c.id == HubDelivery.recipient_id)
            .where(HubPackage.sender_id == caller.agency_id)
            .order_by(HubDelivery.id.desc() if newest_first else HubDelivery.id)
            .limit(limit)
        )
        if doc_id:
            q = q.where(HubPackage.doc_id == doc_id)
        if from_date:
            q = q.where(HubPackage.created_at >= from_date)
        if to_date:
            q = q.where(HubPackage.created_at <= to_date)
        with self.db.sessions() as s:
            return [
                {
                    "senderDocId": p.doc_id,
                    "receiverDocId": p.doc_id,
                    "documentId": p.document_id,
                    "messageType": p.message_type,
                    "to": code,
                    "toCode": code,
                    "fromCode": caller.agency_code,
                    "serviceType": "eDoc",
                    "title": p.title,
                    "notation": p.notation,
                    "sentTime": iso(p.created_at),
                    "receivedTime": iso(d.downloaded_at),
                    "ackTime": iso(d.acked_at),
                    "sendStatus": "OK",
                    "sendStatusDesc": "stored at the hub",
                    "receiveStatus": d.state,
                    "receiveStatusDesc": d.state_desc,
                    "contentSha256": p.content_sha256,
                }
                for d, p, code in s.execute(q)
            ]

    def history(self, doc_id: str) -> list[dict[str, Any]]:
        """Operator view: the state history of every delivery of one package."""
        with self.db.sessions() as s:
            q = (
                select(HubDeliveryEvent, HubAgency.code)
                .join(HubDelivery, HubDelivery.id == HubDeliveryEvent.delivery_id)
                .join(HubPackage, HubDelivery.package_id == HubPackage.id)
                .join(HubAgency, HubAgency.id == HubDelivery.recipient_id)
                .where(HubPackage.doc_id == doc_id)
                .order_by(HubDeliveryEvent.id)
            )
            return [
                {"to": code, "state": e.state, "detail": e.detail, "at": iso(e.at)}
                for e, code in s.execute(q)
            ]

    def list_alerts(self, after_id: int = 0) -> list[dict[str, Any]]:
        with self.db.sessions() as s:
            return [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "agency": a.agency_code,
                    "documentId": a.document_id,
                    "existingDocId": a.existing_doc_id,
                    "contentSha256": a.content_sha256,
                    "detail": a.detail,
                    "createdTime": iso(a.created_at),
                }
                for a in s.scalars(select(HubAlert).where(HubAlert.id > after_id).order_by(HubAlert.id))
            ]

    # ------------------------------------------------------------------ retention
    def purge(self, now: datetime | None = None) -> int:
        """Drop the bytes of packages whose every delivery was acknowledged more than ``retention_days``
        ago (and that are themselves older than that). Rows stay for dedup and the delivery report."""
        now = now or self.clock()
        cutoff = now - timedelta(days=self.settings.retention_days)
        unacked_or_recent = exists().where(
            HubDelivery.package_id == HubPackage.id,
            (HubDelivery.acked_at.is_(None)) | (HubDelivery.acked_at > cutoff),
        )
        with self.db.transaction() as s:
            victims = list(
                s.scalars(
                    select(HubPackage).where(
                        HubPackage.purged_at.is_(None), HubPackage.created_at <= cutoff, ~unacked_or_recent
                    )
                )
            )
            for p in victims:
                p.purged_at = now
            s.flush()
            hashes = {p.content_sha256 for p in victims}
            still_needed = (
                set(
                    s.scalars(
                        select(HubPackage.content_sha256).where(
                            HubPackage.content_sha256.in_(hashes), HubPackage.purged_at.is_(None)
                        )
                    )
                )
                if hashes
                else set()
            )
            s.execute(
                delete(HubNonce).where(
                    HubNonce.seen_at < now - timedelta(seconds=4 * self.settings.clock_skew_seconds)
                )
            )
        for sha in hashes - still_needed:
            try:
                os.unlink(self.blobs.path_for(sha))
            except FileNotFoundError:
                pass
        return len(victims)

    def counts(self) -> dict[str, int]:
        with self.db.sessions() as s:
            return {
                "packages": s.scalar(select(func.count(HubPackage.id))) or 0,
                "deliveries": s.scalar(select(func.count(HubDelivery.id))) or 0,
            }


def _dedup_key(h: PackageHeader) -> str:
    """Permanent dedup key per sender. edoc: business type + DocumentId (an update of a document is a new
    package); status: the answered DocumentId + StatusCode + Timestamp."""
    if h.is_status:
        raw = f"status|{h.document_id}|{h.status_code}|{h.status_timestamp or ''}"
    else:
        raw = f"edoc|{h.business_doc_type or 0}|{h.document_id}"
    return raw if len(raw) <= 560 else "sha256:" + hashlib.sha256(raw.encode()).hexdigest()


__all__ = ["Caller", "EdocFile", "HubService", "SendResult", "code_format", "parse_time"]
