"""Checks on the raw bytes that need no PDF parser: pre-scan limits (bombs) and ByteRange sanity."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEX = re.compile(rb"^[0-9A-Fa-f\s]*$")


@dataclass
class Problem:
    code: str
    vi: str
    en: str


def prescan(data: bytes, *, max_bytes: int, max_revisions: int, max_objects: int, max_nesting: int) -> Problem | None:
    """Refuse inputs that are empty, not PDF, or built to exhaust a parser, before any parsing."""
    if not data:
        return Problem("EMPTY_FILE", "Tệp rỗng (0 byte).", "The file is empty (0 bytes).")
    if len(data) > max_bytes:
        return Problem("FILE_TOO_LARGE", f"Tệp vượt giới hạn {max_bytes} byte.",
                       f"The file exceeds the {max_bytes}-byte limit.")
    if b"%PDF-" not in data[:1024]:
        return Problem("NOT_PDF", "Tệp không phải PDF (không có tiêu đề %PDF-).",
                       "The file is not a PDF (no %PDF- header).")
    if b"%%EOF" not in data[-2048:] and b"startxref" not in data[-4096:]:
        return Problem("TRUNCATED", "Tệp PDF bị cắt cụt (không có %%EOF/startxref ở cuối).",
                       "The PDF is truncated (no %%EOF/startxref at the end).")
    revisions = data.count(b"%%EOF")
    if revisions > max_revisions:
        return Problem("TOO_MANY_REVISIONS", f"Tệp có {revisions} lần cập nhật (giới hạn {max_revisions}).",
                       f"The file has {revisions} revisions (limit {max_revisions}).")
    objects = data.count(b" obj")
    if objects > max_objects:
        return Problem("TOO_MANY_OBJECTS", f"Tệp có khoảng {objects} đối tượng (giới hạn {max_objects}).",
                       f"The file has about {objects} objects (limit {max_objects}).")
    deep = re.compile(rb"(?:\[\s*){%d}|(?:<<\s*){%d}" % (max_nesting, max_nesting))
    if deep.search(data):
        return Problem("NESTING_TOO_DEEP", f"Cấu trúc lồng nhau quá sâu (> {max_nesting} mức).",
                       f"Objects are nested too deeply (> {max_nesting} levels).")
    return None


@dataclass
class ByteRangeCheck:
    ok: bool
    end: int | None
    flags: list[str]
    problems: list[Problem]


def check_byte_range(data: bytes, byte_range: object, contents: bytes | None) -> ByteRangeCheck:
    """Overlaps, gaps, out-of-file ranges, a gap that is not exactly the hex ``/Contents`` string, and a
    ``/Contents`` value that differs from what sits in the gap (signature wrapping)."""
    flags: list[str] = []
    problems: list[Problem] = []

    def bad(code: str, vi: str, en: str) -> ByteRangeCheck:
        flags.append("byterange_invalid")
        problems.append(Problem(code, vi, en))
        return ByteRangeCheck(False, None, flags, problems)

    try:
        br = [int(x) for x in byte_range]  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return bad("BYTERANGE_MALFORMED", "/ByteRange không phải mảng số nguyên.",
                   "/ByteRange is not an integer array.")
    if len(br) != 4 or any(x < 0 for x in br):
        return bad("BYTERANGE_MALFORMED", "/ByteRange phải gồm đúng 4 số không âm.",
                   "/ByteRange must hold exactly four non-negative numbers.")
    a, alen, b, blen = br
    end = b + blen
    if alen == 0:
        return bad("BYTERANGE_EMPTY", "/ByteRange không bao phủ byte nào của tệp: chữ ký không ký gì cả.",
                   "/ByteRange covers no bytes of the file: the signature signs nothing.")
    if a != 0:
        return bad("BYTERANGE_NOT_FROM_START", "Vùng ký không bắt đầu từ byte 0.",
                   "The signed range does not start at byte 0.")
    if b < a + alen:
        return bad("BYTERANGE_OVERLAP", "Hai đoạn của /ByteRange chồng lên nhau.", "The two /ByteRange parts overlap.")
    if end > len(data):
        return bad("BYTERANGE_OUTSIDE_FILE", "/ByteRange vượt quá kích thước tệp.",
                   "/ByteRange points past the end of the file.")
    gap = data[a + alen:b]
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">" or not _HEX.match(gap[1:-1]):
        return bad("SIGNATURE_OUTSIDE_GAP", "Khoảng trống giữa hai đoạn ký không phải chuỗi hex /Contents.",
                   "The gap between the signed parts is not the hex /Contents string (signature outside the range).")
    if contents is not None:
        try:
            in_gap = bytes.fromhex(gap[1:-1].decode("ascii"))
        except ValueError:
            return bad("CONTENTS_NOT_HEX", "/Contents không phải chuỗi hex hợp lệ.", "/Contents is not valid hex.")
        if in_gap.rstrip(b"\0") != contents.rstrip(b"\0"):
            return bad("CONTENTS_MISMATCH",
                       "Chữ ký trong /Contents khác với chữ ký nằm trong khoảng trống của /ByteRange.",
                       "/Contents differs from the signature found in the /ByteRange gap (signature wrapping).")
    return ByteRangeCheck(True, end, flags, problems)


def revision_ends(data: bytes, after: int) -> list[int]:
    """Offsets just past each ``%%EOF`` (and its end-of-line) located after ``after``."""
    out = []
    pos = data.find(b"%%EOF", after)
    while pos != -1:
        end = pos + 5
        while end < len(data) and data[end:end + 1] in (b"\r", b"\n"):
            end += 1
        out.append(end)
        pos = data.find(b"%%EOF", end)
    return out


_OBJ_DEF = re.compile(rb"(?<!\d)\d++\s++\d++\s++obj\b")  # possessive: linear on long digit runs


def trailing_bytes(data: bytes) -> tuple[int, bool]:
    """Bytes after the last ``%%EOF`` other than whitespace and NULs, which no revision's cross-reference section
    describes: (count, whether they define objects). A reader that rebuilds the cross-reference table from the
    objects would show such objects, yet no signature covers them."""
    pos = data.rfind(b"%%EOF")
    if pos == -1:
        return 0, False
    tail = data[pos + 5:].strip(b" \t\r\n\f\0")
    return len(tail), bool(_OBJ_DEF.search(tail))


# ---- DER (X.690) on raw bytes, schema-agnostic --------------------------------------------------------------
class BerError(ValueError):
    pass


def _tlv(data: bytes, pos: int, depth: int = 0) -> tuple[int, int, int, int]:
    """(tag end, contents start, contents end, element end) of the BER element at ``pos``; indefinite
    lengths are followed to their end-of-contents octets."""
    if depth > 64:
        raise BerError("nesting too deep")
    if pos >= len(data):
        raise BerError("truncated")
    tag_end = pos + 1
    if data[pos] & 0x1F == 0x1F:  # high tag number
        while tag_end < len(data) and data[tag_end] & 0x80:
            tag_end += 1
        tag_end += 1
    if tag_end >= len(data):
        raise BerError("truncated")
    first = data[tag_end]
    start = tag_end + 1
    if first == 0x80:  # indefinite (constructed only)
        if not data[pos] & 0x20:
            raise BerError("indefinite length on a primitive")
        p = start
        while data[p:p + 2] != b"\0\0":
            p = _tlv(data, p, depth + 1)[3]
            if p > len(data):
                raise BerError("truncated")
        return tag_end, start, p, p + 2
    if first & 0x80:
        n = first & 0x7F
        if n == 0 or n > 8 or start + n > len(data):
            raise BerError("bad length")
        length = int.from_bytes(data[start:start + n], "big")
        start += n
    else:
        length = first
    end = start + length
    if end > len(data):
        raise BerError("truncated")
    return tag_end, start, end, end


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der_reencode(data: bytes, pos: int = 0, *, as_set: bool = False, depth: int = 0) -> tuple[bytes, int]:
    """The DER form of the BER element at ``pos`` (definite minimal lengths, SET OF elements sorted; primitive
    contents kept) and the offset just past the original element. ``as_set`` treats the element as a SET
    whatever its tag (``[0] IMPLICIT SET OF Attribute``, the CMS signed attributes)."""
    tag_end, start, end, after = _tlv(data, pos, depth)
    tag = data[pos:tag_end]
    if not data[pos] & 0x20:  # primitive
        return tag + _der_len(end - start) + data[start:end], after
    kids = []
    p = start
    while p < end:
        enc, p = der_reencode(data, p, depth=depth + 1)
        kids.append(enc)
    if as_set or data[pos] == 0x31:
        kids.sort()
    body = b"".join(kids)
    return tag + _der_len(len(body)) + body, after


def is_der(encoded: bytes, *, as_set: bool = False) -> bool:
    """True when ``encoded`` is exactly one element already in DER form (see ``der_reencode``)."""
    try:
        der, after = der_reencode(encoded, as_set=as_set)
    except (BerError, IndexError):
        return False
    return after == len(encoded) and der == encoded


def trailing_after_element(data: bytes) -> bytes:
    """What follows the first BER element of ``data`` (the CMS in a ``/Contents`` value), zero padding
    included. Raises ``BerError`` when the element cannot be delimited."""
    return data[_tlv(data, 0)[3]:]
