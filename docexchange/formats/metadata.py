"""Canonical forms of administrative-document metadata (Decree 30/2020 Appendix VI, QCVN 102:2016 edXML).

Every function takes the raw string found in a package or form and returns the canonical value, or raises
``MetadataError`` carrying the edXML error code (``N.`` missing, ``R.`` out of range, ``M.`` malformed) and a
Vietnamese and English message. Nothing here mutates its input; callers record a normalization when the
canonical value differs from the raw one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Literal

from ..errors import BadInput

VN_TZ = timezone(timedelta(hours=7), "+07:00")


class MetadataError(BadInput):
    """A metadata value that cannot be made canonical. ``code`` is the edXML error code, e.g.
    ``M.MessageHeader.PromulgationInfo.PromulgationDate``."""

    def __init__(self, en: str, vi: str, *, code: str, field: str | None = None) -> None:
        super().__init__(en, vi, code=code)
        self.field = field


def _err(kind: str, path: str, en: str, vi: str) -> MetadataError:
    return MetadataError(f"{path}: {en}", f"{path}: {vi}", code=f"{kind}.{path}", field=path)


# ---- dates ----

_YMD = re.compile(
    r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?)?$"
)
_DMY = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_date(value: str, path: str = "date") -> date | datetime:
    """Parse ``YYYY/MM/DD``, ``dd/MM/yyyy`` or ISO 8601, each with or without a time.

    Returns a ``date`` when no time is given, else an aware ``datetime`` in +07:00 (a time without offset is
    Vietnam local time). Impossible dates (31/02/2024) raise ``M.<path>``; an empty value raises ``N.<path>``.
    """
    raw = value.strip()
    if not raw:
        raise _err("N", path, "date is missing", "thiếu ngày tháng")
    m = _YMD.match(raw)
    if m:
        y, mo, d, hh, mi, ss, frac, tz = m.groups()
    else:
        m2 = _DMY.match(raw)
        if not m2:
            raise _err(
                "M",
                path,
                f"unrecognised date {raw!r} (expected YYYY/MM/DD, dd/MM/yyyy or ISO 8601)",
                f"ngày tháng không đúng định dạng {raw!r} (YYYY/MM/DD, dd/MM/yyyy hoặc ISO 8601)",
            )
        d, mo, y, hh, mi, ss = m2.groups()
        frac = tz = None
    try:
        day = date(int(y), int(mo), int(d))
    except ValueError:
        raise _err("M", path, f"impossible date {raw!r}", f"ngày không tồn tại {raw!r}") from None
    if hh is None:
        return day
    try:
        t = time(int(hh), int(mi), int(ss or 0), int((frac or "0").ljust(6, "0")))
    except ValueError:
        raise _err("M", path, f"impossible time {raw!r}", f"giờ không hợp lệ {raw!r}") from None
    if tz is None:
        tzinfo: timezone = VN_TZ
    elif tz == "Z":
        tzinfo = UTC
    else:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset > timedelta(hours=14):
            raise _err("M", path, f"impossible UTC offset {raw!r}", f"múi giờ không hợp lệ {raw!r}")
        tzinfo = timezone(sign * offset)
    return datetime.combine(day, t, tzinfo).astimezone(VN_TZ)


def iso(value: date | datetime) -> str:
    """ISO 8601: ``2019-01-16`` for dates, ``2018-09-28T00:00:00+07:00`` for datetimes (always +07:00)."""
    if isinstance(value, datetime):
        return value.astimezone(VN_TZ).isoformat(timespec="seconds")
    return value.isoformat()


def canonical_date(value: str, path: str = "date") -> str:
    """``parse_date`` then ``iso``: the canonical text form."""
    return iso(parse_date(value, path))


def edxml_date(value: date | datetime) -> str:
    """The form edXML producers expect: ``YYYY/MM/DD``."""
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date()
    return value.strftime("%Y/%m/%d")


def edxml_timestamp(value: datetime) -> str:
    """``YYYY/MM/DD HH:mm:ss`` in Vietnam time (edXML TraceHeader and status Timestamp)."""
    return value.astimezone(VN_TZ).strftime("%Y/%m/%d %H:%M:%S")


# ---- agency electronic identifiers ----

OrganIdFormat = Literal["legacy", "decision20", "short"]
LEGACY_ORGAN_ID = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
DECISION20_ORGAN_ID = re.compile(r"^[A-Y]\d{2}(\.[0-9A-Z]+)*$")
SHORT_ORGAN_ID = re.compile(r"^(\d{2,3}\.){1,3}[A-Z]\d{2}$")  # level-1 group last, e.g. 28.22.H17, 14.00.W00
ORGAN_ID_MAX = 35


@dataclass(frozen=True)
class OrganId:
    value: str
    format: OrganIdFormat

    @property
    def warning(self) -> str | None:
        if self.format == "short":
            return "short agency code (level-1 group last) matches neither QCVN 102 nor Decision 20/2020"
        return None


def canonical_organ_id(value: str, path: str = "OrganId", *, lenient: bool = True) -> OrganId:
    """Validate an agency e-identifier in the legacy QCVN 102 (``000.00.00.G22``) or Decision 20/2020
    (``G12.18.92``) format, upper-cased. Short right-to-left codes (``28.22.H17``) are accepted only when
    ``lenient`` and come back with ``format="short"`` so callers can flag them."""
    raw = value.strip()
    if not raw:
        raise _err("N", path, "agency code is missing", "thiếu mã định danh cơ quan")
    code = raw.upper()
    if len(code) > ORGAN_ID_MAX:
        raise _err(
            "R",
            path,
            f"agency code longer than {ORGAN_ID_MAX} characters",
            f"mã định danh dài quá {ORGAN_ID_MAX} ký tự",
        )
    if LEGACY_ORGAN_ID.match(code):
        return OrganId(code, "legacy")
    if DECISION20_ORGAN_ID.match(code):
        return OrganId(code, "decision20")
    if SHORT_ORGAN_ID.match(code):
        if lenient:
            return OrganId(code, "short")
        raise _err(
            "M",
            path,
            f"short agency code {raw!r} is not accepted in strict mode",
            f"mã định danh rút gọn {raw!r} không được chấp nhận ở chế độ chặt",
        )
    raise _err(
        "M",
        path,
        f"{raw!r} is not an agency e-identifier (DDD.DD.DD.MDD or Decision 20/2020)",
        f"{raw!r} không phải mã định danh điện tử cơ quan (DDD.DD.DD.MDD hoặc QĐ 20/2020)",
    )


# ---- document types (Decree 30 Art. 7, Appendix III) ----


@dataclass(frozen=True)
class DocumentType:
    code: int  # edXML DocumentType/Type: position in Art. 7's list [I: a builder writes 18 for công văn]
    name: str
    abbreviation: str | None


_TYPES = [
    ("Nghị quyết", "NQ"),
    ("Quyết định", "QĐ"),
    ("Chỉ thị", "CT"),
    ("Quy chế", "QC"),
    ("Quy định", "QyĐ"),
    ("Thông cáo", "TC"),
    ("Thông báo", "TB"),
    ("Hướng dẫn", "HD"),
    ("Chương trình", "CTr"),
    ("Kế hoạch", "KH"),
    ("Phương án", "PA"),
    ("Đề án", "ĐA"),
    ("Dự án", "DA"),
    ("Báo cáo", "BC"),
    ("Biên bản", "BB"),
    ("Tờ trình", "TTr"),
    ("Hợp đồng", "HĐ"),
    ("Công văn", None),
    ("Công điện", "CĐ"),
    ("Bản ghi nhớ", "BGN"),
    ("Bản thỏa thuận", "BTT"),
    ("Giấy ủy quyền", "GUQ"),
    ("Giấy mời", "GM"),
    ("Giấy giới thiệu", "GGT"),
    ("Giấy nghỉ phép", "GNP"),
    ("Phiếu gửi", "PG"),
    ("Phiếu chuyển", "PC"),
    ("Phiếu báo", "PB"),
    ("Thư công", None),
]
DOCUMENT_TYPES: tuple[DocumentType, ...] = tuple(DocumentType(i + 1, n, a) for i, (n, a) in enumerate(_TYPES))
COPY_FORMS = {"SAO Y": "SY", "SAO LỤC": "SL", "TRÍCH SAO": "TrS"}


def _fold(text: str) -> str:
    """Case- and accent-insensitive key (đ → d) for lenient name matching."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().replace("(ca biet)", "").split())


_BY_ABBR = {t.abbreviation: t for t in DOCUMENT_TYPES if t.abbreviation}
_BY_ABBR_FOLD = {t.abbreviation.casefold(): t for t in DOCUMENT_TYPES if t.abbreviation}
_BY_NAME_FOLD = {_fold(t.name): t for t in DOCUMENT_TYPES}
# "Thỏa"/"Thoả" and "ủy"/"uỷ" spellings fold to the same key already (accents are stripped).


def lookup_document_type(value: str | int) -> DocumentType | None:
    """Find one of the 29 Decree 30 types by edXML type code, abbreviation (``QĐ``, ``qđ``) or name
    (``Quyết định``, ``quyet dinh``, ``Nghị quyết (cá biệt)``). ``None`` when unknown."""
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        n = int(value)
        return DOCUMENT_TYPES[n - 1] if 1 <= n <= len(DOCUMENT_TYPES) else None
    text = unicodedata.normalize("NFC", value.strip())
    if text in _BY_ABBR:
        return _BY_ABBR[text]
    if text.casefold() in _BY_ABBR_FOLD:
        return _BY_ABBR_FOLD[text.casefold()]
    return _BY_NAME_FOLD.get(_fold(text))


# ---- number and notation (Decree 30 Appendix I §II.3) ----

CODE_NUMBER_MAX = 11
CODE_NOTATION_MAX = 30
_NOTATION_GROUP = re.compile(r"^[A-ZĐ0-9.]+$")
_PREFIX = re.compile(r"^\s*s[ốoô]\s*:?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class NumberNotation:
    number: str
    notation: str

    def __str__(self) -> str:
        return f"{self.number}/{self.notation}"

    @property
    def rendered(self) -> str:
        return f"Số: {self}"


def canonical_number(value: str, path: str = "Code.CodeNumber") -> str:
    """Arabic digits, numbers below 10 zero-padded (``5`` → ``05``, ``0005`` → ``05``, ``123`` → ``123``)."""
    raw = value.strip()
    if not raw:
        raise _err("N", path, "document number is missing", "thiếu số văn bản")
    if not raw.isascii() or not raw.isdigit():
        raise _err(
            "M", path, f"document number {raw!r} is not numeric", f"số văn bản {raw!r} không phải là số"
        )
    canon = str(int(raw)).rjust(2, "0")
    if len(canon) > CODE_NUMBER_MAX:
        raise _err(
            "R",
            path,
            f"document number longer than {CODE_NUMBER_MAX} digits",
            f"số văn bản dài quá {CODE_NUMBER_MAX} chữ số",
        )
    if int(raw) == 0:
        raise _err("R", path, "document number must be at least 1", "số văn bản phải từ 01 trở lên")
    return canon


def canonical_notation(value: str, path: str = "Code.CodeNotation") -> str:
    """Upper-case, hyphen-separated groups, no spaces; a leading document-type abbreviation keeps its
    Decree 30
    spelling (``qyđ-ubnd`` → ``QyĐ-UBND``, ``ttr-ubnd`` → ``TTr-UBND``)."""
    raw = unicodedata.normalize("NFC", value.strip())
    if not raw:
        raise _err("N", path, "notation is missing", "thiếu ký hiệu văn bản")
    groups = [g.strip() for g in raw.split("-")]
    if any(not g or " " in g for g in groups):
        raise _err("M", path, f"malformed notation {raw!r}", f"ký hiệu văn bản không đúng định dạng {raw!r}")
    out = []
    for i, g in enumerate(groups):
        abbr = _BY_ABBR_FOLD.get(g.casefold()) if i == 0 else None
        if abbr is not None and abbr.abbreviation:
            out.append(abbr.abbreviation)
            continue
        up = g.upper()
        if not _NOTATION_GROUP.match(up):
            raise _err(
                "M",
                path,
                f"notation {raw!r} has characters outside A-Z, Đ, 0-9 and '.'",
                f"ký hiệu {raw!r} chứa ký tự ngoài A-Z, Đ, 0-9 và '.'",
            )
        out.append(up)
    canon = "-".join(out)
    if len(canon) > CODE_NOTATION_MAX:
        raise _err(
            "R",
            path,
            f"notation longer than {CODE_NOTATION_MAX} characters",
            f"ký hiệu văn bản dài quá {CODE_NOTATION_MAX} ký tự",
        )
    return canon


def parse_number_notation(value: str, path: str = "Code") -> NumberNotation:
    """``Số: 05/QĐ-UBND``, ``5/QĐ-UBND``, ``05/qđ-ubnd`` → ``NumberNotation("05", "QĐ-UBND")``."""
    raw = unicodedata.normalize("NFC", value.strip())
    if not raw:
        raise _err("N", path, "number and notation are missing", "thiếu số, ký hiệu văn bản")
    raw = _PREFIX.sub("", raw)
    if "/" not in raw:
        raise _err(
            "M",
            path,
            f"{value!r} has no '/' between number and notation",
            f"{value!r} thiếu dấu '/' giữa số và ký hiệu",
        )
    number, notation = raw.split("/", 1)
    return NumberNotation(
        canonical_number(number, f"{path}.CodeNumber"),
        canonical_notation(re.sub(r"\s*-\s*", "-", notation), f"{path}.CodeNotation"),
    )


# ---- urgency (Priority) ----

# Working assumption (domain-vn.md §7.1, [M]): the official code list is unpublished.
URGENCY: dict[int, str] = {0: "Thường", 1: "Khẩn", 2: "Thượng khẩn", 3: "Hỏa tốc", 4: "Hỏa tốc hẹn giờ"}
_URGENCY_FOLD = {_fold(v): k for k, v in URGENCY.items()} | {"binh thuong": 0, "hoa toc hen gio": 4}


def canonical_priority(value: str | int, path: str = "OtherInfo.Priority") -> int:
    """Priority code 0-4 from its number or Vietnamese name (``Khẩn``, ``hoả tốc``)."""
    if isinstance(value, int):
        n: int | None = value
    else:
        raw = value.strip()
        if not raw:
            raise _err("N", path, "urgency is missing", "thiếu độ khẩn")
        n = int(raw) if raw.isascii() and raw.isdigit() else _URGENCY_FOLD.get(_fold(raw))
        if n is None:
            raise _err("M", path, f"unknown urgency {raw!r}", f"độ khẩn không xác định {raw!r}")
    if n not in URGENCY:
        raise _err("R", path, f"urgency {n} outside 0-4", f"độ khẩn {n} ngoài khoảng 0-4")
    return n


# ---- field lengths (Decree 30 Appendix VI; BKAV checker) ----

FIELD_LIMITS: dict[str, int] = {
    "Subject": 500,
    "Content": 500,
    "OrganName": 200,
    "OrganizationInCharge": 500,
    "OrganAdd": 500,
    "Email": 100,
    "Telephone": 20,
    "Fax": 20,
    "Website": 100,
    "CodeNumber": CODE_NUMBER_MAX,
    "CodeNotation": CODE_NOTATION_MAX,
    "PromulgationInfo.Place": 50,
    "ToPlaces.Place": 150,
    "TypeName": 100,
    "SphereOfPromulgation": 100,
    "TyperNotation": 10,
    "AttachmentName": 500,
    "Position": 100,
    "FullName": 50,
    "Description": 500,
    "Language": 30,
    "OrganId": ORGAN_ID_MAX,
    "DocumentId": 200,
    "BussinessDocReason": 500,
    "Department": 200,
    "Staff": 100,
    "Mobile": 20,
    "Competence": 100,
    "Appendix": 500,
}
"""Maximum lengths in characters. Website is 100 here, not the BKAV checker's 20 (real sites exceed 20)."""


def limit_for(path: str) -> int | None:
    """The length limit that applies to an edXML element path (most specific suffix wins)."""
    parts = path.split(".")
    for i in range(max(0, len(parts) - 2), len(parts)):
        key = ".".join(parts[i:])
        if key in FIELD_LIMITS:
            return FIELD_LIMITS[key]
    return None


def check_length(path: str, value: str) -> None:
    """Raise ``R.<path>`` when ``value`` exceeds the Appendix VI limit for that field."""
    limit = limit_for(path)
    if limit is not None and len(value) > limit:
        raise _err(
            "R",
            path,
            f"{len(value)} characters, at most {limit} allowed",
            f"dài {len(value)} ký tự, tối đa {limit} ký tự",
        )


def check_non_negative(path: str, value: str) -> int:
    raw = value.strip()
    if not (raw.isascii() and raw.lstrip("-").isdigit()):
        raise _err("M", path, f"{raw!r} is not an integer", f"{raw!r} không phải số nguyên")
    n = int(raw)
    if n < 0:
        raise _err("R", path, f"{n} is negative", f"{n} là số âm")
    return n
