"""Tables of the outgoing-documents workflow."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, UTCDateTime, utcnow

# draft -> signed -> (approved) -> issued ; recalled / replaced are terminal for a document that was issued
STATUSES = ("draft", "signed", "approved", "issued", "recalled", "replaced")
AUTHORITY_MARKERS = ("", "TM.", "KT.", "TL.", "TUQ.", "Q.")
# edXML OtherInfo/Priority (domain-vn.md §7.1): 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ
URGENCY = {0: "Thường", 1: "Khẩn", 2: "Thượng khẩn", 3: "Hỏa tốc", 4: "Hỏa tốc hẹn giờ"}


class NumberCounter(Base):
    """The last number issued per agency, year and series. Locked FOR UPDATE while a number is assigned, in
    the same transaction that records the issuance, so numbers are gapless and unique."""

    __tablename__ = "number_counters"

    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    series: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("agency_id", "year", "series", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    type_abbr: Mapped[str] = mapped_column(String(10))  # "" for Công văn / Thư công
    type_name: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(500))
    urgency: Mapped[int] = mapped_column(Integer, default=0)
    notation_suffix: Mapped[str] = mapped_column(String(30), default="")  # e.g. drafting unit "VP" for công văn
    recipients: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of agency codes
    signer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    authority_marker: Mapped[str] = mapped_column(String(8), default="")
    signer_position: Mapped[str] = mapped_column(String(100), default="")
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    series: Mapped[str] = mapped_column(String(40), default="main")
    year: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[int | None] = mapped_column(Integer)
    notation: Mapped[str | None] = mapped_column(String(30))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    edxml_document_id: Mapped[str | None] = mapped_column(String(200), index=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))  # BussinessDocType 3
    original_sha256: Mapped[str] = mapped_column(String(64))
    original_name: Mapped[str] = mapped_column(String(255), default="")
    draft_sha256: Mapped[str] = mapped_column(String(64))  # the normalized PDF that gets signed
    signed_sha256: Mapped[str | None] = mapped_column(String(64))  # after the person's signature
    issued_sha256: Mapped[str | None] = mapped_column(String(64))  # after number + seal
    normalizations: Mapped[str] = mapped_column(Text, default="[]")
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    attachments: Mapped[list[DocumentAttachment]] = relationship(back_populates="document",
                                                                 order_by="DocumentAttachment.position")

    @property
    def number_text(self) -> str | None:
        """Decree 30 rendering, numbers below 10 zero-padded: ``05/QĐ-BNV``."""
        if self.number is None or self.notation is None:
            return None
        return f"{self.number:02d}/{self.notation}"


class DocumentAttachment(Base):
    __tablename__ = "document_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    original_sha256: Mapped[str] = mapped_column(String(64))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    sealed_sha256: Mapped[str | None] = mapped_column(String(64))

    document: Mapped[Document] = relationship(back_populates="attachments")


class OutgoingRegisterEntry(Base):
    """Sổ đăng ký văn bản đi (Decree 30 Appendix IV): one row per issued document, written at issuance."""

    __tablename__ = "outgoing_register"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    number_notation: Mapped[str] = mapped_column(String(40))  # (1)
    issued_date: Mapped[str] = mapped_column(String(10))  # (2) ISO date, Vietnam time
    type_and_subject: Mapped[str] = mapped_column(String(620))  # (3)
    signer: Mapped[str] = mapped_column(String(200))  # (4) marker + position + full name
    recipients: Mapped[str] = mapped_column(Text)  # (5)
    file_keeper: Mapped[str] = mapped_column(String(200), default="Văn thư")  # (6)
    copies: Mapped[int] = mapped_column(Integer, default=1)  # (7)
    transfer_date: Mapped[str] = mapped_column(String(10), default="")  # (8)
    acknowledgement: Mapped[str] = mapped_column(String(200), default="")  # (9)
    notes: Mapped[str] = mapped_column(Text, default="")  # (10)


class DocumentEvent(Base):
    """What happened to a document, for its history page (the ledger holds the tamper-evident copy)."""

    __tablename__ = "document_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
