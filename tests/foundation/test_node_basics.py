"""Foundation behaviour on SQLite and PostgreSQL: login, tokens, errors, migrations, ledger tampering."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from docexchange.db import utcnow
from docexchange.models import ApiToken, LedgerEntry, User
from tests.conftest import login


def _pw(app) -> str:  # type: ignore[no-untyped-def]
    return app.extensions["docexchange"].secrets["demo_password"]


def test_wrong_password_is_401_problem_json_and_ledgered(node) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    resp = c.post("/api/v1/auth/token", json={"username": "bnv.vanthu", "password": "wrong"})
    assert resp.status_code == 401
    assert resp.content_type == "application/problem+json"
    body = resp.get_json()
    assert body["code"] == "bad_credentials" and body["detail_vi"].startswith("Sai tên đăng nhập hoặc mật khẩu")
    svc = node.extensions["docexchange"]
    with svc.db.transaction() as s:
        actions = s.execute(sa.select(LedgerEntry.action, LedgerEntry.object_id)).all()
    assert ("login_failed", "bnv.vanthu") in actions


def test_throttle_after_repeated_failures_even_with_right_password(node, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Five failures from one address delay that address's next attempt for the name, even with the right
    password; the person logging in from elsewhere is not locked out (see tests/security/test_secrets.py)."""
    from docexchange import auth
    from docexchange.db import utcnow

    frozen = utcnow()
    monkeypatch.setattr(auth, "now", lambda: frozen)  # the delay must not lapse while the test runs
    c = node.test_client()
    for _ in range(5):
        assert c.post("/api/v1/auth/token", json={"username": "bnv.vanthu", "password": "x"}).status_code == 401
    resp = c.post("/api/v1/auth/token", json={"username": "bnv.vanthu", "password": _pw(node)})
    assert resp.status_code == 429 and resp.get_json()["code"] == "login_throttled"
    assert resp.get_json()["retry_after_seconds"] >= 1
    other = node.test_client().post("/api/v1/auth/token", json={"username": "bnv.vanthu", "password": _pw(node)},
                                    environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 201


def test_token_roles_and_unknown_or_expired_tokens(node) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    h = login(c, "bnv.vanthu", _pw(node))
    me = c.get("/api/v1/auth/me", headers=h).get_json()
    assert me == {"username": "bnv.vanthu", "full_name": "Văn thư Bộ Nội vụ", "role": "clerk",
                  "agency_code": "000.00.00.G09"}
    # a role the user does not have
    resp = c.post("/api/v1/auth/token", json={"username": "bnv.vanthu", "password": _pw(node), "role": "signer"})
    assert resp.status_code == 403
    assert c.get("/api/v1/auth/me", headers={"Authorization": "Bearer dx_nope"}).get_json()["code"] == "bad_token"
    assert c.get("/api/v1/auth/me").status_code == 401
    svc = node.extensions["docexchange"]
    with svc.db.transaction() as s:
        s.execute(sa.update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    resp = c.get("/api/v1/auth/me", headers=h)
    assert resp.status_code == 401 and resp.get_json()["code"] == "token_expired"


def test_auditor_reads_ledger_clerk_cannot(node) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    clerk = login(c, "bnv.vanthu", _pw(node))
    assert c.get("/api/v1/ledger/entries", headers=clerk).status_code == 403
    auditor = login(c, "kiemtoan", _pw(node))
    items = c.get("/api/v1/ledger/entries", headers=auditor).get_json()["items"]
    assert items[0]["seq"] == 1 and items[0]["action"] == "node_initialised"
    assert c.get("/api/v1/ledger/verify", headers=auditor).get_json()["intact"] is True


def test_malformed_json_and_validation_errors(node) -> None:  # type: ignore[no-untyped-def]
    c = node.test_client()
    resp = c.post("/api/v1/auth/token", data=b"{not json", content_type="application/json")
    assert resp.status_code == 400 and resp.content_type == "application/problem+json"
    resp = c.post("/api/v1/auth/token", json={"username": ""})
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["detail_vi"] == "dữ liệu không hợp lệ" and "password" in str(body["errors"])


def test_oversized_request_is_413(node) -> None:  # type: ignore[no-untyped-def]
    node.config["MAX_CONTENT_LENGTH"] = 1000
    c = node.test_client()
    resp = c.post("/api/v1/auth/token", data=b"x" * 5000, content_type="application/json")
    assert resp.status_code == 413
    assert resp.get_json()["detail_vi"] == "dữ liệu tải lên quá lớn"


def test_unmigrated_database_refused_with_clear_message(tmp_path, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from docexchange.app import create_app
    from docexchange.migrate import NotMigrated
    from tests.conftest import make_settings

    with pytest.raises(NotMigrated, match="docexchange db upgrade"):
        create_app(make_settings(tmp_path, "http://127.0.0.1:9", db_url))


@pytest.mark.parametrize("tamper", ["alter", "delete_middle", "delete_last", "insert"])
def test_ledger_verify_names_first_bad_entry(node, tamper: str) -> None:  # type: ignore[no-untyped-def]
    from docexchange.ledger import verify_ledger

    svc = node.extensions["docexchange"]
    with svc.db.transaction() as s:
        for i in range(5):
            svc.ledger.append(s, actor="t", action="test", object_type="x", object_id=str(i))
    with svc.db.transaction() as s:
        assert verify_ledger(s).intact
        if tamper == "alter":
            s.execute(sa.text("UPDATE ledger_entries SET actor='mallory' WHERE seq=3"))
        elif tamper == "delete_middle":
            s.execute(sa.text("DELETE FROM ledger_entries WHERE seq=3"))
        elif tamper == "delete_last":
            s.execute(sa.text("DELETE FROM ledger_entries WHERE seq=6"))
        else:
            s.execute(sa.text("UPDATE ledger_entries SET seq=seq+100 WHERE seq>=4"))
            s.execute(sa.text("UPDATE ledger_entries SET seq=seq-99 WHERE seq>=104"))
            row = s.execute(sa.select(LedgerEntry).where(LedgerEntry.seq == 3)).scalar_one()
            s.execute(sa.insert(LedgerEntry).values(
                seq=4, at=row.at, actor="mallory", agency_code="", action="forged", object_type="x",
                object_id="f", object_sha256="", details="{}", prev_hash=row.entry_hash, entry_hash="f" * 64))
    with svc.db.transaction() as s:
        result = verify_ledger(s)
    assert not result.intact
    assert result.first_bad_seq == {"alter": 3, "delete_middle": 3, "delete_last": 6, "insert": 4}[tamper]


def test_users_and_demo_data(node) -> None:  # type: ignore[no-untyped-def]
    svc = node.extensions["docexchange"]
    with svc.db.transaction() as s:
        users = {u.username: u for u in s.execute(sa.select(User)).scalars()}
    assert users["nghiphu.chungthuc"].role_set == {"certifier"}
    assert users["bnv.lanhdao"].cert_serial and users["bnv.lanhdao"].signature_image_sha256
    assert svc.blobs.get_bytes(users["bnv.lanhdao"].signature_image_sha256)[:8] == b"\x89PNG\r\n\x1a\n"
