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


# ------------------------------------------------------------------------ received documents, by state
# One rule (exchange/visibility.py) for the API and the web: recalled, duplicate and replaced documents and the
# sender's orders are "not found" for everyone, exactly like another agency's document.
HIDDEN = ("recalled", "duplicate", "replaced", "order")
WEB_VIEWERS = {"clerk", "auditor"}  # of the four demo roles, those the inbox pages admit


@pytest.fixture(scope="module")
def incoming(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Seeded received documents of Bộ Nội vụ: one registered (the control), one in each hidden state."""
    import uuid

    from sqlalchemy import select

    from docexchange.exchange.models import IncomingDocument
    from docexchange.models import Agency

    svc = app.extensions["docexchange"]
    out = {}
    with svc.db.transaction() as s:
        bnv = s.execute(select(Agency).where(Agency.code == "000.00.00.G09")).scalar_one()
        for n, state in enumerate(("registered", *HIDDEN)):
            public_id = str(uuid.uuid4())
            s.add(IncomingDocument(
                public_id=public_id, agency_id=bnv.id, hub_doc_id=f"hub-{state}", sender_code="000.00.00.H41",
                sender_name="Ủy ban nhân dân tỉnh Nghệ An", edxml_document_id=f"000.00.00.H41,2026/12/01,{n}/QĐ-UBND",
                package_sha256=f"{n:064x}", business_doc_type=1 if state == "order" else 0,
                number_notation=f"{n}/QĐ-UBND", subject=f"Văn bản đến trạng thái {state}",
                status="completed" if state == "order" else state, verdict="TOTAL_PASSED",
                files=f'[{{"name": "vb.pdf", "sha256": "{n:064x}", "role": "main", "indication": "TOTAL_PASSED"}}]',
                arrival_year=2026, arrival_number=n + 1))
            out[state] = public_id
    return out


@pytest.mark.parametrize("user", [*ROLES, "nghean.vanthu"])
@pytest.mark.parametrize("state", ["registered", *HIDDEN])
def test_received_document_by_state_role_and_agency_api(app, tokens, incoming, user: str,  # type: ignore[no-untyped-def]
                                                        state: str) -> None:
    c = app.test_client()
    role = "clerk" if user == "nghean.vanthu" else ROLES[user]
    own = user.startswith("bnv.") or user == "kiemtoan"
    visible = own and state == "registered"
    doc_id = incoming[state]
    listed = [i["id"] for i in c.get("/api/v1/inbox", headers=tokens[user]).get_json()["items"]]
    assert (doc_id in listed) == visible
    for path in (f"/api/v1/inbox/{doc_id}", f"/api/v1/inbox/{doc_id}/verification"):
        r = c.get(path, headers=tokens[user])
        assert r.status_code == (200 if visible else 404), (path, r.get_json())
        if not visible:
            assert r.get_json()["code"] == "not_found" and "trạng thái" not in r.get_data(as_text=True)
    for action in ("register", "reject"):  # neither changes the visible (registered) one: 409
        r = c.post(f"/api/v1/inbox/{doc_id}/actions", headers=tokens[user], json={"action": action, "note": "x"})
        expected = 403 if role != "clerk" else 409 if visible else 404
        assert r.status_code == expected, (user, state, action, r.get_json())


@pytest.mark.parametrize("user", ["bnv.vanthu", "kiemtoan", "nghean.vanthu"])
@pytest.mark.parametrize("state", ["registered", *HIDDEN])
def test_received_document_by_state_role_and_agency_web(app, incoming, user: str, state: str) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import token_of, web_login

    web = app.test_client()
    web_login(web, user, app.extensions["docexchange"].secrets["demo_password"])
    visible = user != "nghean.vanthu" and state == "registered"
    doc_id = incoming[state]
    assert (doc_id in web.get("/inbox").get_data(as_text=True)) == visible
    r = web.get(f"/inbox/{doc_id}")
    assert r.status_code == (200 if visible else 404), (user, state)
    assert (f"Văn bản đến trạng thái {state}" in r.get_data(as_text=True)) == visible
    r = web.get(f"/inbox/{doc_id}/files/{'0' * 64}")
    assert r.status_code == 404  # no such blob for the visible one either; hidden ones stop before looking
    if user.endswith(".vanthu"):
        r = web.post(f"/inbox/{doc_id}/action", data={"csrf_token": token_of(web, "/inbox"), "action": "assigned",
                                                      "note": "x"})
        assert r.status_code == (302 if visible else 404), (user, state)
    with app.extensions["docexchange"].db.reading() as s:
        from sqlalchemy import select

        from docexchange.exchange.models import IncomingDocument

        status = s.execute(select(IncomingDocument.status).where(IncomingDocument.public_id == doc_id)).scalar_one()
    assert status in ("registered", "assigned", "completed") if state == "registered" else status == (
        "completed" if state == "order" else state)
