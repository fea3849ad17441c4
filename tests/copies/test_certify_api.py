"""Certification through the JSON API on SQLite and PostgreSQL: record, scan, PDF, book, refusal, annulment,
public page, idempotency and tenancy. Signed by the node's real engine (B-LT, in-process OCSP/CRL/TSA)."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from pathlib import Path

import pikepdf
from sqlalchemy import func, select

from docexchange.copies.models import CertifiedCopy
from docexchange.documents.models import NumberCounter
from docexchange.models import Agency, LedgerEntry, User
from tests.conftest import login

from .conftest import REQUEST, add_notary, jpeg


def _text(pdf: bytes, tmp: Path, first: int | None = None) -> str:
    path = tmp / "x.pdf"
    path.write_bytes(pdf)
    cmd = ["pdftotext"] + (["-f", str(first)] if first else []) + [str(path), "-"]
    return " ".join(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split())


def signatures(pdf: bytes) -> list[dict[str, object]]:
    """Field-name prefix (the engine's profile), page of the widget (1-based) and signer CN of each signature,
    in signing order."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        page_of = {str(a.get("/T")): n for n, pg in enumerate(doc.pages, 1) for a in pg.obj.get("/Annots", [])
                   if a.get("/FT") == pikepdf.Name.Sig}
    return [{"profile": sig.field_name.rstrip("0123456789").rstrip("_-. "), "page": page_of.get(sig.field_name),
             "cn": sig.signer_cert.subject.native["common_name"]}
            for sig in PdfFileReader(io.BytesIO(pdf)).embedded_signatures]


def svc_validate(svc, pdf: bytes, tmp: Path) -> dict:  # type: ignore[no-untyped-def]
    from docexchange.copies.engine import validator_for

    path = tmp / "validate.pdf"
    path.write_bytes(pdf)
    return validator_for(svc)(path)


def _counts(svc) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with svc.db.transaction() as s:
        return (s.execute(select(func.count()).select_from(CertifiedCopy)).scalar_one(),
                s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one(),
                s.execute(select(func.count()).select_from(NumberCounter)).scalar_one())


def test_certify_builds_the_copy_and_books_it(node, svc, certifier, form, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    scans = [jpeg(seed=1), jpeg(seed=2)]
    resp = c.post("/api/v1/copies/certify", data=form(scans), headers=certifier,
                  content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "certified" and body["number"] == "01"
    year = body["year"]
    assert body["book"] == f"01/{year}-SCT/BS"
    assert body["fee_vnd"] == 5000  # 3 pages of the original: 2,000 + 2,000 + 1,000
    assert body["scan"]["pages"] == 2 and body["scan"]["min_dpi"] == 200 and body["scan"]["colour"] is True
    assert body["scan"]["pdfa"] == "3B"
    assert body["verify_url"] == f"http://127.0.0.1:9/verify/copy/{body['code']}"
    assert body["statement"].startswith("Chứng thực bản sao đúng với bản chính.")
    pdf = c.get(f"/api/v1/copies/{body['id']}/pdf", headers=certifier)
    assert pdf.status_code == 200 and hashlib.sha256(pdf.data).hexdigest() == body["pdf_sha256"]
    with pikepdf.open(io.BytesIO(pdf.data)) as doc:
        assert len(doc.pages) == 3
        spec = doc.attachments["attestation.json"]
        assert doc.Root.AF[0].AFRelationship == pikepdf.Name.Data
        att = json.loads(spec.get_file().read_bytes())
        meta = doc.open_metadata()
        assert meta["pdfaid:part"] == "3" and meta["pdfaid:conformance"] == "B"
        assert "/OutputIntents" in doc.Root
    # the certifier's signature then the agency seal, both visible on the statement page (3), both B-LT
    sigs = signatures(pdf.data)
    assert [(s["profile"], s["page"], s["cn"]) for s in sigs] == [
        ("Person", 3, "Hoàng Thị Mỹ Linh"), ("Seal", 3, "Ủy ban nhân dân xã Nghi Phú")]
    report = svc_validate(svc, pdf.data, tmp_path)
    assert report["indication"] == "TOTAL_PASSED", report
    assert [s["indication"] for s in report["signatures"]] == ["TOTAL_PASSED", "TOTAL_PASSED"]
    assert all(s["level"] in ("B-LT", "B-LTA") for s in report["signatures"]), report["signatures"]
    assert att["code"] == body["code"] and att["certification"]["number"] == "01"
    assert att["requester"] == {"name": "Nguyễn Thị Hoa", "id_number_masked": "*********234"}
    assert att["original"]["page_count"] == 3 and att["fee"]["vnd"] == 5000
    # per-page hashes: the JPEGs are embedded unchanged (lossless), so they hash like the uploaded files
    assert [p["images"][0]["sha256"] for p in att["pages"]] == [hashlib.sha256(s).hexdigest() for s in scans]
    text = _text(pdf.data, tmp_path)
    assert "Chứng thực bản sao đúng với bản chính." in text
    assert f"quyển số: 01/{year}-SCT/BS" in text and "Số chứng thực: 01" in text
    assert "hai nghìn không trăm" in text and "Hoàng Thị Mỹ Linh" in text and "PHÓ CHỦ TỊCH" in text
    assert text.count(f"Mã kiểm tra: {body['code']}") == 3  # every page carries the code (and the QR)
    with svc.db.transaction() as s:
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.action == "copy_certified")).scalar_one()
        assert entry.object_id == body["code"] and entry.object_sha256 == body["pdf_sha256"]
    # the scans are not stored twice: the certified PDF holds them unchanged, and their hashes are recorded
    assert [f["sha256"] for f in body["scan"]["files"]] == [hashlib.sha256(s).hexdigest() for s in scans]
    second = c.post("/api/v1/copies/certify", data=form(page_count=40), headers=certifier,
                    content_type="multipart/form-data").get_json()
    assert second["number"] == "02" and second["fee_vnd"] == 42_000


def test_idempotency_key_returns_the_same_certificate(node, svc, certifier, form) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    first = c.post("/api/v1/copies/certify", data=form(), content_type="multipart/form-data",
                   headers={**certifier, "Idempotency-Key": "quay-3-0001"}).get_json()
    again = c.post("/api/v1/copies/certify", data=form(), content_type="multipart/form-data",
                   headers={**certifier, "Idempotency-Key": "quay-3-0001"})
    assert again.status_code == 201
    assert again.get_json()["id"] == first["id"] and again.get_json()["number"] == first["number"] == "01"
    assert _counts(svc)[0] == 1 and again.get_json()["pdf_sha256"] == first["pdf_sha256"]  # signed once
    refused = c.post("/api/v1/copies/refuse", data={**REQUEST, "ground": 2, "idempotency_key": "quay-3-0001"},
                     headers=certifier, content_type="multipart/form-data")
    assert refused.status_code == 409 and refused.get_json()["code"] == "idempotency_key_reused"


def test_refusal_needs_a_ground_and_prints_a_note(node, svc, certifier, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    before = _counts(svc)
    bad = c.post("/api/v1/copies/refuse", data=REQUEST, headers=certifier, content_type="multipart/form-data")
    assert bad.status_code == 400 and bad.get_json()["code"] == "refusal_ground_required"
    assert "Điều 22" in bad.get_json()["detail_vi"]
    bad7 = c.post("/api/v1/copies/refuse", data={**REQUEST, "ground": 7}, headers=certifier,
                  content_type="multipart/form-data")
    assert bad7.status_code == 400 and _counts(svc) == before
    resp = c.post("/api/v1/copies/refuse", data={**REQUEST, "ground": 5, "reason": "Giấy tờ nước ngoài"},
                  headers=certifier, content_type="multipart/form-data")
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["status"] == "refused" and body["number"] is None and body["fee_vnd"] == 0
    assert body["refusal"]["ground"] == 5 and "hợp pháp hóa lãnh sự" in body["refusal"]["ground_vi"]
    note = c.get(f"/api/v1/copies/{body['id']}/refusal-note", headers=certifier)
    text = _text(note.data, tmp_path)
    assert "TỪ CHỐI CHỨNG THỰC" in text and "khoản 5 Điều 22" in text and "Nguyễn Thị Hoa" in text
    # refusals are not published and take no number in the book
    assert c.get(f"/verify/copy/{body['code']}").status_code == 404
    assert c.get(f"/api/v1/copies/{body['id']}/pdf", headers=certifier).status_code == 404


def test_annulment_changes_the_public_page_and_twice_is_409(node, svc, certifier, form) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    body = c.post("/api/v1/copies/certify", data=form(), headers=certifier,
                  content_type="multipart/form-data").get_json()
    page = c.get(f"/verify/copy/{body['code']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Bản sao có hiệu lực" in html and "ĐÃ HỦY BỎ" not in html
    assert "040190001234" not in html and "*********234" in html  # ID number masked
    assert "Kết quả: hợp lệ" in html and "(TOTAL_PASSED)" in html  # the validation engine's verdict
    assert "Hoàng Thị Mỹ Linh" in html and '<link rel="stylesheet" href="/verify/copy.css">' in html
    assert "<script" not in html and "<style" not in html and " style=" not in html  # the CSP forbids inline
    css = c.get("/verify/copy.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and b".status" in css.data
    # lower-case code without dashes still finds it
    assert c.get(f"/verify/copy/{body['code'].replace('-', '').lower()}").status_code == 200
    no_reason = c.post(f"/api/v1/copies/{body['id']}/annul", json={"reason": ""}, headers=certifier)
    assert no_reason.status_code == 422
    resp = c.post(f"/api/v1/copies/{body['id']}/annul", json={"reason": "Chứng thực nhầm bản chính giả mạo"},
                  headers=certifier)
    assert resp.status_code == 200 and resp.get_json()["status"] == "annulled"
    html = c.get(f"/verify/copy/{body['code']}").get_data(as_text=True)
    assert "ĐÃ HỦY BỎ" in html and "Chứng thực nhầm bản chính giả mạo" in html and "Bản sao có hiệu lực" not in html
    again = c.post(f"/api/v1/copies/{body['id']}/annul", json={"reason": "lần hai nữa"}, headers=certifier)
    assert again.status_code == 409 and again.get_json()["code"] == "already_annulled"
    with svc.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.action == "copy_annulled")).scalar_one() == 1
    # the book keeps the entry, marked annulled
    book = c.get(f"/api/v1/copies/book?year={body['year']}&month={int(body['date'][5:7])}", headers=certifier)
    assert book.get_json()["items"][0]["notes_col"].startswith(f"Mã kiểm tra {body['code']}; ĐÃ HỦY BỎ")


def test_public_upload_checks_the_file_hash(node, svc, certifier, form) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    body = c.post("/api/v1/copies/certify", data=form(), headers=certifier,
                  content_type="multipart/form-data").get_json()
    pdf = c.get(f"/api/v1/copies/{body['id']}/pdf", headers=certifier).data
    same = c.post(f"/verify/copy/{body['code']}?format=json", data={"file": (io.BytesIO(pdf), "a.pdf")},
                  content_type="multipart/form-data").get_json()
    assert same["check"] == {"sha256": body["pdf_sha256"], "same": True}
    tampered = pdf.replace(b"/Producer", b"/Producex", 1) if b"/Producer" in pdf else pdf + b"\n%x"
    other = c.post(f"/verify/copy/{body['code']}", data={"file": (io.BytesIO(tampered), "a.pdf")},
                   content_type="multipart/form-data")
    assert "KHÔNG trùng khớp" in other.get_data(as_text=True)
    assert c.get("/verify/copy/ZZZZ-ZZZZ-ZZZZ").status_code == 404


def test_other_agency_book_and_roles(node, svc, certifier, form) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    mine = c.post("/api/v1/copies/certify", data=form(), headers=certifier,
                  content_type="multipart/form-data").get_json()
    add_notary(svc)
    other = login(c, "vinh.congchung", "matkhau-congchung")
    before = _counts(svc)
    blobs_before = sorted(p.name for p in svc.blobs.root.rglob("*") if p.is_file())
    resp = c.post("/api/v1/copies/certify", data=form(agency_code="000.21.31.H41"), headers=other,
                  content_type="multipart/form-data")
    assert resp.status_code == 403 and resp.get_json()["code"] == "other_agency_book"
    assert _counts(svc) == before
    assert sorted(p.name for p in svc.blobs.root.rglob("*") if p.is_file()) == blobs_before
    # another agency's records do not exist for this certifier
    assert c.get(f"/api/v1/copies/{mine['id']}", headers=other).status_code == 404
    assert c.post(f"/api/v1/copies/{mine['id']}/annul", json={"reason": "không phải của tôi"},
                  headers=other).status_code == 404
    # but the notary certifies in its own book, from 01
    own = c.post("/api/v1/copies/certify", data=form(), headers=other, content_type="multipart/form-data")
    assert own.status_code == 201 and own.get_json()["number"] == "01", own.get_json()
    # a clerk may not certify; a province is not a certifying agency
    clerk = login(c, "nghiphu.vanthu", svc.secrets["demo_password"])
    assert c.post("/api/v1/copies/certify", data=form(), headers=clerk,
                  content_type="multipart/form-data").status_code == 403


def test_missing_keys_are_503_wrong_pin_is_refused_and_nothing_is_written(node, svc, certifier, form, pin) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    before = _counts(svc)
    blobs_before = sorted(p.name for p in svc.blobs.root.rglob("*") if p.is_file())
    # a wrong PIN fails inside the signing transaction: the number is given back, nothing is kept
    wrong = c.post("/api/v1/copies/certify", data=form(pin="not-the-pin", seal_pin=pin), headers=certifier,
                   content_type="multipart/form-data")
    assert wrong.status_code in (400, 401, 403), wrong.get_json()
    assert wrong.get_json()["detail_vi"]
    assert wrong.get_json()["code"] == "wrong_pin" and wrong.get_json()["attempts_left"] == 4
    # nothing kept but the failure itself, which is a ledger entry (docs/security.md §4)
    assert _counts(svc) == (before[0], before[1] + 1, before[2])
    with svc.db.reading() as s:
        last = s.execute(select(LedgerEntry).order_by(LedgerEntry.seq.desc())).scalars().first()
        assert last is not None and last.action == "wrong_pin"
    before = _counts(svc)
    with svc.db.transaction() as s:
        agency = s.execute(select(Agency).where(Agency.code == "000.21.31.H41")).scalar_one()
        seal_ref, agency.seal_key_ref = agency.seal_key_ref, None
    # an agency without a seal key on this node cannot certify: a node setting, so 503, checked before any work
    resp = c.post("/api/v1/copies/certify", data=form(), headers=certifier, content_type="multipart/form-data")
    assert resp.status_code == 503 and resp.get_json()["code"] == "signing_unavailable"
    assert "khóa con dấu" in resp.get_json()["detail_vi"]
    with svc.db.transaction() as s:
        agency = s.execute(select(Agency).where(Agency.code == "000.21.31.H41")).scalar_one()
        agency.seal_key_ref = seal_ref
        user = s.execute(select(User).where(User.username == "nghiphu.chungthuc")).scalar_one()
        key_ref, user.key_ref = user.key_ref, None
    resp = c.post("/api/v1/copies/certify", data=form(), headers=certifier, content_type="multipart/form-data")
    assert resp.status_code == 503 and "khóa ký số" in resp.get_json()["detail_vi"]
    assert _counts(svc) == before
    assert sorted(p.name for p in svc.blobs.root.rglob("*") if p.is_file()) == blobs_before
    # the book stays gapless: the next successful certification is still number 01
    with svc.db.transaction() as s:
        user = s.execute(select(User).where(User.username == "nghiphu.chungthuc")).scalar_one()
        user.key_ref = key_ref
    ok = c.post("/api/v1/copies/certify", data=form(), headers=certifier, content_type="multipart/form-data")
    assert ok.status_code == 201 and ok.get_json()["number"] == "01"


def test_bad_scans_are_refused_and_change_nothing(node, svc, certifier, form) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    before = _counts(svc)
    cases = {
        "scan_low_dpi": [jpeg(dpi=150)],
        "scan_not_colour": [jpeg(mode="L")],
        "scan_corrupt": [jpeg()[:3000]],
        "scan_format": [b"GIF89a not a scan at all"],
        "scan_missing": [],
    }
    for code, scans in cases.items():
        resp = c.post("/api/v1/copies/certify", data=form(scans), headers=certifier,
                      content_type="multipart/form-data")
        assert resp.status_code == 400, (code, resp.get_json())
        assert resp.get_json()["code"] == code
        assert resp.get_json()["detail_vi"]
    bad_req = c.post("/api/v1/copies/certify", data=form(requester_id_number="12 3"), headers=certifier,
                     content_type="multipart/form-data")
    assert bad_req.status_code in (400, 422)
    assert _counts(svc) == before


def test_search_and_monthly_book(node, svc, certifier, form, tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    made = [c.post("/api/v1/copies/certify", data=form(requester_id_number=rid, page_count=pages),
                   headers=certifier, content_type="multipart/form-data").get_json()
            for rid, pages in (("040190001234", 1), ("C1234567", 2), ("040190001234", 250))]
    assert [m["number"] for m in made] == ["01", "02", "03"]
    assert [m["fee_vnd"] for m in made] == [2000, 4000, 200_000]
    year, month, day = made[0]["year"], int(made[0]["date"][5:7]), made[0]["date"]
    by_id = c.get("/api/v1/copies?requester_id=040190001234", headers=certifier).get_json()["items"]
    assert sorted(i["number"] for i in by_id) == ["01", "03"]
    by_no = c.get(f"/api/v1/copies?year={year}&number=2", headers=certifier).get_json()["items"]
    assert [i["id"] for i in by_no] == [made[1]["id"]]
    assert len(c.get(f"/api/v1/copies?date_from={day}&date_to={day}", headers=certifier).get_json()["items"]) == 3
    assert c.get("/api/v1/copies?date_from=2026-13-01", headers=certifier).status_code == 400
    book = c.get(f"/api/v1/copies/book?year={year}&month={month}", headers=certifier).get_json()
    assert [i["number_col"] for i in book["items"]] == ["01", "02", "03"] and len(book["columns"]) == 10
    pdf = c.get(f"/api/v1/copies/book?year={year}&month={month}&format=pdf", headers=certifier)
    assert pdf.mimetype == "application/pdf"
    text = _text(pdf.data, tmp_path)
    assert "SỔ CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH (SCT/BS)" in text and "C1234567" in text and "200.000" in text
    other_month = c.get(f"/api/v1/copies/book?year={year - 1}&month={month}", headers=certifier).get_json()
    assert other_month["items"] == []
