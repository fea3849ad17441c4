"""Canonical metadata forms: dates, agency codes, number/notation, document types, urgency, lengths."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docexchange.errors import BadInput
from docexchange.formats import metadata as md

VN = timezone(timedelta(hours=7))


# ---- dates ----


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2019/01/16", "2019-01-16"),
        ("30/10/2020", "2020-10-30"),
        ("2020-10-30", "2020-10-30"),
        ("5/3/2025", "2025-03-05"),
        ("2018/09/28 00:00:00", "2018-09-28T00:00:00+07:00"),
        ("2015/09/20 11:08:36", "2015-09-20T11:08:36+07:00"),
        ("30/10/2020 08:15", "2020-10-30T08:15:00+07:00"),
        ("2025-03-05T10:15:30+07:00", "2025-03-05T10:15:30+07:00"),
        ("2025-03-05T03:15:30Z", "2025-03-05T10:15:30+07:00"),
        ("2018-05-15T07:19:17Z", "2018-05-15T14:19:17+07:00"),
        ("2025-03-05T10:15:30.250+0700", "2025-03-05T10:15:30+07:00"),
        (" 2019/01/16 ", "2019-01-16"),
    ],
)
def test_dates_to_iso(raw: str, iso: str) -> None:
    assert md.canonical_date(raw) == iso


@pytest.mark.parametrize("raw", ["31/02/2024", "2014/02/30", "2023/02/29", "2019/13/01", "00/01/2020"])
def test_impossible_dates_rejected_with_m_code(raw: str) -> None:
    with pytest.raises(md.MetadataError) as exc:
        md.parse_date(raw, "MessageHeader.PromulgationInfo.PromulgationDate")
    e = exc.value
    assert e.code == "M.MessageHeader.PromulgationInfo.PromulgationDate"
    assert "impossible date" in e.en and "ngày không tồn tại" in e.vi
    assert isinstance(e, BadInput)


@pytest.mark.parametrize(
    "raw", ["2019/01/16 25:00:00", "16.01.2019", "yesterday", "2019/1", "2020-01-01T10:00+15:00"]
)
def test_malformed_dates(raw: str) -> None:
    with pytest.raises(md.MetadataError) as exc:
        md.parse_date(raw)
    assert exc.value.code.startswith("M.")


def test_empty_date_is_missing() -> None:
    with pytest.raises(md.MetadataError) as exc:
        md.parse_date("  ", "DueDate")
    assert exc.value.code == "N.DueDate"


def test_leap_day_accepted() -> None:
    assert md.parse_date("29/02/2024") == date(2024, 2, 29)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_all_date_shapes_agree(d: date) -> None:
    forms = [md.edxml_date(d), d.strftime("%d/%m/%Y"), d.isoformat(), f"{d.day}/{d.month}/{d.year}"]
    assert {md.parse_date(f) for f in forms} == {d}
    assert md.canonical_date(md.edxml_date(d)) == d.isoformat()


@given(st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2150, 1, 1), timezones=st.just(VN)))
def test_timestamp_round_trip(dt: datetime) -> None:
    dt = dt.replace(microsecond=0)
    parsed = md.parse_date(md.edxml_timestamp(dt))
    assert parsed == dt and md.iso(parsed).endswith("+07:00")


@given(st.text(max_size=40))
def test_parse_date_only_raises_metadata_error(text: str) -> None:
    try:
        v = md.parse_date(text)
    except md.MetadataError as e:
        assert e.code[:2] in ("N.", "M.") and e.vi
    else:
        assert isinstance(v, date)


# ---- agency codes ----


@pytest.mark.parametrize(
    ("raw", "value", "fmt"),
    [
        ("000.00.00.G22", "000.00.00.G22", "legacy"),
        ("000.00.11.h53", "000.00.11.H53", "legacy"),
        (" 000.00.10.H47 ", "000.00.10.H47", "legacy"),
        ("G12.18.92", "G12.18.92", "decision20"),
        ("h41.1.2A", "H41.1.2A", "decision20"),
        ("A80", "A80", "decision20"),
        ("28.22.H17", "28.22.H17", "short"),
        ("14.00.W00", "14.00.W00", "short"),
        ("01.02.G22", "01.02.G22", "short"),
    ],
)
def test_organ_ids(raw: str, value: str, fmt: str) -> None:
    oid = md.canonical_organ_id(raw)
    assert (oid.value, oid.format) == (value, fmt)
    assert (oid.warning is not None) == (fmt == "short")


def test_short_code_rejected_in_strict_mode() -> None:
    with pytest.raises(md.MetadataError) as exc:
        md.canonical_organ_id("28.22.H17", "To.OrganId", lenient=False)
    assert exc.value.code == "M.To.OrganId"


@pytest.mark.parametrize("raw", ["000 00 00 G22", "Z12.1", "0000.00.00.G22", "G22.", "G1.2", "văn phòng"])
def test_bad_organ_ids(raw: str) -> None:
    with pytest.raises(md.MetadataError) as exc:
        md.canonical_organ_id(raw)
    assert exc.value.code == "M.OrganId"


def test_organ_id_length_limit() -> None:
    with pytest.raises(md.MetadataError) as exc:
        md.canonical_organ_id("G12" + ".12345678" * 4)
    assert exc.value.code == "R.OrganId"


@given(st.from_regex(r"\A\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}\Z"))
def test_legacy_codes_accepted_any_case(code: str) -> None:
    assert md.canonical_organ_id(code.lower()) == md.OrganId(code, "legacy")


@given(st.from_regex(r"\A[A-Y]\d{2}(\.[0-9A-Z]{1,4}){0,5}\Z"))
def test_decision20_codes(code: str) -> None:
    assert md.canonical_organ_id(code).format == "decision20"


# ---- number and notation ----


@pytest.mark.parametrize(
    ("raw", "number", "notation"),
    [
        ("Số: 05/QĐ-UBND", "05", "QĐ-UBND"),
        ("5/QĐ-UBND", "05", "QĐ-UBND"),
        ("05/qđ-ubnd", "05", "QĐ-UBND"),
        ("số 15/QĐ-BNV", "15", "QĐ-BNV"),
        ("SỐ:12/UBND-VX", "12", "UBND-VX"),
        ("7816/VPCP-TTĐT", "7816", "VPCP-TTĐT"),
        ("3/qyđ-ubnd", "03", "QyĐ-UBND"),
        ("10/ttr-sNV", "10", "TTr-SNV"),
        ("Số: 05 / QĐ-UBND", "05", "QĐ-UBND"),
        ("0009/KH-UBND", "09", "KH-UBND"),
    ],
)
def test_number_notation(raw: str, number: str, notation: str) -> None:
    nn = md.parse_number_notation(raw)
    assert (nn.number, nn.notation) == (number, notation)
    assert nn.rendered == f"Số: {number}/{notation}"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("74fass22/VPCP", "M.Code.CodeNumber"),
        ("QĐ-UBND", "M.Code"),
        ("0/QĐ-UBND", "R.Code.CodeNumber"),
        ("5/QĐ UBND", "M.Code.CodeNotation"),
        ("5/QĐ--UBND", "M.Code.CodeNotation"),
        ("5/QĐ-UBND-" + "X" * 30, "R.Code.CodeNotation"),
        ("123456789012/QĐ", "R.Code.CodeNumber"),
        ("5/QĐ_UBND", "M.Code.CodeNotation"),
        ("", "N.Code"),
    ],
)
def test_bad_number_notation(raw: str, code: str) -> None:
    with pytest.raises(md.MetadataError) as exc:
        md.parse_number_notation(raw)
    assert exc.value.code == code


@given(st.integers(1, 10**10), st.sampled_from(["QĐ-UBND", "UBND-VX", "VPCP-TTĐT", "QyĐ-BNV", "TB-SYT"]))
def test_number_notation_property(n: int, notation: str) -> None:
    nn = md.parse_number_notation(f"Số: {str(n).zfill(3)}/{notation.lower()}")
    assert nn.number == (f"0{n}" if n < 10 else str(n))
    assert nn.notation == notation
    assert md.parse_number_notation(str(nn)) == nn  # idempotent


# ---- document types ----


def test_29_document_types() -> None:
    assert len(md.DOCUMENT_TYPES) == 29
    assert [t.code for t in md.DOCUMENT_TYPES] == list(range(1, 30))
    assert sum(t.abbreviation is None for t in md.DOCUMENT_TYPES) == 2
    abbrs = [t.abbreviation for t in md.DOCUMENT_TYPES if t.abbreviation]
    assert len(set(abbrs)) == 27


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("QĐ", "Quyết định"),
        ("qđ", "Quyết định"),
        ("QyĐ", "Quy định"),
        ("qyđ", "Quy định"),
        ("TTr", "Tờ trình"),
        ("Công văn", "Công văn"),
        ("cong van", "Công văn"),
        ("CÔNG VĂN", "Công văn"),
        (18, "Công văn"),
        ("Nghị quyết (cá biệt)", "Nghị quyết"),
        ("Giấy uỷ quyền", "Giấy ủy quyền"),
        ("2", "Quyết định"),
        ("Bản thoả thuận", "Bản thỏa thuận"),
        (29, "Thư công"),
    ],
)
def test_lookup_document_type(query: str | int, name: str) -> None:
    t = md.lookup_document_type(query)
    assert t is not None and t.name == name


@pytest.mark.parametrize("query", ["Thông tư", "XYZ", 0, 30, ""])
def test_unknown_document_type(query: str | int) -> None:
    assert md.lookup_document_type(query) is None


# ---- urgency, lengths ----


@pytest.mark.parametrize(
    ("raw", "n"),
    [
        ("0", 0),
        ("Khẩn", 1),
        ("thượng khẩn", 2),
        ("Hoả tốc", 3),
        ("hoa toc hen gio", 4),
        (3, 3),
        ("Thường", 0),
    ],
)
def test_priority(raw: str | int, n: int) -> None:
    assert md.canonical_priority(raw) == n


@pytest.mark.parametrize(
    ("raw", "code"), [("7", "R.OtherInfo.Priority"), ("rất gấp", "M.OtherInfo.Priority")]
)
def test_bad_priority(raw: str, code: str) -> None:
    with pytest.raises(md.MetadataError) as exc:
        md.canonical_priority(raw)
    assert exc.value.code == code


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("MessageHeader.Subject", 500),
        ("MessageHeader.From.OrganName", 200),
        ("MessageHeader.Code.CodeNumber", 11),
        ("MessageHeader.PromulgationInfo.Place", 50),
        ("MessageHeader.ToPlaces.Place", 150),
        ("MessageHeader.SignerInfo.FullName", 50),
        ("MessageHeader.OtherInfo.TyperNotation", 10),
    ],
)
def test_length_limits(path: str, limit: int) -> None:
    md.check_length(path, "ắ" * limit)
    with pytest.raises(md.MetadataError) as exc:
        md.check_length(path, "ắ" * (limit + 1))
    assert exc.value.code == f"R.{path}"
    assert str(limit) in exc.value.en and "tối đa" in exc.value.vi


def test_non_negative() -> None:
    assert md.check_non_negative("PageAmount", "22") == 22
    with pytest.raises(md.MetadataError, match="negative"):
        md.check_non_negative("PageAmount", "-1")
