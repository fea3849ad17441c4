"""Core tables: agencies, users, tokens, certificates, ledger. Capability packages add their own modules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, UTCDateTime, utcnow

ROLES = ("clerk", "signer", "certifier", "auditor", "admin")


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(13), unique=True)  # mã định danh (legacy or Decision 20 format)
    name: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(20))  # ministry | province | commune | notary | other
    abbreviation: Mapped[str] = mapped_column(String(30))  # used in the notation, e.g. UBND
    place: Mapped[str] = mapped_column(String(100), default="")  # địa danh for the promulgation line
    email: Mapped[str] = mapped_column(String(100), default="")
    seal_cert_serial: Mapped[str | None] = mapped_column(String(64))
    seal_key_ref: Mapped[str | None] = mapped_column(String(300))
    seal_image_sha256: Mapped[str | None] = mapped_column(String(64))
    seal_requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    hub_system_id: Mapped[str | None] = mapped_column(String(64))
    hub_secret: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="agency")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    position: Mapped[str] = mapped_column(String(100), default="")  # chức vụ, e.g. "Chủ tịch"
    roles: Mapped[str] = mapped_column(String(100))  # comma-separated subset of ROLES
    password_hash: Mapped[str] = mapped_column(String(200))
    cert_serial: Mapped[str | None] = mapped_column(String(64))
    key_ref: Mapped[str | None] = mapped_column(String(300))
    signature_image_sha256: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="users")

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    role: Mapped[str] = mapped_column(String(20))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class AuthCounter(Base):
    """Failed attempts at a secret, counted per ``scope`` and ``subject``: login throttles (``login_addr``: a
    client address, ``login_pair``: address and user name, ``login_name``: a user name, known or not) and PIN
    lockouts (``pin_user``: a user id, ``pin_key``: a key reference). Kept in the database so that every
    worker process sees the same counts."""

    __tablename__ = "auth_counters"
    __table_args__ = (UniqueConstraint("scope", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser session. The cookie carries a random id; only its SHA-256 is stored. A session ends
    on logout, on a password change or when the account is disabled (``ended_at``), and lapses after the idle
    and absolute lifetimes."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str] = mapped_column(String(20), default="")


class Certificate(Base):
    """Every certificate the dev CA issued; CRLs and OCSP answers are computed from these rows."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("issuer_name", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), index=True)  # lower-case hex
    issuer_name: Mapped[str] = mapped_column(String(40))  # dev CA id that issued it, e.g. "gov-int"
    kind: Mapped[str] = mapped_column(String(20))  # root | intermediate | seal | person | tsa | ocsp
    subject: Mapped[str] = mapped_column(Text)
    common_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_reason: Mapped[str | None] = mapped_column(String(40))
    key_ref: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LedgerEntry(Base):
    """Append-only, hash-chained. ``seq`` is gapless (assigned under the head lock), so deletions show."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(100))
    agency_code: Mapped[str] = mapped_column(String(13), default="")
    action: Mapped[str] = mapped_column(String(40), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(200), index=True)
    object_sha256: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class LedgerHead(Base):
    """Single row (id=1): the latest seq and hash. Locked FOR UPDATE to serialise appends."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))
    last_anchor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LedgerAnchor(Base):
    """An RFC 3161 time-stamp token over the chain head at ``seq``."""

    __tablename__ = "ledger_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    token_der: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
