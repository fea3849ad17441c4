"""Deferred receipts (D13, D18): a package whose signature verdict is INDETERMINATE because the sender's CA cannot be
reached stays on the hub, is recorded once with a back-off, is not downloaded again before it is due, is shown to
the clerk (API and inbox page), and is registered once the CA answers again.

One in-process node (the dev CA of the demo data) whose certificates point OCSP/CRL at a port where nothing
listens yet, a hub in a thread, the exchange functions called directly. "Fixing" the outage serves the node app
(its /pki/ocsp and /pki/crl) on that port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from docexchange.axis.client import HubClient
from docexchange.axis.edxml import Attachment, EdocMessage, Organ, write_edoc
from docexchange.exchange.models import DeferredReceipt, IncomingDocument
from docexchange.exchange.service import ExchangeDeps, defer_delay, receive_pending
from docexchange.models import Agency, LedgerEntry
from docexchange.signing.engine import SignOptions
from docexchange.signing.validation import ValidationPolicy
from tests.conftest import free_port, login, make_settings, wait_http
from tests.exchange.test_package_trust import seal_pem
from tests.hub._hubutil import ThreadHub
from tests.web.conftest import make_pdf, web_login

BNV, NGHEAN = "000.00.00.G09", "000.00.00.H41"
SUBJECT = "Về việc thử nghiệm hoãn kiểm tra chữ ký"


class CountingClient(HubClient):
    downloads = 0

    def get_edoc(self, *args: Any, **kw: Any) -> Any:
        CountingClient.downloads += 1
        return super().get_edoc(*args, **kw)


@dataclass
class Env:
    svc: Any
    app: Any
    hub: ThreadHub
    deps: ExchangeDeps
    port: int
    nghean_id: int
    nghean_client: HubClient
    hub_doc_id: str
    password: str


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    from docexchange.app import create_app
    from docexchange.node_signing import NodeSigning
    from docexchange.seed import init_node
    from docexchange.services import Services

    base = tmp_path_factory.mktemp("deferred")
    hub = ThreadHub(base / "hub").start()
    port = free_port()  # the CA's OCSP/CRL URLs point here; nothing listens until the outage is "fixed"
    svc = Services(make_settings(base / "node", f"http://127.0.0.1:{port}"))
    init_node(svc, demo=True)
    _, bnv_sid, bnv_secret = hub.agency(BNV)
    _, ng_sid, ng_secret = hub.agency(NGHEAN)
    hub.service.register_agency(BNV, "Bộ Nội vụ", seal_cert_pem=seal_pem(svc, BNV))  # the directory's seal
    with svc.db.transaction() as s:
        s.execute(update(Agency).values(hub_system_id=None, hub_secret=None))
        s.execute(update(Agency).where(Agency.code == NGHEAN).values(hub_system_id=ng_sid, hub_secret=ng_secret))
        nghean_id = s.execute(select(Agency.id).where(Agency.code == NGHEAN)).scalar_one()
        bnv = s.execute(select(Agency).where(Agency.code == BNV)).scalar_one()
        s.expunge(bnv)
    # a real B-T seal signature of Bộ Nội vụ, no revocation data embedded: the receiver must ask the CA
    ns = NodeSigning(svc)
    pin = svc.secrets["demo_pin"]
    src, signed = base / "in.pdf", base / "signed.pdf"
    src.write_bytes(make_pdf(text="Quyết định số 12/QĐ-BNV"))
    assert bnv.seal_key_ref
    ns.sign(src, signed, ns.key(bnv.seal_key_ref, pin), "attachment", SignOptions(text="12/QĐ-BNV"), level="B-T")
    msg = EdocMessage(sender=Organ(organ_id=BNV, organ_name="Bộ Nội vụ"), recipients=[Organ(organ_id=NGHEAN)],
                      code_number="12", code_notation="QĐ-BNV", promulgation_date=date.today(), subject=SUBJECT,
                      type_code=1, type_name="Quyết định", signer_position="Bộ trưởng",
                      signer_full_name="Nguyễn Văn A",
                      attachments=[Attachment(name="qd.pdf", content_type="application/pdf", data=signed,
                                              description="Văn bản chính")])
    package = base / "package.edxml"
    with open(package, "wb") as out:
        write_edoc(msg, out, ns.seal_identity(bnv, pin))
    receipt = HubClient(hub.url, bnv_sid, bnv_secret, retries=0).send_edoc(package)
    anchors = svc.ca.anchors()
    deps = ExchangeDeps(db=svc.db, blobs=svc.blobs, ledger=svc.ledger, hub_url=hub.url,
                        policy=ValidationPolicy(trust_anchors=anchors, fetch_timeout_s=3,
                                                fetch_allow=svc.settings.fetch_allow_list()), anchors=anchors,
                        client_factory=lambda a: CountingClient(hub.url, a.hub_system_id or "", a.hub_secret or "",
                                                                retries=0))
    app = create_app(svc.settings)
    app.testing = True
    yield Env(svc, app, hub, deps, port, nghean_id, HubClient(hub.url, ng_sid, ng_secret, retries=0),
              receipt.doc_id, svc.secrets["demo_password"])
    hub.stop()
    svc.db.dispose()


def _rows(env: Env) -> list[DeferredReceipt]:
    with env.svc.db.reading() as s:
        rows = list(s.execute(select(DeferredReceipt)).scalars())
        s.expunge_all()
        return rows


def _deferred_entries(env: Env) -> int:
    with env.svc.db.reading() as s:
        return int(s.execute(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.action == "receipt_deferred")).scalar_one())


def _shift(env: Env, delta: timedelta) -> None:
    with env.svc.db.transaction() as s:
        for row in s.execute(select(DeferredReceipt)).scalars():
            row.next_attempt_at = row.next_attempt_at + delta


def _make_due(env: Env) -> None:
    _shift(env, -timedelta(hours=1))


def test_a_package_waits_only_while_no_file_has_already_failed() -> None:
    from docexchange.exchange.service import FileVerdict, must_wait

    def v(indication: str) -> FileVerdict:
        return FileVerdict("f.pdf", "0" * 64, "main", indication, True, {})

    assert must_wait([v("TOTAL_PASSED"), v("INDETERMINATE")])
    assert not must_wait([v("INDETERMINATE"), v("TOTAL_FAILED")])  # refused (02) now, not deferred
    assert not must_wait([v("TOTAL_PASSED"), v("TOTAL_PASSED")]) and not must_wait([])


def test_back_off_doubles_from_one_second_to_five_minutes() -> None:
    assert [defer_delay(n) for n in range(1, 12)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert defer_delay(60) == 300  # no overflow, still the cap


def test_indeterminate_package_waits_is_shown_and_is_registered_after_the_outage(env: Env) -> None:
    # (a) the sender's CA is unreachable: INDETERMINATE → one deferral row, one ledger entry, still on the hub
    counts = receive_pending(env.deps, "test:1")
    assert counts["retry_later"] == 1 and counts["received"] == 0
    assert CountingClient.downloads == 1
    [row] = _rows(env)
    assert (row.agency_id, row.hub_doc_id, row.attempts) == (env.nghean_id, env.hub_doc_id, 1)
    assert (row.sender_code, row.sender_name, row.subject) == (BNV, "Bộ Nội vụ", SUBJECT)
    assert row.edxml_document_id.endswith("12/QĐ-BNV")
    assert row.last_indication == "INDETERMINATE" and row.last_subindication
    assert row.last_reason_vi.startswith("Chưa xác định được hiệu lực chữ ký số trên tệp qd.pdf")
    assert row.last_reason_en.startswith("The signature on qd.pdf could not be verified yet")
    assert row.next_attempt_at - row.last_attempt_at == timedelta(seconds=1)
    assert row.first_deferred_at == row.last_attempt_at
    assert _deferred_entries(env) == 1
    with env.svc.db.reading() as s:
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.action == "receipt_deferred")).scalar_one()
        assert entry.object_id == row.edxml_document_id and env.hub_doc_id in entry.details
        assert s.execute(select(func.count()).select_from(IncomingDocument)).scalar_one() == 0
    assert [i.doc_id for i in env.nghean_client.get_received_edoc_list()] == [env.hub_doc_id]

    # (b) an immediate new pass does not download it again
    _shift(env, timedelta(minutes=5))  # so that a slow machine cannot make it due meanwhile
    for _ in range(3):
        assert receive_pending(env.deps, "test:1")["deferred_wait"] == 1
    assert CountingClient.downloads == 1
    assert _rows(env)[0].attempts == 1

    # due again, still unreachable: attempts 2, the delay doubles, no second ledger entry
    _make_due(env)
    assert receive_pending(env.deps, "test:1")["retry_later"] == 1
    assert CountingClient.downloads == 2
    [row] = _rows(env)
    assert row.attempts == 2 and row.next_attempt_at - row.last_attempt_at == timedelta(seconds=2)
    assert row.first_deferred_at < row.last_attempt_at
    assert _deferred_entries(env) == 1

    # (d) the API lists it for the clerk and the auditor role of the agency only
    c = env.app.test_client()
    clerk = login(c, "nghean.vanthu", env.password)
    r = c.get("/api/v1/inbox/deferred", headers=clerk)
    assert r.status_code == 200, r.get_json()
    [item] = r.get_json()["items"]
    assert item["hub_doc_id"] == env.hub_doc_id and item["sender_code"] == BNV and item["subject"] == SUBJECT
    assert item["attempts"] == 2 and item["last_indication"] == "INDETERMINATE"
    assert item["reason_vi"] == row.last_reason_vi and item["reason_en"] == row.last_reason_en
    assert item["next_attempt_at"] and item["first_deferred_at"]
    other = c.get("/api/v1/inbox/deferred", headers=login(c, "bnv.vanthu", env.password))
    assert other.status_code == 200 and other.get_json() == {"items": []}
    assert SUBJECT not in other.get_data(as_text=True)
    anonymous = c.get("/api/v1/inbox/deferred")
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"
    spec = c.get("/api/openapi.json").get_json()
    assert "DeferredList" in str(spec["paths"]["/api/v1/inbox/deferred"]["get"]["responses"]["200"])

    # (e) the clerk's inbox page shows it, in Vietnamese by default and in English on request
    web = env.app.test_client()
    web_login(web, "nghean.vanthu", env.password)
    html = web.get("/inbox").get_data(as_text=True)
    assert "Văn bản đang chờ kiểm tra lại chữ ký" in html
    assert SUBJECT in html and "Bộ Nội vụ" in html
    assert "Chưa xác định được hiệu lực chữ ký số trên tệp qd.pdf" in html
    html_en = web.get("/inbox?lang=en").get_data(as_text=True)
    assert "Documents waiting for signature verification" in html_en
    assert "The signature on qd.pdf could not be verified yet" in html_en
    assert "Chưa xác định được hiệu lực" not in html_en
    web_bnv = env.app.test_client()
    web_login(web_bnv, "bnv.vanthu", env.password)
    html_bnv = web_bnv.get("/inbox").get_data(as_text=True)
    assert "Văn bản đang chờ kiểm tra lại chữ ký" not in html_bnv and SUBJECT not in html_bnv

    # (c) the CA answers again; once due, the package is verified, registered, acknowledged, the row is gone
    from waitress.server import create_server

    server = create_server(env.app, host="127.0.0.1", port=env.port, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        wait_http(f"http://127.0.0.1:{env.port}/healthz")
        _shift(env, timedelta(minutes=5))  # the 2 s back-off may have run out while a loaded machine got here
        assert receive_pending(env.deps, "test:1")["deferred_wait"] == 1  # not due yet: still no download
        assert CountingClient.downloads == 2
        _make_due(env)
        counts = receive_pending(env.deps, "test:1")
    finally:
        server.close()
    assert counts["received"] == 1 and CountingClient.downloads == 3
    assert _rows(env) == []
    with env.svc.db.reading() as s:
        inc = s.execute(select(IncomingDocument)).scalar_one()
        assert (inc.hub_doc_id, inc.status, inc.verdict, inc.subject) == (
            env.hub_doc_id, "registered", "TOTAL_PASSED", SUBJECT)
        assert inc.arrival_number == 1
    assert env.nghean_client.get_received_edoc_list() == []
    assert _deferred_entries(env) == 1
    assert c.get("/api/v1/inbox/deferred", headers=clerk).get_json() == {"items": []}
    assert "Văn bản đang chờ kiểm tra lại chữ ký" not in web.get("/inbox?lang=vi").get_data(as_text=True)
    assert receive_pending(env.deps, "test:1") == {"received": 0, "statuses": 0, "retry_later": 0}


def test_deferral_of_a_package_the_hub_no_longer_lists_is_dropped(env: Env, tmp_path: Path) -> None:
    """A deferred package that left the mailbox (acknowledged by another process, purged) stops being shown."""
    now = env.svc.db
    with now.transaction() as s:
        from docexchange.db import db_now

        t = db_now(s)
        s.add(DeferredReceipt(agency_id=env.nghean_id, hub_doc_id="gone-1", first_deferred_at=t, last_attempt_at=t,
                              next_attempt_at=t + timedelta(minutes=5), attempts=3, last_reason_vi="x"))
    assert len(_rows(env)) == 1
    receive_pending(env.deps, "test:1")
    assert _rows(env) == []
    with env.svc.db.reading() as s:
        assert s.execute(select(func.count()).select_from(LedgerEntry)
                         .where(LedgerEntry.action == "receipt_deferral_dropped")).scalar_one() == 1


def test_failed_download_is_deferred_with_the_hub_error(env: Env, tmp_path: Path) -> None:
    """The hub lists a package, then goes away before the download: deferred (attempts 1, the reason, what the
    list said about the package), left for a later pass."""
    from docexchange.exchange.service import receive_one
    from tests.hub._hubutil import edoc

    hub = ThreadHub(tmp_path / "hub2").start()
    try:
        _, bnv_sid, bnv_secret = hub.agency(BNV)
        _, sid, secret = hub.agency(NGHEAN)
        package = tmp_path / "p.edxml"
        package.write_bytes(edoc(BNV, [NGHEAN], "download-fails-1"))
        HubClient(hub.url, bnv_sid, bnv_secret, retries=0).send_edoc(package)
        [item] = HubClient(hub.url, sid, secret, retries=0).get_received_edoc_list()
    finally:
        hub.stop()
    client = HubClient(hub.url, sid, secret, retries=0)  # a fresh session: no kept-alive connection, refused
    with env.svc.db.reading() as s:
        agency = s.execute(select(Agency).where(Agency.code == NGHEAN)).scalar_one()
        s.expunge(agency)
    assert receive_one(env.deps, agency, client, item, "test:1") == "retry_later"
    [row] = _rows(env)
    assert (row.hub_doc_id, row.attempts, row.sender_code, row.edxml_document_id) == (
        item.doc_id, 1, BNV, "download-fails-1")
    assert row.last_indication == "" and row.last_reason_vi.startswith("Không tải được gói tin từ trục: ")
    assert row.last_reason_en.startswith("The package could not be downloaded from the hub: ")
    assert row.next_attempt_at - row.last_attempt_at == timedelta(seconds=1)
    # not due: the same item is not even tried (no connection to the stopped hub is attempted)
    assert receive_one(env.deps, agency, client, item, "test:1") == "deferred_wait"
    with env.svc.db.transaction() as s:
        s.execute(delete(DeferredReceipt))
