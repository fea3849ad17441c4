"""End to end in headless Chromium (Debian's /usr/bin/chromium through Playwright; no browser download):
a clerk uploads a PDF draft and sees it listed; the signer sees it waiting with its page preview; the key pages
are checked for sideways overflow at 1366x768 and 390x844. Screenshots go to artifacts/web/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.conftest import make_pdf

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser(chromium_path: Path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(artifacts_dir: Path) -> Path:
    d = artifacts_dir / "web"
    d.mkdir(exist_ok=True)
    return d


def no_overflow(page) -> None:  # type: ignore[no-untyped-def]
    sw, iw = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sw <= iw, f"horizontal overflow on {page.url}: scrollWidth {sw} > innerWidth {iw}"


def login(page, base: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()


@pytest.mark.slow
def test_clerk_uploads_signer_previews(browser, live_node, shots: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, password = live_node.url, live_node.demo_password
    pdf = tmp_path / "to-trinh.pdf"
    pdf.write_bytes(make_pdf(3, "Tờ trình đề nghị phê duyệt kế hoạch năm"))

    ctx = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = ctx.new_page()
    page.goto(f"{base}/login")
    assert page.evaluate("document.activeElement.id") == "username"
    page.screenshot(path=str(shots / "login-1366.png"), full_page=True)
    no_overflow(page)
    login(page, base, "bnv.vanthu", password)
    assert page.url.endswith("/documents")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"  # keyboard users can skip the header
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.get_by_role("link", name="Văn bản mới").click()
    page.get_by_label(re.compile(r"^Tệp văn bản \(PDF")).set_input_files(str(pdf))
    page.get_by_label("Loại văn bản").select_option("Tờ trình")
    page.get_by_label("Độ khẩn").select_option("2")
    page.get_by_label("Trích yếu nội dung").fill("Đề nghị phê duyệt kế hoạch năm 2027")
    page.get_by_label("Người có thẩm quyền ký").select_option("bnv.lanhdao")
    search = page.get_by_label("Tìm theo tên hoặc mã định danh")
    search.fill("nghe an")  # without accents: matches "Nghệ An"
    assert page.locator("#recipient-list li:visible").count() == 1
    page.get_by_label("Ủy ban nhân dân tỉnh Nghệ An").check()
    search.fill("H41")  # by code: the province and the commune
    assert page.locator("#recipient-list li:visible").count() == 2
    page.screenshot(path=str(shots / "new-document-1366.png"), full_page=True)
    no_overflow(page)
    sent: list[dict[str, str]] = []
    page.on("request", lambda r: sent.append(r.headers) if r.method == "POST" and "/documents/new" in r.url
            else None)
    page.get_by_role("button", name="Tạo dự thảo").click()
    page.wait_for_url(f"{base}/documents/*-*")
    assert sent and sent[0].get("x-requested-with") == "fetch"  # the progress-bar upload path was used
    doc_url = page.url
    assert page.locator("h1").inner_text() == "Tờ trình: Đề nghị phê duyệt kế hoạch năm 2027"
    assert page.get_by_text("Đã tạo dự thảo.").is_visible()
    assert page.locator(".badge.urgency-2").inner_text() == "Thượng khẩn"
    for i in range(3):
        img = page.locator("img.page").nth(i)
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    page.screenshot(path=str(shots / "document-clerk-1366.png"), full_page=True)
    no_overflow(page)
    page.get_by_role("link", name="Văn bản đi", exact=True).click()
    row = page.locator("table.docs tbody tr", has_text="Đề nghị phê duyệt kế hoạch năm 2027")
    assert row.count() == 1 and "Dự thảo" in row.inner_text()
    page.screenshot(path=str(shots / "outbox-1366.png"), full_page=True)
    no_overflow(page)
    ctx.close()

    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    login(page, base, "bnv.lanhdao", password)
    assert page.url.endswith("/waiting")
    page.get_by_role("link", name="Tờ trình: Đề nghị phê duyệt kế hoạch năm 2027").click()
    page.wait_for_url(doc_url)
    first = page.get_by_alt_text("Trang 1/3")
    first.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=first.element_handle())
    assert page.locator("img.page").count() == 3
    assert page.get_by_label("Mã PIN khóa ký của bạn").is_visible()
    page.screenshot(path=str(shots / "document-signer-1366.png"), full_page=True)
    no_overflow(page)
    ctx.close()

    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.screenshot(path=str(shots / "login-390.png"), full_page=True)
    no_overflow(page)
    login(page, base, "bnv.lanhdao", password)
    page.goto(doc_url)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=page.get_by_alt_text("Trang 1/3").element_handle())
    width = page.evaluate("document.querySelector('img.page').getBoundingClientRect().width")
    assert width <= PHONE["width"]
    page.screenshot(path=str(shots / "document-signer-390.png"), full_page=True)
    no_overflow(page)
    page.goto(f"{base}/documents")
    page.screenshot(path=str(shots / "documents-390.png"), full_page=True)
    no_overflow(page)
    ctx.close()


@pytest.mark.slow
def test_language_switch_and_pages_at_both_widths(browser, live_node, shots: Path) -> None:  # type: ignore[no-untyped-def]
    base, password = live_node.url, live_node.demo_password
    for name, viewport in (("1366", DESKTOP), ("390", PHONE)):
        ctx = browser.new_context(viewport=viewport)
        page = ctx.new_page()
        page.goto(f"{base}/login")
        page.get_by_role("link", name="English").click()
        assert page.locator("h1").inner_text() == "Log in"
        page.get_by_label("User name").fill("kiemtoan")
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{base}/ledger")
        assert page.locator("h1").inner_text() == "Audit ledger"  # the cookie kept English after login
        page.get_by_role("button", name="Verify the whole ledger now").click()
        assert "The ledger is intact" in page.locator("#verify-result").inner_text()
        page.screenshot(path=str(shots / f"ledger-en-{name}.png"), full_page=True)
        no_overflow(page)
        page.get_by_role("link", name="Tiếng Việt").click()
        assert page.locator("h1").inner_text() == "Nhật ký kiểm toán"
        ctx.close()
        ctx = browser.new_context(viewport=viewport)
        page = ctx.new_page()
        login(page, base, "bnv.vanthu", password)
        for path in ("/documents/new", "/registers/outgoing", "/inbox", "/registers/incoming"):
            page.goto(base + path)
            no_overflow(page)
        page.goto(base + "/documents/new")
        page.screenshot(path=str(shots / f"new-document-{name}.png"), full_page=True)
        ctx.close()


@pytest.mark.slow
def test_auditor_reads_the_verification_page(browser, live_node, shots: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 14 §3: the page leads with one sentence in words, names the signer as name (organisation), dates
    dd/mm/yyyy HH:MM (GMT+7), the ETSI code only as a secondary line; then the changed page is outlined."""
    from typing import Any

    from tests.validation import helpers as h

    svc: Any = live_node.services
    with svc.db.transaction() as s:
        ident = svc.ca.issue(s, kind="seal", issuer="gov-int", common_name="Văn phòng Kiểm Thử",
                             organization="Sở Thử Nghiệm")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # pyHanko runs its own event loop; Playwright's is running here
        signed = pool.submit(h.sign, h.make_pdf(), h.signer_for(ident.key, ident.cert, list(ident.chain))).result()
    pdf = tmp_path / "cong-van.pdf"
    pdf.write_bytes(h.add_page(signed))
    ctx = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = ctx.new_page()
    login(page, live_node.url, "kiemtoan", live_node.demo_password)
    page.goto(f"{live_node.url}/audit/verify")
    page.set_input_files("#verify-file", str(pdf))
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    page.wait_for_selector("#lead-sentence")
    lead = page.locator("#lead-sentence").inner_text()
    first = page.locator("#report p, #report dl").first.inner_text()
    assert first == lead  # nothing comes before the sentence
    assert lead.strip().lstrip("✖✔? ").startswith("Văn bản đã bị thay đổi sau khi ký.")
    assert re.search(r"Chữ ký của Văn phòng Kiểm Thử( \([^)]*\))? không hợp lệ\.", lead), lead
    etsi = page.locator("#lead .etsi").inner_text()
    assert "TOTAL_FAILED" in etsi and "TOTAL_FAILED" not in lead
    body = page.locator("#report").inner_text()
    assert "Common Name:" not in body and "Reference(" not in body
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2} \(GMT\+7\)", body)
    no_overflow(page)
    page.screenshot(path=str(shots / "verify-report-390.png"), full_page=True)
    ctx.close()
