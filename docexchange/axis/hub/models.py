"""Hub tables. Their own metadata (``HubBase``), never mixed with the node's ``docexchange.db.Base``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from docexchange.db import NAMING, UTCDateTime, utcnow

# delivery states (one row per package and recipient)
PENDING = "pending"  # stored at the hub, not yet downloaded by the recipient
DOWNLOADED = "downloaded"  # fetched at least once, not yet acknowledged
DONE = "done"  # recipient acknowledged: processed
FAIL = "fail"  # recipient acknowledged: could not parse/store
ACKED = (DONE, FAIL)  # final acknowledgements
# progress reported by newer VDXP SDKs (updateStatus); the recipient has the package, more may follow
PROGRESS = ("inbox", "acceptance", "rejection", "processing")


class HubBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class HubAgency(HubBase):
    __tablename__ = "hub_agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(35), unique=True)
    code_format: Mapped[str] = mapped_column(String(16))  # legacy | decision20
    name: Mapped[str] = mapped_column(String(500))
    parent_code: Mapped[str | None] = mapped_column(String(35))
    seal_cert_pem: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class HubSystem(HubBase):
    """A system credential (systemId + shared HMAC secret) bound to one agency."""

    __tablename__ = "hub_systems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("hub_agencies.id"))
    secret: Mapped[str] = mapped_column(String(128))
    scheme: Mapped[str] = mapped_column(String(16), default="dxhub1", server_default="dxhub1")  # dxhub1 | vdxp
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HubNonce(HubBase):
    __tablename__ = "hub_nonces"
    __table_args__ = (UniqueConstraint("system_id", "nonce", name="uq_hub_nonces_system_nonce"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class HubPackage(HubBase):
    """One accepted package. Rows are never deleted (permanent dedup); purge only drops the bytes."""

    __tablename__ = "hub_packages"
    __table_args__ = (UniqueConstraint("sender_id", "dedup_key", name="uq_hub_packages_sender_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(40), unique=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("hub_agencies.id"))
    message_type: Mapped[str] = mapped_column(String(8))  # edoc | status
    dedup_key: Mapped[str] = mapped_column(String(600))
    document_id: Mapped[str] = mapped_column(String(500))
    business_doc_type: Mapped[int | None] = mapped_column(Integer)
    status_code: Mapped[str | None] = mapped_column(String(4))
    title: Mapped[str | None] = mapped_column(String(500))  # MessageHeader/Subject (delivery reports)
    notation: Mapped[str | None] = mapped_column(String(50))  # CodeNumber/CodeNotation
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_length: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HubDelivery(HubBase):
    __tablename__ = "hub_deliveries"
    __table_args__ = (
        UniqueConstraint("package_id", "recipient_id", name="uq_hub_deliveries_package_recipient"),
        Index("ix_hub_deliveries_mailbox", "recipient_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("hub_packages.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("hub_agencies.id"))
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    state_desc: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HubDeliveryEvent(HubBase):
    """Append-only state history of a delivery."""

    __tablename__ = "hub_delivery_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("hub_deliveries.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(String(1000))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HubAlert(HubBase):
    __tablename__ = "hub_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    agency_code: Mapped[str | None] = mapped_column(String(35))
    document_id: Mapped[str | None] = mapped_column(String(500))
    existing_doc_id: Mapped[str | None] = mapped_column(String(40))
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
