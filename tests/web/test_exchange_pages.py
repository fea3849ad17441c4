"""Receive side, document timeline and auditor pages through the Flask test client: contents, roles (auditor
read-only, clerk-only actions), agency scoping (another agency's incoming document is a 404), CSRF, exports,
sealed verification reports and the per-document evidence."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.web.conftest import create_draft, make_pdf, token_of, web_login

CLERK, SIGNER, AUDITOR, ADMIN, NA_CLERK = "bnv.vanthu", "bnv.lanhdao", "kiemtoan", "admin", "nghean.vanthu"
BNV, NGHEAN = "000.00.00.G09", "000.00.00.H41"


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def tamper(data: bytes) -> bytes:
    """Flip one byte inside the first signed range (the binary comment on line 2: the file still parses, the
    digest no longer matches)."""
    i = data.index(b"\n%", 0, 32) + 2
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]


def add_visual_change(data: bytes) -> bytes:
    """An incremental update after the signatures that paints a black box on page 1."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(data))
    stream = generic.StreamObject(stream_data=b"q 0 0 0 rg 60 600 300 120 re f Q")
    w.add_stream_to_page(0, w.add_object(stream))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


@dataclass
class World:
    svc: object
    password: str
    pin: str
    doc_id: str  # BNV's issued document
    edxml_id: str
    issued: bytes
    arrived: str  # incoming public ids at Nghệ An
    refused: str
    recalled: str
    duplicate: str
    spare: str  # a second arrived document (refused through the page)
    foreign: str  # an incoming document of Bộ Nội vụ


_REPORTS: dict[str, object] = {}


def _incoming(svc, agency_code: str, pdf: bytes, *, subject: str, status: str = "arrived", reason: str = "",
              urgency: int = 0, edxml_id: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """A received document exactly as the receiver stores it: the file in the blob store, the validation
    engine's report keyed by the file's SHA-256, the worst indication as the verdict."""
    from docexchange.exchange.models import IncomingDocument
    from docexchange.models import Agency
    from docexchange.signing.validation import ValidationPolicy, validate_pdf

    sha = svc.blobs.put_bytes(pdf)
    if sha not in _REPORTS:
        _REPORTS[sha] = validate_pdf(pdf, ValidationPolicy(trust_anchors=svc.ca.anchors()), name="qd.pdf")
    report = _REPORTS[sha]
    seal = any(s.signer is not None and s.signer.is_organization_seal for s in report.signatures)
    with svc.db.transaction() as s:
        agency = s.execute(select(Agency).where(Agency.code == agency_code)).scalar_one()
        inc = IncomingDocument(
            public_id=str(uuid.uuid4()), agency_id=agency.id, hub_doc_id=str(uuid.uuid4()), sender_code=BNV,
            sender_name="Bộ Nội vụ", edxml_document_id=edxml_id or str(uuid.uuid4()), package_sha256="ab" * 32,
            number_notation="12/QĐ-BNV", type_name="Quyết định", subject=subject, urgency=urgency,
            promulgation_date="2026-11-20", signer="BỘ TRƯỞNG Nguyễn Văn Thắng", main_pdf_sha256=sha,
            files=json.dumps([{"name": "qd.pdf", "sha256": sha, "role": "main", "indication": report.indication,
                               "agency_signature": seal}]),
            verdict=report.indication, verification=json.dumps({sha: report.to_dict()}, default=str),
            status=status, reason=reason)
        s.add(inc)
        return inc.public_id


@pytest.fixture(scope="module")
def world(web_app) -> World:  # type: ignore[no-untyped-def]
    from docexchange.documents.models import Document

    svc = web_app.extensions["docexchange"]
    password, pin = str(svc.secrets["demo_password"]), str(svc.secrets["demo_pin"])
    clerk, signer = web_app.test_client(), web_app.test_client()
    web_login(clerk, CLERK, password)
    web_login(signer, SIGNER, password)
    made = create_draft(clerk, "Về việc thử nghiệm trao đổi văn bản", recipients=(NGHEAN,), signer=SIGNER,
                        pdf=make_pdf(1))
    url = made.headers["Location"]
    doc_id = url.rsplit("/", 1)[-1]
    assert "Đã ký" in text(signer.post(url + "/sign", data={"pin": pin, "csrf_token": token_of(signer, url)},
                                       follow_redirects=True))
    done = clerk.post(url + "/issue", data={"pin": pin, "csrf_token": token_of(clerk, url)}, follow_redirects=True)
    assert done.status_code == 200
    with svc.db.transaction() as s:
        doc = s.execute(select(Document).where(Document.public_id == doc_id)).scalar_one()
        issued_sha, edxml_id = doc.issued_sha256, doc.edxml_document_id
    assert issued_sha and edxml_id
    issued = svc.blobs.get_bytes(issued_sha)
    return World(
        svc, password, pin, doc_id, edxml_id, issued,
        arrived=_incoming(svc, NGHEAN, issued, subject="Văn bản đã xác minh", urgency=2, edxml_id=edxml_id),
        refused=_incoming(svc, NGHEAN, tamper(issued), subject="Văn bản bị sửa", status="rejected",
                          reason="Chữ ký số trên tệp qd.pdf không hợp lệ (TOTAL_FAILED)"),
        recalled=_incoming(svc, NGHEAN, issued, subject="Văn bản đã thu hồi", status="recalled"),
        duplicate=_incoming(svc, NGHEAN, issued, subject="Văn bản bản trùng", status="duplicate"),
        spare=_incoming(svc, NGHEAN, issued, subject="Văn bản thứ hai", urgency=1),
        foreign=_incoming(svc, BNV, issued, subject="Văn bản của Bộ"))


def client(web_app, world: World, user: str):  # type: ignore[no-untyped-def]
    c = web_app.test_client()
    web_login(c, user, world.password)
    return c


def outbox_codes(world: World, public_id: str) -> list[str]:
    from docexchange.exchange.models import IncomingDocument, OutboxItem

    with world.svc.db.transaction() as s:  # type: ignore[attr-defined]
        inc = s.execute(select(IncomingDocument).where(IncomingDocument.public_id == public_id)).scalar_one()
        return [o.status_code for o in s.execute(select(OutboxItem).where(OutboxItem.incoming_id == inc.id)
                                                 .order_by(OutboxItem.id)).scalars()]


def test_inbox_lists_verdicts_and_hides_recalled_and_duplicates(web_app, world: World) -> None:
    c = client(web_app, world, NA_CLERK)
    page = text(c.get("/inbox"))
    assert "Văn bản đã xác minh" in page and "Văn bản thứ hai" in page and "Văn bản bị sửa" in page
    assert "Văn bản đã thu hồi" not in page and "Văn bản bản trùng" not in page
    assert "Văn bản của Bộ" not in page  # another agency's
    assert 'class="badge verdict-ok">Hợp lệ' in page and 'class="badge verdict-bad">Không hợp lệ' in page
    assert "Chữ ký số trên tệp qd.pdf không hợp lệ" in page  # the reason of the refused one
    assert 'class="badge urgency-2">Thượng khẩn' in page
    assert "3 văn bản" in page
    only_refused = text(c.get("/inbox?status=rejected"))
    assert "Văn bản bị sửa" in only_refused and "Văn bản đã xác minh" not in only_refused
    urgent = text(c.get("/inbox?urgency=2"))
    assert "Văn bản đã xác minh" in urgent and "Văn bản thứ hai" not in urgent
    assert "Văn bản đã xác minh" in text(c.get("/inbox?sender=N%E1%BB%99i+v%E1%BB%A5"))  # "Nội vụ"
    assert "Văn bản đã xác minh" in text(c.get(f"/inbox?sender={BNV}"))
    assert "Không có văn bản phù hợp" in text(c.get("/inbox?sender=000.00.00.X99"))
    assert "Không có văn bản phù hợp" in text(c.get("/inbox?from=2099-01-01"))
    assert "Văn bản đã xác minh" in text(c.get("/inbox?to=2099-01-01&from=bad"))
    en = text(c.get("/inbox?lang=en"))
    assert ">Valid<" in en and ">Invalid<" in en and "Incoming documents" in en


def test_detail_shows_verdict_signatures_files_and_previews(web_app, world: World) -> None:
    c = client(web_app, world, NA_CLERK)
    page = text(c.get(f"/inbox/{world.arrived}"))
    assert 'data-verdict="TOTAL_PASSED"' in page and "Hợp lệ" in page
    assert "Nguyễn Văn Thắng" in page and "Chữ ký cá nhân" in page  # the person's signature panel
    assert "Bộ Nội vụ" in page and "Con dấu của cơ quan, tổ chức" in page  # the agency seal panel
    assert page.count('class="sigpanel') == 2 and "Vào sổ (trạng thái 03)" in page
    inc_files = json.loads(_row(world, world.arrived).files)
    sha = inc_files[0]["sha256"]
    pdf = c.get(f"/inbox/{world.arrived}/files/{sha}?download=1")
    assert pdf.status_code == 200 and pdf.data == world.issued and "attachment" in pdf.headers["Content-Disposition"]
    png = c.get(f"/inbox/{world.arrived}/files/{sha}/pages/1.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert c.get(f"/inbox/{world.arrived}/files/{'0' * 64}").status_code == 404
    assert c.get(f"/inbox/{world.arrived}/files/{sha}/pages/99.png").status_code == 404
    refused = text(c.get(f"/inbox/{world.refused}"))
    assert 'data-verdict="TOTAL_FAILED"' in refused and "Lý do:" in refused and "Không hợp lệ" in refused
    assert "Đã bị sửa: các byte đã ký không còn khớp" in refused  # the integrity finding of the panel
    assert "Vào sổ (trạng thái 03)" not in refused
    for hidden in (world.recalled, world.duplicate, world.foreign, str(uuid.uuid4())):
        assert c.get(f"/inbox/{hidden}").status_code == 404, hidden
        assert c.get(f"/inbox/{hidden}/files/{sha}").status_code == 404


def _row(world: World, public_id: str):  # type: ignore[no-untyped-def]
    from docexchange.exchange.models import IncomingDocument

    with world.svc.db.transaction() as s:  # type: ignore[attr-defined]
        row = s.execute(select(IncomingDocument).where(IncomingDocument.public_id == public_id)).scalar_one()
        s.expunge(row)
        return row


def test_clerk_actions_send_statuses_back(web_app, world: World) -> None:
    c = client(web_app, world, NA_CLERK)
    url = f"/inbox/{world.arrived}"

    def act(action: str, note: str = "", target: str = url):  # type: ignore[no-untyped-def]
        return text(c.post(target + "/action", data={"action": action, "note": note,
                                                     "csrf_token": token_of(c, target)}, follow_redirects=True))

    assert "cần vào sổ văn bản trước" in act("processing")  # not registered yet: nothing changes
    assert outbox_codes(world, world.arrived) == []
    assert "Đã vào sổ văn bản đến" in act("register")
    row = _row(world, world.arrived)
    assert row.status == "registered" and row.arrival_number == 1
    assert "không thể vào sổ" in act("register")  # twice is refused
    assert "Phòng Tổng hợp" in act("assigned", "Phòng Tổng hợp")
    assert _row(world, world.arrived).assignee == "Phòng Tổng hợp"
    act("processing")
    page = act("completed")
    assert _row(world, world.arrived).status == "completed"
    assert outbox_codes(world, world.arrived) == ["03", "04", "05", "06"]
    for code in ("03 · Đã tiếp nhận, vào sổ", "04 · Đã phân công xử lý", "05 · Đang xử lý", "06 · Hoàn thành"):
        assert code in page
    # refusing needs a reason, and changes nothing without one
    spare = f"/inbox/{world.spare}"
    assert "cần ghi lý do từ chối" in act("reject", "  ", spare)
    assert _row(world, world.spare).status == "arrived" and outbox_codes(world, world.spare) == []
    assert "Đã từ chối" in act("reject", "Gửi nhầm nơi nhận", spare)
    assert _row(world, world.spare).status == "rejected" and _row(world, world.spare).reason == "Gửi nhầm nơi nhận"
    assert outbox_codes(world, world.spare) == ["02"]
    bad = c.post(url + "/action", data={"action": "explode", "csrf_token": token_of(c, url)})
    assert bad.status_code == 400


def test_roles_scoping_and_csrf(web_app, world: World) -> None:
    na = client(web_app, world, NA_CLERK)
    url = f"/inbox/{world.spare}"
    # CSRF: no token, wrong token
    assert na.post(url + "/action", data={"action": "processing"}).status_code == 400
    assert na.post(url + "/action", data={"action": "processing", "csrf_token": "x"}).status_code == 400
    # another agency's document: 404, even for a clerk with a valid token
    foreign = f"/inbox/{world.foreign}"
    assert na.post(foreign + "/action", data={"action": "register", "csrf_token": token_of(na, "/inbox")}
                   ).status_code == 404
    assert _row(world, world.foreign).status == "arrived"
    # the auditor reads its own agency's inbox but may not act
    aud = client(web_app, world, AUDITOR)
    page = aud.get(foreign)
    assert page.status_code == 200 and "Vào sổ (trạng thái 03)" not in text(page)
    assert aud.post(foreign + "/action", data={"action": "register", "csrf_token": token_of(aud, "/ledger")}
                    ).status_code == 403
    assert aud.get(f"/inbox/{world.arrived}").status_code == 404  # Nghệ An's
    adm = client(web_app, world, ADMIN)
    assert adm.get("/inbox").status_code == 200
    assert adm.post(foreign + "/action", data={"action": "register", "csrf_token": token_of(adm, "/inbox")}
                    ).status_code == 403
    assert _row(world, world.foreign).status == "arrived"
    signer = client(web_app, world, SIGNER)
    for path in ("/inbox", foreign, "/registers/incoming", "/audit/verify", "/audit/evidence"):
        assert signer.get(path).status_code == 403, path
    clerk = client(web_app, world, CLERK)
    assert clerk.get("/audit/verify").status_code == 403 and clerk.get("/audit/evidence").status_code == 403
    anon = web_app.test_client()
    for path in ("/inbox", "/registers/incoming", "/audit/verify", "/audit/evidence"):
        assert anon.get(path).status_code == 302, path


def test_incoming_register_page_and_exports(web_app, world: World) -> None:
    from docexchange.exchange.engine import exchange_deps_for
    from docexchange.exchange.service import incoming_action
    from docexchange.models import Agency

    svc = world.svc
    fresh = _incoming(svc, NGHEAN, world.issued, subject="Văn bản vào sổ")
    with svc.db.transaction() as s:  # type: ignore[attr-defined]
        agency = s.execute(select(Agency).where(Agency.code == NGHEAN)).scalar_one()
        incoming_action(s, exchange_deps_for(svc), agency.id, fresh, "register", "nghean.vanthu")  # type: ignore[arg-type]
    c = client(web_app, world, NA_CLERK)
    page = text(c.get("/registers/incoming"))
    assert "Văn bản vào sổ" in page and "Bộ Nội vụ (000.00.00.G09)" in page and "12/QĐ-BNV" in page
    rows = list(csv.reader(io.StringIO(c.get("/registers/incoming.csv").data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Ngày đến", "Số đến"] and len(rows[0]) == 10
    assert any(r[5] == "Quyết định: Văn bản vào sổ" for r in rows[1:])
    pdf = c.get("/registers/incoming.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    assert "Không có văn bản nào được vào sổ" in text(c.get("/registers/incoming?year=2001"))
    assert c.get("/registers/incoming.xml").status_code == 404
    bnv = client(web_app, world, CLERK)
    assert "Văn bản vào sổ" not in text(bnv.get("/registers/incoming"))  # scoped to the agency


def test_document_page_shows_recipient_timeline_and_outbox_state(web_app, world: World) -> None:
    from docexchange.db import utcnow
    from docexchange.documents.models import Document
    from docexchange.exchange.models import OutboxItem, RecipientStatus
    from docexchange.models import Agency

    svc = world.svc
    c = client(web_app, world, CLERK)
    url = f"/documents/{world.doc_id}"
    page = text(c.get(url))
    assert 'id="outbox-state"' in page and "Đang chờ gửi" in page and "Chưa nhận được trạng thái nào" in page
    now = utcnow()
    with svc.db.transaction() as s:  # type: ignore[attr-defined]
        doc = s.execute(select(Document).where(Document.public_id == world.doc_id)).scalar_one()
        agency = s.execute(select(Agency).where(Agency.code == BNV)).scalar_one()
        for i, code in enumerate(("03", "01")):  # stored out of order; shown by status time
            s.add(RecipientStatus(agency_id=agency.id, document_id=doc.id, edxml_document_id=world.edxml_id,
                                  recipient_code=NGHEAN, status_code=code, description=f"mô tả {code}",
                                  status_time=now + timedelta(minutes=1 - i), hub_doc_id=f"h{code}",
                                  package_sha256="cd" * 32))
        out = s.execute(select(OutboxItem).where(OutboxItem.document_id == doc.id)).scalar_one()
        out.state, out.last_error, out.attempts = "failed", "hub unreachable: connection refused", 3
    page = text(c.get(url))
    i1, i3 = page.index("01 · Đã đến"), page.index("03 · Đã tiếp nhận, vào sổ")
    assert i1 < i3 and "mô tả 03" in page
    assert "Gửi không thành công" in page and "hub unreachable: connection refused" in page
    assert "Ủy ban nhân dân tỉnh Nghệ An" in page
    en = text(c.get(url + "?lang=en"))
    assert "01 · arrived" in en and "03 · accepted and registered" in en and "Sending failed" in en
    with svc.db.transaction() as s:  # type: ignore[attr-defined]
        out = s.execute(select(OutboxItem).where(OutboxItem.document_id == doc.id)).scalar_one()
        out.state, out.sent_at = "sent", now
    page = text(c.get(url + "?lang=vi"))
    assert "Đã gửi lên trục" in page and "hub unreachable" not in page


def _ledger(world: World, action: str, object_id: str) -> list[object]:
    from docexchange.models import LedgerEntry

    with world.svc.db.transaction() as s:  # type: ignore[attr-defined]
        rows = list(s.execute(select(LedgerEntry).where(LedgerEntry.action == action,
                                                        LedgerEntry.object_id == object_id)).scalars())
        s.expunge_all()
        return rows


def _upload(c, data: bytes, name: str = "file.pdf"):  # type: ignore[no-untyped-def]
    return c.post("/audit/verify", data={"csrf_token": token_of(c, "/audit/verify"), "file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")


def test_auditor_verifies_valid_tampered_and_changed_files(web_app, world: World) -> None:
    import hashlib

    c = client(web_app, world, AUDITOR)
    form = text(c.get("/audit/verify"))
    assert "data-dropzone" in form and 'type="file"' in form and "audit.js" in form
    ok = _upload(c, world.issued, "qd.pdf")
    page = text(ok)
    assert ok.status_code == 200 and 'data-verdict="TOTAL_PASSED"' in page and page.count('class="sigpanel') == 2
    assert "Nguyễn Văn Thắng" in page and "<dd>B-LT</dd>" in page and "không bị thu hồi" not in page
    assert "Chưa bị thu hồi" in page and "Nguyên vẹn" in page and "Tin cậy" in page
    # the page leads with one sentence in words; the ETSI code is a secondary line; dates dd/mm/yyyy (GMT+7)
    lead = re.search(r'id="lead-sentence">(.*?)</p>', page, re.S)
    assert lead is not None and page.index('id="lead-sentence"') < page.index("ETSI")
    # issuance filled the number and date fields after the leader signed: intact, and the sentence says so
    assert "Văn bản còn nguyên vẹn kể từ khi ký (có điền thêm trường biểu mẫu sau khi ký)." in lead.group(1)
    assert re.search(r"Chữ ký của Nguyễn Văn Thắng \([^)]+\) hợp lệ tại thời điểm \d{2}/\d{2}/\d{4} \d{2}:\d{2} "
                     r"\(GMT\+7\)\.", lead.group(1))
    assert "Common Name:" not in page and "Organization:" not in page
    sha = hashlib.sha256(world.issued).hexdigest()
    assert _ledger(world, "verify", sha), "every verification is a ledger entry"
    bad = tamper(world.issued)
    page = text(_upload(c, bad, "sua.pdf"))
    assert 'data-verdict="TOTAL_FAILED"' in page and "Đã bị sửa: các byte đã ký không còn khớp" in page
    assert "Văn bản đã bị sửa sau khi ký" in page
    assert _ledger(world, "verify", hashlib.sha256(bad).hexdigest())
    changed = add_visual_change(world.issued)
    page = text(_upload(c, changed, "them.pdf"))
    assert 'data-verdict="TOTAL_FAILED"' in page and "thay đổi sau chữ ký của" in page and "khoanh màu đỏ" in page
    assert "Trang 1 khi ký" in page and "Trang 1 trong tệp cuối" in page
    csha = hashlib.sha256(changed).hexdigest()
    upto = re.search(rf"/audit/verify/{csha}/pages/1.png\?upto=(\d+)", page)
    assert upto is not None
    signed_png = c.get(f"/audit/verify/{csha}/pages/1.png?upto={upto.group(1)}")
    final_png = c.get(f"/audit/verify/{csha}/pages/1.png")
    assert signed_png.data[:4] == b"\x89PNG" and final_png.data[:4] == b"\x89PNG" and signed_png.data != final_png.data
    outlined = c.get(f"/audit/verify/{csha}/pages/1.png?against={upto.group(1)}")
    assert outlined.data[:4] == b"\x89PNG" and outlined.data != final_png.data  # the change is framed in red
    assert f"pages/1.png?against={upto.group(1)}" in page
    assert c.get(f"/audit/verify/{csha}/pages/1.png?against=1000").status_code == 404
    assert c.get(f"/audit/verify/{csha}/pages/1.png?upto=1000").status_code == 404  # not a revision boundary
    assert c.get(f"/audit/verify/{'1' * 64}/pages/1.png").status_code == 404  # never verified here
    # bad input: no file; not a PDF
    empty = c.post("/audit/verify", data={"csrf_token": token_of(c, "/audit/verify")})
    assert empty.status_code == 400 and "hãy chọn tệp PDF" in text(empty)
    junk = text(_upload(c, b"not a pdf at all", "x.pdf"))
    assert "data-verdict=" in junk and 'data-verdict="TOTAL_PASSED"' not in junk
    assert c.post("/audit/verify", data={"file": (io.BytesIO(world.issued), "a.pdf")},
                  content_type="multipart/form-data").status_code == 400  # CSRF


def test_sealed_report_download(web_app, world: World) -> None:
    import hashlib

    from docexchange.signing.validation import ValidationPolicy, validate_pdf

    c = client(web_app, world, AUDITOR)
    bad = tamper(world.issued)
    _upload(c, bad, "sua.pdf")
    sha = hashlib.sha256(bad).hexdigest()
    url = f"/audit/verify/{sha}/report.pdf"
    wrong = c.post(url, data={"pin": "000000", "csrf_token": token_of(c, "/audit/verify")}, follow_redirects=True)
    assert wrong.status_code == 200 and "PIN" in text(wrong)
    assert not _ledger(world, "verify_report_sealed", sha)
    resp = c.post(url, data={"pin": world.pin, "name": "sua.pdf", "csrf_token": token_of(c, "/audit/verify")})
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF")
    report = validate_pdf(resp.data, ValidationPolicy(trust_anchors=world.svc.ca.anchors()))  # type: ignore[attr-defined]
    assert report.indication == "TOTAL_PASSED"
    assert [s.signer.common_name for s in report.signatures if s.signer] == ["Bộ Nội vụ"]
    assert report.signatures[0].signer.is_organization_seal  # type: ignore[union-attr]
    # a document an inspector files: words, not internal objects; the lead sentence; dd/mm/yyyy dates
    import subprocess

    words = " ".join(subprocess.run(["pdftotext", "-", "-"], input=resp.data, capture_output=True,
                                    check=True).stdout.decode().split())
    for internal in ("Reference(", "AbsoluteContext", "Integrity: True", "FORM_FILLING", "Common Name:"):
        assert internal not in words, internal
    assert "Văn bản đã bị sửa sau khi ký" in words and "Chữ ký của Nguyễn Văn Thắng" in words
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2} \(GMT\+7\)", words) and "Bằng chứng / Evidence" in words
    entries = _ledger(world, "verify_report_sealed", sha)
    assert len(entries) == 1 and entries[0].object_sha256 == hashlib.sha256(resp.data).hexdigest()  # type: ignore[attr-defined]
    assert c.post(f"/audit/verify/{'2' * 64}/report.pdf", data={"pin": world.pin,
                  "csrf_token": token_of(c, "/audit/verify")}).status_code == 404


def test_evidence_lists_every_hop_and_verifies_the_ledger(web_app, world: World) -> None:
    c = client(web_app, world, AUDITOR)
    for q in (world.doc_id, world.edxml_id):
        page = text(c.get(f"/audit/evidence?document_id={q}"))
        assert 'id="ledger-result"' in page and "Nhật ký toàn vẹn" in page
        for action in ("document_drafted", "document_signed", "document_issued", "package_queued"):
            assert f'data-action="{action}"' in page, (q, action)
        assert world.doc_id in page and world.edxml_id in page
    page = text(c.get("/audit/evidence?document_id=khong-co"))
    assert "Không có mục nhật ký nào" in page and 'id="ledger-result"' not in page
    assert 'id="ledger-result"' not in text(c.get("/audit/evidence"))


def test_templates_have_no_inline_script_or_style() -> None:
    root = Path(__file__).resolve().parents[2] / "docexchange" / "web" / "templates"
    for name in ("inbox/list.html", "inbox/detail.html", "inbox/register.html", "audit/verify.html",
                 "audit/evidence.html", "exchange_macros.html"):
        body = (root / name).read_text()
        assert "<script>" not in body and "style=" not in body and " onclick" not in body, name
