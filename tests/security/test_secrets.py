"""Issue 13 §4, secrets that can't be guessed: one PIN check (per user and per key, lockout after N with the
attempts left, every failure in the ledger) on every route that opens a key; login throttling by address and
name with the same answer for unknown and known names; page sessions that end on the server; the JSON API and
cookies; bearer tokens listed and revoked (API and CLI).

Time is never waited for: ``docexchange.auth.now`` is moved instead."""

from __future__ import annotations

import dataclasses
import io
import re
import uuid
from datetime import timedelta
from typing import Any

import pikepdf
import pytest
from sqlalchemy import delete, select

from docexchange import auth
from docexchange.db import utcnow
from docexchange.documents.models import Document
from docexchange.models import Agency, AuthCounter, LedgerEntry, User
from tests.conftest import login
from tests.copies.conftest import certify_form
from tests.web.conftest import csrf_of, make_pdf, web_login

N = 3  # DOCEXCHANGE_PIN_MAX_FAILURES for this module


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from docexchange.app import create_app
    from docexchange.seed import init_node
    from docexchange.services import Services
    from tests.conftest import make_settings

    settings = dataclasses.replace(make_settings(tmp_path_factory.mktemp("secrets"), "http://127.0.0.1:9"),
                                   pin_max_failures=N)
    svc = Services(settings)
    init_node(svc, demo=True)
    application = create_app(settings)
    application.testing = True
    with svc.db.transaction() as s:  # a second clerk of the ministry: the seal key is shared by two people
        first = s.execute(select(User).where(User.username == "bnv.vanthu")).scalar_one()
        s.add(User(agency_id=first.agency_id, username="bnv.vanthu2", full_name="Văn thư hai", roles="clerk",
                   password_hash=first.password_hash))
    yield application
    svc.db.dispose()


@pytest.fixture
def svc(app):  # type: ignore[no-untyped-def]
    return app.extensions["docexchange"]


@pytest.fixture(autouse=True)
def fresh_counters(app) -> None:  # type: ignore[no-untyped-def]
    with app.extensions["docexchange"].db.transaction() as s:
        s.execute(delete(AuthCounter))


@pytest.fixture(scope="module")
def pw(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.extensions["docexchange"].secrets["demo_password"])


@pytest.fixture(scope="module")
def pin(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.extensions["docexchange"].secrets["demo_pin"])


def _ledger(svc: Any, action: str) -> list[LedgerEntry]:
    with svc.db.reading() as s:
        rows = list(s.execute(select(LedgerEntry).where(LedgerEntry.action == action)
                              .order_by(LedgerEntry.seq)).scalars())
        s.expunge_all()
        return rows


def _issued_doc(svc: Any, agency_code: str = "000.00.00.G09") -> str:
    """An issued document row with a real PDF (the acts below fail at the PIN, before anything else)."""
    pdf = pikepdf.Pdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    buf = io.BytesIO()
    pdf.save(buf)
    sha = svc.blobs.put_bytes(buf.getvalue())
    with svc.db.transaction() as s:
        agency = s.execute(select(Agency).where(Agency.code == agency_code)).scalar_one()
        clerk = s.execute(select(User).where(User.agency_id == agency.id, User.roles == "clerk")).scalars().first()
        doc = Document(public_id=str(uuid.uuid4()), agency_id=agency.id, status="issued", type_abbr="QĐ",
                       type_name="Quyết định", subject="Thử mã PIN", page_count=1, year=2026,
                       number=int(uuid.uuid4().int % 100000), notation="QĐ-BNV", original_sha256=sha,
                       draft_sha256=sha, signed_sha256=sha, issued_sha256=sha, created_by=clerk.id)
        s.add(doc)
        return doc.public_id


def _lockout_sequence(send, right_pin: str, act: str, svc: Any) -> None:  # type: ignore[no-untyped-def]
    """N wrong PINs: wrong_pin with attempts_left N-1 .. 1, then pin_locked; then even the right PIN is
    refused; every failure is a ledger entry naming the act."""
    before = len([e for e in _ledger(svc, "wrong_pin") if f'"act":"{act}"' in e.details])
    for left in range(N - 1, 0, -1):
        r = send("000000")
        body = r.get_json()
        assert r.status_code == 403 and body["code"] == "wrong_pin", body
        assert body["attempts_left"] == left and f"còn {left} lần thử" in body["detail_vi"]
    r = send("000000")
    assert r.status_code == 403 and r.get_json()["code"] == "pin_locked", r.get_json()
    assert r.get_json()["attempts_left"] == 0 and r.get_json()["retry_after_seconds"] > 0
    r = send(right_pin)
    assert r.status_code == 403 and r.get_json()["code"] == "pin_locked"
    wrong = [e for e in _ledger(svc, "wrong_pin") if f'"act":"{act}"' in e.details]
    assert len(wrong) - before == N
    assert any(f'"act":"{act}"' in e.details for e in _ledger(svc, "pin_locked"))


# ---- every route that opens a key -----------------------------------------------------------------------
def test_sign_counts_wrong_pins_and_locks(app, svc, pw: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    clerk, signer = login(c, "bnv.vanthu", pw), login(c, "bnv.lanhdao", pw)
    made = c.post("/api/v1/documents", headers=clerk, content_type="multipart/form-data", data={
        "file": (io.BytesIO(make_pdf(1)), "d.pdf"), "type_name": "Công văn", "subject": "PIN ký",
        "signer": "bnv.lanhdao"})
    assert made.status_code == 201, made.get_json()
    doc_id = made.get_json()["id"]
    _lockout_sequence(lambda p: c.post(f"/api/v1/documents/{doc_id}/sign", headers=signer, json={"pin": p}),
                      pin, "document_sign", svc)
    with svc.db.reading() as s:
        assert s.execute(select(Document.status).where(Document.public_id == doc_id)).scalar_one() == "draft"


def test_issue_of_a_replacing_document_counts_and_locks(app, svc, pw: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    clerk, signer = login(c, "bnv.vanthu", pw), login(c, "bnv.lanhdao", pw)
    old = _issued_doc(svc)
    made = c.post("/api/v1/documents", headers=clerk, content_type="multipart/form-data", data={
        "file": (io.BytesIO(make_pdf(1)), "d.pdf"), "type_name": "Công văn", "subject": "Thay thế",
        "signer": "bnv.lanhdao", "replaces": old})
    assert made.status_code == 201, made.get_json()
    doc_id = made.get_json()["id"]
    r = c.post(f"/api/v1/documents/{doc_id}/sign", headers=signer, json={"pin": pin})
    assert r.status_code == 200, r.get_json()
    _lockout_sequence(lambda p: c.post(f"/api/v1/documents/{doc_id}/issue", headers=clerk, json={"pin": p}),
                      pin, "document_issue", svc)
    with svc.db.reading() as s:
        assert s.execute(select(Document.status).where(Document.public_id == doc_id)).scalar_one() == "signed"


@pytest.mark.parametrize("order,path", [("recall", "recall"), ("update", "send-update")])
def test_recall_and_update_count_and_lock(app, svc, pw: str, pin: str, order: str, path: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    clerk = login(c, "bnv.vanthu", pw)
    doc_id = _issued_doc(svc)
    _lockout_sequence(lambda p: c.post(f"/api/v1/documents/{doc_id}/{path}", headers=clerk,
                                       json={"pin": p, "reason": "Sai sót"}), pin, f"document_{order}", svc)


def test_agency_copy_counts_and_locks(app, svc, pw: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    clerk = login(c, "bnv.vanthu", pw)
    doc_id = _issued_doc(svc)
    _lockout_sequence(lambda p: c.post("/api/v1/agency-copies", headers=clerk, content_type="multipart/form-data",
                                       data={"form": "SAO Y", "document_id": doc_id, "pin": p}),
                      pin, "agency_copy", svc)


def test_certify_counts_and_locks(app, svc, pw: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    certifier = login(c, "nghiphu.chungthuc", pw)

    def send(p: str):  # type: ignore[no-untyped-def]
        return c.post("/api/v1/copies/certify", headers=certifier, content_type="multipart/form-data",
                      data=certify_form(pin=p, seal_pin=pin))

    _lockout_sequence(send, pin, "copy_certify", svc)


def test_sealed_report_counts_and_locks(app, svc, pw: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    sha = svc.blobs.put_bytes(make_pdf(1))
    with svc.db.transaction() as s:
        svc.ledger.append(s, actor="kiemtoan", action="verify", object_type="pdf", object_id=sha,
                          agency_code="000.00.00.G09")
    c = app.test_client()
    web_login(c, "kiemtoan", pw)
    url = f"/audit/verify/{sha}/report.pdf"

    def send(p: str):  # type: ignore[no-untyped-def]
        token = csrf_of(c.get("/audit/verify").get_data(as_text=True))
        r = c.post(url, data={"pin": p, "csrf_token": token}, follow_redirects=True)
        page = r.get_data(as_text=True)
        m = re.search(r"còn (\d+) lần thử", page)
        code = "pin_locked" if "tạm khóa ký số" in page else "wrong_pin" if m else "other"
        left = int(m.group(1)) if m else 0
        detail = m.group(0) if m else ""
        return _Fake(403 if code != "other" else r.status_code,
                     {"code": code, "attempts_left": left, "detail_vi": detail, "retry_after_seconds": 1})

    _lockout_sequence(send, pin, "sealed_report", svc)
    assert not [e for e in _ledger(svc, "verify_report_sealed") if e.object_id == sha]


@dataclasses.dataclass
class _Fake:
    status_code: int
    body: dict[str, Any]

    def get_json(self) -> dict[str, Any]:
        return self.body


def test_seal_key_is_counted_across_people(app, svc, pw: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    """Two clerks share the agency seal: their wrong PINs add up on the key, so changing person does not give
    an attacker more guesses."""
    c = app.test_client()
    a, b = login(c, "bnv.vanthu", pw), login(c, "bnv.vanthu2", pw)
    doc_id = _issued_doc(svc)

    def recall(h: dict[str, str], p: str):  # type: ignore[no-untyped-def]
        return c.post(f"/api/v1/documents/{doc_id}/recall", headers=h, json={"pin": p, "reason": "x"})

    assert recall(a, "1").get_json()["attempts_left"] == 2
    assert recall(b, "2").get_json()["attempts_left"] == 1  # b's own count is 1, the key's is 2
    assert recall(a, "3").get_json()["code"] == "pin_locked"
    r = recall(b, pin)
    assert r.status_code == 403 and r.get_json()["code"] == "pin_locked"


def test_pin_lock_lifts_after_the_lockout(app, svc, pw: str, pin: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    clerk = login(c, "bnv.vanthu", pw)
    doc_id = _issued_doc(svc)
    for _ in range(N):
        c.post(f"/api/v1/documents/{doc_id}/recall", headers=clerk, json={"pin": "0", "reason": "x"})
    later = utcnow() + timedelta(seconds=svc.settings.pin_lockout_seconds + 1)
    monkeypatch.setattr(auth, "now", lambda: later)
    r = c.post(f"/api/v1/documents/{doc_id}/recall", headers=clerk, json={"pin": "0", "reason": "x"})
    assert r.get_json()["code"] == "wrong_pin" and r.get_json()["attempts_left"] == N - 1


# ---- login ------------------------------------------------------------------------------------------------
def _token_req(c, name: str, password: str, addr: str = "192.0.2.1"):  # type: ignore[no-untyped-def]
    return c.post("/api/v1/auth/token", json={"username": name, "password": password},
                  environ_base={"REMOTE_ADDR": addr})


def test_unknown_and_known_names_get_the_same_answer(app, svc, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    from docexchange import security

    frozen = utcnow()
    monkeypatch.setattr(auth, "now", lambda: frozen)

    real = security.check_password
    monkeypatch.setattr(security, "check_password", lambda p, h: calls.append("hash") or real(p, h))
    monkeypatch.setattr(auth, "check_password", lambda p, h: calls.append("hash") or real(p, h))
    c = app.test_client()
    known = _token_req(c, "bnv.lanhdao", "sai-mat-khau", "192.0.2.10")
    n_known = len(calls)
    unknown = _token_req(c, "khong.ton.tai", "sai-mat-khau", "192.0.2.11")
    assert known.status_code == unknown.status_code == 401
    assert known.get_data() == unknown.get_data()
    assert n_known == 1 and len(calls) == 2  # a password hash is checked for the unknown name too
    # and the same throttle answer once a counter trips
    for name, addr in (("bnv.lanhdao", "192.0.2.10"), ("khong.ton.tai", "192.0.2.11")):
        for _ in range(svc.settings.login_max_failures - 1):
            _token_req(c, name, "sai", addr)
    a, b = _token_req(c, "bnv.lanhdao", "x", "192.0.2.10"), _token_req(c, "khong.ton.tai", "x", "192.0.2.11")
    assert a.status_code == b.status_code == 429 and a.get_data() == b.get_data()


def test_an_outsider_cannot_lock_the_admin_out(app, pw: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    frozen = utcnow()
    monkeypatch.setattr(auth, "now", lambda: frozen)
    c = app.test_client()
    for _ in range(10):
        _token_req(c, "admin", "doan-bua", "203.0.113.66")
    assert _token_req(c, "admin", pw, "203.0.113.66").status_code == 429  # the attacker's address waits
    assert _token_req(c, "admin", pw, "198.51.100.7").status_code == 201  # the admin, elsewhere, does not
    web = app.test_client()
    web_login(web, "admin", pw)  # nor on the login page


def test_progressive_delay_grows_and_lapses_with_the_clock(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    t0 = utcnow()
    clock = {"t": t0}
    monkeypatch.setattr(auth, "now", lambda: clock["t"])
    c = app.test_client()
    policy = auth.LoginPolicy.from_settings(app.extensions["docexchange"].settings)
    waits = []
    for i in range(policy.pair_free + 4):
        r = _token_req(c, "bnv.vanthu", "sai", "192.0.2.50")
        if r.status_code == 429:
            waits.append(r.get_json()["retry_after_seconds"])
            clock["t"] += timedelta(seconds=r.get_json()["retry_after_seconds"])
            r = _token_req(c, "bnv.vanthu", "sai", "192.0.2.50")
        assert r.status_code == 401, (i, r.get_json())
    assert waits == [1, 2, 4, 8]  # 1 s after the 5th failure, doubling each time
    assert [policy.delay(k, 5) for k in (4, 5, 6, 7, 30)] == [0, 1, 2, 4, policy.max_delay]


def test_anonymous_failures_do_not_grow_the_ledger(app, svc) -> None:  # type: ignore[no-untyped-def]
    before = len(_ledger(svc, "login_failed")) + len(_ledger(svc, "login_throttled"))
    c = app.test_client()
    for i in range(30):
        _token_req(c, f"ai.do.{i}", "sai", f"198.18.0.{i}")  # 30 names from 30 addresses
    after = len(_ledger(svc, "login_failed")) + len(_ledger(svc, "login_throttled"))
    assert after == before
    with svc.db.reading() as s:
        assert s.execute(select(LedgerEntry).where(LedgerEntry.action == "login_failed",
                                                   LedgerEntry.object_id.like("ai.do.%"))).first() is None


def test_known_name_failures_are_ledgered(app, svc) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    _token_req(c, "bnv.capho", "sai", "192.0.2.77")
    assert [e for e in _ledger(svc, "login_failed") if e.object_id == "bnv.capho"]


# ---- sessions ---------------------------------------------------------------------------------------------
def _cookie(c) -> str:  # type: ignore[no-untyped-def]
    cookie = c.get_cookie("session")
    assert cookie is not None
    return str(cookie.value)


def test_cookie_replayed_after_logout_is_refused(app, pw: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    web_login(c, "bnv.vanthu", pw)
    assert c.get("/documents").status_code == 200
    stolen = _cookie(c)
    token = csrf_of(c.get("/documents").get_data(as_text=True))
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/documents").status_code == 302  # back to the login page
    assert replay.get("/api/v1/auth/me").status_code == 401


def test_password_change_and_disable_end_sessions(app, svc, pw: str) -> None:  # type: ignore[no-untyped-def]
    c1, c2 = app.test_client(), app.test_client()
    web_login(c1, "nghean.capho", pw)
    web_login(c2, "nghean.lanhdao", pw)
    with svc.db.transaction() as s:
        u = s.execute(select(User).where(User.username == "nghean.capho")).scalar_one()
        auth.change_password(s, svc.ledger, u, pw, actor="test")  # same text, new hash: sessions end anyway
        v = s.execute(select(User).where(User.username == "nghean.lanhdao")).scalar_one()
        auth.set_active(s, svc.ledger, v, False, actor="test")
    assert c1.get("/documents").status_code == 302
    assert c2.get("/documents").status_code == 302
    with svc.db.transaction() as s:
        v = s.execute(select(User).where(User.username == "nghean.lanhdao")).scalar_one()
        auth.set_active(s, svc.ledger, v, True, actor="test")
    assert c2.get("/documents").status_code == 302  # enabling again does not revive the old session
    assert [e.object_id for e in _ledger(svc, "password_changed")] == ["nghean.capho"]


def test_idle_and_absolute_lifetimes(app, svc, pw: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    t0 = utcnow()
    clock = {"t": t0}
    monkeypatch.setattr(auth, "now", lambda: clock["t"])
    c = app.test_client()
    web_login(c, "bnv.lanhdao", pw)
    idle = timedelta(minutes=svc.settings.session_idle_minutes)
    for _ in range(int(timedelta(hours=svc.settings.session_absolute_hours) / (idle / 2)) - 1):
        clock["t"] += idle / 2
        assert c.get("/documents").status_code == 200  # active: never idle
    clock["t"] += idle / 2 + timedelta(seconds=1)
    assert c.get("/documents").status_code == 302  # the absolute lifetime is over
    web_login(c, "bnv.lanhdao", pw)
    clock["t"] += idle + timedelta(seconds=1)
    assert c.get("/documents").status_code == 302  # idle too long


def test_secure_cookie_with_an_https_public_url(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from docexchange.app import create_app
    from tests.conftest import make_settings

    https = create_app(make_settings(tmp_path, "https://node.example.vn"), check_migrations=False)
    http = create_app(make_settings(tmp_path, "http://127.0.0.1:9"), check_migrations=False)
    assert https.config["SESSION_COOKIE_SECURE"] is True and http.config["SESSION_COOKIE_SECURE"] is False


# ---- the JSON API and cookies; Origin -----------------------------------------------------------------------
def test_cookie_only_json_post_needs_the_csrf_token(app, pw: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    web_login(c, "bnv.vanthu", pw)
    assert c.get("/api/v1/auth/me").status_code == 200  # reading with the cookie is fine
    data = {"file": (io.BytesIO(make_pdf(1)), "a.pdf"), "type_name": "Công văn", "subject": "CSRF",
            "signer": "bnv.lanhdao"}
    r = c.post("/api/v1/documents", data=data, content_type="multipart/form-data")
    assert r.status_code == 403 and r.get_json()["code"] == "csrf_required"
    token = csrf_of(c.get("/documents").get_data(as_text=True))
    data["file"] = (io.BytesIO(make_pdf(1)), "a.pdf")
    r = c.post("/api/v1/documents", data=data, content_type="multipart/form-data", headers={"X-CSRF-Token": token})
    assert r.status_code == 201, r.get_json()


def test_foreign_origin_is_refused(app, pw: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    web_login(c, "bnv.vanthu", pw)
    token = csrf_of(c.get("/documents").get_data(as_text=True))
    evil = {"Origin": "https://evil.example", "X-CSRF-Token": token}
    r = c.post("/api/v1/documents", headers=evil, data={"subject": "x"}, content_type="multipart/form-data")
    assert r.status_code == 403 and r.get_json()["code"] == "foreign_origin"
    r = c.post("/logout", headers={"Origin": "https://evil.example"}, data={"csrf_token": token})
    assert r.status_code == 403
    assert c.get("/documents").status_code == 200  # still signed in
    bearer = login(app.test_client(), "bnv.vanthu", pw)
    r = app.test_client().post("/api/v1/documents", headers={**bearer, "Origin": "null"}, data={"subject": "x"},
                               content_type="multipart/form-data")
    assert r.status_code == 403 and r.get_json()["code"] == "foreign_origin"
    ok = app.test_client().post("/api/v1/auth/token", json={"username": "bnv.vanthu", "password": pw},
                                headers={"Origin": "http://127.0.0.1:9"})
    assert ok.status_code == 201


# ---- tokens -------------------------------------------------------------------------------------------------
def test_tokens_listed_and_revoked_through_the_api(app, svc, pw: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    r1 = c.post("/api/v1/auth/token", json={"username": "kiemtoan", "password": pw, "name": "máy một"})
    r2 = c.post("/api/v1/auth/token", json={"username": "kiemtoan", "password": pw, "name": "máy hai"})
    h1 = {"Authorization": f"Bearer {r1.get_json()['token']}"}
    h2 = {"Authorization": f"Bearer {r2.get_json()['token']}"}
    items = c.get("/api/v1/auth/tokens", headers=h1).get_json()["items"]
    assert [(i["name"], i["current"], i["revoked"]) for i in items[:2]] == [("máy hai", False, False),
                                                                           ("máy một", True, False)]
    assert all("token" not in i for i in items)
    two = items[0]["id"]
    other = login(c, "bnv.vanthu", pw)
    assert c.delete(f"/api/v1/auth/tokens/{two}", headers=other).status_code == 404  # not yours
    assert c.delete(f"/api/v1/auth/tokens/{two}", headers=h1).get_json()["revoked"] is True
    assert c.get("/api/v1/auth/me", headers=h2).get_json()["code"] == "bad_token"
    assert c.get("/api/v1/auth/me", headers=h1).status_code == 200
    assert [e.object_id for e in _ledger(svc, "token_revoked")][-1] == str(two)


def test_token_lifetime_is_capped(app, pw: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    r = c.post("/api/v1/auth/token", json={"username": "kiemtoan", "password": pw, "ttl_days": 91})
    assert r.status_code == 400 and r.get_json()["code"] == "token_ttl_too_long"
    r = c.post("/api/v1/auth/token", json={"username": "kiemtoan", "password": pw, "ttl_days": 90})
    assert r.status_code == 201 and r.get_json()["expires_in_days"] == 90


def test_tokens_listed_and_revoked_through_the_cli(app, svc, pw: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from docexchange.cli import main

    c = app.test_client()
    h = login(c, "nghean.vanthu", pw)
    s = svc.settings
    for k, v in {"INSTANCE_DIR": s.instance_dir, "DATABASE_URL": s.database_url, "BLOB_DIR": s.blob_dir,
                 "CERTS_DIR": s.certs_dir, "PUBLIC_URL": s.public_url, "SECRET_KEY": s.secret_key}.items():
        monkeypatch.setenv(f"DOCEXCHANGE_{k}", str(v))
    runner = CliRunner()
    listed = runner.invoke(main, ["tokens", "list", "--user", "nghean.vanthu"])
    assert listed.exit_code == 0, listed.output
    ids = [int(line.split()[0]) for line in listed.output.splitlines()[1:]]
    assert ids and all("nghean.vanthu" in line for line in listed.output.splitlines()[1:])
    revoked = runner.invoke(main, ["tokens", "revoke", str(ids[0])])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert c.get("/api/v1/auth/me", headers=h).status_code == 401
    assert runner.invoke(main, ["tokens", "revoke", "999999"]).exit_code == 4
    assert f"{ids[0]:>5}" in runner.invoke(main, ["tokens", "list", "--all"]).output


def test_behind_a_proxy_the_forwarded_address_is_counted(app, svc, pw: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from docexchange.app import create_app

    frozen = utcnow()
    monkeypatch.setattr(auth, "now", lambda: frozen)
    proxied = create_app(dataclasses.replace(svc.settings, trusted_proxies=1))
    c = proxied.test_client()

    def attempt(password: str, client: str):  # type: ignore[no-untyped-def]
        return c.post("/api/v1/auth/token", json={"username": "nghean.vanthu", "password": password},
                      environ_base={"REMOTE_ADDR": "10.0.0.1"}, headers={"X-Forwarded-For": client})

    for _ in range(svc.settings.login_max_failures):
        assert attempt("sai", "192.0.2.200").status_code == 401
    assert attempt(pw, "192.0.2.200").status_code == 429
    assert attempt(pw, "192.0.2.201").status_code == 201  # another client behind the same proxy


def test_password_change_through_the_api_ends_page_sessions(app, svc, pw: str) -> None:  # type: ignore[no-untyped-def]
    page = app.test_client()
    web_login(page, "nghiphu.capho", pw)
    api = app.test_client()
    h = login(api, "nghiphu.capho", pw)
    assert api.post("/api/v1/auth/password", headers=h,
                    json={"current_password": "sai", "new_password": "mat-khau-moi-dai"}).status_code == 401
    assert api.post("/api/v1/auth/password", headers=h,
                    json={"current_password": pw, "new_password": "ngan"}).get_json()["code"] == "weak_password"
    assert page.get("/documents").status_code == 200
    r = api.post("/api/v1/auth/password", headers=h, json={"current_password": pw, "new_password": "mat-khau-moi-dai"})
    assert r.status_code == 204
    assert page.get("/documents").status_code == 302
    assert login(api, "nghiphu.capho", "mat-khau-moi-dai")
