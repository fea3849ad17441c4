"""Every page through the Flask test client: status codes, role checks, scoping, CSRF, language, headers."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.web.conftest import create_draft, csrf_of, make_pdf, token_of, web_login

CLERK, SIGNER, AUDITOR, ADMIN = "bnv.vanthu", "bnv.lanhdao", "kiemtoan", "admin"


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def test_login_page_vietnamese_by_default_and_english_switch(web_app) -> None:
    c = web_app.test_client()
    vi = c.get("/login")
    assert vi.status_code == 200 and '<html lang="vi">' in text(vi)
    assert "Đăng nhập" in text(vi) and "Tên đăng nhập" in text(vi)
    en = c.get("/login?lang=en")
    assert '<html lang="en">' in text(en) and "User name" in text(en) and "Tên đăng nhập" not in text(en)
    assert "lang=en" in en.headers["Set-Cookie"]
    # the cookie keeps English on the next page without ?lang
    again = c.get("/login")
    assert "User name" in text(again)
    back = c.get("/login?lang=vi")
    assert "Tên đăng nhập" in text(back)
    # unsupported languages fall back to Vietnamese
    assert "Tên đăng nhập" in text(web_app.test_client().get("/login?lang=fr"))


def test_security_headers_and_no_inline_script(web_app, password: str) -> None:
    c = web_app.test_client()
    web_login(c, CLERK, password)
    for path in ("/login", "/documents", "/documents/new", "/registers/outgoing"):
        resp = c.get(path)
        assert resp.status_code == 200, path
        csp = resp.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "unsafe-inline" not in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        html = text(resp)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), f"inline script on {path}"
        assert " style=" not in html and "<style" not in html, f"inline style on {path}"
        assert "onclick" not in html.lower()


def test_static_assets_served(web_app) -> None:
    c = web_app.test_client()
    js = c.get("/assets/app.js")
    css = c.get("/assets/app.css")
    assert js.status_code == 200 and b"XMLHttpRequest" in js.data
    assert css.status_code == 200 and b"@media" in css.data


def test_bad_password_and_lockout_message(web_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from docexchange import auth
    from docexchange.db import utcnow

    frozen = utcnow()
    monkeypatch.setattr(auth, "now", lambda: frozen)  # the delay must not lapse while the test runs
    svc = web_app.extensions["docexchange"]
    c = web_app.test_client()
    token = csrf_of(text(c.get("/login")))
    resp = c.post("/login", data={"username": "nghean.capho", "password": "wrong", "csrf_token": token})
    assert resp.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu (còn " in text(resp) and "lần thử" in text(resp)
    for _ in range(svc.settings.login_max_failures):
        resp = c.post("/login", data={"username": "nghean.capho", "password": "wrong", "csrf_token": token})
    # now throttled from this address: even the right password waits, with the delay message
    resp = c.post("/login", data={"username": "nghean.capho", "password": svc.secrets["demo_password"],
                                  "csrf_token": token})
    assert resp.status_code == 429
    assert 'data-code="login_throttled"' in text(resp) and "vui lòng thử lại sau" in text(resp)
    en = c.post("/login?lang=en", data={"username": "nghean.capho", "password": "x", "csrf_token": token})
    assert re.search(r"Too many failed logins; try again in \d+ seconds?", text(en))


def test_csrf_required_on_page_forms_not_on_api(web_app, password: str) -> None:
    c = web_app.test_client()
    resp = c.post("/login", data={"username": CLERK, "password": password})
    assert resp.status_code == 400 and "Biểu mẫu đã hết hạn" in text(resp)
    web_login(c, CLERK, password)
    resp = c.post("/documents/new", data={"subject": "x", "csrf_token": "forged"})
    assert resp.status_code == 400
    resp = c.post("/logout", data={})
    assert resp.status_code == 400
    assert c.get("/documents").status_code == 200  # still signed in: the forged logout did nothing
    # the JSON API with a bearer token is not subject to the page CSRF check
    api = web_app.test_client()
    tok = api.post("/api/v1/auth/token", json={"username": CLERK, "password": password})
    assert tok.status_code == 201
    hdr = {"Authorization": f"Bearer {tok.get_json()['token']}"}
    made = api.post("/api/v1/documents", headers=hdr, content_type="multipart/form-data", data={
        "file": (io.BytesIO(make_pdf(1)), "a.pdf"), "type_name": "Công văn", "subject": "API draft",
        "signer": SIGNER})
    assert made.status_code == 201, made.get_json()


def test_anonymous_is_sent_to_login(web_app) -> None:
    c = web_app.test_client()
    for path in ("/documents", "/documents/new", "/waiting", "/ledger", "/registers/outgoing", "/inbox"):
        resp = c.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next="), path
    assert c.get("/").headers["Location"] == "/login"


def test_login_redirects_only_to_local_paths(web_app, password: str) -> None:
    c = web_app.test_client()
    token = csrf_of(text(c.get("/login")))
    resp = c.post("/login", data={"username": CLERK, "password": password, "csrf_token": token,
                                  "next": "//evil.example/x"})
    assert resp.headers["Location"] == "/documents"
    c2 = web_app.test_client()
    token = csrf_of(text(c2.get("/login")))
    resp = c2.post("/login", data={"username": CLERK, "password": password, "csrf_token": token,
                                   "next": "/registers/outgoing"})
    assert resp.headers["Location"] == "/registers/outgoing"


@pytest.mark.parametrize(("user", "allowed", "forbidden", "home"), [
    (CLERK, ["/documents", "/documents/new", "/registers/outgoing", "/inbox", "/registers/incoming"],
     ["/waiting", "/ledger", "/audit/verify"],
     "/documents"),
    (SIGNER, ["/waiting", "/documents"], ["/documents/new", "/registers/outgoing", "/ledger"], "/waiting"),
    ("nghiphu.chungthuc", ["/copies/certify", "/copies/book"], ["/documents", "/waiting", "/ledger"],
     "/copies/certify"),
    (AUDITOR, ["/ledger", "/audit/verify", "/audit/evidence"], ["/documents", "/documents/new", "/registers/outgoing"],
     "/ledger"),
    (ADMIN, ["/documents", "/registers/outgoing", "/ledger"], ["/documents/new", "/waiting"], "/documents"),
])
def test_role_pages_and_navigation(web_app, password: str, user: str, allowed: list[str],
                                   forbidden: list[str], home: str) -> None:
    c = web_app.test_client()
    assert web_login(c, user, password).headers["Location"] == home
    nav = text(c.get(home))
    for path in allowed:
        assert c.get(path).status_code == 200, (user, path)
        assert f'href="{path}"' in nav, (user, path)
    for path in forbidden:
        resp = c.get(path)
        assert resp.status_code == 403, (user, path)
        assert "Bạn không có quyền" in text(resp)
        assert f'href="{path}"' not in nav, (user, path)


def test_clerk_creates_draft_lists_and_filters(web_app, password: str) -> None:
    c = web_app.test_client()
    web_login(c, CLERK, password)
    resp = create_draft(c, "Quyết định thành lập tổ công tác", urgency=3)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/documents/")
    detail = c.get(resp.headers["Location"])
    body = text(detail)
    assert detail.status_code == 200 and "Quyết định thành lập tổ công tác" in body
    assert "Tạo dự thảo" in body and "Dự thảo" in body and "Hỏa tốc" in body
    assert "Ủy ban nhân dân tỉnh Nghệ An" in body and "000.00.00.H41" in body
    assert "/pages/1.png" in body and "/pages/2.png" in body
    listed = text(c.get("/documents"))
    assert "Quyết định thành lập tổ công tác" in listed and 'class="badge urgency-3"' in listed
    assert "Quyết định thành lập tổ công tác" in text(c.get("/documents?urgency=3&status=draft"))
    assert "Quyết định thành lập tổ công tác" not in text(c.get("/documents?urgency=1"))
    assert "Quyết định thành lập tổ công tác" not in text(c.get("/documents?status=issued"))
    assert "Quyết định thành lập tổ công tác" not in text(c.get("/documents?to=2000-01-01"))
    assert "Quyết định thành lập tổ công tác" in text(c.get("/documents?from=2000-01-01"))
    assert "Quyết định thành lập tổ công tác" in text(c.get("/documents?recipient=000.00.00.h41"))
    assert "Quyết định thành lập tổ công tác" not in text(c.get("/documents?recipient=000.21.31.H41"))


def test_new_document_form_lists_types_signers_recipients(web_app, password: str) -> None:
    from docexchange.web.doctypes import DOC_TYPES

    c = web_app.test_client()
    web_login(c, CLERK, password)
    body = text(c.get("/documents/new"))
    assert len(DOC_TYPES) == 29 and body.count('name="type_name"') == 1
    for name, _abbr in DOC_TYPES:
        assert f'value="{name}"' in body
    assert 'value="bnv.lanhdao"' in body and 'value="bnv.capho"' in body and 'value="nghean.lanhdao"' not in body
    assert 'value="000.00.00.H41"' in body and 'value="000.21.31.H41"' in body
    assert 'value="000.00.00.G09"' not in body  # not the own agency
    assert "<progress" in body and 'data-filter="#recipient-list li"' in body
    for field in ("file", "subject", "signer", "type_name", "urgency", "recipient-search"):
        assert f'<label for="{field}"' in body, field


def test_draft_errors_change_nothing(web_app, password: str) -> None:
    from sqlalchemy import func, select

    from docexchange.documents.models import Document

    svc = web_app.extensions["docexchange"]
    c = web_app.test_client()
    web_login(c, CLERK, password)
    with svc.db.transaction() as s:
        before = s.execute(select(func.count()).select_from(Document)).scalar_one()
    bad = create_draft(c, "Không phải PDF", pdf=b"hello, not a pdf")
    assert bad.status_code == 400 and "Định dạng tệp không được hỗ trợ" in text(bad)
    assert 'value="Không phải PDF"' not in text(bad) and "Không phải PDF</textarea>" in text(bad)  # form kept
    bad = create_draft(c, "Nơi nhận lạ", recipients=("999.99.99.Z99",))
    assert bad.status_code == 400 and "999.99.99.Z99" in text(bad)
    xhr = create_draft(c, "Người ký sai", signer="nghean.lanhdao", xhr=True)
    assert xhr.status_code == 400 and xhr.get_json()["code"] == "bad_signer"
    with svc.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(Document)).scalar_one() == before


def test_xhr_upload_returns_redirect(web_app, password: str) -> None:
    c = web_app.test_client()
    web_login(c, CLERK, password)
    resp = create_draft(c, "Tải lên bằng XHR", xhr=True)
    assert resp.status_code == 201
    target = resp.get_json()["redirect"]
    assert target.startswith("/documents/") and "Tải lên bằng XHR" in text(c.get(target))


def _doc_url(c, subject: str) -> str:  # type: ignore[no-untyped-def]
    resp = create_draft(c, subject)
    assert resp.status_code == 302
    return str(resp.headers["Location"])


def test_signer_queue_preview_and_scoping(web_app, password: str) -> None:
    svc = web_app.extensions["docexchange"]
    clerk = web_app.test_client()
    web_login(clerk, CLERK, password)
    url = _doc_url(clerk, "Văn bản chờ ký có xem trước")
    signer = web_app.test_client()
    web_login(signer, SIGNER, password)
    queue = text(signer.get("/waiting"))
    assert "Văn bản chờ ký có xem trước" in queue and "Số trang: 2" in queue
    page = signer.get(url)
    assert page.status_code == 200 and "Ký văn bản này" in text(page) and 'name="pin"' in text(page)
    img = signer.get(url + "/pages/1.png")
    assert img.status_code == 200 and img.mimetype == "image/png" and img.data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    im = Image.open(io.BytesIO(img.data))
    assert 600 < im.width < 700 and im.height > im.width  # A4 portrait at 80 dpi
    cache = Path(svc.settings.instance_dir) / "cache" / "previews"
    assert len(list(cache.rglob("*-p1-80.png"))) >= 1
    assert signer.get(url + "/pages/3.png").status_code == 404
    assert signer.get(url + "/pdf").data[:5] == b"%PDF-"
    # the deputy is not the designated signer: not in the queue, and the document is hidden
    deputy = web_app.test_client()
    web_login(deputy, "bnv.capho", password)
    assert "Văn bản chờ ký có xem trước" not in text(deputy.get("/waiting"))
    assert deputy.get(url).status_code == 404
    # another agency's clerk cannot see it at all
    other = web_app.test_client()
    web_login(other, "nghean.vanthu", password)
    assert other.get(url).status_code == 404 and other.get(url + "/pages/1.png").status_code == 404
    assert "Văn bản chờ ký có xem trước" not in text(other.get("/documents"))


def test_sign_and_issue_through_the_pages(web_app, password: str) -> None:
    svc = web_app.extensions["docexchange"]
    pin = svc.secrets["demo_pin"]
    clerk = web_app.test_client()
    web_login(clerk, CLERK, password)
    url = _doc_url(clerk, "Văn bản ký và ban hành")
    assert "Ban hành: cấp số" not in text(clerk.get(url))  # not signed yet: no issue form
    signer = web_app.test_client()
    web_login(signer, SIGNER, password)
    wrong = signer.post(url + "/sign", data={"pin": "wrong", "csrf_token": token_of(signer, url)},
                        follow_redirects=True)
    assert "Dự thảo" in text(wrong) and 'class="flash error"' in text(wrong)
    empty = signer.post(url + "/sign", data={"pin": "", "csrf_token": token_of(signer, url)}, follow_redirects=True)
    assert "hãy nhập mã PIN" in text(empty)
    done = signer.post(url + "/sign", data={"pin": pin, "csrf_token": token_of(signer, url)}, follow_redirects=True)
    errors = re.findall(r"flash error[^<]*<[^>]*>[^<]*", text(done))
    assert "Đã ký số." in text(done) and "Người có thẩm quyền đã ký số" in text(done), errors
    assert "Văn bản ký và ban hành" not in text(signer.get("/waiting"))
    # the clerk cannot sign; the signer cannot issue
    assert clerk.post(url + "/sign", data={"pin": pin, "csrf_token": token_of(clerk, url)}).status_code == 403
    assert signer.post(url + "/issue", data={"pin": pin, "csrf_token": token_of(signer, url)}).status_code == 403
    page = text(clerk.get(url))
    assert "Ban hành: cấp số" in page and 'id="seal-pin"' in page
    issued = clerk.post(url + "/issue", data={"pin": pin, "csrf_token": token_of(clerk, url)}, follow_redirects=True)
    body = text(issued)
    assert "Đã ban hành: cấp số" in body and "Đã cấp số, đóng dấu và ban hành" in body
    number = re.search(r"(\d{2,}/QĐ-BNV)", body)
    assert number, body[-2000:]
    register = text(clerk.get("/registers/outgoing"))
    assert number.group(1) in register and "Văn bản ký và ban hành" in register
    csv = clerk.get("/registers/outgoing.csv")
    assert csv.mimetype == "text/csv" and number.group(1) in csv.data.decode("utf-8-sig")
    assert "Số, ký hiệu văn bản" in csv.data.decode("utf-8-sig")
    pdf = clerk.get("/registers/outgoing.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data[:5] == b"%PDF-"
    assert clerk.get("/registers/outgoing.xls").status_code == 404
    assert "Văn bản ký và ban hành" in text(clerk.get("/documents?status=issued"))


def test_admin_switches_agency_and_pages_follow(web_app, password: str) -> None:
    from sqlalchemy import select

    from docexchange.models import Agency

    svc = web_app.extensions["docexchange"]
    with svc.db.transaction() as s:
        ids = dict(s.execute(select(Agency.code, Agency.id)).all())
    clerk = web_app.test_client()
    web_login(clerk, CLERK, password)
    _doc_url(clerk, "Văn bản riêng của Bộ Nội vụ")
    admin = web_app.test_client()
    web_login(admin, ADMIN, password)
    home = text(admin.get("/documents"))
    assert "Văn bản riêng của Bộ Nội vụ" in home and 'id="switch-agency"' in home
    assert home.count("<option value=") >= 3
    token = token_of(admin, "/documents")
    resp = admin.post("/switch/agency", data={"agency_id": str(ids["000.00.00.H41"]), "csrf_token": token})
    assert resp.status_code == 302
    page = text(admin.get("/documents"))
    assert "Ủy ban nhân dân tỉnh Nghệ An" in page and "Văn bản riêng của Bộ Nội vụ" not in page
    with admin.session_transaction() as sess:
        assert sess["agency_id"] == ids["000.00.00.H41"] and sess["role"] == "admin"
    bad = admin.post("/switch/agency", data={"agency_id": "999999", "csrf_token": token}, follow_redirects=True)
    assert "không thuộc hệ thống" in text(bad)
    # switching role to auditor returns the administrator to the home agency
    admin.post("/switch/role", data={"role": "auditor", "csrf_token": token})
    with admin.session_transaction() as sess:
        assert sess["role"] == "auditor" and sess["agency_id"] == ids["000.00.00.G09"]
    assert admin.post("/switch/role", data={"role": "clerk", "csrf_token": token}).status_code == 302
    with admin.session_transaction() as sess:
        assert sess["role"] == "auditor"  # not one of the admin's roles: unchanged
    # a clerk may not switch agencies
    assert clerk.post("/switch/agency", data={"agency_id": str(ids["000.00.00.H41"]),
                                              "csrf_token": token_of(clerk, "/documents")}).status_code == 403


def test_tampered_session_agency_ends_the_session(web_app, password: str) -> None:
    from sqlalchemy import select

    from docexchange.models import Agency

    svc = web_app.extensions["docexchange"]
    with svc.db.transaction() as s:
        other = s.execute(select(Agency.id).where(Agency.code == "000.00.00.H41")).scalar_one()
    c = web_app.test_client()
    web_login(c, CLERK, password)
    with c.session_transaction() as sess:
        sess["agency_id"] = other  # a clerk session pointing at another agency (e.g. stale after a move)
    assert c.get("/documents").status_code == 302


def test_ledger_browser_and_verify(web_app, password: str) -> None:
    clerk = web_app.test_client()  # the test's own act, so that it does not depend on which tests ran before
    web_login(clerk, "bnv.vanthu", password)
    assert create_draft(clerk, "Sổ nhật ký: dự thảo của phép thử").status_code == 302
    c = web_app.test_client()
    web_login(c, AUDITOR, password)
    page = text(c.get("/ledger"))
    assert 'data-action="document_drafted"' in page  # newest first: the draft just made is on the first page
    assert "Tạo dự thảo" in page
    from sqlalchemy import func, select

    from docexchange.models import LedgerEntry
    from docexchange.web.views.ledger import PAGE_SIZE

    with web_app.extensions["docexchange"].db.reading() as s:
        pages = max(1, -(-s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() // PAGE_SIZE))
    # the oldest entry is on the last page
    assert 'data-action="node_initialised"' in text(c.get(f"/ledger?page={pages}"))
    assert "Nhật ký kiểm toán" in page and 'id="verify-result"' not in page
    ok = text(c.get("/ledger?verify=1"))
    assert 'class="verdict ok"' in ok and "Nhật ký toàn vẹn" in ok
    en = text(c.get("/ledger?verify=1&lang=en"))
    assert "The ledger is intact" in en
    # tamper with one entry: the page reports where
    svc = web_app.extensions["docexchange"]
    with svc.db.transaction() as s:
        entry = s.execute(select(LedgerEntry).order_by(LedgerEntry.seq).limit(1)).scalar_one()
        original, entry.actor = entry.actor, "mallory"
        seq = entry.seq
    try:
        bad = text(c.get("/ledger?verify=1&lang=vi"))
        assert 'class="verdict bad"' in bad and f"bản ghi {seq}" in bad
    finally:
        with svc.db.transaction() as s:
            s.execute(select(LedgerEntry).where(LedgerEntry.seq == seq)).scalar_one().actor = original
    assert text(c.get("/ledger?page=2")).count("<tr") <= 51  # header row + at most one page of entries


def test_translations_compiled_and_complete() -> None:
    """The committed .mo matches the .po, and every message used in templates and code is translated."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2] / "docexchange" / "web"
    po_path = root / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
    po = read_po(po_path.open("rb"))
    mo = read_mo((po_path.with_suffix(".mo")).open("rb"))
    po_map = {m.id: m.string for m in po if m.id}
    mo_map = {m.id: m.string for m in mo if m.id}
    assert po_map == mo_map, "messages.mo is stale: run pybabel compile -d docexchange/web/translations"
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    used = {msg for _f, _l, msg, *_ in extract_from_dir(str(root), method_map, keywords=keywords) if msg}
    missing = sorted(m for m in used if not po_map.get(m))
    assert not missing, f"untranslated: {missing}"


def test_clerk_flow_on_both_databases(node) -> None:  # type: ignore[no-untyped-def]
    """Login, draft upload, filters (dates compared in Vietnam time), detail, ledger: SQLite and PostgreSQL."""
    password = node.extensions["docexchange"].secrets["demo_password"]
    c = node.test_client()
    web_login(c, CLERK, password)
    url = _doc_url(c, "Kiểm tra trên hai cơ sở dữ liệu")
    assert "Kiểm tra trên hai cơ sở dữ liệu" in text(c.get(url))
    assert "Kiểm tra trên hai cơ sở dữ liệu" in text(c.get("/documents?status=draft&urgency=0&from=2020-01-01"))
    assert "Kiểm tra trên hai cơ sở dữ liệu" not in text(c.get("/documents?to=2020-01-01"))
    a = node.test_client()
    web_login(a, AUDITOR, password)
    assert 'class="verdict ok"' in text(a.get("/ledger?verify=1"))


def test_signer_sees_where_the_signature_will_go(web_app, password: str) -> None:
    import io

    from PIL import Image

    from tests.web.conftest import make_pdf

    clerk = web_app.test_client()
    web_login(clerk, CLERK, password)
    url = _doc_url(clerk, "Vị trí chữ ký trên bản xem trước")
    signer = web_app.test_client()
    web_login(signer, SIGNER, password)
    page = text(signer.get(url))
    match = re.search(r'data-place-page="(\d+)"', page)
    assert match and "khung nét đứt ở trang 2" in page  # make_pdf(): two pages, signature block on the last
    plain = Image.open(io.BytesIO(signer.get(url + "/pages/2.png").data)).convert("RGB")
    marked = Image.open(io.BytesIO(signer.get(url + "/pages/2.png?place=1").data)).convert("RGB")
    def blue_pixels(im: Image.Image) -> int:
        raw = im.tobytes()
        return sum(1 for i in range(0, len(raw), 3) if raw[i:i + 3] == bytes((20, 60, 200)))

    assert blue_pixels(marked) > 100 and blue_pixels(plain) == 0
    # a draft without the signer's name on its last page says so before anyone tries to sign
    nameless = create_draft(clerk, "Không có khối chữ ký", pdf=make_pdf(signer="", position=""))
    assert "Không tìm thấy họ tên người ký ở trang cuối" in text(signer.get(str(nameless.headers["Location"])))
