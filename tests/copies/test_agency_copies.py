"""Decree 30 agency copies: SAO Y / TRÍCH SAO of an issued document, SAO LỤC of a SAO Y, paper -> electronic
SAO Y; one number series per year; each copy carries the agency's ``copy`` signature (the real engine) after the
source's own signatures, and verifies."""

from __future__ import annotations

import io
import tempfile
import uuid
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

from docexchange.copies.engine import signing_for, validator_for
from docexchange.documents.models import Document
from docexchange.models import Agency, LedgerEntry, User
from tests.conftest import login

from .conftest import jpeg
from .test_certify_api import signatures


def _issued_document(svc, pages: int = 3) -> str:  # type: ignore[no-untyped-def]
    pdf = pikepdf.Pdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    tmp = Path(tempfile.mkdtemp())
    pdf.save(tmp / "draft.pdf")
    engine = signing_for(svc)
    pin = svc.secrets["demo_pin"]
    with svc.db.transaction() as s:
        agency = s.execute(select(Agency).where(Agency.code == "000.21.31.H41")).scalar_one()
        clerk = s.execute(select(User).where(User.username == "nghiphu.vanthu")).scalar_one()
        head = s.execute(select(User).where(User.username == "nghiphu.lanhdao")).scalar_one()
        # issued the way the documents workflow issues: the signer's signature, then the agency seal (B-LT)
        engine.person(tmp / "draft.pdf", tmp / "signed.pdf", user=head, pin=pin, page=pages,
                      box=(330.0, 120.0, 530.0, 200.0))
        engine.seal(tmp / "signed.pdf", tmp / "issued.pdf", agency=agency, pin=pin, page=pages,
                    box=(300.0, 110.0, 400.0, 210.0))
        sha, _size = svc.blobs.put_file(tmp / "issued.pdf")
        doc = Document(public_id=str(uuid.uuid4()), agency_id=agency.id, status="issued", type_abbr="QĐ",
                       type_name="Quyết định", subject="Về việc thử", page_count=pages, year=2026, number=5,
                       notation="QĐ-UBND", original_sha256=sha, draft_sha256=sha, issued_sha256=sha,
                       created_by=clerk.id)
        s.add(doc)
        return doc.public_id


@pytest.mark.slow  # real B-LT signatures, one after another under the book's lock
def test_agency_copies_number_in_one_series(node, svc, pin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    clerk = login(c, "nghiphu.vanthu", svc.secrets["demo_password"])
    doc_id = _issued_document(svc)

    def post(**data):  # type: ignore[no-untyped-def]
        return c.post("/api/v1/agency-copies", data={"pin": pin, **data}, headers=clerk,
                      content_type="multipart/form-data")

    sy = post(form="SAO Y", document_id=doc_id)
    assert sy.status_code == 201, sy.get_json()
    sy = sy.get_json()
    assert sy["number"] == "01/SY" and sy["source"] == "document"
    ts = post(form="TRÍCH SAO", document_id=doc_id, pages="1,3").get_json()
    assert ts["number"] == "02/TrS"
    with pikepdf.open(io.BytesIO(c.get(f"/api/v1/agency-copies/{ts['id']}/pdf", headers=clerk).data)) as pdf:
        assert len(pdf.pages) == 2
        # the source's signature widgets were flattened into page content: only the copy signature is a field
        widgets = [a for pg in pdf.pages for a in pg.obj.get("/Annots", [])]
        assert len(widgets) == 1 and len(pdf.Root.AcroForm.Fields) == 1
    sl = post(form="SAO LỤC", copy_id=sy["id"]).get_json()
    assert sl["number"] == "03/SL" and sl["source"] == "copy" and sl["source_sha256"] == sy["pdf_sha256"]
    paper = post(form="SAO Y", scan=[(io.BytesIO(jpeg()), "giay.jpg")])
    assert paper.status_code == 201 and paper.get_json()["number"] == "04/SY"
    assert paper.get_json()["source"] == "paper"
    # every copy ends with the agency's copy signature; SAO Y of an electronic document is the issued file itself
    # plus that signature (an incremental update: the source's bytes are a prefix of the copy)
    got = {}
    for made in (sy, ts, sl, paper.get_json()):
        data = c.get(f"/api/v1/agency-copies/{made['id']}/pdf", headers=clerk).data
        got[made["number"]] = data
        sigs = signatures(data)
        assert sigs[-1]["profile"] == "Copy" and sigs[-1]["cn"] == "Ủy ban nhân dân xã Nghi Phú", sigs
    assert got["01/SY"].startswith(svc.blobs.get_bytes(sy["source_sha256"]))
    assert [s["profile"] for s in signatures(got["02/TrS"])] == ["Copy"]
    assert got["03/SL"].startswith(got["01/SY"])
    assert [s["profile"] for s in signatures(got["03/SL"])] == ["Person", "Seal", "Copy", "Copy"]
    # the SAO Y of the issued document verifies: its two issuing signatures and the copy signature all pass
    (tmp_path / "sy.pdf").write_bytes(got["01/SY"])
    report = validator_for(svc)(tmp_path / "sy.pdf")
    assert report["indication"] == "TOTAL_PASSED", report
    assert [s["indication"] for s in report["signatures"]] == ["TOTAL_PASSED"] * 3
    listed = c.get("/api/v1/agency-copies", headers=clerk).get_json()["items"]
    assert [i["number"] for i in listed] == ["04/SY", "03/SL", "02/TrS", "01/SY"]
    with svc.db.transaction() as s:
        assert s.execute(select(LedgerEntry).where(LedgerEntry.action == "agency_copy_made")).scalars().all()


def test_agency_copy_bad_input(node, svc, pin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    clerk = login(c, "nghiphu.vanthu", svc.secrets["demo_password"])
    doc_id = _issued_document(svc)

    def code(**data):  # type: ignore[no-untyped-def]
        resp = c.post("/api/v1/agency-copies", data=data, headers=clerk, content_type="multipart/form-data")
        assert resp.status_code in (400, 404, 409), resp.get_json()
        return resp.get_json()["code"]

    assert code(form="SAO LỤC", document_id=doc_id) == "bad_copy_source"
    assert code(form="TRÍCH SAO", document_id=doc_id) == "bad_pages"
    assert code(form="TRÍCH SAO", document_id=doc_id, pages="2-9") == "bad_pages"
    assert code(form="SAO Y", document_id=str(uuid.uuid4())) == "document_not_found"
    assert code(form="SAO Y") == "bad_copy_source"
    assert code(form="SAO Y", scan=[(io.BytesIO(jpeg(mode="L")), "grey.jpg")]) == "scan_not_colour"
    assert code(form="SAO Y", scan=[(io.BytesIO(jpeg(dpi=100)), "low.jpg")]) == "scan_low_dpi"
    # another agency's clerk cannot copy this agency's document
    other = login(c, "nghean.vanthu", svc.secrets["demo_password"])
    resp = c.post("/api/v1/agency-copies", data={"form": "SAO Y", "document_id": doc_id}, headers=other,
                  content_type="multipart/form-data")
    assert resp.status_code == 404
