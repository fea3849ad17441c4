"""Vietnam time (UTC+07:00, no DST) in ISO 8601, as Decree 30 asks for visible signing times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "ICT")


def iso_vn(when: datetime) -> str:
    """``2026-11-23T05:38:03+07:00`` (seconds precision)."""
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(VN_TZ).replace(microsecond=0).isoformat()
