"""Numbers are gapless and unique under concurrent issuance (threads, real transactions, both backends)."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from docexchange.db import Base, Database
from docexchange.documents.numbering import next_number
from docexchange.model_registry import metadata
from docexchange.models import Agency


def _db(db_url: str) -> Database:
    db = Database(db_url)
    metadata.create_all(db.engine)
    with db.transaction() as s:
        s.add_all([Agency(id=1, code="000.00.00.G09", name="A", kind="ministry", abbreviation="A"),
                   Agency(id=2, code="000.00.00.H41", name="B", kind="province", abbreviation="B")])
    return db


def test_parallel_numbering_is_gapless_and_unique(db_url: str) -> None:
    db = _db(db_url)
    got: list[tuple[int, int]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(agency: int, n: int, fail_every: int) -> None:
        for i in range(n):
            try:
                with db.transaction() as s:
                    num = next_number(s, agency, 2026, "main")
                    if fail_every and i % fail_every == 0:
                        raise RuntimeError("issuance failed after reserving a number")
                with lock:
                    got.append((agency, num))
            except RuntimeError:
                pass
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(1 + t % 2, 15, 4 if t == 0 else 0)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for agency in (1, 2):
        nums = sorted(n for a, n in got if a == agency)
        assert nums == list(range(1, len(nums) + 1)), "gap or duplicate"
    assert len(got) == 8 * 15 - 4  # the failed issuances returned their numbers
    db.dispose()


def test_series_and_years_are_independent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = _db(f"sqlite:///{tmp_path}/n.db")
    with db.transaction() as s:
        assert [next_number(s, 1, 2026, "main") for _ in range(3)] == [1, 2, 3]
        assert next_number(s, 1, 2027, "main") == 1
        assert next_number(s, 1, 2026, "QPPL-QĐ") == 1
        assert next_number(s, 2, 2026, "main") == 1
    db.dispose()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(["main", "copies", "den"]), min_size=1, max_size=30))
def test_property_each_series_counts_from_one(tmp_path_factory, series_seq: list[str]) -> None:  # type: ignore[no-untyped-def]
    db = _db(f"sqlite:///{tmp_path_factory.mktemp('p')}/n.db")
    seen: dict[str, list[int]] = {}
    with db.transaction() as s:
        for series in series_seq:
            seen.setdefault(series, []).append(next_number(s, 1, 2026, series))
    for nums in seen.values():
        assert nums == list(range(1, len(nums) + 1))
    with db.transaction() as s:
        assert s.execute(sa.text("SELECT count(*) FROM number_counters")).scalar() == len(seen)
    db.dispose()
    assert Base is not None
