"""Build → parse → build gives the same normalized package; real XML-DSig checked by us and by xmlsec1."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from docexchange.axis.edxml import (
    Attachment,
    Business,
    EdocMessage,
    Organ,
    Receiver,
    Replacement,
    ResponseFor,
    StaffInfo,
    StatusMessage,
    Trace,
    build_edoc,
    build_status,
    parse_package,
)
from docexchange.formats.metadata import MetadataError
from docexchange.pki.keys import cert_pem

VN = timezone(timedelta(hours=7))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def sample(**kw: object) -> EdocMessage:
    base: dict[str, object] = dict(
        sender=Organ(
            "000.00.00.H41",
            "UBND tỉnh Nghệ An",
            address="Số 03, đường Trường Thi, Vinh",
            email="nghean@gov.vn",
        ),
        recipients=[
            Organ("G12.18.92", "Chi cục Thuế khu vực XIX"),
            Organ("000.00.00.G22", "Văn phòng Chính phủ"),
        ],
        code_number="5",
        code_notation="qđ-ubnd",
        promulgation_date=date(2025, 3, 5),
        subject="Về việc thí điểm liên thông văn bản điện tử",
        type_code=2,
        type_name="Quyết định",
        signer_position="Chủ tịch",
        signer_full_name="Nguyễn Văn Ánh",
        signer_competence="TM. ỦY BAN NHÂN DÂN",
        promulgation_place="Nghệ An",
        due_date=date(2025, 3, 20),
        to_places=["Như trên", "Lưu: VT"],
        priority=1,
        sphere="Liên thông văn bản quốc gia",
        typer_notation="NVA",
        promulgation_amount=2,
        page_amount=3,
        steering_type=0,
        business=Business(staff=StaffInfo("Văn thư", "Trần Thị Bình", "vt@nghean.gov.vn", "0912000001")),
        trace=[Trace("000.00.00.H41", datetime(2025, 3, 5, 9, 30, tzinfo=VN))],
        attachments=[
            Attachment("QD-05.pdf", "application/pdf", PDF),
            Attachment("phu-luc.pdf", "application/pdf", PDF + b"% appendix\n", zip_payload=True),
        ],
    )
    base.update(kw)
    return EdocMessage(**base)  # type: ignore[arg-type]


def strip_sig(n: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in n.items() if k != "package_signature"}


def test_build_parse_fields(pki) -> None:  # type: ignore[no-untyped-def]
    data = build_edoc(sample(), pki.rsa_seal)
    pkg = parse_package(data, anchors=pki.ca.anchors())
    n = pkg.normalized
    assert pkg.ok, n["errors"]
    assert n["errors"] == [] and n["normalizations"] == []
    assert n["document_id"] == "000.00.00.H41,2025/03/05,05/QĐ-UBND"
    assert n["code"] == {"number": "05", "notation": "QĐ-UBND"}
    assert n["to"] == [
        {"organ_id": "G12.18.92", "organ_name": "Chi cục Thuế khu vực XIX"},
        {"organ_id": "000.00.00.G22", "organ_name": "Văn phòng Chính phủ"},
    ]
    assert n["promulgation"] == {"place": "Nghệ An", "date": "2025-03-05"}
    assert n["document_type"] == {"type": 2, "type_name": "Quyết định"}
    assert [a["name"] for a in n["attachments"]] == ["QD-05.pdf", "phu-luc.pdf"]
    assert [a["zipped"] for a in n["attachments"]] == [False, True]
    assert pkg.attachments[1].read() == PDF + b"% appendix\n"
    sig = n["package_signature"]
    assert (sig["present"], sig["valid"], sig["note"], sig["trusted"]) == (True, True, "valid", True)
    assert sig["algorithm"].endswith("rsa-sha256")
    assert "UBND tỉnh Nghệ An" in sig["signer"]
    assert pkg.signature.signer_cert_der == pki.rsa_seal.cert.public_bytes(
        __import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER
    )


def test_ecdsa_signature_and_untrusted_anchor(pki) -> None:  # type: ignore[no-untyped-def]
    data = build_edoc(sample(), pki.ec_seal)
    assert b"ecdsa-sha256" in data
    sig = parse_package(data, anchors=[pki.ca.cert("neac-root")]).normalized["package_signature"]
    assert (sig["valid"], sig["note"], sig["trusted"]) == (True, "valid", False)
    assert parse_package(data).normalized["package_signature"]["trusted"] is None


def test_tampered_package_signature_invalid(pki) -> None:  # type: ignore[no-untyped-def]
    data = build_edoc(sample(), pki.rsa_seal)
    tampered = data.replace("Về việc thí điểm".encode(), "Về việc thử điểm".encode())
    pkg = parse_package(tampered)
    sig = pkg.normalized["package_signature"]
    assert (sig["present"], sig["valid"], sig["note"]) == (True, False, "invalid")
    assert "Digest" in sig["reason"]
    assert pkg.normalized["subject"] == "Về việc thử điểm liên thông văn bản điện tử"
    assert any(e["code"] == "M.Signature" and e["severity"] == "warning" for e in pkg.normalized["errors"])


def test_attachment_tamper_breaks_signature(pki) -> None:  # type: ignore[no-untyped-def]
    import base64

    data = build_edoc(sample(), pki.rsa_seal)
    old = base64.b64encode(PDF)
    new = base64.b64encode(PDF.replace(b"1 0 obj", b"2 0 obj"))
    assert old in data
    assert parse_package(data.replace(old, new, 1)).normalized["package_signature"]["note"] == "invalid"


def test_unsigned_build_is_absent() -> None:
    n = parse_package(build_edoc(sample())).normalized
    assert n["package_signature"]["note"] == "absent" and not n["package_signature"]["present"]
    assert any(e["code"] == "M.Signature" for e in n["errors"]) is False


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 not installed")
@pytest.mark.parametrize("which", ["rsa_seal", "ec_seal"])
def test_xmlsec1_verifies_our_signature(pki, tmp_path: Path, which: str) -> None:  # type: ignore[no-untyped-def]
    data = build_edoc(sample(), getattr(pki, which))
    (tmp_path / "p.edxml").write_bytes(data)
    (tmp_path / "root.pem").write_bytes(cert_pem(pki.ca.cert("gov-root")))
    (tmp_path / "int.pem").write_bytes(cert_pem(pki.ca.cert("gov-int")))
    cmd = [
        "xmlsec1",
        "--verify",
        "--trusted-pem",
        str(tmp_path / "root.pem"),
        "--untrusted-pem",
        str(tmp_path / "int.pem"),
        str(tmp_path / "p.edxml"),
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout + ok.stderr
    (tmp_path / "p.edxml").write_bytes(data.replace("Chủ tịch".encode(), "Phó Chủ tịch".encode()))
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0


def test_status_build_and_parse(pki) -> None:  # type: ignore[no-untyped-def]
    msg = StatusMessage(
        sender=Organ("000.00.00.G22", "Văn phòng Chính phủ"),
        response_for=ResponseFor(
            "000.00.00.H41", "05/QĐ-UBND", date(2025, 3, 5), "000.00.00.H41,2025/03/05,05/QĐ-UBND"
        ),
        status_code="02",
        timestamp=datetime(2025, 3, 5, 10, 0, 1, tzinfo=VN),
        description="Từ chối tiếp nhận: chữ ký số của cơ quan không hợp lệ",
        staff=StaffInfo("Văn thư", "Lê Văn C", "c@chinhphu.vn", "0912"),
    )
    data = build_status(msg, pki.rsa_seal)
    pkg = parse_package(data)
    n = pkg.normalized
    assert pkg.ok and n["kind"] == "status"
    assert n["status"] == {
        "code": "02",
        "meaning": "rejected",
        "description": msg.description,
        "response_for": {
            "document_id": "000.00.00.H41,2025/03/05,05/QĐ-UBND",
            "organ_id": "000.00.00.H41",
            "code": "05/QĐ-UBND",
            "promulgation_date": "2025-03-05",
        },
        "timestamp": "2025-03-05T10:00:01+07:00",
    }
    assert n["package_signature"]["note"] == "valid"
    assert parse_package(build_status(pkg.message)).normalized["status"] == n["status"]  # type: ignore[arg-type]
    with pytest.raises(MetadataError) as exc:
        build_status(StatusMessage(msg.sender, msg.response_for, "07", msg.timestamp))
    assert exc.value.code == "R.MessageHeader.StatusCode"


def test_build_rejects_bad_input() -> None:
    cases = [
        (dict(recipients=[]), "N.MessageHeader.To"),
        (dict(recipients=[Organ("G12.18.92"), Organ("g12.18.92")]), "R.MessageHeader.To.OrganId"),
        (dict(recipients=[Organ("28.22.H17")]), "M.MessageHeader.To.OrganId"),  # never emit short codes
        (dict(code_number="74fass22"), "M.MessageHeader.Code.CodeNumber"),
        (dict(subject="x" * 501), "R.MessageHeader.Subject"),
        (dict(subject="  "), "N.MessageHeader.Subject"),
        (dict(attachments=[]), "N.Attachment"),
        (dict(signer_full_name="N" * 51), "R.MessageHeader.SignerInfo.FullName"),
        (dict(business=Business(doc_type=4)), "R.TraceHeaderList.Bussiness.BussinessDocType"),
    ]
    for kw, code in cases:
        with pytest.raises(MetadataError) as exc:
            build_edoc(sample(**kw))
        assert exc.value.code == code, kw
        assert exc.value.vi


def test_revocation_update_replacement_round_trip() -> None:
    for bt, extra in [
        (1, {}),
        (
            2,
            dict(
                document_info=1,
                document_receiver=1,
                receivers=[Receiver("000.00.00.H14", 0), Receiver("G12.18.91", 1)],
            ),
        ),
        (3, dict(replacements=[Replacement("000.00.00.H41,2025/01/02,01/QĐ-UBND", ["000.00.00.G22"])])),
    ]:
        msg = sample(business=Business(doc_type=bt, **extra))  # type: ignore[arg-type]
        pkg = parse_package(build_edoc(msg))
        assert pkg.ok, pkg.normalized["errors"]
        b = pkg.message.business  # type: ignore[union-attr]
        assert pkg.normalized["business"]["doc_type"] == bt
        assert b.receivers == msg.business.receivers and b.replacements == msg.business.replacements
        assert b.reason == ["", "Thu hồi văn bản điện tử", "Cập nhật văn bản điện tử", "Văn bản thay thế"][bt]


# ---- property: build → parse → build ----

_VI = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ"
_VI += _VI.upper() + "0123456789 ,.-/():"
texts = st.text(alphabet=_VI, min_size=1, max_size=60).filter(lambda s: s.strip() != "")
legacy = st.from_regex(r"\A\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}\Z")
dec20 = st.from_regex(r"\A[A-Y]\d{2}(\.[0-9A-Z]{1,3}){0,3}\Z")
organ_ids = st.one_of(legacy, dec20)
notations = st.from_regex(r"\A[A-ZĐ]{1,4}(-[A-ZĐ0-9]{1,5}){0,2}\Z")


@st.composite
def messages(draw: st.DrawFn) -> EdocMessage:
    recips = draw(st.lists(organ_ids, min_size=1, max_size=4, unique_by=str.upper))
    atts = [
        Attachment(
            f"f{i}.pdf",
            "application/pdf",
            PDF + draw(st.binary(max_size=300)),
            zip_payload=draw(st.booleans()),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    return sample(
        sender=Organ(draw(organ_ids), draw(texts)),
        recipients=[Organ(r, draw(st.none() | texts)) for r in recips],
        code_number=str(draw(st.integers(1, 10**9))),
        code_notation=draw(notations),
        promulgation_date=draw(st.dates(date(2000, 1, 1), date(2099, 12, 31))),
        subject=draw(texts),
        content=draw(st.none() | texts),
        type_code=draw(st.integers(1, 29)),
        type_name=draw(texts),
        signer_full_name=draw(texts.filter(lambda s: len(s) <= 50)),
        to_places=draw(st.lists(texts, max_size=3)),
        priority=draw(st.sampled_from([None, 0, 1, 2, 3, 4])),
        business=Business(doc_type=draw(st.integers(0, 3)), paper=draw(st.sampled_from([None, 0, 1]))),
        due_date=draw(st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31))),
        attachments=atts,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(msg=messages())
def test_round_trip_property(pki, msg: EdocMessage) -> None:  # type: ignore[no-untyped-def]
    first = parse_package(build_edoc(msg, pki.ec_seal))
    assert first.message is not None
    second = parse_package(build_edoc(first.message, pki.ec_seal))  # type: ignore[arg-type]
    assert strip_sig(second.normalized) == strip_sig(first.normalized)
    assert (
        first.normalized["package_signature"]["note"]
        == second.normalized["package_signature"]["note"]
        == "valid"
    )
    n = first.normalized
    assert n["subject"] == " ".join(unicodedata.normalize("NFC", msg.subject).split())
    assert n["code"]["number"] == msg.code_number.zfill(2)
    assert n["promulgation"]["date"] == msg.promulgation_date.isoformat()
    assert [t["organ_id"] for t in n["to"]] == [r.organ_id.upper() for r in msg.recipients]
    assert [a["size"] for a in n["attachments"]] == [len(a.data) for a in msg.attachments]  # type: ignore[arg-type]
    assert [e for e in n["errors"] if e["severity"] == "error"] == []
    assert {e["code"] for e in n["errors"]} <= {
        "R.MessageHeader.DocumentType.Type",
        "R.MessageHeader.DueDate",
    }


def test_element_order_and_prefixes_do_not_matter(pki) -> None:  # type: ignore[no-untyped-def]
    """Re-serialize our package unprefixed, with MessageHeader children shuffled: same normalized package."""
    data = build_edoc(sample())
    root = etree.fromstring(data)
    mh = root.find(".//{*}MessageHeader")
    assert mh is not None
    mh[:] = sorted(mh, key=lambda e: etree.QName(e).localname[::-1])  # stable: repeated To keep their order
    assert etree.QName(mh[0]).localname != "From"
    # drop the edXML prefix everywhere: rebuild the tree with a default namespace only
    text = etree.tostring(root, encoding="unicode")
    text = text.replace("edXML:", "").replace(' xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"', "")
    assert "edXML:" not in text
    a = parse_package(data).normalized
    b = parse_package(text.encode()).normalized
    assert b == a


@st.composite
def statuses(draw: st.DrawFn) -> StatusMessage:
    from docexchange.axis.edxml import STATUS_CODE

    d = draw(st.dates(date(2000, 1, 1), date(2099, 12, 31)))
    org = draw(organ_ids)
    code = f"{draw(st.integers(1, 10**6)):02d}/{draw(notations)}"
    return StatusMessage(
        sender=Organ(draw(organ_ids), draw(st.none() | texts)),
        response_for=ResponseFor(org, code, d, f"{org.upper()},{d:%Y/%m/%d},{code}"),
        status_code=draw(st.sampled_from(sorted(STATUS_CODE))),
        timestamp=draw(
            st.datetimes(datetime(2000, 1, 1), datetime(2099, 1, 1), timezones=st.just(VN))
        ).replace(microsecond=0),
        description=draw(st.none() | texts),
        staff=draw(st.none() | st.builds(StaffInfo, st.none() | texts, st.none() | texts)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(msg=statuses())
def test_status_round_trip_property(pki, msg: StatusMessage) -> None:  # type: ignore[no-untyped-def]
    first = parse_package(build_status(msg, pki.rsa_seal))
    second = parse_package(build_status(first.message, pki.rsa_seal))  # type: ignore[arg-type]
    assert first.normalized == second.normalized
    st_ = first.normalized["status"]
    assert (
        st_["code"] == msg.status_code and st_["response_for"]["document_id"] == msg.response_for.document_id
    )
    assert st_["timestamp"] == msg.timestamp.isoformat()
    assert first.normalized["package_signature"]["note"] == "valid"


def test_strict_mode_refuses_short_codes(shared_dir) -> None:  # type: ignore[no-untyped-def]
    pkg = parse_package(shared_dir / "fixtures" / "edxml" / "new-document.edxml", lenient=False)
    err = [e for e in pkg.normalized["errors"] if e["code"] == "M.MessageHeader.To.OrganId"]
    assert err and err[0]["severity"] == "error"
