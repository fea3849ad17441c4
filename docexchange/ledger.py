"""The tamper-evident audit ledger: append-only, hash-chained, head periodically RFC 3161 time-stamped.

entry_hash = SHA-256(canonical JSON of the entry's fields including prev_hash). ``seq`` is assigned under a
lock on the single ``ledger_head`` row, so it is gapless: a deleted row shows as a gap, an altered row as a
hash mismatch, an inserted row as a chain break. No code path updates or deletes ledger rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import utcnow
from .models import LedgerAnchor, LedgerEntry, LedgerHead

GENESIS = "0" * 64

# A time-stamper takes the SHA-256 digest to stamp and returns a DER RFC 3161 TimeStampToken.
TimeStamper = Callable[[bytes], bytes]


def canonical_json(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _entry_hash(e: LedgerEntry) -> str:
    body = {
        "seq": e.seq,
        "at": e.at.isoformat(timespec="microseconds"),
        "actor": e.actor,
        "agency": e.agency_code,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "object_sha256": e.object_sha256,
        "details": e.details,
        "prev": e.prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def _lock_head(session: Session) -> LedgerHead:
    head = session.execute(select(LedgerHead).where(LedgerHead.id == 1).with_for_update()).scalar_one_or_none()
    if head is None:
        head = LedgerHead(id=1, seq=0, entry_hash=GENESIS, last_anchor_at=None)
        session.add(head)
        session.flush()
    return head


class Ledger:
    def __init__(self, timestamper: TimeStamper | None = None, anchor_every: int = 100,
                 anchor_seconds: int = 3600) -> None:
        self.timestamper = timestamper
        self.anchor_every = anchor_every
        self.anchor_seconds = anchor_seconds

    def append(self, session: Session, *, actor: str, action: str, object_type: str, object_id: str,
               agency_code: str = "", object_sha256: str = "", details: dict[str, object] | None = None
               ) -> LedgerEntry:
        """Append one entry inside the caller's transaction (it commits or rolls back with the act)."""
        head = _lock_head(session)
        entry = LedgerEntry(
            seq=head.seq + 1, at=utcnow(), actor=actor, agency_code=agency_code, action=action,
            object_type=object_type, object_id=str(object_id), object_sha256=object_sha256,
            details=canonical_json(details or {}), prev_hash=head.entry_hash,
        )
        entry.entry_hash = _entry_hash(entry)
        session.add(entry)
        head.seq = entry.seq
        head.entry_hash = entry.entry_hash
        self._maybe_anchor(session, head)
        return entry

    def _maybe_anchor(self, session: Session, head: LedgerHead) -> None:
        if self.timestamper is None:
            return
        due_by_count = head.seq % self.anchor_every == 0
        due_by_time = head.last_anchor_at is None or utcnow() - head.last_anchor_at > timedelta(
            seconds=self.anchor_seconds)
        if due_by_count or due_by_time:
            self.anchor(session, head)

    def anchor(self, session: Session, head: LedgerHead | None = None) -> LedgerAnchor | None:
        if self.timestamper is None:
            return None
        head = head or _lock_head(session)
        if head.seq == 0:
            return None
        token = self.timestamper(bytes.fromhex(head.entry_hash))
        anchor = LedgerAnchor(seq=head.seq, entry_hash=head.entry_hash, token_der=token, at=utcnow())
        session.add(anchor)
        head.last_anchor_at = anchor.at
        return anchor


@dataclass
class LedgerVerification:
    intact: bool
    entries: int
    anchors: int
    first_bad_seq: int | None = None
    problem: str = ""


def verify_ledger(session: Session, token_checker: Callable[[bytes, bytes], datetime | None] | None = None,
                  batch: int = 5000) -> LedgerVerification:
    """Re-check the whole chain (streamed in batches) and, if given a checker, every anchor's token.

    ``token_checker(token_der, digest)`` returns the token's time when it is valid for ``digest``, else None.
    """
    expected_prev = GENESIS
    expected_seq = 1
    hashes_at: dict[int, str] = {}
    anchors = list(session.execute(select(LedgerAnchor).order_by(LedgerAnchor.seq)).scalars())
    anchor_seqs = {a.seq for a in anchors}
    last = 0
    while True:
        rows = list(session.execute(select(LedgerEntry).where(LedgerEntry.seq > last)
                                    .order_by(LedgerEntry.seq).limit(batch)).scalars())
        if not rows:
            break
        for e in rows:
            if e.seq != expected_seq:
                return LedgerVerification(False, expected_seq - 1, len(anchors), expected_seq,
                                          f"entry {expected_seq} is missing (next present is {e.seq})")
            if e.prev_hash != expected_prev:
                return LedgerVerification(False, e.seq - 1, len(anchors), e.seq,
                                          f"entry {e.seq} does not link to entry {e.seq - 1}")
            if _entry_hash(e) != e.entry_hash:
                return LedgerVerification(False, e.seq - 1, len(anchors), e.seq,
                                          f"entry {e.seq} was altered (hash mismatch)")
            if e.seq in anchor_seqs:
                hashes_at[e.seq] = e.entry_hash
            expected_prev = e.entry_hash
            expected_seq += 1
        last = rows[-1].seq
    count = expected_seq - 1
    head = session.get(LedgerHead, 1)
    if head is not None and (head.seq != count or head.entry_hash != expected_prev):
        return LedgerVerification(False, count, len(anchors), count + 1 if head.seq > count else head.seq,
                                  f"ledger head says entry {head.seq} but the chain ends at {count}")
    for a in anchors:
        if a.seq > count:
            return LedgerVerification(False, count, len(anchors), count + 1,
                                      f"time-stamped entry {a.seq} is missing (chain ends at {count})")
        if hashes_at.get(a.seq) != a.entry_hash:
            return LedgerVerification(False, count, len(anchors), a.seq,
                                      f"entry {a.seq} differs from its time-stamped hash")
        if token_checker is not None and token_checker(a.token_der, bytes.fromhex(a.entry_hash)) is None:
            return LedgerVerification(False, count, len(anchors), a.seq,
                                      f"time-stamp token for entry {a.seq} does not verify")
    return LedgerVerification(True, count, len(anchors))
