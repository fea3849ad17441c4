"""Fixtures for the page tests: one demo node per module (SQLite), logins through the real login form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fpdf import FPDF

from tests.conftest import make_settings

FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_pdf(pages: int = 2, text: str = "Quyết định về việc thử nghiệm", signer: str = "Nguyễn Văn Thắng",
             position: str = "BỘ TRƯỞNG") -> bytes:
    """A draft whose last page ends with the Decree 30 signature block (position line, space, full name)."""
    pdf = FPDF(format="A4")
    pdf.add_font("LS", "", FONT)
    pdf.set_font("LS", "", 14)
    for i in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 8, f"{text} — trang {i + 1}")
    pdf.text(130, 220, position)
    pdf.text(125, 262, signer)
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def web_app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from docexchange.app import create_app
    from docexchange.seed import init_node
    from docexchange.services import Services

    instance = tmp_path_factory.mktemp("webnode")
    svc = Services(make_settings(instance, "http://127.0.0.1:9"))
    init_node(svc, demo=True)
    app = create_app(svc.settings)
    app.testing = True
    yield app
    svc.db.dispose()


@pytest.fixture
def password(web_app) -> str:  # type: ignore[no-untyped-def]
    return str(web_app.extensions["docexchange"].secrets["demo_password"])


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


def web_login(client, username: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp


def token_of(client, path: str = "/") -> str:  # type: ignore[no-untyped-def]
    resp = client.get(path, follow_redirects=True)
    return csrf_of(resp.get_data(as_text=True))


def create_draft(client, subject: str, *, urgency: int = 0, recipients: tuple[str, ...] = ("000.00.00.H41",),
                 signer: str = "bnv.lanhdao", pdf: bytes | None = None, xhr: bool = False):  # type: ignore[no-untyped-def]
    import io

    data = {"csrf_token": token_of(client, "/documents/new"), "type_name": "Quyết định", "urgency": str(urgency),
            "subject": subject, "signer": signer, "authority_marker": "KT.", "recipients": list(recipients),
            "file": (io.BytesIO(pdf or make_pdf()), "quyet-dinh.pdf")}
    headers = {"X-Requested-With": "fetch"} if xhr else {}
    return client.post("/documents/new", data=data, content_type="multipart/form-data", headers=headers)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    path = Path("/usr/bin/chromium")
    if not path.exists():
        pytest.skip("/usr/bin/chromium is missing (Debian package chromium); browser tests need it")
    return path
