"""Issue 14 §3 and §9: the ledger in words (filters, CSV), attempts left and lockout durations, and the
administrator's unlock page. Real node (SQLite), real ledger, real counters."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from docexchange import auth
from docexchange.errors import DomainError
from docexchange.models import LedgerEntry, User
from tests.web.conftest import create_draft, token_of, web_login

CLERK, AUDITOR, ADMIN = "bnv.vanthu", "kiemtoan", "admin"


def text(resp) -> str:  # type: ignore[no-untyped-def]
    return str(resp.get_data(as_text=True))


def test_ledger_filters_and_csv(web_app, password: str) -> None:
    clerk = web_app.test_client()
    web_login(clerk, CLERK, password)
    assert create_draft(clerk, "Nhật ký: lọc theo người và hành động").status_code == 302
    c = web_app.test_client()
    web_login(c, AUDITOR, password)
    page = text(c.get("/ledger?action=document_drafted"))
    rows = page.count('<tr data-action=')
    assert rows >= 1 and rows == page.count('data-action="document_drafted"')  # only that action
    assert "Tạo dự thảo" in page and 'class="num"' in page and ">STT<" in page
    svc = web_app.extensions["docexchange"]
    with svc.db.reading() as s:
        full_name = s.execute(select(User.full_name).where(User.username == CLERK)).scalar_one()
    assert full_name in page  # the actor as a person, not a login name
    # actor filter by the person's name; an unknown actor finds nothing
    assert 'data-action="document_drafted"' in text(c.get("/ledger", query_string={"actor": full_name}))
    assert "<tr data-action=" not in text(c.get("/ledger?actor=khong-ai-ca"))
    # date filter (Vietnam dates): a day long ago has nothing, the filter is kept in the form
    old = text(c.get("/ledger?from=2001-01-01&to=2001-01-02"))
    assert "<tr data-action=" not in old and 'value="2001-01-01"' in old
    # object filter: the draft's id
    with svc.db.reading() as s:
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.action == "document_drafted")
                          .order_by(LedgerEntry.seq.desc())).scalars().first()
        assert entry is not None
        object_id = entry.object_id
    assert text(c.get(f"/ledger?object={object_id}")).count("<tr data-action=") >= 1
    # CSV: the same filter, header in Vietnamese, the action in words
    resp = c.get("/ledger.csv?action=document_drafted")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    table = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert table[0][:5] == ["STT", "Thời gian (GMT+7)", "Người thực hiện", "Cơ quan", "Hành động"]
    assert len(table) - 1 == rows or len(table) - 1 > rows  # every matching entry, not one page
    assert {r[5] for r in table[1:]} == {"document_drafted"} and {r[4] for r in table[1:]} == {"Tạo dự thảo"}
    assert c.get("/ledger.csv").status_code == 200
    clerk_page = web_app.test_client()
    web_login(clerk_page, CLERK, password)
    assert clerk_page.get("/ledger.csv").status_code == 403


def test_ledger_csv_neutralises_formulas(web_app, password: str) -> None:
    svc = web_app.extensions["docexchange"]
    with svc.db.transaction() as s:
        svc.ledger.append(s, actor="=HYPERLINK(\"http://x\")", action="verify", object_type="pdf",
                          object_id="+cmd|' /C calc'!A0", agency_code="",
                          details={"name": "@SUM(1+1).pdf", "indication": "TOTAL_FAILED"})
    c = web_app.test_client()
    web_login(c, AUDITOR, password)
    page = text(c.get("/ledger?action=verify"))
    assert "@SUM(1+1).pdf · Không hợp lệ" in page  # file name and verdict on verification entries
    table = list(csv.reader(io.StringIO(c.get("/ledger.csv?action=verify").data.decode("utf-8-sig"))))
    cells = [cell for row in table[1:] for cell in row]
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells), cells


def _lock_signing(svc, username: str) -> auth.Principal:  # type: ignore[no-untyped-def]
    with svc.db.reading() as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one()
        p = auth.principal_for_user(s, user, "signer")
    policy = auth.PinPolicy(max_failures=2, lockout_seconds=900)
    first = auth.record_wrong_pin(svc.db, svc.ledger, p, None, policy, act="sign")
    assert first.code == "wrong_pin" and first.extra["attempts_left"] == 1  # type: ignore[attr-defined]
    assert first.en.endswith("(1 attempt left)") and "còn 1 lần thử" in first.vi
    locked = auth.record_wrong_pin(svc.db, svc.ledger, p, None, policy, act="sign")
    assert locked.code == "pin_locked" and "15 phút" in locked.vi and "15 minutes" in locked.en
    assert locked.vi[0].isupper() and locked.en[0].isupper()
    return p


def test_admin_unlocks_a_pin_lockout(web_app, password: str) -> None:
    svc = web_app.extensions["docexchange"]
    p = _lock_signing(svc, "bnv.lanhdao")
    with pytest.raises(DomainError) as refused:
        auth.ensure_pin_allowed(svc.db, p, ("person",))
    assert refused.value.code == "pin_locked" and "phút" in refused.value.vi
    c = web_app.test_client()
    web_login(c, ADMIN, password)
    page = text(c.get("/admin/locks"))
    assert "Tài khoản bị khóa" in page and "bnv.lanhdao" in page and "15 phút" in page
    assert "Khóa ký số (sai mã PIN)" in page
    import re

    lock_id = re.search(r'data-lock="(\d+)"><td data-label="[^"]+">[^<]*bnv\.lanhdao', page.replace("\n    ", ""))
    assert lock_id is not None, page
    # CSRF is required; a clerk cannot reach the page
    assert c.post(f"/admin/locks/{lock_id.group(1)}/unlock").status_code == 400
    clerk = web_app.test_client()
    web_login(clerk, CLERK, password)
    assert clerk.get("/admin/locks").status_code == 403
    done = c.post(f"/admin/locks/{lock_id.group(1)}/unlock", data={"csrf_token": token_of(c, "/admin/locks")},
                  follow_redirects=True)
    assert done.status_code == 200 and "Đã mở khóa tài khoản." in text(done)
    with svc.db.reading() as s:
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.action == "pin_unlocked")
                          .order_by(LedgerEntry.seq.desc())).scalars().first()
        assert entry is not None and entry.actor == ADMIN and json.loads(entry.details)["user"] == "bnv.lanhdao"
    auth.ensure_pin_allowed(svc.db, p, ("person",))  # signing allowed again
    # an unknown lock: 404 message, nothing changes
    gone = c.post("/admin/locks/999999/unlock", data={"csrf_token": token_of(c, "/admin/locks")},
                  follow_redirects=True)
    assert "không tìm thấy khóa" in text(gone)
    auditor = web_login_auditor(web_app, password)
    assert "Quản trị viên mở khóa ký số" in text(auditor.get("/ledger?action=pin_unlocked"))


def web_login_auditor(web_app, password: str):  # type: ignore[no-untyped-def]
    c = web_app.test_client()
    web_login(c, AUDITOR, password)
    return c


def test_duration_words() -> None:
    assert auth.duration_words(1) == ("1 giây", "1 second")
    assert auth.duration_words(45) == ("45 giây", "45 seconds")
    assert auth.duration_words(61) == ("2 phút", "2 minutes")
    assert auth.duration_words(900) == ("15 phút", "15 minutes")
    assert auth.duration_words(3 * 3600) == ("3 giờ", "3 hours")
