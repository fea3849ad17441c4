"""Gapless per-agency, per-year, per-series numbering (Decree 30 Art. 15), shared by documents, copies and
the incoming register. The caller's transaction holds the counter row lock until it commits, so a number is
never issued twice and a rolled-back issuance gives its number back."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .models import NumberCounter


def next_number(session: Session, agency_id: int, year: int, series: str) -> int:
    """Reserve the next number in (agency, year, series) inside the caller's transaction."""
    dialect = session.get_bind().dialect.name
    values = {"agency_id": agency_id, "year": year, "series": series, "last_number": 0}
    if dialect == "postgresql":
        session.execute(pg_insert(NumberCounter).values(**values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(NumberCounter).values(**values).on_conflict_do_nothing())
    counter = session.execute(
        select(NumberCounter).where(NumberCounter.agency_id == agency_id, NumberCounter.year == year,
                                    NumberCounter.series == series).with_for_update()).scalar_one()
    counter.last_number += 1
    session.flush()
    return counter.last_number
