"""History of archive re-timestamping: one row per new version of a stored signed PDF."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow


class ArchiveVersion(Base):
    """A refresh: the record ``kind``/``record_id`` moved from ``previous_sha256`` to ``current_sha256`` (same
    bytes plus DSS and a new document time-stamp). The old blob stays in the blob store."""

    __tablename__ = "archive_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # document | incoming | certified_copy | agency_copy
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    previous_sha256: Mapped[str] = mapped_column(String(64), index=True)
    current_sha256: Mapped[str] = mapped_column(String(64), index=True)
    previous_verifiable_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verifiable_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PdfLtvCache(Base):
    """``ltv_info`` of a blob, keyed by its SHA-256 (blobs never change, so the row never goes stale): the
    inventory parses each stored PDF once, not on every listing."""

    __tablename__ = "archive_pdf_info"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(8))
    verifiable_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    limiting_subject: Mapped[str] = mapped_column(String(500), default="")
    signatures: Mapped[int] = mapped_column(Integer, default=0)
    document_timestamps: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
