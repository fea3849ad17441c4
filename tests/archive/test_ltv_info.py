"""``ltv_info`` on unsigned, damaged and arbitrary input: a clear BadInput or an answer, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docexchange.archive.ltv import ltv_info
from docexchange.errors import BadInput
from tests.validation.helpers import make_pdf

PDF = make_pdf()


def test_unsigned_pdf_has_no_date() -> None:
    info = ltv_info(PDF)
    assert (info.level, info.verifiable_until, info.signatures, info.document_timestamps) == ("none", None, 0, 0)


def test_not_a_pdf_is_bad_input() -> None:
    with pytest.raises(BadInput) as exc:
        ltv_info(b"hello, not a pdf")
    assert exc.value.code == "bad_pdf" and "PDF" in exc.value.vi


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=2048),
                 st.tuples(st.integers(0, len(PDF) - 1), st.binary(min_size=1, max_size=64)).map(
                     lambda t: PDF[:t[0]] + t[1] + PDF[t[0] + len(t[1]):])))
def test_any_bytes_answer_or_bad_input(data: bytes) -> None:
    try:
        info = ltv_info(data)
    except BadInput:
        return
    assert info.level in ("none", "B-B", "B-T", "B-LT", "B-LTA")
