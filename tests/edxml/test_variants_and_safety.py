"""Real-world variants are accepted (and flagged where odd); hostile input is refused with an M./R. error."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docexchange.axis.edxml import Attachment, Limits, parse_package
from docexchange.axis.edxml.build import build_edoc

from .test_roundtrip import PDF, sample

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"


def codes(pkg, severity: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["code"] for e in pkg.normalized["errors"] if severity in (None, e["severity"])]


def hand_made(
    *,
    date: str = "30/10/2020",
    organ_to: str = "28.22.H17",
    cid_att: str = "209",
    payload: bytes = PDF,
    ctype: str = "application/pdf",
    signature: str = "",
    extra_header: str = "",
    root_ns: str = NS,
    prolog: str = "",
) -> bytes:
    """A package in the style of the provincial producers: default namespace only, element order of the
    status samples, OrganName before OrganId, dd/MM/yyyy date."""
    b64 = base64.b64encode(payload).decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>{prolog}
<edXML xmlns="{root_ns}"><edXMLEnvelope><edXMLHeader><MessageHeader>
<Subject>  V/v   báo cáo </Subject>
<To><OrganName>UBND xã Hòa Sơn</OrganName><OrganId>{organ_to}</OrganId></To>
<From><OrganName>Sở Tài chính Tây Ninh</OrganName><OrganId>000.00.11.h53</OrganId></From>
<DocumentId>000.00.11.H53,2020/10/30,2491/STC-BCTC</DocumentId>
<DocumentType><TypeName>Báo cáo</TypeName><Type>14</Type></DocumentType>
<Code><CodeNotation>stc-bctc</CodeNotation><CodeNumber>2491</CodeNumber></Code>
<PromulgationInfo><PromulgationDate>{date}</PromulgationDate><Place>Tây Ninh</Place></PromulgationInfo>
<SignerInfo><FullName>Nguyễn Văn B</FullName><Position>Giám đốc</Position></SignerInfo>
</MessageHeader>
<TraceHeaderList><Bussiness><BussinessDocType>0</BussinessDocType></Bussiness>
<TraceHeader><Timestamp>30/10/2020 08:00:00</Timestamp><OrganId>000.00.11.H53</OrganId></TraceHeader>
</TraceHeaderList>{signature}{extra_header}</edXMLHeader>
<edXMLBody><edXMLManifest version="1.0"><Reference><ContentId>cid:{cid_att}</ContentId>
<ContentType>{ctype}</ContentType><AttachmentName>bc.pdf</AttachmentName></Reference></edXMLManifest></edXMLBody>
</edXMLEnvelope>
<AttachmentEncoded><Attachment><ContentId>{cid_att}</ContentId><AttachmentName>bc.pdf</AttachmentName>
<ContentType>{ctype}</ContentType><ContentTransferEncoded>
{chr(10).join(b64[i : i + 76] for i in range(0, len(b64), 76))}
</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>""".encode()


def test_provincial_variant_normalized() -> None:
    pkg = parse_package(hand_made())
    n = pkg.normalized
    assert n["kind"] == "edoc" and n["from"]["organ_id"] == "000.00.11.H53"
    assert n["code"] == {"number": "2491", "notation": "STC-BCTC"}
    assert n["promulgation"] == {"place": "Tây Ninh", "date": "2020-10-30"}
    assert n["subject"] == "V/v báo cáo"
    assert n["document_type"] == {"type": 14, "type_name": "Báo cáo"}
    norms = {x["field"]: (x["from"], x["to"]) for x in n["normalizations"]}
    assert norms["promulgation.date"] == ("30/10/2020", "2020-10-30")
    assert norms["from.organ_id"] == ("000.00.11.h53", "000.00.11.H53")
    assert norms["code.notation"] == ("stc-bctc", "STC-BCTC")
    assert norms["subject"] == ("  V/v   báo cáo ", "V/v báo cáo")
    assert norms["TraceHeaderList.TraceHeader.Timestamp"] == (
        "30/10/2020 08:00:00",
        "2020-10-30T08:00:00+07:00",
    )
    # cid: on the manifest only → matched; short To code → warning; no signature → absent (not an error)
    [att] = n["attachments"]
    assert att["content_id"] == "209" and att["is_pdf"] and att["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert codes(pkg, "error") == []
    assert codes(pkg, "warning") == ["M.MessageHeader.To.OrganId"]
    assert n["package_signature"]["note"] == "absent"
    assert pkg.ok


def test_empty_digital_signature_element_is_dummy() -> None:
    pkg = parse_package(hand_made(signature=f'<edXML:DigitalSignature xmlns:edXML="{NS}"/>'))
    assert pkg.normalized["package_signature"] == {
        **pkg.normalized["package_signature"],
        "present": True,
        "valid": False,
        "note": "dummy",
    }


def test_placeholder_xmldsig_with_garbage_cert_is_dummy() -> None:
    sig = (
        '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><Reference URI=""/></SignedInfo>'
        "<SignatureValue>GbVb8n9+qFxz</SignatureValue><KeyInfo><X509Data><X509Certificate>MIIFqTCCBJG"
        "</X509Certificate></X509Data></KeyInfo></Signature>"
    )
    s = parse_package(hand_made(signature=sig)).normalized["package_signature"]
    assert (s["present"], s["valid"], s["note"]) == (True, False, "dummy")
    assert "certificate" in s["reason"]


def test_impossible_and_malformed_dates() -> None:
    pkg = parse_package(hand_made(date="31/02/2024"))
    assert "M.MessageHeader.PromulgationInfo.PromulgationDate" in codes(pkg, "error")
    assert pkg.normalized["promulgation"]["date"] is None and pkg.readable and not pkg.ok


def test_cid_mismatch_and_unknown_type() -> None:
    data = hand_made().replace(b"<ContentId>209</ContentId>", b"<ContentId>cid:999</ContentId>")
    pkg = parse_package(data)
    assert "N.Attachment" in codes(pkg) and "M.Attachment-Reference" in codes(pkg)
    pkg = parse_package(hand_made(ctype="application/x-msdownload"))
    assert "M.Attachment-Type" in codes(pkg, "error")


def test_bad_base64_is_m_attachment_encoding() -> None:
    data = hand_made().replace(b"<ContentTransferEncoded>", b"<ContentTransferEncoded>${__StringFromFile(t)}")
    pkg = parse_package(data)
    assert "M.Attachment-Encoding" in codes(pkg, "error") and pkg.readable


def test_wrong_namespace_rejected() -> None:
    pkg = parse_package(hand_made(root_ns="http://www.go.vn/eDoc"))
    assert not pkg.readable and codes(pkg) == ["M.edXML"]
    assert "go.vn/eDoc" in pkg.normalized["errors"][0]["message"]


def test_nested_edxml_in_zip_parsed_one_level() -> None:
    inner = hand_made()
    middle = build_edoc(
        sample(attachments=[Attachment("inner.doc", "application/zip", inner, zip_payload=True)])
    )
    outer = build_edoc(
        sample(attachments=[Attachment("middle.doc", "application/zip", middle, zip_payload=True)])
    )
    pkg = parse_package(outer)
    att = pkg.normalized["attachments"][0]
    assert att["zipped"] and not att["is_pdf"] and att["sha256"] == hashlib.sha256(middle).hexdigest()
    nested = att["nested"]
    assert nested["kind"] == "edoc" and nested["code"]["number"] == "05"
    # one level only: the innermost package is an attachment of the nested one, not parsed
    assert nested["attachments"][0]["nested"] is None
    assert nested["attachments"][0]["sha256"] == hashlib.sha256(inner).hexdigest()
    assert "M.Attachment-Type" in codes(pkg, "error")


# ---- hostile input ----


def test_billion_laughs_rejected() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<edXML xmlns="' + NS.encode() + b'">&lol2;</edXML>'
    )
    pkg = parse_package(bomb)
    assert not pkg.readable and codes(pkg) == ["M.XML-DTD"]


def test_external_entity_rejected(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f'<edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader><MessageHeader><Subject>&xxe;</Subject>'
        "</MessageHeader></edXMLHeader></edXMLEnvelope></edXML>"
    ).encode()
    pkg = parse_package(xxe)
    assert not pkg.readable and codes(pkg) == ["M.XML-DTD"]
    assert "TOP-SECRET" not in str(pkg.normalized)


def test_undeclared_entity_rejected() -> None:
    pkg = parse_package(hand_made().replace(b"V/v", b"&foo;V/v"))
    assert not pkg.readable and codes(pkg) == ["M.XML"]


def test_depth_limit() -> None:
    deep = f'<edXML xmlns="{NS}">'.encode() + b"<a>" * 200 + b"</a>" * 200 + b"</edXML>"
    pkg = parse_package(deep)
    assert codes(pkg) == ["M.XML-Depth"]


def test_size_and_header_limits() -> None:
    data = hand_made()
    assert codes(parse_package(data, limits=Limits(max_package_bytes=1000))) == ["R.Package-Size"]
    big_subject = data.replace(b"V/v", b"V/v" + b"x" * 5000)
    assert codes(parse_package(big_subject, limits=Limits(max_header_chars=4000))) == ["R.Header-Size"]
    many = data.replace(b"</MessageHeader>", b"<x/>" * 300 + b"</MessageHeader>")
    assert codes(parse_package(many, limits=Limits(max_elements=200))) == ["R.XML-Elements"]


def test_invalid_utf8_is_clear_m_error() -> None:
    data = hand_made().replace("Tây Ninh".encode(), b"T\xe2y Ninh")  # Latin-1 byte in a UTF-8 package
    pkg = parse_package(data)
    assert not pkg.readable and codes(pkg) == ["M.Encoding"]
    assert "UTF-8" in pkg.normalized["errors"][0]["message"]


def test_attachment_size_limit() -> None:
    pkg = parse_package(hand_made(payload=PDF + b"x" * 5000), limits=Limits(max_attachment_bytes=4000))
    assert "M.Attachment-Encoding" in codes(pkg, "error")  # decoding stopped at the cap
    assert pkg.normalized["attachments"][0]["size"] == 0


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return buf.getvalue()


def test_zip_bomb_refused_without_inflating() -> None:
    bomb = _zip("a.pdf", b"\0" * (50 << 20))  # 50 MB of zeros → ~50 KB
    assert len(bomb) < 100_000
    pkg = parse_package(hand_made(payload=bomb, ctype="application/zip"))
    assert "R.Attachment-Zip" in codes(pkg, "error")
    assert pkg.attachments[0].size == 0


def test_zip_lying_about_its_size_is_stopped() -> None:
    """A zip whose central directory understates the entry size: at most the declared size is inflated
    (then the CRC check fails); our own streaming cap stands behind that."""
    data = bytearray(_zip("a.pdf", PDF + b"\0" * 300_000))
    packed_len = len(data)
    # patch the uncompressed size in the central directory (offset 24 of the CD header) to a small value
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24 : cd + 28] = (100).to_bytes(4, "little")
    pkg = parse_package(
        hand_made(payload=bytes(data), ctype="application/zip"), limits=Limits(max_zip_ratio=2)
    )
    assert packed_len * 2 < 300_000
    assert "M.Attachment-Zip" in codes(pkg, "error")
    assert pkg.attachments[0].size == 0


def test_zip_path_traversal_name_is_flagged_and_harmless(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pkg = parse_package(hand_made(payload=_zip("../../x.pdf", PDF), ctype="application/zip"))
    assert "M.Attachment-Zip" in codes(pkg, "warning")
    assert pkg.attachments[0].read() == PDF and pkg.attachments[0].is_pdf
    assert not (tmp_path.parent.parent / "x.pdf").exists()


def test_zip_with_two_files_rejected() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.pdf", PDF)
        zf.writestr("b.pdf", PDF)
    pkg = parse_package(hand_made(payload=buf.getvalue(), ctype="application/zip"))
    assert "M.Attachment-Zip" in codes(pkg, "error")


def test_truncated_zip_is_m_error() -> None:
    z = _zip("a.pdf", PDF * 50)
    pkg = parse_package(hand_made(payload=z[: len(z) // 2], ctype="application/zip"))
    assert "M.Attachment-Zip" in codes(pkg, "error")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data: bytes) -> None:
    pkg = parse_package(data)
    assert not pkg.readable and pkg.normalized["errors"]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 3000), st.binary(min_size=1, max_size=4))
def test_corrupted_package_never_raises(pos: int, junk: bytes) -> None:
    data = hand_made()
    pos = pos % len(data)
    pkg = parse_package(data[:pos] + junk + data[pos + len(junk) :])
    assert isinstance(pkg.normalized["errors"], list)
    assert pkg.readable or pkg.normalized["errors"][0]["code"].startswith(("M.", "R."))


def test_caller_sink_receives_bytes() -> None:
    got: dict[str, io.BytesIO] = {}

    def sink(cid: str, name: str) -> io.BytesIO:
        got[cid] = io.BytesIO()
        return got[cid]

    zipped = hand_made(payload=_zip("x.pdf", PDF), ctype="application/zip")
    for data in (hand_made(), zipped):
        got.clear()
        pkg = parse_package(data, sink=sink)
        assert got["209"].getvalue() == PDF
        assert (
            pkg.attachments[0].stream is None and pkg.attachments[0].sha256 == hashlib.sha256(PDF).hexdigest()
        )


@pytest.mark.parametrize("as_stream", [False, True])
def test_stream_and_path_sources(tmp_path, as_stream: bool, pki) -> None:  # type: ignore[no-untyped-def]
    data = build_edoc(sample(), pki.rsa_seal)
    p = tmp_path / "p.edxml"
    p.write_bytes(data)
    if as_stream:
        with p.open("rb") as f:
            n = parse_package(f).normalized
    else:
        n = parse_package(p).normalized
    assert n == parse_package(data).normalized and n["package_signature"]["note"] == "valid"


def test_sink_written_while_parsing_without_a_spool_copy(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A non-zip attachment whose ContentId precedes its payload goes straight into the caller's sink."""
    import docexchange.axis.edxml.codec as codec

    def no_copy(*a: object, **k: object) -> None:
        raise AssertionError("payload copied from a spool")

    monkeypatch.setattr(codec.shutil, "copyfileobj", no_copy)
    out = io.BytesIO()
    pkg = parse_package(hand_made(), sink=lambda cid, name: out)
    assert out.getvalue() == PDF and pkg.attachments[0].size == len(PDF)
    assert pkg.attachments[0].sha256 == hashlib.sha256(PDF).hexdigest()


def test_padding_in_the_middle_is_rejected() -> None:
    bad = hand_made().replace(b"<ContentTransferEncoded>", b"<ContentTransferEncoded>QQ==")
    assert "M.Attachment-Encoding" in codes(parse_package(bad), "error")


def test_caller_sink_never_closed_even_when_package_is_rejected() -> None:
    out = io.BytesIO()
    data = hand_made(root_ns="urn:not-edxml")
    pkg = parse_package(data, sink=lambda cid, name: out)
    assert not pkg.readable and not out.closed


def test_bad_email_is_a_warning() -> None:
    data = hand_made().replace(
        b"<OrganId>000.00.11.h53</OrganId>",
        b"<OrganId>000.00.11.h53</OrganId><Email>vanthu at tayninh</Email>",
    )
    pkg = parse_package(data)
    assert "M.MessageHeader.From.Email" in codes(pkg, "warning") and pkg.ok


def test_unknown_encoding_declaration() -> None:
    pkg = parse_package(hand_made().replace(b'encoding="UTF-8"', b'encoding="ATF-8"'))
    assert not pkg.readable and codes(pkg) == ["M.Encoding"]
