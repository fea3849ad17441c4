"""Every API route × every role × own/other agency: the exact status code, and nothing of the other agency in the
body. Write routes are tried with bodies that would succeed for the allowed role's own agency where cheap; the point
here is who may call what, not the workflow (tested elsewhere)."""

from __future__ import annotations

import io

import pytest

from tests.conftest import login

ROLES = {  # user → role (demo data)
    "bnv.vanthu": "clerk", "bnv.lanhdao": "signer", "nghiphu.chungthuc": "certifier", "kiemtoan": "auditor",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from docexchange.app import create_app
    from docexchange.seed import init_node
    from docexchange.services import Services
    from tests.conftest import make_settings

    svc = Services(make_settings(tmp_path_factory.mktemp("authz"), "http://127.0.0.1:9"))
    init_node(svc, demo=True)
    application = create_app(svc.settings)
    application.testing = True
    yield application
    svc.db.dispose()


@pytest.fixture(scope="module")
def tokens(app) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    pw = app.extensions["docexchange"].secrets["demo_password"]
    c = app.test_client()
    out = {u: login(c, u, pw) for u in ROLES}
    out["nghean.vanthu"] = login(c, "nghean.vanthu", pw)
    return out


@pytest.fixture(scope="module")
def draft_id(app, tokens) -> str:  # type: ignore[no-untyped-def]
    from tests.web.conftest import make_pdf

    r = app.test_client().post("/api/v1/documents", headers=tokens["bnv.vanthu"], data={
        "file": (io.BytesIO(make_pdf()), "d.pdf"), "type_name": "Quyết định", "subject": "Ma trận quyền",
        "signer": "bnv.lanhdao"}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]  # type: ignore[no-any-return]


# (method, path, {role: expected status}) — roles missing from the dict get the default
READS = [
    ("GET", "/api/v1/auth/me", {}, 200),
    ("GET", "/api/v1/agencies", {}, 200),
    ("GET", "/api/v1/documents", {}, 200),
    ("GET", "/api/v1/inbox", {}, 200),
    ("GET", "/api/v1/inbox/deferred", {"clerk": 200, "auditor": 200}, 403),
    ("GET", "/api/v1/ledger/entries", {"auditor": 200}, 403),
    ("GET", "/api/v1/ledger/verify", {"auditor": 200}, 403),
    ("GET", "/api/v1/registers/outgoing", {"certifier": 403}, 200),
    ("GET", "/api/v1/registers/incoming", {"certifier": 403}, 200),
]


@pytest.mark.parametrize("user", list(ROLES))
@pytest.mark.parametrize("method,path,special,default", READS)
def test_read_routes(app, tokens, user: str, method: str, path: str, special: dict[str, int],  # type: ignore[no-untyped-def]
                     default: int) -> None:
    r = app.test_client().open(path, method=method, headers=tokens[user])
    assert r.status_code == special.get(ROLES[user], default), (user, path, r.get_json())
    assert app.test_client().open(path, method=method).status_code == 401


@pytest.mark.parametrize("user", list(ROLES))
def test_document_routes_by_role_and_agency(app, tokens, draft_id: str, user: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    role = ROLES[user]
    own = user.startswith("bnv.") or user == "kiemtoan"
    r = c.get(f"/api/v1/documents/{draft_id}", headers=tokens[user])
    assert r.status_code == (200 if own else 404)
    if not own:
        assert "Ma trận quyền" not in r.get_data(as_text=True)
    # write actions: only the right role may even try; others are refused before anything happens
    r = c.post(f"/api/v1/documents/{draft_id}/issue", headers=tokens[user], json={"pin": "x"})
    assert r.status_code == (409 if role == "clerk" else 403), r.get_json()  # clerk: not signed yet
    r = c.post(f"/api/v1/documents/{draft_id}/sign", headers=tokens[user], json={"pin": "wrong"})
    assert r.status_code == 403, r.get_json()  # signer: wrong PIN; others: wrong role
    r = c.post(f"/api/v1/documents/{draft_id}/recall", headers=tokens[user], json={"pin": "x", "reason": "r"})
    assert r.status_code == (409 if role == "clerk" else 403)
    r = c.post("/api/v1/inbox/00000000-0000-0000-0000-000000000000/actions", headers=tokens[user],
               json={"action": "register"})
    assert r.status_code == (404 if role == "clerk" else 403)


def test_other_agency_sees_nothing(app, tokens, draft_id: str) -> None:  # type: ignore[no-untyped-def]
    c = app.test_client()
    other = tokens["nghean.vanthu"]
    for path in (f"/api/v1/documents/{draft_id}", f"/api/v1/documents/{draft_id}/pdf",
                 f"/api/v1/documents/{draft_id}/timeline"):
        r = c.get(path, headers=other)
        assert r.status_code == 404 and "Ma trận" not in r.get_data(as_text=True), path
    assert all(d["id"] != draft_id for d in c.get("/api/v1/documents", headers=other).get_json()["items"])
    r = c.post(f"/api/v1/documents/{draft_id}/issue", headers=other, json={"pin": "x"})
    assert r.status_code == 404
