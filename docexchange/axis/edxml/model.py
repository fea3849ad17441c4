"""Typed messages the codec builds from and parses into (QCVN 102:2016 edXML)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
WRONG_NAMESPACE = "http://www.go.vn/eDoc"

BUSINESS_DOC_TYPE = {0: "new", 1: "revoke", 2: "update", 3: "replace"}
STATUS_CODE = {
    "01": "arrived",
    "02": "rejected",
    "03": "accepted_registered",
    "04": "assigned",
    "05": "processing",
    "06": "completed",
    "13": "recall_requested",
    "15": "recall_or_update_accepted",
    "16": "recall_or_update_refused",
}


@dataclass
class Organ:
    """``From`` / ``To`` of a MessageHeader."""

    organ_id: str
    organ_name: str | None = None
    organization_in_charge: str | None = None
    address: str | None = None
    email: str | None = None
    telephone: str | None = None
    fax: str | None = None
    website: str | None = None


@dataclass
class StaffInfo:
    department: str | None = None
    staff: str | None = None
    email: str | None = None
    mobile: str | None = None


@dataclass
class ResponseFor:
    organ_id: str | None = None
    code: str | None = None  # "number/notation" as one text value
    promulgation_date: date | None = None
    document_id: str | None = None


@dataclass
class Receiver:
    organ_id: str
    receiver_type: int


@dataclass
class Replacement:
    document_id: str
    organ_ids: list[str] = field(default_factory=list)


@dataclass
class Business:
    """``TraceHeaderList/Bussiness`` (sic)."""

    doc_type: int = 0
    reason: str | None = None
    document_id: str | None = None
    paper: int | None = 0
    staff: StaffInfo | None = None
    document_info: int | None = None  # BussinessDocumentInfo/DocumentInfo (updates)
    document_receiver: int | None = None
    receivers: list[Receiver] = field(default_factory=list)
    replacements: list[Replacement] = field(default_factory=list)


@dataclass
class Trace:
    organ_id: str
    timestamp: datetime


@dataclass
class Attachment:
    """One file of an edoc. ``data``: bytes, a path, or a seekable binary stream (read from its start).
    ``zip_payload`` wraps the file in a one-entry zip before base64, as the VNPT SDK does."""

    name: str
    content_type: str
    data: bytes | Path | IO[bytes]
    description: str | None = None
    content_id: str | None = None
    zip_payload: bool = False


@dataclass
class EdocMessage:
    """A document message (BussinessDocType 0-3)."""

    sender: Organ
    recipients: list[Organ]
    code_number: str
    code_notation: str
    promulgation_date: date
    subject: str
    type_code: int
    type_name: str
    signer_position: str
    signer_full_name: str
    attachments: list[Attachment] = field(default_factory=list)
    promulgation_place: str | None = None
    type_detail: int | None = None
    content: str | None = None
    signer_competence: str | None = None
    due_date: date | None = None
    to_places: list[str] = field(default_factory=list)
    priority: int | None = 0
    sphere: str | None = None
    typer_notation: str | None = None
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: list[str] = field(default_factory=list)
    steering_type: int | None = None
    response_for: list[ResponseFor] = field(default_factory=list)
    document_id: str | None = None  # default: "{sender},{YYYY/MM/DD},{number}/{notation}"
    business: Business = field(default_factory=Business)
    trace: list[Trace] = field(default_factory=list)


@dataclass
class StatusMessage:
    """A status (feedback) message."""

    sender: Organ
    response_for: ResponseFor
    status_code: str
    timestamp: datetime
    description: str | None = None
    staff: StaffInfo | None = None


@dataclass(frozen=True)
class Limits:
    """Parsing bounds. ``max_package_bytes`` caps the input; ``max_header_chars`` caps all text outside
    attachment payloads; ``max_attachment_bytes`` caps each decoded (and each unzipped) file;
    ``max_zip_ratio`` refuses zip bombs; ``max_verify_bytes``: above it the XML signature is not checked
    (it needs the document in memory) and is reported as unverified."""

    max_package_bytes: int = 1 << 30
    max_depth: int = 64
    max_elements: int = 100_000
    max_header_chars: int = 4 << 20
    max_attachments: int = 1000
    max_attachment_bytes: int = 512 << 20
    max_zip_ratio: int = 200
    max_zip_entries: int = 16
    max_verify_bytes: int = 64 << 20
    max_nested_package_bytes: int = 64 << 20


SinkFactory = Callable[[str, str], IO[bytes]]
"""``sink(content_id, attachment_name)`` → a writable binary stream for the decoded (and unzipped) bytes.
The codec writes and does not close it."""


@dataclass
class ParsedAttachment:
    content_id: str
    name: str | None
    content_type: str | None
    size: int
    sha256: str
    zipped: bool
    is_pdf: bool
    stream: IO[bytes] | None  # the sink written to (rewound when it is our own spooled file)
    nested: ParsedPackage | None = None

    def read(self) -> bytes:
        """All bytes (only for the default in-memory/spooled sink)."""
        if self.stream is None:
            raise ValueError("attachment bytes went to a caller sink")
        self.stream.seek(0)
        return self.stream.read()


@dataclass
class SignatureCheck:
    present: bool
    valid: bool
    note: str  # "absent" | "dummy" | "invalid" | "valid" | "unverified"
    reason: str | None = None
    signer_subject: str | None = None
    signer_cert_sha256: str | None = None
    signer_cert_der: bytes | None = None
    trusted: bool | None = None  # chain to the given anchors; None when no anchors were given
    algorithm: str | None = None


@dataclass
class Issue:
    code: str
    message: str
    message_vi: str
    severity: str = "error"  # "error" | "warning"


@dataclass
class ParsedPackage:
    """Result of ``parse_package``: never raised, always returned; ``normalized`` = the interfaces.md JSON."""

    normalized: dict[str, Any]
    message: EdocMessage | StatusMessage | None
    attachments: list[ParsedAttachment]
    signature: SignatureCheck
    issues: list[Issue]
    readable: bool  # False when the bytes are not a parseable edXML document at all
    header: Any = None  # header.PackageHeader from the one strict reader; None when it refused the header

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def ok(self) -> bool:
        return self.readable and not self.errors
