"""The upload endpoints under hostile input, through the Flask test client of a real node (and of a real hub
for ``sendEdoc``). Guarantees: 2xx or a 4xx problem+json with ``code`` and ``detail_vi`` (never a 500), bounded
time and memory per request, no file outside the blob store, nothing of another agency in any error body."""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import login

from . import _corpus as C
from ._guard import bounded, snapshot, top_level_hits, traversal_hits

SECONDS, RSS_MIB = 30.0, 400
SECRET_SUBJECT = f"Mật-{secrets.token_hex(6)}"  # a BNV draft's subject: must never show up for Nghệ An


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from docexchange.app import create_app
    from docexchange.seed import init_node
    from docexchange.services import Services
    from tests.conftest import make_settings

    instance = tmp_path_factory.mktemp("hostile-node")
    svc = Services(make_settings(instance, "http://127.0.0.1:9"))
    init_node(svc, demo=True)
    app = create_app(svc.settings)
    app.testing = False  # production error handling: an unhandled exception would be a 500 response
    app.config["PROPAGATE_EXCEPTIONS"] = False
    pw = svc.secrets["demo_password"]
    c = app.test_client()
    tokens = {u: login(c, u, pw) for u in ("bnv.vanthu", "nghean.vanthu", "nghiphu.chungthuc")}
    r = c.post("/api/v1/documents", headers=tokens["bnv.vanthu"], content_type="multipart/form-data", data={
        "file": (io.BytesIO(C.small_pdf()), "d.pdf"), "type_name": "Quyết định", "subject": SECRET_SUBJECT,
        "signer": "bnv.lanhdao"})
    assert r.status_code == 201, r.get_json()
    yield app, tokens, instance, r.get_json()["id"], svc.secrets["demo_pin"]
    svc.db.dispose()


def assert_clean(resp: Any, instance: Path, secret_id: str, ok: tuple[int, ...], echo: str = "") -> dict[str, Any]:
    """``echo``: the caller's own file name, which a report may quote back (it is not server data)."""
    body = resp.get_data(as_text=True)
    if os.environ.get("HOSTILE_DEBUG"):
        print("\nHTTP", resp.request.path, resp.status_code, body[:160])
    assert resp.status_code < 500, (resp.status_code, body[:500])
    assert SECRET_SUBJECT not in body and secret_id not in body and str(instance) not in body
    own = body.replace(json.dumps(echo, ensure_ascii=False)[1:-1], "") if echo else body
    assert "Traceback" not in body and "/tmp/" not in own  # no server file layout in any body
    if resp.status_code >= 400:
        assert resp.mimetype == "application/problem+json", (resp.status_code, body[:300])
        problem = json.loads(body)
        assert problem["code"] and problem["detail_vi"] and problem["status"] == resp.status_code
        return dict(problem)
    assert resp.status_code in ok, (resp.status_code, body[:300])
    return dict(json.loads(body)) if resp.is_json else {}


def fs_guard(instance: Path, canary: Path) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    outside_blobs = {p: v for p, v in snapshot(instance).items() if "/blobs/" not in p and not p.endswith((
        ".db", ".db-journal", ".db-wal", ".db-shm"))}
    return outside_blobs, snapshot(canary)


UPLOADS = ["deep_array_nesting", "flate_bomb_512mb", "objstm_200k_objects", "revisions_3000", "xref_prev_loop",
           "page_tree_cycle", "zip_bomb_as_docx", "zip_bomb_named_pdf", "zip_6000_entries", "zip_declares_1gb",
           "png_pixel_bomb", "empty", "exe_named_pdf", "html_named_pdf", "null_bytes", "truncated_pdf",
           "traversal_name", "absolute_name", "nul_name", "long_name", "backslash_name"]


@pytest.mark.parametrize("name", UPLOADS)
def test_documents_verify_and_certify_uploads(node, canary: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    app, tokens, instance, secret_id, pin = node
    data, filename = C.pdf_cases()[name]()
    c = app.test_client()
    before = fs_guard(instance, canary)
    with bounded(f"http:documents:{name}", SECONDS, RSS_MIB):
        r = c.post("/api/v1/documents", headers=tokens["nghean.vanthu"], content_type="multipart/form-data",
                   data={"file": (io.BytesIO(data), filename), "type_name": "Công văn", "subject": "Thử",
                         "signer": "nghean.lanhdao"})
    doc = assert_clean(r, instance, secret_id, (201,))
    if name in ("traversal_name", "absolute_name", "nul_name", "long_name", "backslash_name"):
        assert r.status_code == 201, doc  # a hostile name is only a label; the content is a fine PDF
    with bounded(f"http:verify:{name}", SECONDS, RSS_MIB):
        r = c.post("/api/v1/verify?offline=1", headers=tokens["nghean.vanthu"],
                   content_type="multipart/form-data", data={"file": (io.BytesIO(data), filename)})
    report = assert_clean(r, instance, secret_id, (200,), echo=filename)
    if r.status_code == 200:
        assert report["indication"] in ("NO_SIGNATURE", "INDETERMINATE", "TOTAL_FAILED")
    with bounded(f"http:certify:{name}", SECONDS, RSS_MIB):
        r = c.post("/api/v1/copies/certify", headers=tokens["nghiphu.chungthuc"],
                   content_type="multipart/form-data", data={
                       "requester_name": "Nguyễn Thị Hoa", "requester_id_number": "040190001234",
                       "original_type": "Giấy khai sinh", "original_issuer": "UBND xã Nghi Phú",
                       "original_number": "125/2001", "original_issue_date": "2001-05-04", "page_count": "1",
                       "copies": "1", "pin": pin, "seal_pin": pin, "scan": (io.BytesIO(data), filename)})
    assert_clean(r, instance, secret_id, (201,))
    after = fs_guard(instance, canary)
    assert after[1] == before[1]
    new = set(after[0]) - set(before[0])
    assert all("/tmp/" in p or "/staging/" in p for p in new), new  # only temp/staging files, never by name
    assert traversal_hits(C.MARK, instance, canary) == [] and top_level_hits(C.MARK) == []


def test_declared_one_gigabyte_body(node) -> None:  # type: ignore[no-untyped-def]
    """Content-Length: 1 GiB over a tiny body: refused from the header (413), nothing read or stored."""
    app, tokens, instance, secret_id, _ = node
    c = app.test_client()
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--{boundary}--\r\n").encode()
    for path in ("/api/v1/documents", "/api/v1/verify", "/api/v1/copies/certify"):
        with bounded("http:declared-1GiB", SECONDS, RSS_MIB):
            r = c.post(path, headers=tokens["nghean.vanthu"], input_stream=io.BytesIO(body),
                       content_type=f"multipart/form-data; boundary={boundary}",
                       environ_overrides={"CONTENT_LENGTH": str(1 << 30)})
        assert r.status_code == 413, (path, r.status_code)
        assert_clean(r, instance, secret_id, ())


BAD_MULTIPART = [
    b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\xff\xfe.pdf\"\r\n\r\n%PDF\r\n--x--\r\n",
    b"--x\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\n\xff\xfe\x00\x00\r\n--x--\r\n",
    b"--x\r\n" + b"Content-Disposition: form-data; name=\"a\"\r\n" * 5000 + b"\r\n1\r\n--x--\r\n",
    b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-1.7",  # no end
    b"garbage without any boundary",
    b"--x\r\n" + b"Content-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--x\r\n" * 2000 + b"--x--\r\n",
]


@pytest.mark.parametrize("i", range(len(BAD_MULTIPART)))
def test_malformed_multipart(node, i: int) -> None:  # type: ignore[no-untyped-def]
    app, tokens, instance, secret_id, _ = node
    c = app.test_client()
    for path in ("/api/v1/documents", "/api/v1/verify", "/api/v1/copies/certify"):
        user = "nghiphu.chungthuc" if "certify" in path else "nghean.vanthu"
        with bounded("http:multipart", SECONDS, RSS_MIB):
            r = c.post(path, headers=tokens[user], data=BAD_MULTIPART[i],
                       content_type="multipart/form-data; boundary=x")
        problem = assert_clean(r, instance, secret_id, ())
        assert 400 <= r.status_code < 500, (path, r.status_code, problem)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(subject=st.text(max_size=300), filename=st.text(max_size=120), type_name=st.text(max_size=60),
       recipients=st.text(max_size=80), urgency=st.text(max_size=8))
def test_generated_form_fields(node, subject: str, filename: str, type_name: str, recipients: str,  # type: ignore[no-untyped-def]
                               urgency: str) -> None:
    app, tokens, instance, secret_id, _ = node
    c = app.test_client()
    with bounded("http:form-fields", SECONDS, RSS_MIB):
        r = c.post("/api/v1/documents", headers=tokens["nghean.vanthu"], content_type="multipart/form-data",
                   data={"file": (io.BytesIO(C.small_pdf()), filename or "x.pdf"), "type_name": type_name,
                         "subject": subject, "signer": "nghean.lanhdao", "recipients": recipients,
                         "urgency": urgency})
    assert_clean(r, instance, secret_id, (201,))


# ------------------------------------------------------------------------------------------------ hub
@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from docexchange.axis.hub.app import create_hub_app
    from docexchange.axis.hub.settings import HubSettings

    d = tmp_path_factory.mktemp("hostile-hub")
    app = create_hub_app(HubSettings(database_url=f"sqlite:///{d / 'hub.db'}", blob_dir=d / "blobs",
                                     admin_token="hostile-admin", max_package_bytes=64 << 20))
    app.testing = False
    c = app.test_client()
    admin = {"Authorization": "Bearer hostile-admin"}
    creds = {}
    for code in ("000.00.00.G09", "000.00.00.H41", "000.00.00.H40"):
        r = c.post("/registerAgency", headers=admin, json={"code": code, "name": f"Cơ quan {code}"})
        assert r.status_code == 200, r.get_data(as_text=True)
        r = c.post("/admin/systems", headers=admin, json={"agencyCode": code})
        creds[code] = (r.get_json()["systemId"], r.get_json()["secret"])
    # a private document between two other agencies: its id and subject must never leak to H40
    private = C.edoc(subject=SECRET_SUBJECT).replace(b"000.00.00.H41</OrganId>", b"000.00.00.H41</OrganId>")
    r = send(c, creds["000.00.00.G09"], private)
    assert r.status_code == 200, r.get_data(as_text=True)
    return app, creds, d, r.get_json()["DocId"]


def send(c: Any, cred: tuple[str, str], package: bytes, filename: str = "p.edxml") -> Any:
    from werkzeug.test import EnvironBuilder

    from docexchange.axis.hub import signing

    builder = EnvironBuilder(method="POST", path="/sendEdoc",
                             data={"file_doc": (io.BytesIO(package), filename)})
    env = builder.get_environ()
    body = env["wsgi.input"].read()
    headers = signing.signed_headers(cred[1], cred[0], "POST", "/sendEdoc", hashlib.sha256(body).hexdigest())
    return c.post("/sendEdoc", data=body, headers=headers, content_type=env["CONTENT_TYPE"])


HUB_CASES = sorted(set(C.edxml_cases()) - {"zip_bomb_attachment"})  # the 600 MB bomb: see test below


@pytest.mark.parametrize("name", HUB_CASES)
def test_hub_send_edoc(hub, canary: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    app, creds, d, private_id = hub
    c = app.test_client()
    # sent by H40 as itself, a fresh DocumentId per case (so each one reaches the parser, not the dedup check)
    data = C.edxml_cases()[name]().replace(b"000.00.00.G09", b"000.00.00.H40")
    data = data.replace(b",15/Q", f",{HUB_CASES.index(name) + 100}/Q".encode())
    before = snapshot(canary)
    with bounded(f"hub:sendEdoc:{name}", SECONDS, RSS_MIB):
        r = send(c, creds["000.00.00.H40"], data, filename=f"../../{C.MARK}-part.edxml")
    body = r.get_data(as_text=True)
    if os.environ.get("HOSTILE_DEBUG"):
        print("\nHUB", name, r.status_code, body[:160])
    assert r.status_code < 500, (r.status_code, body[:400])
    assert SECRET_SUBJECT not in body and private_id not in body and str(d) not in body
    if r.status_code >= 400:
        problem = json.loads(body)
        assert r.mimetype == "application/problem+json" and problem["code"] and problem["detail_vi"]
    assert snapshot(canary) == before
    assert traversal_hits(C.MARK, d, canary) == [] and top_level_hits(C.MARK) == []
    stray = [p for p in snapshot(d) if "/blobs/" not in p and not p.endswith((".db", ".db-journal", ".db-wal",
                                                                               ".db-shm"))]
    assert stray == [], stray


def test_hub_rejects_package_over_its_limit(hub) -> None:  # type: ignore[no-untyped-def]
    """A 70 MB upload against a 64 MB hub limit: 413 problem+json, nothing stored."""
    app, creds, d, _ = hub
    before = set(snapshot(d / "blobs"))
    big = C.edoc(payload=b"\0" * (70 << 20))
    with bounded("hub:sendEdoc:too-large", SECONDS, 1200):
        r = send(app.test_client(), creds["000.00.00.H40"], big.replace(b"000.00.00.G09", b"000.00.00.H40"))
    assert r.status_code == 413, r.get_data(as_text=True)[:300]
    assert set(snapshot(d / "blobs")) == before
