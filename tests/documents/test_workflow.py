"""The outgoing-document workflow over real HTTP on a live node: draft → person signature → number + seal →
register and outbox; every signature checked by the validation engine, pyHanko and poppler's pdfsig."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from docexchange.axis.edxml import parse_package
from docexchange.documents.models import Document, OutgoingRegisterEntry
from docexchange.exchange.models import OutboxItem
from docexchange.models import AuthCounter, LedgerEntry, User
from docexchange.signing.validation import ValidationPolicy, validate_pdf
from tests.conftest import LiveNode, pdfsig
from tests.signing.pdfgen import decree30_pdf


def _token(node: LiveNode, username: str) -> dict[str, str]:
    r = requests.post(f"{node.url}/api/v1/auth/token", json={"username": username, "password": node.demo_password})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _draft(node: LiveNode, tmp: Path, clerk: dict[str, str], subject: str, **extra: str) -> dict[str, object]:
    pdf = decree30_pdf(tmp / "draft.pdf", signer="Nguyễn Văn Thắng", position="BỘ TRƯỞNG", authority="",
                       number="Số:      /QĐ-BNV")
    data = {"type_name": "Quyết định", "type_abbr": "QĐ", "subject": subject, "recipients": "000.00.00.H41",
            "signer": "bnv.lanhdao", "urgency": "1", **extra}
    with open(pdf, "rb") as fh:
        r = requests.post(f"{node.url}/api/v1/documents", headers=clerk, data=data,
                          files={"file": ("qd.pdf", fh, "application/pdf")})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def issued(live_node: LiveNode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("wf")
    clerk, signer = _token(live_node, "bnv.vanthu"), _token(live_node, "bnv.lanhdao")
    doc = _draft(live_node, tmp, clerk, "Về việc thử nghiệm quy trình ký số và ban hành")
    assert doc["status"] == "draft" and doc["number"] is None
    r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/sign", headers=signer,
                      json={"pin": live_node.demo_pin})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "signed"
    r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/issue", headers=clerk,
                      json={"pin": live_node.demo_pin})
    assert r.status_code == 200, r.text
    out = r.json()
    pdf = tmp / "issued.pdf"
    pdf.write_bytes(requests.get(f"{live_node.url}/api/v1/documents/{doc['id']}/pdf", headers=clerk).content)
    return {"doc": out, "pdf": pdf, "clerk": clerk, "signer": signer, "tmp": tmp}


def test_issued_document_is_numbered_and_both_signatures_pass(issued: dict[str, object],
                                                              live_node: LiveNode) -> None:
    doc = issued["doc"]
    assert doc["status"] == "issued"  # type: ignore[index]
    assert doc["number"].endswith("/QĐ-BNV")  # type: ignore[index]
    report = validate_pdf(issued["pdf"], ValidationPolicy(trust_anchors=live_node.services.ca.anchors()))  # type: ignore[attr-defined,arg-type]
    assert report.indication == "TOTAL_PASSED", report.to_json(indent=2)
    kinds = [(s.kind, s.signer.is_organization_seal if s.signer else None, s.modifications, s.level)
             for s in report.signatures]
    assert kinds[0][:2] == ("signature", False) and kinds[0][2] in ("FORM_FILLING", "LTA_UPDATES")
    assert kinds[1][:2] == ("signature", True)
    assert all(k[3] in ("B-LT", "B-LTA") for k in kinds)
    advice = [m.code for m in report.signatures[1].messages]
    assert "DECREE30_SEAL_OVER_SIGNATURE" in advice  # the seal image covers part of the signature image
    import subprocess

    text = subprocess.run(["pdftotext", "-layout", str(issued["pdf"]), "-"], capture_output=True, text=True).stdout
    assert doc["number"] in text  # type: ignore[index,operator]
    assert "Hà Nội, ngày" in text


def test_pdfsig_accepts_both_signatures(issued: dict[str, object], nss_db: str) -> None:
    out = pdfsig(nss_db, issued["pdf"])  # type: ignore[arg-type]
    assert out.count("Signature is Valid") == 2, out
    assert out.count("Certificate is Trusted") == 2, out


def test_register_outbox_and_ledger_rows(issued: dict[str, object], live_node: LiveNode) -> None:
    svc = live_node.services
    doc_id = issued["doc"]["id"]  # type: ignore[index]
    with svc.db.reading() as s:  # type: ignore[attr-defined]
        doc = s.execute(select(Document).where(Document.public_id == doc_id)).scalar_one()
        reg = s.execute(select(OutgoingRegisterEntry).where(OutgoingRegisterEntry.document_id == doc.id)).scalar_one()
        assert reg.number_notation == doc.number_text
        assert reg.signer == "Bộ trưởng Nguyễn Văn Thắng"
        assert "000.00.00.H41" in reg.recipients
        item = s.execute(select(OutboxItem).where(OutboxItem.document_id == doc.id)).scalar_one()
        assert item.kind == "edoc" and item.state == "pending"
        package = svc.blobs.get_bytes(item.package_sha256)  # type: ignore[attr-defined]
        issued_sha = doc.issued_sha256
        actions = [a for (a,) in s.execute(select(LedgerEntry.action).where(LedgerEntry.object_id == doc_id))]
    assert actions == ["document_drafted", "document_signed", "document_issued"]
    parsed = parse_package(package, anchors=svc.ca.anchors())  # type: ignore[attr-defined]
    assert parsed.ok, parsed.errors
    assert parsed.signature.valid and parsed.signature.trusted
    assert parsed.normalized["code"]["notation"] == "QĐ-BNV"
    assert parsed.normalized["to"][0]["organ_id"] == "000.00.00.H41"
    assert parsed.attachments[0].sha256 == issued_sha


def test_cannot_issue_twice_or_sign_after_issuance(issued: dict[str, object], live_node: LiveNode) -> None:
    doc_id = issued["doc"]["id"]  # type: ignore[index]
    r = requests.post(f"{live_node.url}/api/v1/documents/{doc_id}/issue", headers=issued["clerk"],
                      json={"pin": live_node.demo_pin})
    assert r.status_code == 409 and r.json()["code"] == "already_issued"
    r = requests.post(f"{live_node.url}/api/v1/documents/{doc_id}/sign", headers=issued["signer"],
                      json={"pin": live_node.demo_pin})
    assert r.status_code == 409 and r.json()["code"] == "not_a_draft"


def test_seal_refused_without_person_signature_and_other_agency_sees_nothing(
        live_node: LiveNode, tmp_path: Path) -> None:
    clerk = _token(live_node, "bnv.vanthu")
    doc = _draft(live_node, tmp_path, clerk, "Chưa ký thì không được đóng dấu")
    r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/issue", headers=clerk,
                      json={"pin": live_node.demo_pin})
    assert r.status_code == 409 and r.json()["code"] == "not_signed"
    other = _token(live_node, "nghean.vanthu")
    r = requests.get(f"{live_node.url}/api/v1/documents/{doc['id']}", headers=other)
    assert r.status_code == 404 and "Chưa ký" not in r.text
    r = requests.get(f"{live_node.url}/api/v1/documents/{doc['id']}/pdf", headers=other)
    assert r.status_code == 404


def test_wrong_pin_signs_nothing_and_counts_toward_lockout(live_node: LiveNode, tmp_path: Path) -> None:
    clerk, signer = _token(live_node, "bnv.vanthu"), _token(live_node, "bnv.capho")
    doc = _draft(live_node, tmp_path, clerk, "Sai mã PIN", signer="bnv.capho")
    r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/sign", headers=signer, json={"pin": "000000"})
    assert r.status_code == 403 and r.json()["code"] == "wrong_pin", r.text
    assert "Sai mã PIN" in r.json()["detail_vi"] and r.json()["attempts_left"] == 4
    with live_node.services.db.reading() as s:  # type: ignore[attr-defined]
        user = s.execute(select(User).where(User.username == "bnv.capho")).scalar_one()
        counted = s.execute(select(AuthCounter.failures).where(AuthCounter.scope == "pin_user",
                                                               AuthCounter.subject == str(user.id))).scalar_one()
        assert counted == 1
        d = s.execute(select(Document).where(Document.public_id == doc["id"])).scalar_one()
        assert d.status == "draft" and d.signed_sha256 is None


def test_only_the_designated_signer_may_sign(live_node: LiveNode, tmp_path: Path) -> None:
    clerk = _token(live_node, "bnv.vanthu")
    doc = _draft(live_node, tmp_path, clerk, "Người ký khác")
    r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/sign",
                      headers=_token(live_node, "bnv.capho"), json={"pin": live_node.demo_pin})
    assert r.status_code == 403 and r.json()["code"] == "not_designated_signer"


def test_register_exports(issued: dict[str, object], live_node: LiveNode) -> None:
    r = requests.get(f"{live_node.url}/api/v1/registers/outgoing?format=csv", headers=issued["clerk"])
    assert r.status_code == 200 and "Số, ký hiệu văn bản" in r.content.decode("utf-8-sig")
    assert issued["doc"]["number"] in r.content.decode("utf-8-sig")  # type: ignore[index]
    r = requests.get(f"{live_node.url}/api/v1/registers/outgoing?format=pdf", headers=issued["clerk"])
    assert r.content.startswith(b"%PDF-")
    body = json.loads(requests.get(f"{live_node.url}/api/v1/registers/outgoing", headers=issued["clerk"]).text)
    assert body["items"][0]["number_notation"] == issued["doc"]["number"]  # type: ignore[index]


def test_bad_drafts_change_nothing(live_node: LiveNode, tmp_path: Path) -> None:
    clerk = _token(live_node, "bnv.vanthu")
    with live_node.services.db.reading() as s:  # type: ignore[attr-defined]
        before = s.execute(select(Document.id)).all()
    pdf = decree30_pdf(tmp_path / "d.pdf")
    cases = [({"type_name": "Thư tình"}, "bad_document_type"), ({"recipients": "999.99.99.Z99"}, "unknown_recipient"),
             ({"signer": "nghean.lanhdao"}, "bad_signer"), ({"authority_marker": "XX."}, None)]
    for override, code in cases:
        data = {"type_name": "Quyết định", "subject": "Không hợp lệ", "signer": "bnv.lanhdao", **override}
        with open(pdf, "rb") as fh:
            r = requests.post(f"{live_node.url}/api/v1/documents", headers=clerk, data=data,
                              files={"file": ("qd.pdf", fh, "application/pdf")})
        assert r.status_code in (400, 422), (override, r.text)
        assert r.headers["Content-Type"] == "application/problem+json"
        if code:
            assert r.json()["code"] == code and r.json()["detail_vi"]
    r = requests.post(f"{live_node.url}/api/v1/documents", headers=clerk,
                      data={"type_name": "Quyết định", "subject": "x", "signer": "bnv.lanhdao"},
                      files={"file": ("qd.pdf", b"%PDF-1.4 garbage", "application/pdf")})
    assert r.status_code == 400 and r.json()["code"] in ("damaged_file", "pdf_unreadable")
    with live_node.services.db.reading() as s:  # type: ignore[attr-defined]
        assert s.execute(select(Document.id)).all() == before


def test_dual_control_needs_a_second_person_before_the_seal(live_node: LiveNode, tmp_path: Path) -> None:
    from docexchange.models import Agency

    svc = live_node.services
    with svc.db.transaction() as s:  # type: ignore[attr-defined]
        s.execute(Agency.__table__.update().where(Agency.code == "000.00.00.G09").values(seal_requires_approval=True))
    try:
        clerk, signer = _token(live_node, "bnv.vanthu"), _token(live_node, "bnv.lanhdao")
        doc = _draft(live_node, tmp_path, clerk, "Cần phê duyệt đóng dấu")
        assert requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/sign", headers=signer,
                             json={"pin": live_node.demo_pin}).status_code == 200
        r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/issue", headers=clerk,
                          json={"pin": live_node.demo_pin})
        assert r.status_code == 409 and r.json()["code"] == "approval_required"
        r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/approve-seal", headers=signer)
        assert r.status_code == 403 and r.json()["code"] == "same_person"  # the signer cannot approve alone
        r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/approve-seal",
                          headers=_token(live_node, "bnv.capho"))
        assert r.status_code == 200 and r.json()["status"] == "approved"
        r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/issue", headers=clerk,
                          json={"pin": live_node.demo_pin})
        assert r.status_code == 200 and r.json()["status"] == "issued"
        with svc.db.reading() as s:  # type: ignore[attr-defined]
            actions = [a for (a,) in s.execute(select(LedgerEntry.action).where(LedgerEntry.object_id == doc["id"]))]
        assert actions == ["document_drafted", "document_signed", "document_seal_approved", "document_issued"]
    finally:
        with svc.db.transaction() as s:  # type: ignore[attr-defined]
            s.execute(Agency.__table__.update().values(seal_requires_approval=False))


def test_vietnamese_docx_becomes_a_signed_pdf_that_pdfsig_accepts(live_node: LiveNode, tmp_path: Path,
                                                                   nss_db: str) -> None:
    """Issue 7's done-when: a Vietnamese DOCX → PDF/A-2b whose text extracts back, signed by the engine,
    valid for pdfsig; the conversion is recorded on the document."""
    import subprocess

    import docx

    text = "Cộng hòa xã hội chủ nghĩa Việt Nam — Độc lập - Tự do - Hạnh phúc"
    d = docx.Document()
    style = d.styles["Normal"]
    style.font.name = "Times New Roman"
    d.add_paragraph("BỘ NỘI VỤ")
    d.add_paragraph("Số:      /QĐ-BNV")
    d.add_paragraph(text)
    d.add_paragraph("BỘ TRƯỞNG")
    d.add_paragraph("")
    d.add_paragraph("Nguyễn Văn Thắng")
    path = tmp_path / "quyet-dinh.docx"
    d.save(str(path))
    clerk, signer = _token(live_node, "bnv.vanthu"), _token(live_node, "bnv.lanhdao")
    with open(path, "rb") as fh:
        r = requests.post(f"{live_node.url}/api/v1/documents", headers=clerk,
                          data={"type_name": "Quyết định", "subject": "Từ tệp Word", "signer": "bnv.lanhdao"},
                          files={"file": ("quyet-dinh.docx", fh, "application/octet-stream")})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert {"field": "file", "from": "docx", "to": "pdf/a"} in doc["normalizations"]
    r = requests.post(f"{live_node.url}/api/v1/documents/{doc['id']}/sign", headers=signer,
                      json={"pin": live_node.demo_pin})
    assert r.status_code == 200, r.text
    pdf = tmp_path / "signed.pdf"
    pdf.write_bytes(requests.get(f"{live_node.url}/api/v1/documents/{doc['id']}/pdf", headers=clerk).content)
    extracted = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert text in extracted
    out = pdfsig(nss_db, pdf)
    assert "Signature is Valid" in out and "Certificate is Trusted" in out, out
    import pikepdf

    with pikepdf.open(pdf) as p:
        meta = p.open_metadata()
        assert meta.get("pdfaid:part") == "2" and meta.get("pdfaid:conformance") == "B"


def test_number_notation_and_date_are_in_the_xmp_the_seal_signs(issued: dict[str, object],
                                                                 live_node: LiveNode) -> None:
    """Issue 13 §2: the receiver reads what was issued from the revision the agency seal covers."""
    from docexchange.documents.binding import issue_facts, mismatches

    report = validate_pdf(issued["pdf"], ValidationPolicy(trust_anchors=live_node.services.ca.anchors()))  # type: ignore[attr-defined,arg-type]
    seal = report.signatures[1]
    assert seal.signer is not None and seal.signer.is_organization_seal and seal.revision
    facts = issue_facts(issued["pdf"], seal.revision - 1)  # type: ignore[arg-type]
    number, notation = str(issued["doc"]["number"]).split("/", 1)  # type: ignore[index]
    assert facts is not None and facts.source == "xmp"
    assert (facts.agency, facts.number, facts.notation) == ("000.00.00.G09", number, notation)
    assert facts.date and mismatches(facts, number, notation, facts.date) == []
    assert mismatches(facts, "99", notation, facts.date) == ["number"]
    before = issue_facts(issued["pdf"], 0)  # the draft the person signed carries no issue facts of its own
    assert before is None or before.source == "text"
