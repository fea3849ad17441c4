"""External TSA and the node's signing level (DOCEXCHANGE_TSA_URL / _TSA_WAIT_SECONDS / _SIGNING_LEVEL):
time-stamps over real HTTP, an unreachable or garbage-answering TSA fails with 503 ``tsa_unavailable`` after the
wait and changes nothing (no number consumed, document state unchanged), B-T signs without a DSS."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy import select

from docexchange.config import ConfigError, Settings
from docexchange.netutil import free_port
from docexchange.node_signing import NodeSigning
from docexchange.signing import KeyResolver, SignOptions, TsaUnavailable, WaitingTimeStamper
from docexchange.signing.validation import TOTAL_PASSED, ValidationPolicy, validate_pdf
from tests.conftest import LiveNode, login, make_settings, pdfsig
from tests.signing.conftest import BNV_CODE, HEAD_NAME, pyhanko_check
from tests.signing.pdfgen import decree30_pdf


# ---- a TSA over real HTTP that can be taken down ---------------------------------------------------------
class StubTsa:
    """Serves an in-process ``TimeStampAuthority`` at http://127.0.0.1:<port>/tsa; ``mode`` "up" | "garbage";
    ``stop()`` closes the port (connection refused), ``start()`` opens it again."""

    def __init__(self, authority: Any) -> None:
        self.authority = authority
        self.port = free_port()
        self.mode = "up"
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsa"

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                stub.requests += 1
                out = stub.authority.respond(body) if stub.mode == "up" else b"\x30\x03garbage"
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/pki/tsa"


# ---- settings ---------------------------------------------------------------------------------------------
def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings.from_env()
    assert (s.tsa_url, s.tsa_wait_seconds, s.signing_level) == ("", 20.0, "B-LT")
    monkeypatch.setenv("DOCEXCHANGE_TSA_URL", "https://tsa.example.vn/tsa")
    monkeypatch.setenv("DOCEXCHANGE_TSA_WAIT_SECONDS", "2.5")
    monkeypatch.setenv("DOCEXCHANGE_SIGNING_LEVEL", "b-t")
    s = Settings.from_env()
    assert (s.tsa_url, s.tsa_wait_seconds, s.signing_level) == ("https://tsa.example.vn/tsa", 2.5, "B-T")
    for name, value, words in [("SIGNING_LEVEL", "B-X", "B-B, B-T, B-LT, B-LTA"), ("TSA_WAIT_SECONDS", "soon",
                               "number of seconds"), ("TSA_WAIT_SECONDS", "-1", "between 0 and 3600"),
                               ("TSA_URL", "tsa.example.vn", "http:// or https://")]:
        with monkeypatch.context() as m:
            m.setenv(f"DOCEXCHANGE_{name}", value)
            with pytest.raises(ConfigError, match=words) as err:
                Settings.from_env()
            assert f"DOCEXCHANGE_{name}" in str(err.value)


# ---- the engine with an external TSA (the live node's /pki/tsa) ------------------------------------------
@pytest.fixture(scope="module")
def seal(live_node: LiveNode) -> Any:
    svc: Any = live_node.services
    return KeyResolver(certs_dir=live_node.certs_dir, db=svc.db).resolve(f"agency:{BNV_CODE}", live_node.demo_pin)


def _ns(node: LiveNode, **kw: Any) -> NodeSigning:
    svc: Any = node.services
    return NodeSigning(svc, replace(svc.settings, **kw))


def _src(tmp: Path) -> Path:
    return decree30_pdf(tmp / "qd.pdf", signer=HEAD_NAME, position="BỘ TRƯỞNG", authority="")


def test_external_tsa_over_http(live_node: LiveNode, seal: Any, tmp_path: Path, nss_db: str) -> None:
    ns = _ns(live_node, tsa_url=f"{live_node.url}/pki/tsa", tsa_wait_seconds=5)
    assert isinstance(ns.engine.timestamper, WaitingTimeStamper) and ns.level == "B-LT"
    out = tmp_path / "lt.pdf"
    ns.sign(_src(tmp_path), out, seal, "attachment", SignOptions(text="Số: 15/QĐ-BNV"))
    roots = [c for c in live_node.services.ca.anchors()]  # type: ignore[attr-defined]
    [summary] = pyhanko_check(out, roots)
    assert summary["timestamp"] is True
    rep = validate_pdf(out.read_bytes(), ValidationPolicy(trust_anchors=roots, visual_check=False))
    assert (rep.indication, rep.signatures[0].level) == (TOTAL_PASSED, "B-LT")
    assert rep.signatures[0].timestamp is not None and rep.signatures[0].timestamp.valid
    text = pdfsig(nss_db, out)  # poppler 22.12 does not print time-stamps; pyHanko checked it above
    assert "Signature is Valid" in text and "Certificate is Trusted" in text, text


def test_closed_port_fails_fast_with_tsa_unavailable(live_node: LiveNode, seal: Any, tmp_path: Path) -> None:
    ns = _ns(live_node, tsa_url=_closed_port_url(), tsa_wait_seconds=1)
    out = tmp_path / "never.pdf"
    t0 = time.monotonic()
    with pytest.raises(TsaUnavailable) as err:
        ns.sign(_src(tmp_path), out, seal, "attachment", SignOptions(text="Số: 15/QĐ-BNV"))
    elapsed = time.monotonic() - t0
    assert 1.0 <= elapsed < 3.5, elapsed
    e = err.value
    assert (e.status, e.code) == (503, "tsa_unavailable")
    assert "Không kết nối được máy chủ cấp dấu thời gian" in e.vi and "thử lại sau" in e.vi
    assert "try again later" in e.en
    body = e.problem()
    assert body["status"] == 503 and body["code"] == "tsa_unavailable" and body["detail_vi"] == e.vi
    assert not out.exists()


def test_garbage_answer_is_retried_then_unavailable(live_node: LiveNode, seal: Any, tmp_path: Path) -> None:
    stub = StubTsa(live_node.services.tsa)  # type: ignore[attr-defined]
    stub.mode = "garbage"
    stub.start()
    try:
        ns = _ns(live_node, tsa_url=stub.url, tsa_wait_seconds=1)
        with pytest.raises(TsaUnavailable):
            ns.sign(_src(tmp_path), tmp_path / "never.pdf", seal, "attachment", SignOptions(text="Số: 1/QĐ-BNV"))
        assert stub.requests >= 3  # retried with back-off, not given up at the first answer
        # right after a whole wait failed, the next signer gets one attempt and no wait (signatures are made
        # one at a time per process: a queue of signers must not each wait the whole period in turn)
        before, t0 = stub.requests, time.monotonic()
        with pytest.raises(TsaUnavailable):
            ns.sign(_src(tmp_path), tmp_path / "never.pdf", seal, "attachment", SignOptions(text="Số: 1/QĐ-BNV"))
        assert stub.requests == before + 1 and time.monotonic() - t0 < 0.9
        stub.mode = "up"  # the TSA recovers: the same engine signs at its first attempt
        ns.sign(_src(tmp_path), tmp_path / "ok.pdf", seal, "attachment", SignOptions(text="Số: 1/QĐ-BNV"))
        assert (tmp_path / "ok.pdf").stat().st_size > 0
    finally:
        stub.stop()


# ---- through the documents workflow (Flask test client) -----------------------------------------------------
def _app(tmp_path: Path, db_url: str, **signing: Any) -> Iterator[Any]:
    from docexchange.app import create_app
    from docexchange.seed import init_node
    from docexchange.services import Services

    svc = Services(make_settings(tmp_path / "instance", "http://127.0.0.1:9", db_url))
    init_node(svc, demo=True)
    app = create_app(replace(svc.settings, **signing))
    app.testing = True
    yield app
    app.extensions["docexchange"].db.dispose()


def _signed_draft(app: Any, tmp_path: Path) -> tuple[Any, dict[str, str], str]:
    svc = app.extensions["docexchange"]
    client = app.test_client()
    pw, pin = svc.secrets["demo_password"], svc.secrets["demo_pin"]
    clerk, signer = login(client, "bnv.vanthu", pw), login(client, "bnv.lanhdao", pw)
    pdf = decree30_pdf(tmp_path / "draft.pdf", signer=HEAD_NAME, position="BỘ TRƯỞNG", authority="",
                       number="Số:      /QĐ-BNV")
    r = client.post("/api/v1/documents", headers=clerk, content_type="multipart/form-data", data={
        "type_name": "Quyết định", "type_abbr": "QĐ", "subject": "Về việc thử máy chủ dấu thời gian",
        "recipients": "000.00.00.H41", "signer": "bnv.lanhdao", "urgency": "1",
        "file": (io.BytesIO(pdf.read_bytes()), "qd.pdf", "application/pdf")})
    assert r.status_code == 201, r.get_json()
    doc_id = r.get_json()["id"]
    r = client.post(f"/api/v1/documents/{doc_id}/sign", headers=signer, json={"pin": pin})
    assert r.status_code == 200 and r.get_json()["status"] == "signed", r.get_json()
    return client, clerk, doc_id


def _counters(app: Any) -> list[tuple[int, int, str, int]]:
    from docexchange.documents.models import NumberCounter

    with app.extensions["docexchange"].db.reading() as s:
        return [tuple(r) for r in s.execute(select(NumberCounter.agency_id, NumberCounter.year,
                                                   NumberCounter.series, NumberCounter.last_number)).all()]


@pytest.fixture
def stub_tsa_app(db_url: str, tmp_path: Path) -> Iterator[tuple[Any, StubTsa]]:
    """A node whose DOCEXCHANGE_TSA_URL is a stub serving that node's own TSA over HTTP (1 s wait)."""
    stub = StubTsa(None)
    gen = _app(tmp_path, db_url, tsa_url=stub.url, tsa_wait_seconds=1)
    app = next(gen)
    stub.authority = app.extensions["docexchange"].tsa
    stub.start()
    yield app, stub
    stub.stop()
    next(gen, None)


@pytest.mark.slow  # a fresh node per backend (init ~9 s)
def test_issue_with_tsa_down_is_503_and_changes_nothing(stub_tsa_app: tuple[Any, StubTsa], tmp_path: Path) -> None:
    app, stub = stub_tsa_app
    client, clerk, doc_id = _signed_draft(app, tmp_path)  # the person signature was time-stamped over HTTP
    assert stub.requests >= 1
    pin = app.extensions["docexchange"].secrets["demo_pin"]
    before = client.get(f"/api/v1/documents/{doc_id}", headers=clerk).get_json()
    counters = _counters(app)
    stub.stop()
    t0 = time.monotonic()
    r = client.post(f"/api/v1/documents/{doc_id}/issue", headers=clerk, json={"pin": pin})
    assert time.monotonic() - t0 < 5
    body = r.get_json()
    assert r.status_code == 503 and r.mimetype == "application/problem+json", body
    assert body["code"] == "tsa_unavailable" and "máy chủ cấp dấu thời gian" in body["detail_vi"]
    after = client.get(f"/api/v1/documents/{doc_id}", headers=clerk).get_json()
    assert after == before and after["status"] == "signed" and after["number"] is None
    assert _counters(app) == counters  # no number consumed
    # the TSA is back: the same document is issued with the first number
    stub.start()
    r = client.post(f"/api/v1/documents/{doc_id}/issue", headers=clerk, json={"pin": pin})
    assert r.status_code == 200 and r.get_json()["status"] == "issued", r.get_json()
    assert r.get_json()["number"].startswith("01/") or r.get_json()["number"].startswith("1/")


@pytest.mark.slow  # a fresh node per backend (init ~9 s)
def test_signing_level_b_t_has_timestamps_and_no_dss(db_url: str, tmp_path: Path) -> None:
    gen = _app(tmp_path, db_url, signing_level="B-T")
    app = next(gen)
    try:
        client, clerk, doc_id = _signed_draft(app, tmp_path)
        pin = app.extensions["docexchange"].secrets["demo_pin"]
        r = client.post(f"/api/v1/documents/{doc_id}/issue", headers=clerk, json={"pin": pin})
        assert r.status_code == 200, r.get_json()
        pdf = client.get(f"/api/v1/documents/{doc_id}/pdf", headers=clerk).data
        reader = PdfFileReader(io.BytesIO(pdf))
        assert "/DSS" not in reader.root
        sigs = reader.embedded_signatures
        assert len(sigs) == 2
        for s in sigs:
            unsigned = {a["type"].native for a in s.signer_info["unsigned_attrs"]}
            assert "signature_time_stamp_token" in unsigned, (s.field_name, unsigned)
        anchors = app.extensions["docexchange"].ca.anchors()
        rep = validate_pdf(pdf, ValidationPolicy(trust_anchors=anchors, visual_check=False, offline=False))
        assert [s.level for s in rep.signatures] == ["B-T", "B-T"]
        assert all(s.timestamp is not None for s in rep.signatures)
    finally:
        next(gen, None)
