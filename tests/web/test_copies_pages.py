"""Certifier pages through the Flask test client: two-step certification (upload + checks, then page images,
PINs), refusal on a ground, record, receipt, annulment, the book by month; role checks and CSRF. Signing is the
node's real engine."""

from __future__ import annotations

import io
import re

import pytest

from tests.copies.conftest import jpeg
from tests.web.conftest import csrf_of, token_of, web_login

CERTIFIER = "nghiphu.chungthuc"
REQUEST = {"requester_name": "Nguyễn Thị Hoa", "requester_id_number": "040190001234",
           "original_type": "Giấy khai sinh", "original_issuer": "Ủy ban nhân dân xã Nghi Phú",
           "original_number": "125/2001", "original_issue_date": "2001-05-04", "page_count": "3", "copies": "2"}


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


@pytest.fixture
def svc(web_app):  # type: ignore[no-untyped-def]
    return web_app.extensions["docexchange"]


@pytest.fixture
def certifier(web_app, password: str):  # type: ignore[no-untyped-def]
    c = web_app.test_client()
    web_login(c, CERTIFIER, password)
    return c


def stage(c, scans: list[bytes] | None = None, xhr: bool = True, **over: str):  # type: ignore[no-untyped-def]
    data = {**REQUEST, **over, "csrf_token": token_of(c, "/copies/certify"),
            "scan": [(io.BytesIO(b), f"trang{i + 1}.jpg") for i, b in enumerate(scans or [jpeg(seed=1), jpeg(seed=2)])]}
    return c.post("/copies/certify", data=data, content_type="multipart/form-data",
                  headers={"X-Requested-With": "fetch"} if xhr else {})


def staged_dirs(svc) -> list[str]:  # type: ignore[no-untyped-def]
    root = svc.settings.instance_dir / "cache" / "copies-staging"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_certify_in_two_steps_receipt_book_and_annul(web_app, svc, certifier, password: str) -> None:  # type: ignore[no-untyped-def]
    c = certifier
    page = c.get("/copies/certify")
    assert page.status_code == 200 and 'href="/copies/certify"' in text(page) and "/soon/certify" not in text(page)
    assert "data-upload" in text(page) and 'name="scan"' in text(page)
    # step 1 without the CSRF token: refused, nothing staged
    before = staged_dirs(svc)
    no_csrf = c.post("/copies/certify", data={**REQUEST, "scan": (io.BytesIO(jpeg()), "a.jpg")},
                     content_type="multipart/form-data")
    assert no_csrf.status_code == 400 and staged_dirs(svc) == before
    # a scan below 200 dpi is refused at step 1 with the reason, and nothing stays staged
    low = stage(c, [jpeg(dpi=150)])
    assert low.status_code == 400 and low.get_json()["code"] == "scan_low_dpi" and "dpi" in low.get_json()["error"]
    assert staged_dirs(svc) == before
    # step 1: the XHR upload answers with the review page
    resp = stage(c)
    assert resp.status_code == 201, resp.get_json()
    review_url = resp.get_json()["redirect"]
    token = review_url.rsplit("/", 1)[-1]
    review = c.get(review_url)
    html = text(review)
    assert review.status_code == 200 and "Nguyễn Thị Hoa" in html and "10.000 đ" in html  # 3 pages x 2 copies
    assert html.count(f"/copies/review/{token}/pages/") == 2 and 'name="ground"' in html
    thumb = c.get(f"/copies/review/{token}/pages/1.png")
    assert thumb.status_code == 200 and thumb.data.startswith(b"\x89PNG") and thumb.mimetype == "image/png"
    assert c.get(f"/copies/review/{token}/pages/3.png").status_code == 404
    # another certifier (or anyone else) cannot see this staging
    other = web_app.test_client()
    web_login(other, "nghiphu.vanthu", password)
    assert other.get(review_url).status_code == 403
    # step 2 with a wrong PIN: the error is shown, the scan stays staged, nothing is booked
    wrong = c.post(f"/copies/review/{token}/certify", data={"csrf_token": csrf_of(html), "pin": "sai-ma-pin",
                                                            "seal_pin": "sai-ma-pin"})
    assert wrong.status_code in (400, 401, 403) and 'role="alert"' in text(wrong)
    assert token in staged_dirs(svc)
    pin = svc.secrets["demo_pin"]
    done = c.post(f"/copies/review/{token}/certify", data={"csrf_token": csrf_of(html), "pin": pin, "seal_pin": pin})
    assert done.status_code == 302, text(done)[:2000]
    detail_url = done.headers["Location"]
    assert token not in staged_dirs(svc)
    detail = text(c.get(detail_url))
    assert "Bản sao chứng thực số 01" in detail and 'data-status="certified"' in detail
    copy_id = detail_url.rsplit("/", 1)[-1]
    pdf = c.get(f"/copies/{copy_id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-") and pdf.data.count(b"/ByteRange") >= 2
    assert c.get(f"/copies/{copy_id}/pages/3.png").data.startswith(b"\x89PNG")  # the statement page
    receipt = text(c.get(f"/copies/{copy_id}/receipt"))
    assert "BIÊN LAI" in receipt and 'data-fee="10000"' in receipt and "5.000 đ" in receipt
    # the book of the month lists it, with the PDF print
    book = c.get("/copies/book")
    assert book.status_code == 200 and "040190001234" in text(book) and f'href="/copies/{copy_id}"' in text(book)
    m = re.search(r'href="(/copies/book\.pdf\?[^"]+)"', text(book))
    assert m is not None
    book_pdf = c.get(m.group(1).replace("&amp;", "&"))
    assert book_pdf.status_code == 200 and book_pdf.mimetype == "application/pdf"
    # annul with a reason: the record and the public page change at once
    code = re.search(r'<span class="code">([0-9A-Z-]{14})</span>', detail).group(1)  # type: ignore[union-attr]
    short = c.post(f"/copies/{copy_id}/annul", data={"csrf_token": csrf_of(detail), "reason": "x"})
    assert short.status_code == 302 and 'data-status="certified"' in text(c.get(detail_url))
    c.post(f"/copies/{copy_id}/annul", data={"csrf_token": csrf_of(detail), "reason": "Bản chính bị tẩy xóa"})
    assert 'data-status="annulled"' in text(c.get(detail_url))
    assert "ĐÃ HỦY BỎ" in text(web_app.test_client().get(f"/verify/copy/{code}"))


def test_refuse_needs_a_ground_and_gives_a_note(web_app, svc, certifier) -> None:  # type: ignore[no-untyped-def]
    c = certifier
    review_url = stage(c, xhr=False).headers["Location"]
    token = review_url.rsplit("/", 1)[-1]
    html = text(c.get(review_url))
    no_ground = c.post(f"/copies/review/{token}/refuse", data={"csrf_token": csrf_of(html)})
    assert no_ground.status_code == 400 and "Điều 22" in text(no_ground)
    done = c.post(f"/copies/review/{token}/refuse", data={"csrf_token": csrf_of(html), "ground": "5",
                                                          "reason": "Giấy tờ nước ngoài chưa hợp pháp hóa"})
    assert done.status_code == 302
    detail = text(c.get(done.headers["Location"]))
    assert "Yêu cầu đã bị từ chối" in detail and "hợp pháp hóa lãnh sự" in detail
    copy_id = done.headers["Location"].rsplit("/", 1)[-1]
    note = c.get(f"/copies/{copy_id}/refusal-note")
    assert note.status_code == 200 and note.data.startswith(b"%PDF-")
    assert c.get(f"/copies/{copy_id}/receipt").status_code == 404 and c.get(f"/copies/{copy_id}/pdf").status_code == 404
    assert token not in staged_dirs(svc)


def test_only_certifiers_of_certifying_agencies(web_app, svc, password: str) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from docexchange.models import Agency, User

    clerk = web_app.test_client()
    web_login(clerk, "nghiphu.vanthu", password)
    for path in ("/copies/certify", "/copies/book", "/copies/book.pdf"):
        assert clerk.get(path).status_code == 403, path
    # a certifier role in a province (not a commune or notary) does not make a certifying agency
    with svc.db.transaction() as s:
        user = s.execute(select(User).where(User.username == "nghean.capho")).scalar_one()
        agency = s.get(Agency, user.agency_id)
        assert agency is not None and agency.kind not in ("commune", "notary")
        user.roles = "signer,certifier"
    c = web_app.test_client()
    web_login(c, "nghean.capho", password)
    c.post("/switch/role", data={"csrf_token": token_of(c, "/waiting"), "role": "certifier"})
    resp = c.get("/copies/certify")
    assert resp.status_code == 403 and "Bạn không có quyền" in text(resp)
    with svc.db.transaction() as s:
        s.execute(select(User).where(User.username == "nghean.capho")).scalar_one().roles = "signer"
    # English pages
    cert = web_app.test_client()
    web_login(cert, CERTIFIER, password)
    en = text(cert.get("/copies/certify?lang=en"))
    assert "Certify a copy from the original" in en and "Scan of the original" in en


# ---- in Chromium (Debian's binary through Playwright), against the live node -------------------------------
@pytest.fixture(scope="module")
def browser(chromium_path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), args=ARGS)
        yield b
        b.close()


@pytest.mark.slow
def test_certifier_in_the_browser(browser, live_node, artifacts_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.web.test_browser import DESKTOP, PHONE, login, no_overflow

    shots = artifacts_dir / "web"
    shots.mkdir(exist_ok=True)
    scans = []
    for i in (1, 2):
        path = tmp_path / f"trang{i}.jpg"
        path.write_bytes(jpeg(seed=i, size=(1000, 1400)))
        scans.append(str(path))
    ctx = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = ctx.new_page()
    login(page, live_node.url, CERTIFIER, live_node.demo_password)
    assert page.url.endswith("/copies/certify")
    page.get_by_label("Họ và tên").fill("Trần Văn An")
    page.get_by_label("Số CCCD hoặc hộ chiếu").fill("040190009999")
    page.get_by_label("Tên loại giấy tờ (ví dụ: giấy khai sinh)").fill("Bằng tốt nghiệp THPT")
    page.get_by_label("Cơ quan cấp").fill("Sở Giáo dục và Đào tạo Nghệ An")
    page.get_by_label("Số trang bản chính (căn cứ tính lệ phí)").fill("2")
    page.get_by_label(re.compile(r"^Bản quét bản chính")).set_input_files(scans)
    page.screenshot(path=str(shots / "certify-1366.png"), full_page=True)
    no_overflow(page)
    sent: list[dict[str, str]] = []
    page.on("request", lambda r: sent.append(r.headers) if r.method == "POST" and r.url.endswith("/copies/certify")
            else None)
    page.get_by_role("button", name="Kiểm tra bản quét").click()
    page.wait_for_url(re.compile(r".*/copies/review/[A-Za-z0-9_-]+$"))
    assert sent and sent[0].get("x-requested-with") == "fetch"  # the progress-bar upload path
    for alt in ("Trang 1/2", "Trang 2/2"):
        img = page.get_by_alt_text(alt)
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    assert "4.000 đ" in page.locator("section.meta").inner_text()
    page.screenshot(path=str(shots / "certify-review-1366.png"), full_page=True)
    no_overflow(page)
    page.get_by_label("Mã PIN khóa ký của bạn").fill(live_node.demo_pin)
    page.get_by_label("Mã PIN khóa con dấu cơ quan").fill(live_node.demo_pin)
    page.get_by_role("button", name="Chứng thực và ký số").click()
    page.wait_for_url(re.compile(r".*/copies/[0-9a-f-]{36}$"))
    assert page.locator("h1").inner_text().startswith("Bản sao chứng thực số")
    assert page.locator('[data-status="certified"]').count() == 1
    statement = page.get_by_alt_text("Trang 3/3")
    statement.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=statement.element_handle())
    page.screenshot(path=str(shots / "certified-1366.png"), full_page=True)
    detail_url = page.url
    page.get_by_role("link", name="Biên lai để in").click()
    assert "BIÊN LAI THU LỆ PHÍ CHỨNG THỰC" in page.locator("h1").inner_text()
    page.screenshot(path=str(shots / "receipt-1366.png"), full_page=True)
    ctx.close()

    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = ctx.new_page()
    login(page, live_node.url, CERTIFIER, live_node.demo_password)
    page.goto(detail_url)
    no_overflow(page)
    page.screenshot(path=str(shots / "certified-390.png"), full_page=True)
    page.goto(f"{live_node.url}/copies/book")
    assert "040190009999" in page.content()
    page.screenshot(path=str(shots / "cert-book-390.png"), full_page=True)
    no_overflow(page)
    ctx.close()
