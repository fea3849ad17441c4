"""Core mailbox behaviour over real HTTP against a hub process (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from docexchange.axis.client import HubAuthError, HubBadRequest, HubConflict, HubNotFound
from tests.hub._hubutil import HubProcess, edoc, status


def _self_signed_pem(cn: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_send_list_download_ack(hub: HubProcess, make_agency, workdir: Path) -> None:
    a_code, a = make_agency()
    b_code, b = make_agency()
    package = edoc(a_code, [b_code], f"{a_code},2026/11/22,1/UBND-VP", payload=b"%PDF-1.7 main document")
    receipt = a.send_edoc_bytes(package)
    assert receipt.duplicate is False and receipt.recipients == 1 and len(receipt.doc_id) == 36

    items = b.get_received_edoc_list("edoc")
    assert [i.doc_id for i in items] == [receipt.doc_id]
    item = items[0]
    assert (item.from_code, item.to_code, item.status) == (a_code, b_code, "pending")
    assert item.content_sha256 == hashlib.sha256(package).hexdigest()
    assert item.content_length == len(package)
    assert item.document_id == f"{a_code},2026/11/22,1/UBND-VP"
    assert b.get_received_edoc_list("status") == []

    out = b.get_edoc(item.doc_id, workdir / "in.edxml", item.content_sha256, item.content_length)
    assert out.read_bytes() == package
    report = a.get_sent_edoc_list(receipt.doc_id)
    assert [(r.to, r.receive_status) for r in report] == [(b_code, "downloaded")]
    assert report[0].received_time is not None and report[0].ack_time is None

    assert b.update_status(item.doc_id, "done") == "done"
    assert b.update_status(item.doc_id, "done") == "done"  # repeating the same ack is a no-op
    with pytest.raises(HubConflict) as exc:
        b.update_status(item.doc_id, "fail")
    assert exc.value.code == "already_acked"
    assert b.get_received_edoc_list("edoc") == []
    report = a.get_sent_edoc_list(receipt.doc_id)
    assert report[0].receive_status == "done" and report[0].ack_time is not None
    history = hub.admin("GET", f"/admin/history/{receipt.doc_id}")["data"]
    assert [h["state"] for h in history] == ["pending", "downloaded", "done"]


def test_dedup_same_package_is_one_delivery(hub: HubProcess, make_agency) -> None:
    a_code, a = make_agency()
    b_code, b = make_agency()
    c_code, c = make_agency()
    package = edoc(a_code, [b_code, c_code], f"{a_code},2026/11/22,2/UBND-VP")
    first = a.send_edoc_bytes(package)
    again = a.send_edoc_bytes(package)
    assert again.doc_id == first.doc_id and again.duplicate is True and first.duplicate is False
    assert [i.doc_id for i in b.get_received_edoc_list()] == [first.doc_id]
    assert [i.doc_id for i in c.get_received_edoc_list()] == [first.doc_id]
    assert sorted(r.to for r in a.get_sent_edoc_list()) == sorted([b_code, c_code])
    # also after the recipient acknowledged it: dedup is permanent
    b.update_status(first.doc_id, "done")
    assert a.send_edoc_bytes(package).doc_id == first.doc_id
    assert b.get_received_edoc_list() == []


def test_same_document_id_other_content_refused_and_alerted(hub: HubProcess, make_agency) -> None:
    a_code, a = make_agency()
    b_code, b = make_agency()
    doc = f"{a_code},2026/11/22,3/UBND-VP"
    first = a.send_edoc_bytes(edoc(a_code, [b_code], doc, payload=b"version one"))
    with pytest.raises(HubConflict) as exc:
        a.send_edoc_bytes(edoc(a_code, [b_code], doc, payload=b"version two"))
    assert exc.value.status == 409 and exc.value.code == "document_id_conflict"
    assert exc.value.problem["existingDocId"] == first.doc_id
    assert exc.value.detail_vi and "DocumentId" in exc.value.detail_vi
    assert [i.doc_id for i in b.get_received_edoc_list()] == [first.doc_id]
    alerts = [al for al in hub.admin("GET", "/admin/alerts")["data"] if al["documentId"] == doc]
    assert len(alerts) == 1
    assert alerts[0]["kind"] == "document_id_conflict" and alerts[0]["existingDocId"] == first.doc_id
    assert alerts[0]["agency"] == a_code
    # an update order (BussinessDocType 2) for the same document is a different package, not a conflict
    upd = a.send_edoc_bytes(edoc(a_code, [b_code], doc, payload=b"version two", business_doc_type=2))
    assert upd.doc_id != first.doc_id and not upd.duplicate


def test_unknown_recipient_stores_nothing(hub: HubProcess, make_agency) -> None:
    a_code, a = make_agency()
    b_code, b = make_agency()
    with pytest.raises(HubBadRequest) as exc:
        a.send_edoc_bytes(edoc(a_code, [b_code, "999.99.99.Z99"], f"{a_code},2026/11/22,4/X"))
    assert exc.value.code == "unknown_recipient" and exc.value.problem["unknown"] == ["999.99.99.Z99"]
    assert "999.99.99.Z99" in exc.value.problem["detail_vi"]
    assert b.get_received_edoc_list() == [] and a.get_sent_edoc_list() == []


def test_sender_must_be_the_authenticated_agency(hub: HubProcess, make_agency) -> None:
    a_code, a = make_agency()
    b_code, b = make_agency()
    c_code, c = make_agency()
    with pytest.raises(HubAuthError) as exc:
        a.send_edoc_bytes(edoc(b_code, [c_code], f"{b_code},2026/11/22,5/X"))  # A pretends to be B
    assert exc.value.status == 403 and exc.value.code == "sender_mismatch"
    assert c.get_received_edoc_list() == [] and b.get_sent_edoc_list() == []


def test_cross_agency_isolation(hub: HubProcess, make_agency, workdir: Path) -> None:
    a_code, a = make_agency()
    b_code, b = make_agency()
    c_code, c = make_agency()
    sent = a.send_edoc_bytes(edoc(a_code, [b_code], f"{a_code},2026/11/22,6/X"))
    assert c.get_received_edoc_list() == []
    for who in (c, a):  # neither a third agency nor the sender can read the recipient's mail
        with pytest.raises(HubNotFound) as exc:
            who.get_edoc(sent.doc_id, workdir / "stolen.edxml")
        assert exc.value.code == "no_such_package"
        with pytest.raises(HubNotFound):
            who.update_status(sent.doc_id, "done")
    assert not (workdir / "stolen.edxml").exists()
    assert c.get_sent_edoc_list() == [] and b.get_sent_edoc_list() == []
    # the unknown id and the other agency's id give the same answer: nothing leaked
    with pytest.raises(HubNotFound) as unknown:
        c.get_edoc("00000000-0000-0000-0000-000000000000", workdir / "x")
    assert unknown.value.problem["detail"].replace(
        "00000000-0000-0000-0000-000000000000", "ID"
    ) == exc.value.problem["detail"].replace(sent.doc_id, "ID")
    assert [i.status for i in b.get_received_edoc_list()] == ["pending"]  # c's attempts changed nothing


def test_status_package_routed_back_to_sender(hub: HubProcess, make_agency) -> None:
    a_code, a = make_agency()
    b_code, b = make_agency()
    doc = f"{a_code},2026/11/22,7/X"
    a.send_edoc_bytes(edoc(a_code, [b_code], doc))
    st = status(b_code, a_code, doc, "01", "2026/11/22 10:00:00")
    r1 = b.send_edoc_bytes(st, message_type="status")
    assert b.send_edoc_bytes(st).doc_id == r1.doc_id  # same status again: deduplicated
    r3 = b.send_edoc_bytes(status(b_code, a_code, doc, "03", "2026/11/22 10:00:05"))
    items = a.get_received_edoc_list("status")
    assert [(i.doc_id, i.from_code, i.message_type) for i in items] == [
        (r1.doc_id, b_code, "status"),
        (r3.doc_id, b_code, "status"),
    ]
    assert a.get_received_edoc_list("edoc") == []
    with pytest.raises(HubBadRequest) as exc:
        b.send_edoc_bytes(status(b_code, a_code, doc, "05", "2026/11/22 10:01:00"), message_type="edoc")
    assert exc.value.code == "message_type_mismatch"


def test_malformed_and_hostile_packages(hub: HubProcess, make_agency, shared_dir: Path) -> None:
    a_code, a = make_agency()
    legacy = (shared_dir / "fixtures/edxml/new-document-legacy-variant.edxml").read_bytes()
    with pytest.raises(HubBadRequest) as exc:
        a.send_edoc_bytes(legacy)
    assert exc.value.code == "bad_package" and "mismatched tag" in str(exc.value)
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&b;</edXML>'
    )
    with pytest.raises(HubBadRequest) as exc:
        a.send_edoc_bytes(bomb)
    assert exc.value.code == "bad_package"
    assert a.get_sent_edoc_list() == []


def test_problem_json_for_unsigned_request(hub: HubProcess) -> None:
    resp = requests.post(hub.url + "/getReceivedEdocList", json={"messagetype": "edoc"}, timeout=10)
    assert resp.status_code == 401
    assert resp.headers["Content-Type"] == "application/problem+json"
    body = resp.json()
    assert body["code"] == "auth_missing" and body["status"] == 401 and body["detail_vi"]
    resp = requests.get(hub.url + "/admin/alerts", timeout=10)
    assert resp.status_code == 403 and resp.json()["code"] == "operator_only"


def test_directory_register_list_sync(hub: HubProcess, make_agency) -> None:
    a_code, a = make_agency()
    pem = _self_signed_pem("Con dấu UBND thử nghiệm")
    before = datetime.now(UTC) - timedelta(seconds=1)
    hub.register("H41.15", "Sở Tư pháp (mã QĐ 20/2020)", cert_pem=pem)
    b_code, b = make_agency()
    listed = {ag.code: ag for ag in a.get_agencies_list()}
    assert listed["H41.15"].code_format == "decision20"
    assert listed["H41.15"].seal_certificate_pem == pem
    assert listed[b_code].code_format == "legacy" and listed[b_code].active
    hub.admin("POST", "/deleteAgency", json={"code": b_code})
    assert b_code not in {ag.code for ag in a.get_agencies_list()}
    changed = {ag.code: ag for ag in a.synchronize_units(before)}
    assert changed[b_code].active is False and changed["H41.15"].active is True
    with pytest.raises(HubBadRequest) as exc:
        a.send_edoc_bytes(edoc(a_code, [b_code], f"{a_code},2026/11/22,8/X"))
    assert exc.value.code == "unknown_recipient"
    bad = requests.post(
        hub.url + "/registerAgency",
        json={"code": "28.22.H17", "name": "x"},
        headers={"Authorization": "Bearer test-operator-token"},
        timeout=10,
    )
    assert bad.status_code == 400 and bad.json()["code"] == "bad_agency_code"
    bad = requests.post(
        hub.url + "/registerAgency",
        json={"code": "000.00.01.H41", "name": "x", "sealCertificatePem": "not a cert"},
        headers={"Authorization": "Bearer test-operator-token"},
        timeout=10,
    )
    assert bad.status_code == 400 and bad.json()["code"] == "bad_certificate"
    assert json.loads(bad.text)["detail_vi"]
