"""Claiming outbox rows with a lease, and recording the outcome with bounded exponential back-off.

PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim disjoint rows. SQLite: every
transaction is ``BEGIN IMMEDIATE`` (one writer), so the same query is a single-writer claim. A worker that
dies leaves its lease to expire; the next claim takes the row again and resends the same stored bytes, which
the hub deduplicates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..db import db_now, utcnow
from .models import OutboxItem

MAX_ATTEMPTS = 8
MAX_BACKOFF_S = 300


@dataclass(frozen=True)
class Claimed:
    id: int
    agency_id: int
    kind: str
    package_sha256: str
    attempts: int


def claim(session: Session, owner: str, *, lease_seconds: int = 120, limit: int = 10) -> list[Claimed]:
    now = db_now(session)  # every worker of every process compares against the database's clock
    stmt = (select(OutboxItem)
            .where(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= now,
                   or_(OutboxItem.lease_until.is_(None), OutboxItem.lease_until < now))
            .order_by(OutboxItem.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.execute(stmt).scalars())
    for row in rows:
        row.lease_owner = owner
        row.lease_until = now + timedelta(seconds=lease_seconds)
    return [Claimed(r.id, r.agency_id, r.kind, r.package_sha256, r.attempts) for r in rows]


def mark_sent(session: Session, item_id: int, owner: str, hub_doc_id: str) -> OutboxItem | None:
    row = session.get(OutboxItem, item_id, with_for_update=True)
    if row is None or row.state != "pending":
        return None
    row.state = "sent"
    row.hub_doc_id = hub_doc_id
    row.sent_at = utcnow()
    row.attempts += 1
    row.lease_owner = None
    row.lease_until = None
    row.last_error = None
    return row


def mark_failed_attempt(session: Session, item_id: int, error: str, *, permanent: bool) -> OutboxItem | None:
    """Retry later with back-off (1, 2, 4 … ≤ 300 s), or end in ``failed`` (visible to the clerk)."""
    row = session.get(OutboxItem, item_id, with_for_update=True)
    if row is None or row.state != "pending":
        return None
    row.attempts += 1
    row.last_error = error[:2000]
    row.lease_owner = None
    row.lease_until = None
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.state = "failed"
    else:
        row.next_attempt_at = db_now(session) + timedelta(seconds=min(2 ** (row.attempts - 1), MAX_BACKOFF_S))
    return row
