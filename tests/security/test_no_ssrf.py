"""Issue 13 §3: the server never fetches what an attacker names (docs/security.md §3).

A TCP listener on loopback counts every connection it accepts. Two hostile PDFs name it:
- signed under a hostile CA (not a trust anchor): the leaf and the intermediate carry OCSP, caIssuers and CRL URLs
  pointing at the listener (by IP and by the name ``localhost``), and the file leaves out the hostile root, so an
  unguarded validator would go and fetch it;
- signed under the node's own trusted dev CA, with the leaf's OCSP/CRL URLs pointing at the listener (a loopback
  address that is not on the operator allow-list, which holds only the node's own ``/pki/`` URLs).
Each is verified through the ``docexchange verify`` CLI, ``POST /api/v1/verify`` (real HTTP) and the receipt of an
edXML package; the listener must see zero connections. The receipt of the hostile-CA package ends with a refusal
(02) after a bounded number of deferrals instead of waiting for ever.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
from sqlalchemy import select, update

from tests.conftest import LiveNode, free_port, make_settings
from tests.validation import helpers as h

NOW = datetime.now(UTC)
BNV, NGHEAN = "000.00.00.G09", "000.00.00.H41"


class Listener:
    """Accepts and counts TCP connections (answers nothing, closes at once)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.close()


# ---- certificates naming the listener --------------------------------------------------------------------
def _name(cn: str, o: str = "CA Độc Hại") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, o),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _urls(port: int, tag: str) -> tuple[x509.AuthorityInformationAccess, x509.CRLDistributionPoints]:
    uri = x509.UniformResourceIdentifier
    aia = x509.AuthorityInformationAccess([
        x509.AccessDescription(AuthorityInformationAccessOID.OCSP, uri(f"http://127.0.0.1:{port}/{tag}/ocsp")),
        x509.AccessDescription(AuthorityInformationAccessOID.OCSP, uri(f"http://localhost:{port}/{tag}/ocsp")),
        x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, uri(f"http://127.0.0.1:{port}/{tag}/ca.crt")),
        x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, uri(f"http://localhost:{port}/{tag}/ca.crt")),
    ])
    crl = x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[uri(f"http://127.0.0.1:{port}/{tag}/ca.crl"), uri(f"http://localhost:{port}/{tag}/ca.crl")],
        relative_name=None, reasons=None, crl_issuer=None)])
    return aia, crl


def _cert(subject: x509.Name, key: Any, issuer: x509.Name, issuer_key: Any, *, ca: bool, port: int | None,
          tag: str) -> x509.Certificate:
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(NOW - timedelta(days=1))
         .not_valid_after(NOW + timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
         .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                      encipher_only=False, decipher_only=False), critical=True))
    if port is not None:
        aia, crl = _urls(port, tag)
        b = b.add_extension(aia, critical=False).add_extension(crl, critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def hostile_ca_pdf(port: int) -> bytes:
    """Root → intermediate → leaf of a CA nobody trusts; the file carries the leaf and the intermediate only."""
    rk, ik, lk = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _cert(_name("Hostile Root"), rk, _name("Hostile Root"), rk, ca=True, port=None, tag="root")
    inter = _cert(_name("Hostile Intermediate"), ik, root.subject, rk, ca=True, port=port, tag="int")
    leaf = _cert(_name("Nguyễn Văn Giả", "UBND Giả Mạo"), lk, inter.subject, ik, ca=False, port=port, tag="leaf")
    return h.sign(h.make_pdf(text="Công văn giả mạo"), h.signer_for(lk, leaf, [inter]))


def trusted_ca_pdf(ca: Any, port: int) -> bytes:
    """A leaf issued by the node's own trusted intermediate whose OCSP/CRL URLs name the listener."""
    icert, ikey = ca.load("gov-int")
    lk = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(_name("Trần Văn Nội Bộ", "UBND Thử"), lk, icert.subject, ikey, ca=False, port=port, tag="trusted")
    return h.sign(h.make_pdf(text="Công văn nội bộ"), h.signer_for(lk, leaf, list(ca.chain_for("gov-int"))))


@pytest.fixture(scope="module")
def files(listener: Listener, live_node: LiveNode, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ssrf")
    out = {"hostile_ca": d / "hostile_ca.pdf", "trusted_ca_loopback_url": d / "trusted_ca.pdf"}
    out["hostile_ca"].write_bytes(hostile_ca_pdf(listener.port))
    out["trusted_ca_loopback_url"].write_bytes(trusted_ca_pdf(live_node.services.ca, listener.port))  # type: ignore[attr-defined]
    return out


def _sig(report: dict[str, Any]) -> dict[str, Any]:
    [sig] = report["signatures"]
    return sig  # type: ignore[no-any-return]


def _expect(name: str, report: dict[str, Any]) -> None:
    sig = _sig(report)
    assert sig["integrity"] is True
    assert report["indication"] == "INDETERMINATE"
    if name == "hostile_ca":
        assert sig["subindication"] == "NO_CERTIFICATE_CHAIN_FOUND"
    else:  # trusted chain, but the leaf's revocation status cannot be asked: not passed
        assert sig["trusted"] is False and sig["subindication"] != "NO_CERTIFICATE_CHAIN_FOUND"


# ---- the three ways in ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hostile_ca", "trusted_ca_loopback_url"])
def test_cli_verify_makes_no_connection(name: str, files: dict[str, Path], listener: Listener,
                                        live_node: LiveNode) -> None:
    from docexchange.cli.verify import verify

    before = listener.accepted
    args = [str(files[name]), "--json"] + [x for a in live_node.anchors for x in ("--trust", str(a))]
    result = CliRunner().invoke(verify, args)
    _expect(name, json.loads(result.output))
    assert listener.accepted - before == 0


@pytest.mark.parametrize("name", ["hostile_ca", "trusted_ca_loopback_url"])
def test_api_verify_makes_no_connection(name: str, files: dict[str, Path], listener: Listener,
                                        live_node: LiveNode) -> None:
    token = requests.post(f"{live_node.url}/api/v1/auth/token", timeout=30,
                          json={"username": "nghean.vanthu", "password": live_node.demo_password}).json()["token"]
    before = listener.accepted
    with open(files[name], "rb") as f:
        resp = requests.post(f"{live_node.url}/api/v1/verify", headers={"Authorization": f"Bearer {token}"},
                             files={"file": (f"{name}.pdf", f, "application/pdf")}, timeout=120)
    assert resp.status_code == 200, resp.text
    _expect(name, resp.json())
    assert listener.accepted - before == 0


@dataclass
class Receiver:
    svc: Any
    hub: Any
    deps: Any
    send: Any  # (pdf bytes, document number) -> hub doc id


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    """A node hosting UBND Nghệ An behind an in-process hub; Bộ Nội vụ sends it packages (sealed by its own
    seal key, so only the PDF inside is hostile). The production exchange collaborators (policy included)."""
    from docexchange.axis.client import HubClient
    from docexchange.axis.edxml import Attachment, EdocMessage, Organ, write_edoc
    from docexchange.exchange.engine import exchange_deps_for
    from docexchange.models import Agency
    from docexchange.node_signing import NodeSigning
    from docexchange.seed import init_node
    from docexchange.services import Services
    from tests.hub._hubutil import ThreadHub

    base = tmp_path_factory.mktemp("ssrf-receipt")
    hub = ThreadHub(base / "hub").start()
    settings = make_settings(base / "node", f"http://127.0.0.1:{free_port()}")
    svc = Services(replace(settings, hub_url=hub.url))
    init_node(svc, demo=True)
    _, bnv_sid, bnv_secret = hub.agency(BNV)
    _, ng_sid, ng_secret = hub.agency(NGHEAN)
    from tests.exchange.test_package_trust import seal_pem

    hub.service.register_agency(BNV, f"Cơ quan {BNV}", seal_cert_pem=seal_pem(svc, BNV))  # package signatures check
    with svc.db.transaction() as s:
        s.execute(update(Agency).values(hub_system_id=None, hub_secret=None))
        s.execute(update(Agency).where(Agency.code == NGHEAN).values(hub_system_id=ng_sid, hub_secret=ng_secret))
        bnv = s.execute(select(Agency).where(Agency.code == BNV)).scalar_one()
        s.expunge(bnv)
    ns = NodeSigning(svc)
    identity = ns.seal_identity(bnv, svc.secrets["demo_pin"])
    sender = HubClient(hub.url, bnv_sid, bnv_secret, retries=0)

    def send(pdf: bytes, number: str) -> str:
        msg = EdocMessage(sender=Organ(organ_id=BNV, organ_name="Bộ Nội vụ"), recipients=[Organ(organ_id=NGHEAN)],
                          code_number=number, code_notation="QĐ-BNV", promulgation_date=date.today(),
                          subject="Văn bản thử nghiệm SSRF", type_code=1, type_name="Quyết định",
                          signer_position="Bộ trưởng", signer_full_name="Nguyễn Văn A",
                          attachments=[Attachment(name="qd.pdf", content_type="application/pdf", data=pdf,
                                                  description="Văn bản chính")])
        path = base / f"p{number}.edxml"
        with open(path, "wb") as out:
            write_edoc(msg, out, identity)
        return str(sender.send_edoc(path).doc_id)

    yield Receiver(svc, hub, exchange_deps_for(svc), send)
    hub.stop()
    svc.db.dispose()


def test_receipt_makes_no_connection_and_refuses_an_untrusted_signer(receiver: Receiver, listener: Listener) -> None:
    from docexchange.exchange.models import DeferredReceipt, IncomingDocument, OutboxItem
    from docexchange.exchange.service import receive_pending

    bound = 5  # UNTRUSTED_MAX_DEFERRALS (a literal, so that this test also runs, and fails, on older code)

    svc = receiver.svc
    before = listener.accepted
    hostile = receiver.send(hostile_ca_pdf(listener.port), "901")
    trusted = receiver.send(trusted_ca_pdf(svc.ca, listener.port), "902")
    passes = 0
    while True:
        receive_pending(receiver.deps, "test:ssrf")
        passes += 1
        with svc.db.reading() as s:
            done = s.execute(select(IncomingDocument).where(IncomingDocument.hub_doc_id == hostile)).scalars().first()
            if done is not None:
                s.expunge(done)
                break
            # make every deferral due now (the back-off is the worker's clock, not this test's)
        with svc.db.transaction() as s:
            for row in s.execute(select(DeferredReceipt)).scalars():
                row.next_attempt_at = row.next_attempt_at - timedelta(hours=1)
        assert listener.accepted - before == 0
        assert passes <= bound + 1, "an untrusted signer must not be deferred for ever"
    assert passes == bound + 1
    assert done.status == "rejected" and done.verdict == "INDETERMINATE"
    assert "NO_CERTIFICATE_CHAIN_FOUND" in (done.reason or "") and "qd.pdf" in (done.reason or "")
    with svc.db.reading() as s:
        [status] = s.execute(select(OutboxItem).where(OutboxItem.incoming_id == done.id)).scalars().all()
        assert status.status_code == "02"
        # the trusted-chain package whose revocation URL is not allowed still waits (TRY_LATER-like), unfetched
        waiting = s.execute(select(DeferredReceipt).where(DeferredReceipt.hub_doc_id == trusted)).scalar_one()
        assert waiting.last_indication == "INDETERMINATE"
        assert waiting.last_subindication != "NO_CERTIFICATE_CHAIN_FOUND"
    assert listener.accepted - before == 0


def test_untrusted_signer_is_final_after_the_bound_or_fifteen_minutes() -> None:
    from docexchange.exchange.service import UNTRUSTED_MAX_DEFERRALS, FileVerdict, untrusted_is_final

    assert UNTRUSTED_MAX_DEFERRALS == 5

    untrusted = FileVerdict("a.pdf", "0" * 64, "main", "INDETERMINATE", False, {
        "subindication": "NO_CERTIFICATE_CHAIN_FOUND",
        "signatures": [{"indication": "INDETERMINATE", "subindication": "NO_CERTIFICATE_CHAIN_FOUND"}]})
    outage = FileVerdict("b.pdf", "1" * 64, "main", "INDETERMINATE", True, {
        "subindication": "TRY_LATER", "signatures": [{"indication": "INDETERMINATE", "subindication": "TRY_LATER"}]})
    assert not untrusted_is_final([untrusted], 0, 0.0)
    assert not untrusted_is_final([untrusted], UNTRUSTED_MAX_DEFERRALS - 1, 60.0)
    assert untrusted_is_final([untrusted], UNTRUSTED_MAX_DEFERRALS, 60.0)
    assert untrusted_is_final([untrusted], 1, 15 * 60.0)
    assert untrusted_is_final([outage, untrusted], UNTRUSTED_MAX_DEFERRALS, 0.0)
    assert not untrusted_is_final([outage], 10_000, 86_400.0)  # a revocation outage keeps waiting (D13)


def test_the_gate_requires_every_link_to_verify(live_node: LiveNode) -> None:
    """A leaf that names the trusted intermediate as its issuer (same name, same key identifier) but is signed by
    another key is not "on a trusted path": its URLs are not fetched, whatever order the validator checks in."""
    import asyncio

    from pyhanko_certvalidator import ValidationContext

    from docexchange.netutil import parse_allow_list
    from docexchange.signing.fetchers import GuardedFetcherBackend

    ca = live_node.services.ca  # type: ignore[attr-defined]
    icert, ikey = ca.load("gov-int")
    lk, forger = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    genuine = _cert(_name("Thật"), lk, icert.subject, ikey, ca=False, port=None, tag="g")
    forged = (x509.CertificateBuilder().subject_name(_name("Giả")).issuer_name(icert.subject)
              .public_key(lk.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=30))
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ikey.public_key()), critical=False)
              .sign(forger, hashes.SHA256()))
    backend = GuardedFetcherBackend(parse_allow_list([]))
    vc = backend.bind(ValidationContext(
        trust_roots=[h.asn1_cert(c) for c in ca.anchors()],
        other_certs=[h.asn1_cert(c) for c in (icert, genuine, forged)], allow_fetching=True,
        fetcher_backend=backend))
    assert vc.certificate_registry is not None

    async def check() -> tuple[bool, bool]:
        return (await backend.on_trusted_path(h.asn1_cert(genuine)),
                await backend.on_trusted_path(h.asn1_cert(forged)))

    assert asyncio.run(check()) == (True, False)
