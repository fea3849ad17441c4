"""Issue 13 §1: one strict header reader. The hub (``read_header`` on the stream) and the node (the codec's
``ParsedPackage.header``) either both refuse a package or agree on every security-relevant field; an element QCVN
102:2016 allows once, occurring twice, is refused by both and listed by ``docexchange edxml inspect``."""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docexchange.axis.edxml import parse_package
from docexchange.axis.edxml.header import HeaderError, PackageHeader, read_header
from docexchange.cli import main

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
BNV, NGHEAN, NGHIPHU = "000.00.00.G09", "000.00.00.H41", "000.21.31.H41"


def organ(tag: str, code: str, prefix: str = "edXML:") -> str:
    return f"<{prefix}{tag}><{prefix}OrganId>{code}</{prefix}OrganId><{prefix}OrganName>Cơ quan</{prefix}OrganName>" \
           f"</{prefix}{tag}>"


EDOC_PARTS = {
    "From": organ("From", NGHIPHU),
    "To": organ("To", NGHEAN),
    "Code": "<edXML:Code><edXML:CodeNumber>12</edXML:CodeNumber><edXML:CodeNotation>QĐ-UBND</edXML:CodeNotation>"
            "</edXML:Code>",
    "PromulgationInfo": "<edXML:PromulgationInfo><edXML:Place>Nghi Phú</edXML:Place><edXML:PromulgationDate>"
                        "2026/12/05</edXML:PromulgationDate></edXML:PromulgationInfo>",
    "DocumentType": "<edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeName>Quyết định</edXML:TypeName>"
                    "</edXML:DocumentType>",
    "Subject": "<edXML:Subject>Về việc thử nghiệm</edXML:Subject>",
    "SignerInfo": "<edXML:SignerInfo><edXML:Position>Chủ tịch</edXML:Position><edXML:FullName>Nguyễn Văn A"
                  "</edXML:FullName></edXML:SignerInfo>",
    "DocumentId": f"<edXML:DocumentId>{NGHIPHU},2026/12/05,12/QĐ-UBND</edXML:DocumentId>",
}


def edoc(parts: list[str], trace: str = "<edXML:TraceHeaderList><edXML:Bussiness><edXML:BussinessDocType>0"
                                        "</edXML:BussinessDocType></edXML:Bussiness></edXML:TraceHeaderList>",
         header_extra: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><edXML xmlns="{NS}"><edXML:edXMLEnvelope xmlns:edXML="{NS}">'
        f"<edXML:edXMLHeader><edXML:MessageHeader>{''.join(parts)}</edXML:MessageHeader>{trace}{header_extra}"
        "</edXML:edXMLHeader><edXML:edXMLBody><edXML:edXMLManifest version=\"1.0\"><edXML:Reference>"
        "<edXML:ContentId>cid:1</edXML:ContentId></edXML:Reference></edXML:edXMLManifest></edXML:edXMLBody>"
        "</edXML:edXMLEnvelope><AttachmentEncoded><Attachment><ContentId>cid:1</ContentId>"
        "<AttachmentName>a.pdf</AttachmentName><ContentType>application/pdf</ContentType>"
        "<ContentTransferEncoded>JVBERi0xLjcgdGVzdA==</ContentTransferEncoded></Attachment></AttachmentEncoded>"
        "</edXML>"
    ).encode()


def hub_view(data: bytes) -> PackageHeader | None:
    try:
        return read_header(io.BytesIO(data))
    except HeaderError:
        return None


def node_view(data: bytes) -> PackageHeader | None:
    parsed = parse_package(data)
    return parsed.header if parsed.readable else None


# ------------------------------------------------------------------------------------------ once-only elements
ONCE_CASES = {
    "From": lambda p: [organ("From", BNV)] + p,  # the issue-13 attack: the first From names a third agency
    "From (last)": lambda p: p + [organ("From", BNV)],
    "DocumentId": lambda p: p + [f"<edXML:DocumentId>{BNV},2026/12/05,1/QĐ-BNV</edXML:DocumentId>"],
    "Code": lambda p: p + ["<edXML:Code><edXML:CodeNumber>99</edXML:CodeNumber>"
                           "<edXML:CodeNotation>QĐ-BNV</edXML:CodeNotation></edXML:Code>"],
    "PromulgationInfo": lambda p: p + ["<edXML:PromulgationInfo><edXML:PromulgationDate>2026/01/01"
                                       "</edXML:PromulgationDate></edXML:PromulgationInfo>"],
    "Subject": lambda p: p + ["<edXML:Subject>Trích yếu khác</edXML:Subject>"],
    "From/OrganId": lambda p: [p[0].replace("</edXML:From>", f"<edXML:OrganId>{BNV}</edXML:OrganId></edXML:From>")]
    + p[1:],
    "Code/CodeNumber": lambda p: [x.replace("</edXML:Code>", "<edXML:CodeNumber>7</edXML:CodeNumber></edXML:Code>")
                                  for x in p],
    "foreign-namespace From": lambda p: [organ("From", BNV, "x:").replace("<x:From>", '<x:From xmlns:x="urn:x">')]
    + p,
}


@pytest.mark.parametrize("case", list(ONCE_CASES))
def test_a_repeated_once_only_element_is_refused_by_hub_node_and_inspect(case: str, tmp_path: Path) -> None:
    data = edoc(ONCE_CASES[case](list(EDOC_PARTS.values())))
    with pytest.raises(HeaderError) as exc:
        read_header(io.BytesIO(data))
    assert exc.value.code == "bad_package" and exc.value.status == 400
    assert "xuất hiện nhiều lần" in exc.value.vi and "more than once" in exc.value.en
    parsed = parse_package(data)
    assert parsed.header is None and not parsed.ok
    [err] = [e for e in parsed.errors if e.code.startswith("R.edXMLHeader.MessageHeader")]
    assert "xuất hiện nhiều lần" in err.message_vi
    f = tmp_path / "p.edxml"
    f.write_bytes(data)
    result = CliRunner().invoke(main, ["edxml", "inspect", str(f)])
    assert result.exit_code == 1 and "occurs more than once" in result.output


def test_status_with_two_response_for_or_two_status_codes_is_refused() -> None:
    rf = (f"<edXML:ResponseFor><edXML:OrganId>{NGHEAN}</edXML:OrganId><edXML:DocumentId>{NGHEAN},2026/12/05,1/A"
          "</edXML:DocumentId></edXML:ResponseFor>")
    base = [organ("From", NGHIPHU), rf, "<edXML:StatusCode>03</edXML:StatusCode>",
            "<edXML:Timestamp>2026/12/05 08:00:00</edXML:Timestamp>"]
    ok = read_header(io.BytesIO(edoc(base, trace="")))
    assert (ok.kind, ok.from_organ, ok.to_organs, ok.status_code) == ("status", NGHIPHU, [NGHEAN], "03")
    for parts in (base + [rf.replace(NGHEAN, BNV)], base + ["<edXML:StatusCode>06</edXML:StatusCode>"]):
        data = edoc(parts, trace="")
        assert hub_view(data) is None and node_view(data) is None


def test_security_fields_must_be_plain_text() -> None:
    parts = list(EDOC_PARTS.values())
    parts[0] = organ("From", f"{NGHIPHU}<edXML:x>{BNV}</edXML:x>")
    data = edoc(parts)
    assert hub_view(data) is None and node_view(data) is None


def test_comments_inside_a_field_are_read_alike() -> None:
    parts = list(EDOC_PARTS.values())
    parts[0] = organ("From", "000.21<!-- x -->.31.H41")
    h, n = hub_view(edoc(parts)), node_view(edoc(parts))
    assert h is not None and h == n and h.from_organ == NGHIPHU


# ------------------------------------------------------------------------------------------ the property
CODES = st.sampled_from([BNV, NGHEAN, NGHIPHU, "H41.21", " 000.00.00.G09 "])
SNIPPETS = st.one_of(
    CODES.map(lambda c: organ("From", c)),
    CODES.map(lambda c: organ("To", c)),
    CODES.map(lambda c: organ("From", c, "x:").replace("<x:From>", '<x:From xmlns:x="urn:x">')),
    CODES.map(lambda c: f"<edXML:ResponseFor><edXML:OrganId>{c}</edXML:OrganId><edXML:DocumentId>D-{c}"
                        "</edXML:DocumentId></edXML:ResponseFor>"),
    st.sampled_from(list(EDOC_PARTS.values())),
    st.sampled_from(["<edXML:StatusCode>03</edXML:StatusCode>", "<edXML:StatusCode> 02 </edXML:StatusCode>",
                     "<edXML:DocumentId><![CDATA[X,2026/12/05,1/A]]></edXML:DocumentId>",
                     "<edXML:DocumentId>A<!-- c -->B</edXML:DocumentId>", "<!-- a comment -->", "<?pi data?>",
                     "<edXML:Unknown><edXML:From><edXML:OrganId>000.00.00.G09</edXML:OrganId></edXML:From>"
                     "</edXML:Unknown>", "<edXML:Timestamp>2026/12/05 08:00:00</edXML:Timestamp>"]),
)
BENIGN = st.sampled_from([
    "<!-- a comment -->", "<?pi data?>", "<edXML:Content>Nội dung</edXML:Content>", "<edXML:DueDate/>",
    "<edXML:OtherInfo><edXML:Priority>1</edXML:Priority></edXML:OtherInfo>", "  \n  ",
    "<edXML:ToPlaces><edXML:Place>Lưu VT</edXML:Place><edXML:Place>Như trên</edXML:Place></edXML:ToPlaces>",
    '<x:Extension xmlns:x="urn:x"><x:From>000.00.00.G09</x:From></x:Extension>',
])
TRACES = st.sampled_from([
    "<edXML:TraceHeaderList><edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType>"
    "</edXML:Bussiness></edXML:TraceHeaderList>",
    "", "<edXML:TraceHeaderList><edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType>"
        "</edXML:Bussiness></edXML:TraceHeaderList>",
    "<edXML:TraceHeaderList><edXML:Bussiness><edXML:BussinessDocType>1</edXML:BussinessDocType></edXML:Bussiness>"
    "<edXML:Business><edXML:BussinessDocType>0</edXML:BussinessDocType></edXML:Business></edXML:TraceHeaderList>",
    "<edXML:TraceHeaderList><edXML:Bussiness><edXML:BussinessDocType>x</edXML:BussinessDocType></edXML:Bussiness>"
    "</edXML:TraceHeaderList>",
    "<edXML:TraceHeaderList><edXML:Bussiness><edXML:BussinessDocType>2</edXML:BussinessDocType>"
    "<edXML:BussinessDocType>0</edXML:BussinessDocType></edXML:Bussiness></edXML:TraceHeaderList>",
])
EXTRAS = st.sampled_from(["", '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>',
                          '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/><edXML:DigitalSignature/>',
                          "<edXML:MessageHeader>" + organ("From", BNV) + "</edXML:MessageHeader>"])


EDOC_TRACE = ("<edXML:TraceHeaderList><edXML:Bussiness><edXML:BussinessDocType>0</edXML:BussinessDocType>"
              "</edXML:Bussiness></edXML:TraceHeaderList>")
STATUS_PARTS = [organ("From", NGHIPHU), f"<edXML:ResponseFor><edXML:OrganId>{NGHEAN}</edXML:OrganId>"
                f"<edXML:DocumentId>{NGHEAN},2026/12/05,1/A</edXML:DocumentId></edXML:ResponseFor>",
                "<edXML:StatusCode>03</edXML:StatusCode>", "<edXML:Timestamp>2026/12/05 08:00:00</edXML:Timestamp>"]


@st.composite
def packages(draw: st.DrawFn) -> bytes:
    """A valid edoc or status header, then up to three snippets inserted anywhere and maybe one part dropped."""
    status = draw(st.booleans())
    parts = list(STATUS_PARTS if status else EDOC_PARTS.values())
    if draw(st.integers(0, 3)) == 0:
        del parts[draw(st.integers(0, len(parts) - 1))]
    for snippet in draw(st.lists(st.one_of(BENIGN, BENIGN, SNIPPETS), max_size=3)):
        parts.insert(draw(st.integers(0, len(parts))), snippet)
    trace = "" if status else draw(st.one_of(st.just(EDOC_TRACE), TRACES))
    extra = draw(st.one_of(st.just(""), EXTRAS)) if draw(st.booleans()) else ""
    return edoc(parts, trace, extra)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=packages())
def test_hub_and_node_both_refuse_or_agree_on_every_security_field(data: bytes) -> None:
    hub, node = hub_view(data), node_view(data)
    assert (hub is None) == (node is None), (hub, node)
    if hub is not None and node is not None:
        assert asdict(hub) == asdict(node)
        # the codec's lenient view names no other sender than the strict one
        msg = parse_package(data).message
        assert msg is not None and msg.sender.organ_id in (hub.from_organ, hub.from_organ.upper())
