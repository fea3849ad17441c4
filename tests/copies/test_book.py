"""The SCT/BS book under concurrency (threads, real transactions, SQLite and PostgreSQL): numbers gapless and
unique, duplicate submissions collapse to one certificate, numbering restarts each year, books fill. Every
certification is really signed (B-LT), so the book's row lock is held across real signatures."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from docexchange.auth import principal_for_user
from docexchange.copies import service
from docexchange.copies.engine import deps_for
from docexchange.copies.models import CertifiedCopy
from docexchange.models import LedgerEntry, User

from .conftest import REQUEST, jpeg


def _principal(svc):  # type: ignore[no-untyped-def]
    with svc.db.transaction() as s:
        user = s.execute(select(User).where(User.username == "nghiphu.chungthuc")).scalar_one()
        return principal_for_user(s, user, "certifier")


def _req(**over):  # type: ignore[no-untyped-def]
    fields = {k: v for k, v in REQUEST.items()}
    fields.update(over)
    return service.CopyRequest(**fields)  # type: ignore[arg-type]


def _certify(svc, deps, p, key=None, now=None, scan=None):  # type: ignore[no-untyped-def]
    return service.certify(svc.db, deps, p, _req(idempotency_key=key),
                           [service.Upload("s.jpg", io.BytesIO(scan or jpeg()))], pin=svc.secrets["demo_pin"],
                           seal_pin=svc.secrets["demo_pin"], now=now)


@pytest.mark.slow  # real B-LT signatures, one after another under the book's lock
def test_parallel_certifications_are_gapless_and_unique(node, svc) -> None:  # type: ignore[no-untyped-def]
    deps = deps_for(svc)
    p = _principal(svc)
    scan = jpeg()
    results: list[CertifiedCopy] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            # every third request is submitted twice with the same key, concurrently
            row = _certify(svc, deps, p, key=f"k{i // 2}" if i % 3 == 0 else None, scan=scan)
            with lock:
                results.append(row)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    with svc.db.transaction() as s:
        rows = list(s.execute(select(CertifiedCopy).order_by(CertifiedCopy.number)).scalars())
        entries = s.execute(select(LedgerEntry).where(LedgerEntry.action == "copy_certified")).scalars().all()
    numbers = [r.number for r in rows]
    assert numbers == list(range(1, len(rows) + 1)), "gap or duplicate in the book"
    assert len(entries) == len(rows)
    keys = [r.idempotency_key for r in rows if r.idempotency_key]
    assert len(keys) == len(set(keys))
    # each caller got a booked certificate; callers sharing a key got the same one
    assert {r.id for r in results} == {r.id for r in rows}
    by_key: dict[str, set[int]] = {}
    for r in results:
        if r.idempotency_key:
            by_key.setdefault(r.idempotency_key, set()).add(r.id)
    assert all(len(v) == 1 for v in by_key.values())


def test_numbers_restart_each_year_and_books_fill(node, svc) -> None:  # type: ignore[no-untyped-def]
    deps = deps_for(svc)
    deps.book_capacity = 2
    p = _principal(svc)
    scan = jpeg()
    dec = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 23:00 in Vietnam, still 2026
    jan = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # 00:30 on 1 January 2027 in Vietnam
    got = [_certify(svc, deps, p, now=dec, scan=scan) for _ in range(5)]
    assert [(r.year, r.number_text, r.book_text) for r in got] == [
        (2026, "01", "01/2026-SCT/BS"), (2026, "02", "01/2026-SCT/BS"), (2026, "03", "02/2026-SCT/BS"),
        (2026, "04", "02/2026-SCT/BS"), (2026, "05", "03/2026-SCT/BS")]
    first = _certify(svc, deps, p, now=jan, scan=scan)
    assert (first.year, first.number_text, first.book_text, first.local_date) == (
        2027, "01", "01/2027-SCT/BS", "2027-01-01")
    assert "ngày 01 tháng 01 năm 2027" in first.statement.lower()
    assert "hai nghìn không trăm hai mươi bảy" in first.statement
