"""Outbox, inbox, per-recipient status timeline and the incoming register (sổ đến)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

STATUS_LABELS = {
    "01": ("Đã đến", "arrived"), "02": ("Từ chối tiếp nhận", "rejected"),
    "03": ("Đã tiếp nhận, vào sổ", "accepted and registered"), "04": ("Đã phân công xử lý", "assigned"),
    "05": ("Đang xử lý", "processing"), "06": ("Hoàn thành", "completed"),
    "13": ("Yêu cầu lấy lại", "recall requested"), "15": ("Đồng ý lấy lại / cập nhật", "recall or update accepted"),
    "16": ("Từ chối lấy lại / cập nhật", "recall or update refused"),
}


class OutboxItem(Base):
    """A package to send. Written in the same transaction as the act that produced it (issuance, a status);
    claimed by a worker with a lease; the exact stored bytes are resent on retry (the hub deduplicates)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # edoc | status
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    incoming_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_documents.id"))
    status_code: Mapped[str | None] = mapped_column(String(2))
    edxml_document_id: Mapped[str] = mapped_column(String(200))
    package_sha256: Mapped[str] = mapped_column(String(64))
    package_size: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hub_doc_id: Mapped[str | None] = mapped_column(String(80))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IncomingDocument(Base):
    """A document package received from the axis. Idempotent on the hub's DocId, deduplicated on
    (sender, DocumentId, content hash)."""

    __tablename__ = "incoming_documents"
    __table_args__ = (UniqueConstraint("agency_id", "hub_doc_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    hub_doc_id: Mapped[str] = mapped_column(String(80))
    sender_code: Mapped[str] = mapped_column(String(35))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    edxml_document_id: Mapped[str] = mapped_column(String(200), index=True)
    package_sha256: Mapped[str] = mapped_column(String(64))
    business_doc_type: Mapped[int] = mapped_column(Integer, default=0)
    number_notation: Mapped[str] = mapped_column(String(50), default="")
    type_name: Mapped[str] = mapped_column(String(100), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    urgency: Mapped[int] = mapped_column(Integer, default=0)
    promulgation_date: Mapped[str | None] = mapped_column(String(10))
    signer: Mapped[str] = mapped_column(String(160), default="")
    main_pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    files: Mapped[str] = mapped_column(Text, default="[]")  # [{name, sha256, content_type, role, indication}]
    verdict: Mapped[str] = mapped_column(String(20), default="")  # overall indication
    verification: Mapped[str] = mapped_column(Text, default="{}")  # reports per file (JSON)
    normalizations: Mapped[str] = mapped_column(Text, default="[]")
    errors: Mapped[str] = mapped_column(Text, default="[]")
    # arrived | rejected | registered | assigned | processing | completed | recalled | duplicate | replaced
    # (which of them anyone may see or act on: exchange/visibility.py)
    status: Mapped[str] = mapped_column(String(20), default="arrived", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    arrival_year: Mapped[int | None] = mapped_column(Integer)
    arrival_number: Mapped[int | None] = mapped_column(Integer)
    assignee: Mapped[str] = mapped_column(String(200), default="")
    # package trust (issue 13 §2): comma-separated flags (unsigned_package, header_mismatch, agency_copy); any
    # flag blocks automatic registration; ``trust_note`` is the Vietnamese text shown in the inbox and register
    trust_flags: Mapped[str] = mapped_column(String(200), default="")
    trust_note: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecipientStatus(Base):
    """A status package received from a recipient about one of our outgoing documents (the sender's timeline)."""

    __tablename__ = "recipient_statuses"
    __table_args__ = (UniqueConstraint("agency_id", "hub_doc_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    edxml_document_id: Mapped[str] = mapped_column(String(200))
    recipient_code: Mapped[str] = mapped_column(String(35))
    status_code: Mapped[str] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(Text, default="")
    status_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hub_doc_id: Mapped[str] = mapped_column(String(80))
    package_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeferredReceipt(Base):
    """A package left unacknowledged on the hub because its verdict could not be reached yet (INDETERMINATE,
    or the download failed): when to look at it again (bounded exponential back-off) and why, so that workers
    do not download and verify it on every pass and clerks can see what is waiting (D13, D26). Deleted when the
    package is finally recorded (passed or refused)."""

    __tablename__ = "deferred_receipts"
    __table_args__ = (UniqueConstraint("agency_id", "hub_doc_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    hub_doc_id: Mapped[str] = mapped_column(String(80))
    edxml_document_id: Mapped[str] = mapped_column(String(200), default="")
    sender_code: Mapped[str] = mapped_column(String(35), default="")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(500), default="")
    first_deferred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    last_indication: Mapped[str] = mapped_column(String(20), default="")
    last_subindication: Mapped[str] = mapped_column(String(60), default="")
    last_reason_vi: Mapped[str] = mapped_column(Text, default="")
    last_reason_en: Mapped[str] = mapped_column(Text, default="")


class IncomingRegisterEntry(Base):
    """Sổ đăng ký văn bản đến (Decree 30 Appendix IV), ten columns; số đến gapless per agency per year."""

    __tablename__ = "incoming_register"
    __table_args__ = (UniqueConstraint("agency_id", "year", "arrival_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    incoming_id: Mapped[int] = mapped_column(ForeignKey("incoming_documents.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    arrival_date: Mapped[str] = mapped_column(String(19))  # (1)
    arrival_number: Mapped[int] = mapped_column(Integer)  # (2)
    author: Mapped[str] = mapped_column(String(250))  # (3)
    number_notation: Mapped[str] = mapped_column(String(50))  # (4)
    document_date: Mapped[str] = mapped_column(String(10), default="")  # (5)
    type_and_subject: Mapped[str] = mapped_column(String(620))  # (6)
    receiving_unit: Mapped[str] = mapped_column(String(200), default="Văn thư")  # (7)
    transfer_date: Mapped[str] = mapped_column(String(10), default="")  # (8)
    acknowledgement: Mapped[str] = mapped_column(String(200), default="")  # (9)
    notes: Mapped[str] = mapped_column(Text, default="")  # (10)


class PeerSetting(Base):
    """What a hosted agency accepts from one sending agency (``peer_code``). By default a package must carry an
    XML-DSig signature that verifies with the sender's seal certificate as the hub directory publishes it;
    ``accept_unsigned`` lets a legacy system's unsigned (or placeholder-signed) packages in, marked
    "gói tin không ký" and never registered automatically (issue 13 §2)."""

    __tablename__ = "peer_settings"
    __table_args__ = (UniqueConstraint("agency_id", "peer_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    peer_code: Mapped[str] = mapped_column(String(35))
    accept_unsigned: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(300), default="")
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
