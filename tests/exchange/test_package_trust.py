"""Issue 13 §1-§2, attacks by a hostile sending agency against a running hub and a receiving node.

One in-process node hosting three demo agencies (each with its dev-CA seal), its web app served on the CA's URL
(OCSP/CRL answer, so honest PDFs reach TOTAL_PASSED), a real hub in a thread whose directory publishes each
agency's seal certificate (``register_on_hub``). Nghi Phú (NGHIPHU) is the hostile sender; Nghệ An (NGHEAN)
receives; Bộ Nội vụ (BNV) is the agency whose name and seal the attacker borrows. Every test reproduces one
attack and asserts what the recipient recorded and answered."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from docexchange.axis.client import HubBadRequest, HubClient
from docexchange.axis.edxml import (
    Attachment,
    EdocMessage,
    Organ,
    ResponseFor,
    StatusMessage,
    build_status,
    parse_package,
    write_edoc,
)
from docexchange.exchange.models import IncomingDocument, IncomingRegisterEntry, OutboxItem, RecipientStatus
from docexchange.exchange.service import ExchangeDeps, incoming_action, receive_one
from docexchange.models import Agency, LedgerEntry
from docexchange.signing.engine import SignOptions
from docexchange.signing.validation import ValidationPolicy
from tests.conftest import free_port, login, make_settings, wait_http
from tests.hub._hubutil import ThreadHub
from tests.web.conftest import make_pdf, web_login

BNV, NGHEAN, NGHIPHU = "000.00.00.G09", "000.00.00.H41", "000.21.31.H41"
TODAY = date(2026, 12, 5)
PDF_TEXT = "Số: 12/QĐ-BNV\nHà Nội, ngày 05 tháng 12 năm 2026\nQuyết định về việc thử nghiệm trục"


@dataclass
class Env:
    svc: Any
    hub: ThreadHub
    deps: ExchangeDeps
    base: Path
    pin: str
    creds: dict[str, tuple[str, str]]
    counter: list[int]
    app: Any = None
    password: str = ""

    def agency(self, code: str) -> Agency:
        with self.svc.db.reading() as s:
            a = s.execute(select(Agency).where(Agency.code == code)).scalar_one()
            s.expunge(a)
            return a

    def client(self, code: str) -> HubClient:
        sid, secret = self.creds[code]
        return HubClient(self.hub.url, sid, secret, retries=0)

    def sealed_pdf(self, code: str, text: str = PDF_TEXT, copy_of: Path | None = None) -> Path:
        """A PDF carrying ``code``'s agency seal (B-T, the receiver asks the CA for revocation); with ``copy_of``,
        ``code``'s SAO Y copy signature (profile ``copy``) added to that sealed PDF."""
        from docexchange.node_signing import NodeSigning

        self.counter[0] += 1
        src, dst = self.base / f"in{self.counter[0]}.pdf", self.base / f"sealed{self.counter[0]}.pdf"
        ns = NodeSigning(self.svc)
        if copy_of is not None:
            a = self.agency(code)
            assert a.seal_key_ref
            ns.sign(copy_of, dst, ns.key(a.seal_key_ref, self.pin), "copy", SignOptions(text="SAO Y"), level="B-T")
            return dst
        src.write_bytes(make_pdf(text=text))
        a = self.agency(code)
        assert a.seal_key_ref
        ns.sign(src, dst, ns.key(a.seal_key_ref, self.pin), "attachment", SignOptions(text="12/QĐ-BNV"), level="B-T")
        return dst

    def package(self, sender: str, pdf: Path, *, signed_by: str | None = "sender", number: str = "12",
                notation: str = "QĐ-BNV", subject: str = "Quyết định về việc thử nghiệm trục",
                promulgation: date = TODAY) -> bytes:
        """An edXML package from ``sender`` to NGHEAN; ``signed_by``: "sender", another agency code, or None."""
        from docexchange.node_signing import NodeSigning

        self.counter[0] += 1
        msg = EdocMessage(sender=Organ(organ_id=sender, organ_name=f"Cơ quan {sender}"),
                          recipients=[Organ(organ_id=NGHEAN)], code_number=number, code_notation=notation,
                          promulgation_date=promulgation, subject=subject, type_code=1, type_name="Quyết định",
                          signer_position="Bộ trưởng", signer_full_name="Nguyễn Văn A",
                          document_id=f"{sender},{promulgation:%Y/%m/%d},{number}/{notation}#{self.counter[0]}",
                          attachments=[Attachment(name="qd.pdf", content_type="application/pdf", data=pdf)])
        seal = None
        if signed_by is not None:
            who = self.agency(sender if signed_by == "sender" else signed_by)
            seal = NodeSigning(self.svc).seal_identity(who, self.pin)
        out = io.BytesIO()
        write_edoc(msg, out, seal)
        return out.getvalue()

    def receive(self) -> list[str]:
        """One receive pass over NGHEAN's mailbox (edoc and status)."""
        nghean = self.agency(NGHEAN)
        client = self.deps.client(nghean)
        return [receive_one(self.deps, nghean, client, item, "test:trust")
                for kind in ("status", "edoc") for item in client.get_received_edoc_list(kind)]

    def incoming(self, hub_doc_id: str) -> IncomingDocument:
        with self.svc.db.reading() as s:
            inc = s.execute(select(IncomingDocument).where(IncomingDocument.hub_doc_id == hub_doc_id)).scalar_one()
            s.expunge(inc)
            return inc

    def status_sent(self, inc: IncomingDocument) -> list[tuple[str, str]]:
        """(status code, addressee of its ResponseFor) of every status NGHEAN queued for ``inc``."""
        out = []
        with self.svc.db.reading() as s:
            rows = s.execute(select(OutboxItem).where(OutboxItem.incoming_id == inc.id, OutboxItem.kind == "status")
                             .order_by(OutboxItem.id)).scalars()
            for row in rows:
                parsed = parse_package(self.svc.blobs.path_for(row.package_sha256))
                assert parsed.header is not None
                out.append((row.status_code or "", parsed.header.to_organs[0]))
        return out


def seal_pem(svc: Any, code: str) -> str:
    from cryptography import x509

    from docexchange.models import Certificate
    from docexchange.pki.keys import cert_pem

    with svc.db.reading() as s:
        a = s.execute(select(Agency).where(Agency.code == code)).scalar_one()
        der = s.execute(select(Certificate.der).where(Certificate.serial == a.seal_cert_serial)).scalar_one()
    return cert_pem(x509.load_der_x509_certificate(der)).decode()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    from waitress.server import create_server

    from docexchange.app import create_app
    from docexchange.seed import init_node
    from docexchange.services import Services

    base = tmp_path_factory.mktemp("trust")
    port = free_port()
    svc = Services(make_settings(base / "node", f"http://127.0.0.1:{port}"))
    init_node(svc, demo=True)
    app = create_app(svc.settings)
    server = create_server(app, host="127.0.0.1", port=port, threads=4)  # the CA's OCSP/CRL answer
    threading.Thread(target=server.run, daemon=True).start()
    wait_http(f"http://127.0.0.1:{port}/healthz")
    hub = ThreadHub(base / "hub").start()
    creds = {}
    for code in (BNV, NGHEAN, NGHIPHU):  # the directory publishes each agency's seal certificate
        hub.service.register_agency(code, f"Cơ quan {code}", seal_cert_pem=seal_pem(svc, code))
        creds[code] = hub.service.issue_credentials(code)
    with svc.db.transaction() as s:
        s.execute(update(Agency).values(hub_system_id=None, hub_secret=None))
        s.execute(update(Agency).where(Agency.code == NGHEAN).values(hub_system_id=creds[NGHEAN][0],
                                                                       hub_secret=creds[NGHEAN][1]))
    anchors = svc.ca.anchors()
    deps = ExchangeDeps(db=svc.db, blobs=svc.blobs, ledger=svc.ledger, hub_url=hub.url,
                        policy=ValidationPolicy(trust_anchors=anchors, fetch_timeout_s=10,
                                                fetch_allow=svc.settings.fetch_allow_list()), anchors=anchors,
                        client_factory=lambda a: HubClient(hub.url, a.hub_system_id or "", a.hub_secret or "",
                                                           retries=0))
    yield Env(svc, hub, deps, base, svc.secrets["demo_pin"], creds, [0], app, svc.secrets["demo_password"])
    hub.stop()
    server.close()
    svc.db.dispose()


@pytest.fixture(autouse=True)
def _clean_peer_settings(env: Env) -> Iterator[None]:
    yield
    from docexchange.exchange.models import PeerSetting

    with env.svc.db.transaction() as s:
        s.execute(delete(PeerSetting))


def _first_from(code: str) -> Callable[[bytes], bytes]:
    """Put a ``From`` naming ``code`` before the real one (the §1 attack)."""
    def mutate(data: bytes) -> bytes:
        forged = (f"<edXML:From><edXML:OrganId>{code}</edXML:OrganId><edXML:OrganName>Bộ Nội vụ</edXML:OrganName>"
                  "</edXML:From>").encode()
        return data.replace(b"<edXML:From>", forged + b"<edXML:From>", 1)
    return mutate


@pytest.fixture
def lenient_hub(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hub that, as today's main did, resolves a repeated From to the last one: the recipient must still refuse
    (the node never trusts the hub's header reading)."""
    import docexchange.axis.hub.service as hub_service
    from docexchange.axis.hub.header import read_header

    def last_from_wins(stream: Any) -> Any:
        data = stream.read()
        froms = list(re.finditer(rb"<edXML:From>.*?</edXML:From>", data, re.S))
        for m in reversed(froms[:-1]):
            data = data[:m.start()] + data[m.end():]
        return read_header(io.BytesIO(data))

    monkeypatch.setattr(hub_service, "read_header", last_from_wins)


# ---------------------------------------------------------------------------------------------- honest baseline
def test_an_honest_signed_package_is_registered(env: Env) -> None:
    pdf = env.sealed_pdf(NGHIPHU)
    doc = env.client(NGHIPHU).send_edoc_bytes(env.package(NGHIPHU, pdf)).doc_id
    assert env.receive() == ["received"]
    inc = env.incoming(doc)
    assert (inc.status, inc.sender_code, inc.verdict, inc.trust_flags) == ("registered", NGHIPHU, "TOTAL_PASSED", "")
    assert env.status_sent(inc) == [("01", NGHIPHU), ("03", NGHIPHU)]


# ---------------------------------------------------------------------------------------------- §1 who sent it
def test_hub_refuses_a_second_from_naming_another_agency(env: Env) -> None:
    data = _first_from(BNV)(env.package(NGHIPHU, env.sealed_pdf(NGHIPHU), signed_by=None))
    with pytest.raises(HubBadRequest) as exc:
        env.client(NGHIPHU).send_edoc_bytes(data)
    assert exc.value.status == 400 and exc.value.code == "bad_package"
    assert "From" in str(exc.value) and "xuất hiện nhiều lần" in (exc.value.detail_vi or "")
    assert env.client(NGHEAN).get_received_edoc_list("edoc") == []


def test_node_refuses_a_second_from_even_when_the_hub_lets_it_through(env: Env, lenient_hub: None) -> None:
    pdf = env.sealed_pdf(BNV)  # the third agency's real sealed PDF, to make the forgery convincing
    data = _first_from(BNV)(env.package(NGHIPHU, pdf, signed_by=None))
    doc = env.client(NGHIPHU).send_edoc_bytes(data).doc_id
    assert env.receive() == ["rejected"]
    inc = env.incoming(doc)
    assert inc.status == "rejected" and inc.sender_code == NGHIPHU  # never recorded as sent by BNV
    assert "From" in inc.reason and "xuất hiện nhiều lần" in inc.reason
    assert env.status_sent(inc) == [("02", NGHIPHU)]  # the refusal goes to who really sent it, not to BNV


def test_a_status_with_two_from_is_put_on_no_timeline(env: Env, lenient_hub: None) -> None:
    status = build_status(StatusMessage(sender=Organ(organ_id=NGHIPHU), status_code="03",
                                        timestamp=__import__("datetime").datetime(2026, 12, 5, 8, 0),
                                        response_for=ResponseFor(organ_id=NGHEAN, code="1/UBND",
                                                                 document_id=f"{NGHEAN},2026/12/05,1/UBND")))
    data = _first_from(BNV)(status)
    doc = env.client(NGHIPHU).send_edoc_bytes(data).doc_id
    assert env.receive() == ["rejected"]
    with env.svc.db.reading() as s:
        assert s.execute(select(RecipientStatus).where(RecipientStatus.hub_doc_id == doc)).first() is None
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.action == "status_refused")).scalars().all()[-1]
        assert doc in entry.details and "From" in entry.details


# ---------------------------------------------------------------------------------------------- §2 package signature
def test_an_unsigned_package_is_refused(env: Env) -> None:
    doc = env.client(NGHIPHU).send_edoc_bytes(env.package(NGHIPHU, env.sealed_pdf(NGHIPHU), signed_by=None)).doc_id
    assert env.receive() == ["rejected"]
    inc = env.incoming(doc)
    assert inc.status == "rejected" and "gói tin không ký" in inc.reason and "không có chữ ký số" in inc.reason
    assert env.status_sent(inc) == [("02", NGHIPHU)]


def test_a_placeholder_signature_is_refused(env: Env) -> None:
    dummy = (b'<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/><SignatureValue>AAAA'
             b"</SignatureValue><KeyInfo><X509Data><X509Certificate>MIIFqTCCBJG</X509Certificate></X509Data>"
             b"</KeyInfo></Signature></edXML:edXMLHeader>")
    data = env.package(NGHIPHU, env.sealed_pdf(NGHIPHU), signed_by=None).replace(b"</edXML:edXMLHeader>", dummy, 1)
    doc = env.client(NGHIPHU).send_edoc_bytes(data).doc_id
    assert env.receive() == ["rejected"]
    inc = env.incoming(doc)
    assert inc.status == "rejected" and "chữ ký giả/mẫu" in inc.reason


def test_a_package_signed_with_another_agencys_key_is_refused(env: Env) -> None:
    data = env.package(NGHIPHU, env.sealed_pdf(NGHIPHU), signed_by=BNV)  # a real XML-DSig, by the wrong seal
    assert parse_package(data).signature.valid
    doc = env.client(NGHIPHU).send_edoc_bytes(data).doc_id
    assert env.receive() == ["rejected"]
    inc = env.incoming(doc)
    assert inc.status == "rejected" and "không phải chứng thư con dấu của cơ quan gửi" in inc.reason


def test_a_legacy_peer_may_send_unsigned_but_nothing_is_registered_automatically(env: Env) -> None:
    from docexchange.exchange.trust import set_peer

    with env.svc.db.transaction() as s:
        set_peer(s, env.svc.ledger, NGHEAN, NGHIPHU, True, "test:admin", "hệ thống cũ")
    doc = env.client(NGHIPHU).send_edoc_bytes(env.package(NGHIPHU, env.sealed_pdf(NGHIPHU), signed_by=None)).doc_id
    assert env.receive() == ["received"]
    inc = env.incoming(doc)
    assert inc.status == "arrived"
    assert inc.trust_flags == "unsigned_package" and "Gói tin không ký" in inc.trust_note
    assert env.status_sent(inc) == [("01", NGHIPHU)]  # arrived, not registered
    # the clerk sees it in the inbox (API and page)
    c = env.app.test_client()
    r = c.get(f"/api/v1/inbox/{inc.public_id}", headers=login(c, "nghean.vanthu", env.password))
    assert r.status_code == 200 and r.get_json()["trust_flags"] == ["unsigned_package"]
    assert "Gói tin không ký" in r.get_json()["trust_note"]
    web = env.app.test_client()
    web_login(web, "nghean.vanthu", env.password)
    assert "Gói tin không ký" in web.get("/inbox").get_data(as_text=True)
    assert "Gói tin không ký" in web.get(f"/inbox/{inc.public_id}").get_data(as_text=True)
    with env.svc.db.transaction() as s:  # the clerk registers it by hand; the register says what it was
        incoming_action(s, env.deps, inc.agency_id, inc.public_id, "register", "nghean.vanthu")
    with env.svc.db.reading() as s:
        entry = s.execute(select(IncomingRegisterEntry).where(IncomingRegisterEntry.incoming_id == inc.id)).scalar_one()
        assert "gói tin không ký" in entry.notes


# ---------------------------------------------------------------------------------------------- §2 PDF seal, header
def test_another_agencys_sealed_pdf_resent_is_refused(env: Env) -> None:
    doc = env.client(NGHIPHU).send_edoc_bytes(env.package(NGHIPHU, env.sealed_pdf(BNV))).doc_id
    assert env.receive() == ["rejected"]
    inc = env.incoming(doc)
    assert inc.status == "rejected" and inc.sender_code == NGHIPHU
    assert "con dấu" in inc.reason and "không phải của cơ quan gửi" in inc.reason


def test_a_relabelled_header_is_shown_and_not_registered(env: Env) -> None:
    # the sealed PDF says 12/QĐ-BNV of 05/12/2026; the header claims another number and date
    data = env.package(BNV, env.sealed_pdf(BNV), number="99", promulgation=date(2026, 12, 1),
                       subject="Trích yếu bịa đặt")
    doc = env.client(BNV).send_edoc_bytes(data).doc_id
    assert env.receive() == ["received"]
    inc = env.incoming(doc)
    assert inc.status == "arrived"  # not registered automatically
    assert inc.trust_flags == "header_mismatch"
    what = inc.trust_note.split(":")[0]
    assert "(số, ngày ban hành)" in what  # the notation agrees and is not named
    assert "12/QĐ-BNV, ngày 05/12/2026" in inc.trust_note
    with env.svc.db.reading() as s:
        held = s.execute(select(LedgerEntry).where(LedgerEntry.action == "registration_held")).scalars().all()
        assert any(inc.public_id == e.object_id and "header_mismatch" in e.details for e in held)


def test_header_that_agrees_with_the_pdf_text_is_registered(env: Env) -> None:
    doc = env.client(BNV).send_edoc_bytes(env.package(BNV, env.sealed_pdf(BNV))).doc_id
    assert env.receive() == ["received"]
    inc = env.incoming(doc)
    assert (inc.status, inc.trust_flags, inc.sender_code) == ("registered", "", BNV)
    assert json.loads(inc.files)[0]["indication"] == "TOTAL_PASSED"


def test_an_agency_copy_of_another_agencys_document_is_accepted_and_labelled(env: Env) -> None:
    copy = env.sealed_pdf(NGHIPHU, copy_of=env.sealed_pdf(BNV))  # Nghi Phú's SAO Y of Bộ Nội vụ's document
    doc = env.client(NGHIPHU).send_edoc_bytes(env.package(NGHIPHU, copy)).doc_id
    assert env.receive() == ["received"]
    inc = env.incoming(doc)
    assert (inc.status, inc.sender_code, inc.trust_flags) == ("registered", NGHIPHU, "agency_copy")
    assert inc.trust_note == "Bản sao (SAO Y) của văn bản do Bộ Nội vụ ban hành", inc.trust_note


def test_peer_cli_sets_and_lists_the_legacy_setting_with_a_ledger_entry(env: Env) -> None:
    from click.testing import CliRunner

    from docexchange.cli import main
    from docexchange.exchange.models import PeerSetting

    st = env.svc.settings
    cli_env = {"DOCEXCHANGE_INSTANCE_DIR": str(st.instance_dir), "DOCEXCHANGE_DATABASE_URL": st.database_url,
               "DOCEXCHANGE_BLOB_DIR": str(st.blob_dir), "DOCEXCHANGE_CERTS_DIR": str(st.certs_dir),
               "DOCEXCHANGE_PUBLIC_URL": st.public_url, "DOCEXCHANGE_SECRET_KEY": "test-secret"}
    r = CliRunner().invoke(main, ["peer", "set", NGHEAN, NGHIPHU, "--accept-unsigned", "--note", "hệ thống cũ"],
                           env=cli_env)
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["peer", "list"], env=cli_env)
    assert f"{NGHEAN} <- {NGHIPHU}: accept_unsigned=True hệ thống cũ" in r.output
    r = CliRunner().invoke(main, ["peer", "set", "000.99.99.H99", NGHIPHU, "--accept-unsigned"], env=cli_env)
    assert r.exit_code != 0  # unknown agency: nothing written
    with env.svc.db.reading() as s:
        assert [(p.peer_code, p.accept_unsigned) for p in s.execute(select(PeerSetting)).scalars()] == [
            (NGHIPHU, True)]
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.action == "peer_setting_changed")).scalars().all()[-1]
        assert entry.object_id == NGHIPHU and entry.agency_code == NGHEAN


def test_without_the_hub_directory_the_package_waits_and_never_passes(env: Env) -> None:
    from dataclasses import replace

    from docexchange.axis.client import HubUnavailable
    from docexchange.exchange.models import DeferredReceipt

    class NoDirectory(HubClient):
        def get_agencies_list(self, since: Any = None) -> Any:
            raise HubUnavailable("directory down", status=503)

    deps = replace(env.deps, client_factory=lambda a: NoDirectory(env.hub.url, a.hub_system_id or "",
                                                                  a.hub_secret or "", retries=0))
    from docexchange.exchange.trust import SealDirectory

    deps.directory = SealDirectory()  # nothing cached
    doc = env.client(NGHIPHU).send_edoc_bytes(env.package(NGHIPHU, env.sealed_pdf(NGHIPHU))).doc_id
    nghean = env.agency(NGHEAN)
    client = deps.client(nghean)
    [item] = client.get_received_edoc_list("edoc")
    assert receive_one(deps, nghean, client, item, "test:trust") == "retry_later"
    with env.svc.db.reading() as s:
        row = s.execute(select(DeferredReceipt).where(DeferredReceipt.hub_doc_id == doc)).scalar_one()
        assert "Không đọc được danh bạ trục" in row.last_reason_vi
        assert s.execute(select(IncomingDocument).where(IncomingDocument.hub_doc_id == doc)).first() is None
    with env.svc.db.transaction() as s:  # due again (no waiting on the clock)
        for r in s.execute(select(DeferredReceipt).where(DeferredReceipt.hub_doc_id == doc)).scalars():
            r.next_attempt_at = r.last_attempt_at - timedelta(hours=1)
    assert env.receive() == ["received"]  # the directory answers again
    assert env.incoming(doc).status == "registered"
