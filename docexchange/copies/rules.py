"""Small pure rules: the fee (domain-vn.md §4.4), dates and numbers in Vietnamese words, ID masking."""

from __future__ import annotations

from datetime import date

FEE_FIRST_PAGES = 2_000  # VND per page, pages 1-2
FEE_NEXT_PAGES = 1_000  # VND per page from page 3
FEE_CAP = 200_000  # VND per copy


def fee_vnd(pages: int, copies: int = 1) -> int:
    """Circular 226/2016/TT-BTC: 2,000 VND/page for pages 1-2, 1,000 VND/page from page 3, at most 200,000 VND
    per copy; pages are counted on the original."""
    if pages < 1 or copies < 1:
        raise ValueError("pages and copies must be at least 1")
    per_copy = FEE_FIRST_PAGES * min(pages, 2) + FEE_NEXT_PAGES * max(0, pages - 2)
    return min(per_copy, FEE_CAP) * copies


_UNITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _below_100(n: int, *, after_hundred: bool) -> str:
    tens, unit = divmod(n, 10)
    if tens == 0:
        return (f"linh {_UNITS[unit]}" if after_hundred else _UNITS[unit]) if unit else ""
    head = "mười" if tens == 1 else f"{_UNITS[tens]} mươi"
    if unit == 0:
        return head
    if unit == 5:
        tail = "lăm"
    elif unit == 1 and tens > 1:
        tail = "mốt"
    elif unit == 4 and tens > 1:
        tail = "tư"
    else:
        tail = _UNITS[unit]
    return f"{head} {tail}"


def number_words(n: int) -> str:
    """0..999 999 in Vietnamese words: 2026 -> "hai nghìn không trăm hai mươi sáu"."""
    if not 0 <= n < 1_000_000:
        raise ValueError("out of range")
    if n == 0:
        return "không"
    thousands, rest = divmod(n, 1000)
    parts: list[str] = []
    if thousands:
        parts.append(f"{_below_1000(thousands, leading=True)} nghìn")
    if rest:
        parts.append(_below_1000(rest, leading=not thousands))
    return " ".join(parts)


def _below_1000(n: int, *, leading: bool) -> str:
    hundreds, rest = divmod(n, 100)
    if hundreds == 0 and leading:
        return _below_100(rest, after_hundred=False)
    text = f"{_UNITS[hundreds]} trăm"
    return f"{text} {_below_100(rest, after_hundred=True)}" if rest else text


def date_digits(d: date) -> str:
    return f"ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"


def date_words(d: date) -> str:
    """"ngày hai mươi hai tháng mười một năm hai nghìn không trăm hai mươi sáu"; month 4 is "tư"."""
    month = "tư" if d.month == 4 else number_words(d.month)
    return f"ngày {number_words(d.day)} tháng {month} năm {number_words(d.year)}"


def mask_id(id_number: str) -> str:
    """Public pages never show an ID number in full: keep the last 3 characters (at most a third)."""
    s = id_number.strip()
    keep = min(3, len(s) // 3)
    return "*" * (len(s) - keep) + s[len(s) - keep:] if s else ""
