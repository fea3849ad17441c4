"""Fee, Vietnamese number/date words, ID masking, code normalisation (property tests for the pure rules)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docexchange.copies.rules import date_words, fee_vnd, mask_id, number_words
from docexchange.copies.service import new_code, normalize_code, parse_pages
from docexchange.errors import BadInput


@pytest.mark.parametrize(("pages", "fee"), [(1, 2000), (2, 4000), (3, 5000), (10, 12000), (198, 200_000),
                                            (197, 199_000), (500, 200_000)])
def test_fee_table(pages: int, fee: int) -> None:
    assert fee_vnd(pages) == fee


@given(st.integers(1, 2000), st.integers(1, 20))
def test_fee_properties(pages: int, copies: int) -> None:
    one = fee_vnd(pages)
    assert one == min(200_000, 2000 * min(pages, 2) + 1000 * max(0, pages - 2))
    assert fee_vnd(pages, copies) == one * copies
    assert one <= fee_vnd(pages + 1) <= one + 2000  # monotonic, never more than one page's price per page


def test_fee_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        fee_vnd(0)


@pytest.mark.parametrize(("n", "words"), [
    (0, "không"), (5, "năm"), (10, "mười"), (11, "mười một"), (15, "mười lăm"), (21, "hai mươi mốt"),
    (24, "hai mươi tư"), (25, "hai mươi lăm"), (30, "ba mươi"), (105, "một trăm linh năm"),
    (110, "một trăm mười"), (2005, "hai nghìn không trăm linh năm"), (2026, "hai nghìn không trăm hai mươi sáu"),
    (2100, "hai nghìn một trăm"), (2000, "hai nghìn"), (12_345, "mười hai nghìn ba trăm bốn mươi lăm")])
def test_number_words(n: int, words: str) -> None:
    assert number_words(n) == words


_VOCAB = {"không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín", "mười", "mươi", "mốt", "tư",
          "lăm", "linh", "trăm", "nghìn"}


@given(st.integers(0, 999_999))
def test_number_words_vocabulary_and_injective_neighbours(n: int) -> None:
    words = number_words(n)
    assert set(words.split()) <= _VOCAB and "  " not in words
    if n < 999_999:
        assert number_words(n + 1) != words


def test_date_words() -> None:
    assert date_words(date(2026, 11, 22)) == "ngày hai mươi hai tháng mười một năm hai nghìn không trăm hai mươi sáu"
    assert date_words(date(2027, 4, 1)) == "ngày một tháng tư năm hai nghìn không trăm hai mươi bảy"


@given(st.text(alphabet="0123456789ABCDEFGHJK", min_size=0, max_size=20))
def test_mask_id_never_shows_most_of_it(s: str) -> None:
    masked = mask_id(s)
    assert len(masked) == len(s)
    shown = len(masked.replace("*", ""))
    assert shown <= 3 and shown <= len(s) // 3
    assert masked.endswith(s[len(s) - shown:]) if shown else True


@given(st.integers(0, 100))
def test_codes_normalise(_: int) -> None:
    code = new_code()
    assert len(code) == 14 and normalize_code(code.replace("-", "").lower()) == code


def test_parse_pages() -> None:
    assert parse_pages("1-2,4", 5) == [1, 2, 4]
    for bad in ("", "0", "3-1", "1,1", "6", "a"):
        with pytest.raises(BadInput):
            parse_pages(bad, 5)
