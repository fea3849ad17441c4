"""Every real-world sample in ../shared/fixtures/edxml parses to what its README expects."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from docexchange.axis.edxml import NAMESPACE, parse_package


def _fx(shared_dir: Path, name: str) -> Path:
    return shared_dir / "fixtures" / "edxml" / name


def _codes(pkg, severity: str | None = None) -> set[str]:  # type: ignore[no-untyped-def]
    return {e["code"] for e in pkg.normalized["errors"] if severity in (None, e["severity"])}


def test_new_document(shared_dir: Path) -> None:
    pkg = parse_package(_fx(shared_dir, "new-document.edxml"))
    n = pkg.normalized
    assert pkg.readable and n["kind"] == "edoc" and n["namespace"] == NAMESPACE
    assert n["from"] == {
        "organ_id": "000.00.00.A80",
        "organ_name": "UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng",
    }
    assert [t["organ_id"] for t in n["to"]] == ["28.22.H17"]
    assert n["code"] == {"number": "74fass22", "notation": "VPCP-TTĐT"}
    assert n["promulgation"] == {"place": "Hà Nội", "date": "2019-01-16"}
    assert n["document_type"] == {"type": 1, "type_name": "Công văn"}
    assert n["subject"] == "V/v kết nối, liên thông phần mềm quản lý văn bản"
    assert n["business"] == {"doc_type": 0, "doc_type_name": "new"}
    assert n["document_id"] == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert n["status"] is None
    # flagged: non-numeric CodeNumber, DocumentId inconsistent, impossible Bussiness date, short OrganId,
    # dummy signature, attachment not a PDF
    errors, warnings = _codes(pkg, "error"), _codes(pkg, "warning")
    assert "M.MessageHeader.Code.CodeNumber" in errors
    assert "M.Attachment-Type" in errors
    assert "R.MessageHeader.DocumentId" in warnings
    assert "M.TraceHeaderList.Bussiness.DocumentId" in warnings
    assert "M.MessageHeader.To.OrganId" in warnings
    assert "M.Signature" in warnings
    assert n["package_signature"] == {
        **n["package_signature"],
        "present": True,
        "valid": False,
        "note": "dummy",
    }
    # one attachment: zip -> nested .edxml (388 347 bytes), parsed one level: not namespace-well-formed
    [att] = n["attachments"]
    assert (att["name"], att["content_type"], att["zipped"], att["is_pdf"]) == (
        "1896_QD-TTg_m_294779.doc",
        "application/zip",
        True,
        False,
    )
    assert att["size"] == 388_347
    nested_bytes = pkg.attachments[0].read()
    assert hashlib.sha256(nested_bytes).hexdigest() == att["sha256"]
    assert nested_bytes.lstrip().startswith(b"<")
    nested = att["nested"]
    assert nested["kind"] is None and nested["errors"][0]["code"] == "M.XML"
    assert "unbound prefix" in nested["errors"][0]["message"]
    assert nested["attachments"] == []  # not recursed further
    assert not pkg.ok


def test_new_document_attachment_hash_is_of_unzipped_bytes(shared_dir: Path) -> None:
    import base64
    import io
    import re

    raw = _fx(shared_dir, "new-document.edxml").read_bytes()
    b64 = re.search(rb"<edXML:ContentTransferEncoded[^>]*>([^<]+)<", raw).group(1)  # type: ignore[union-attr]
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(b64))) as zf:
        [info] = zf.infolist()
        assert info.filename == "32da2890-1a55-4ccd-9ac9-cd0d98559e67.edxml"
        expected = hashlib.sha256(zf.read(info)).hexdigest()
    pkg = parse_package(raw)
    assert pkg.normalized["attachments"][0]["sha256"] == expected


def test_legacy_variant_is_rejected_with_m_error(shared_dir: Path) -> None:
    pkg = parse_package(_fx(shared_dir, "new-document-legacy-variant.edxml"))
    assert not pkg.readable and not pkg.ok and pkg.message is None
    [err] = pkg.normalized["errors"]
    assert err["code"] == "M.XML" and err["severity"] == "error"
    assert "mismatched tag" in err["message"] and "line 74" in err["message"]
    assert "XML không hợp lệ" in err["message_vi"]
    assert pkg.normalized["kind"] is None and pkg.normalized["attachments"] == []


def test_update(shared_dir: Path) -> None:
    pkg = parse_package(_fx(shared_dir, "update.edxml"))
    n = pkg.normalized
    assert n["kind"] == "edoc" and n["business"] == {"doc_type": 2, "doc_type_name": "update"}
    assert [t["organ_id"] for t in n["to"]] == ["000.00.00.H41", "000.00.00.H14", "000.00.00.G17"]
    assert n["code"] == {"number": "7816", "notation": "VPCP-TTĐT"}
    assert n["promulgation"]["date"] == "2018-09-28"
    msg = pkg.message
    assert msg is not None and msg.business.doc_type == 2  # type: ignore[union-attr]
    assert [(r.organ_id, r.receiver_type) for r in msg.business.receivers] == [  # type: ignore[union-attr]
        ("000.00.00.H41", 0),
        ("000.00.00.H14", 1),
    ]
    assert (msg.business.document_info, msg.business.document_receiver) == (1, 1)  # type: ignore[union-attr]
    assert n["package_signature"]["note"] == "dummy"
    assert {"M.Signature", "M.TraceHeaderList.Bussiness.DocumentId", "R.MessageHeader.DocumentId"} <= _codes(
        pkg, "warning"
    )
    assert "M.Attachment-Type" in _codes(pkg, "error")
    assert n["attachments"][0]["nested"] is not None


@pytest.mark.parametrize(
    ("name", "code", "meaning", "description"),
    [
        (
            "status-02-rejected.edxml",
            "02",
            "rejected",
            "Văn thư - Phòng Văn thư - Lưu trữ: Từ chối không tiếp nhận văn bản điện tử",
        ),
        (
            "status-03-accepted.edxml",
            "03",
            "accepted_registered",
            "Văn thư cơ - Phòng Văn thư - Lưu trữ: Tiếp nhận văn bản điện tử, vào sổ văn bản đến của đơn vị",
        ),
        ("status-05-processing.edxml", "05", "processing", "Đang xử lý văn bản đến"),
    ],
)
def test_status(shared_dir: Path, name: str, code: str, meaning: str, description: str) -> None:
    pkg = parse_package(_fx(shared_dir, name))
    n = pkg.normalized
    assert pkg.ok and n["kind"] == "status"
    assert n["status"]["code"] == code and n["status"]["meaning"] == meaning
    assert n["status"]["description"] == description
    assert n["status"]["response_for"]["document_id"] == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    assert n["status"]["response_for"]["code"] == "7816/VPCP-TTĐT"
    assert n["status"]["timestamp"] == "2015-09-20T11:08:36+07:00"
    assert n["from"] == {"organ_id": "000.00.00.H41", "organ_name": "UBND Tỉnh Nghệ An"}
    assert n["package_signature"] == {**n["package_signature"], "present": False, "note": "absent"}
    # timestamp ten days before the document date: a warning, not an error
    assert [(e["code"], e["severity"]) for e in n["errors"]] == [("R.MessageHeader.Timestamp", "warning")]
    staff = pkg.message.staff  # type: ignore[union-attr]
    assert staff is not None and staff.department == "Phong hanh chinh"
    assert n["attachments"] == [] and n["to"] is None


def test_normalized_has_exactly_the_interface_keys(shared_dir: Path) -> None:
    keys = [
        "kind",
        "namespace",
        "document_id",
        "from",
        "to",
        "code",
        "promulgation",
        "document_type",
        "subject",
        "business",
        "status",
        "attachments",
        "package_signature",
        "errors",
        "normalizations",
    ]
    for f in sorted((shared_dir / "fixtures" / "edxml").glob("*.edxml")):
        n = parse_package(f).normalized
        assert list(n) == keys, f.name
        assert {"present", "valid", "note"} <= set(n["package_signature"])
        for e in n["errors"]:
            assert e["code"][:2] in ("N.", "R.", "M.") and e["message"] and e["message_vi"]
