"""Across two nodes in headless Chromium: a ministry clerk at node A drafts, the minister signs with his PIN, the
clerk issues (number + seal); at node B the province's clerk finds it in the inbox verified and registered; A's
document page then shows statuses 01 and 03 from the province; an auditor drops a tampered copy on the
verification page and sees the failure explained. Key pages are checked at 1366x768 and 390x844 for sideways
overflow; screenshots go to artifacts/web/e2e-*.png."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest

from tests.exchange.conftest import Axis, axis  # noqa: F401 - the two-node deployment fixture
from tests.signing.pdfgen import decree30_pdf
from tests.web.test_browser import ARGS, DESKTOP, PHONE, login, no_overflow

SUBJECT = "Về việc thử nghiệm liên thông qua giao diện web"
DROP_FILE = """(b64) => {
  const bin = atob(b64); const arr = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) arr[i] = bin.charCodeAt(i);
  const dt = new DataTransfer();
  dt.items.add(new File([arr], "ban-sua.pdf", {type: "application/pdf"}));
  return dt;
}"""


@pytest.fixture(scope="module")
def browser(chromium_path: Path):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), args=ARGS)
        yield b
        b.close()


def reload_until(page, selector: str, timeout: float = 45.0) -> None:  # type: ignore[no-untyped-def]
    """The workers run on their own schedule: reload until ``selector`` is on the page."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() == 0:
        assert time.monotonic() < deadline, f"{selector} did not appear on {page.url}"
        time.sleep(0.5)
        page.reload()


def tamper(data: bytes) -> bytes:
    i = data.index(b"\n%", 0, 32) + 2  # a byte of the binary comment: inside the first signed range
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]


@pytest.mark.slow
def test_issue_at_a_receive_at_b_timeline_and_tampered_copy(browser, axis: Axis, artifacts_dir: Path,  # noqa: F811
                                                           tmp_path: Path) -> None:
    started = time.monotonic()
    shots = artifacts_dir / "web"
    shots.mkdir(exist_ok=True)
    a, b = axis.a, axis.b
    pdf = decree30_pdf(tmp_path / "qd.pdf", signer="Nguyễn Văn Thắng", position="BỘ TRƯỞNG", authority="",
                       number="Số:      /QĐ-BNV")

    # --- node A: the clerk drafts
    clerk_ctx = browser.new_context(viewport=DESKTOP)
    clerk = clerk_ctx.new_page()
    login(clerk, a.url, "bnv.vanthu", a.password)
    clerk.goto(f"{a.url}/documents/new")
    clerk.get_by_label("Tệp văn bản", exact=False).first.set_input_files(str(pdf))
    clerk.locator("#type_name").select_option("Quyết định")
    clerk.locator("#subject").fill(SUBJECT)
    clerk.locator("#signer").select_option("bnv.lanhdao")
    clerk.locator("#authority_marker").select_option("")
    clerk.get_by_label("Ủy ban nhân dân tỉnh Nghệ An").check()
    clerk.get_by_role("button", name="Tạo dự thảo").click()
    clerk.wait_for_url(f"{a.url}/documents/*-*")
    doc_url = clerk.url

    # --- node A: the minister signs with his PIN
    signer_ctx = browser.new_context(viewport=DESKTOP)
    signer = signer_ctx.new_page()
    login(signer, a.url, "bnv.lanhdao", a.password)
    signer.goto(doc_url)
    signer.get_by_label("Mã PIN khóa ký của bạn").fill(a.pin)
    signer.get_by_role("button", name="Ký số", exact=True).click()
    signer.wait_for_load_state()
    assert signer.locator(".badge.status-signed").count() == 1
    signer_ctx.close()

    # --- node A: the clerk issues (number + seal); the package is queued for the axis
    clerk.goto(doc_url)
    clerk.get_by_label("Mã PIN khóa con dấu cơ quan").fill(a.pin)
    clerk.get_by_role("button", name="Ban hành", exact=True).click()
    clerk.wait_for_load_state()
    assert clerk.locator(".badge.status-issued").count() == 1
    number = clerk.locator("dl dd").nth(2).inner_text()
    assert number.endswith("/QĐ-BNV"), number
    issued = clerk_ctx.request.get(doc_url + "/pdf").body()
    assert issued.startswith(b"%PDF")

    # --- node B: the province's clerk finds it verified (auto-registration: registered)
    for name, viewport in (("1366", DESKTOP), ("390", PHONE)):
        ctx = browser.new_context(viewport=viewport)
        page = ctx.new_page()
        login(page, b.url, "nghean.vanthu", b.password)
        page.goto(f"{b.url}/inbox")
        row_sel = f'table.inbox tbody tr:has-text("{SUBJECT}"):has(.badge.in-registered)'
        reload_until(page, row_sel)
        row = page.locator(row_sel)
        assert "Hợp lệ" in row.locator(".badge.verdict-ok").inner_text()
        assert number in row.inner_text()
        page.screenshot(path=str(shots / f"e2e-inbox-{name}.png"), full_page=True)
        no_overflow(page)
        row.get_by_role("link").click()
        page.wait_for_load_state()
        banner = page.locator(".verdict[data-verdict]")
        assert banner.get_attribute("data-verdict") == "TOTAL_PASSED" and "Hợp lệ" in banner.inner_text()
        assert page.locator("details.sigpanel").count() == 2
        assert "Nguyễn Văn Thắng" in page.locator("details.sigpanel").first.inner_text()
        assert page.locator('li[data-code="01"]').count() == 1 and page.locator('li[data-code="03"]').count() == 1
        img = page.locator("img.page").first
        img.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
        page.screenshot(path=str(shots / f"e2e-incoming-{name}.png"), full_page=True)
        no_overflow(page)
        page.goto(f"{b.url}/registers/incoming")
        assert SUBJECT in page.locator("table").inner_text()
        no_overflow(page)
        ctx.close()

    # --- node A: the sender's timeline shows 01 and 03 from the province
    clerk.goto(doc_url)
    reload_until(clerk, 'ol[data-recipient="000.00.00.H41"] li[data-code="03"]')
    timeline = clerk.locator('ol[data-recipient="000.00.00.H41"]').inner_text()
    assert "01 · Đã đến" in timeline and "03 · Đã tiếp nhận, vào sổ" in timeline
    assert timeline.index("01 ·") < timeline.index("03 ·")
    assert "Đã gửi lên trục" in clerk.locator("#outbox-state").inner_text()
    clerk.screenshot(path=str(shots / "e2e-document-timeline-1366.png"), full_page=True)
    no_overflow(clerk)
    clerk_ctx.close()

    # --- node A: the auditor drops a tampered copy on the verification page
    bad = tamper(issued)
    for name, viewport in (("1366", DESKTOP), ("390", PHONE)):
        ctx = browser.new_context(viewport=viewport)
        page = ctx.new_page()
        login(page, a.url, "kiemtoan", a.password)
        page.get_by_role("link", name="Kiểm tra chữ ký số").click()
        page.wait_for_url(f"{a.url}/audit/verify")
        no_overflow(page)
        if name == "1366":  # drag and drop through the static script
            dt = page.evaluate_handle(DROP_FILE, base64.b64encode(bad).decode())
            page.dispatch_event("[data-drop-target]", "drop", {"dataTransfer": dt})
            assert page.locator("[data-drop-name]").inner_text() == "ban-sua.pdf"
        else:  # the plain file input (keyboard users)
            (tmp_path / "ban-sua.pdf").write_bytes(bad)
            page.get_by_label("Tệp PDF cần kiểm tra").set_input_files(str(tmp_path / "ban-sua.pdf"))
        page.get_by_role("button", name="Kiểm tra", exact=True).click()
        page.wait_for_load_state()
        banner = page.locator("#report .verdict[data-verdict]")
        assert banner.get_attribute("data-verdict") == "TOTAL_FAILED" and "Không hợp lệ" in banner.inner_text()
        panels = page.locator("details.sigpanel")
        assert panels.count() == 2
        assert "Đã bị sửa: các byte đã ký không còn khớp" in panels.first.inner_text()
        page.screenshot(path=str(shots / f"e2e-verify-tampered-{name}.png"), full_page=True)
        no_overflow(page)
        ctx.close()
    assert time.monotonic() - started < 60
