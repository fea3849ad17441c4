"""In-process checks: the header reader (fixtures, hostile XML, property test), retention purge with a fake
clock, the hub's own Alembic version table, and the client's integrity check on a tampered blob."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from docexchange.axis.client import IntegrityMismatch
from docexchange.axis.hub.db import migrate
from docexchange.axis.hub.header import read_header
from docexchange.axis.hub.service import Caller, HubService
from docexchange.axis.hub.settings import HubSettings
from docexchange.blobstore import BlobStore
from docexchange.db import Database
from docexchange.errors import BadInput, NotFound
from tests.hub._hubutil import HubProcess, edoc, status


def test_header_of_every_fixture(shared_dir: Path) -> None:
    d = shared_dir / "fixtures/edxml"
    h = read_header(open(d / "new-document.edxml", "rb"))
    assert (h.from_organ, h.to_organs, h.is_status, h.business_doc_type) == (
        "000.00.00.A80",
        ["28.22.H17"],
        False,
        0,
    )
    assert h.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
    h = read_header(open(d / "update.edxml", "rb"))
    assert h.to_organs == ["000.00.00.H41", "000.00.00.H14", "000.00.00.G17"] and h.business_doc_type == 2
    for name, code in (
        ("status-02-rejected", "02"),
        ("status-03-accepted", "03"),
        ("status-05-processing", "05"),
    ):
        h = read_header(open(d / f"{name}.edxml", "rb"))
        assert (h.message_type, h.from_organ, h.to_organs, h.status_code) == (
            "status",
            "000.00.00.H41",
            ["000.00.00.G22"],
            code,
        )
        assert h.document_id == "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
        assert h.status_timestamp == "2015/09/20 11:08:36"
    with pytest.raises(BadInput) as exc:
        read_header(open(d / "new-document-legacy-variant.edxml", "rb"))
    assert exc.value.code == "bad_package"


def test_header_reader_stops_at_end_of_header() -> None:
    # garbage after the header (as a truncated or huge attachment section would be) is never read
    data = edoc("000.00.00.H41", ["000.00.00.G22"], "X,2026/01/01,1/A").split(b"<AttachmentEncoded>")[0]
    h = read_header(io.BytesIO(data + b"<<<not xml at all" * 1000))
    assert h.to_organs == ["000.00.00.G22"]


@pytest.mark.parametrize(
    "doc",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><edXML>&e;</edXML>',
        b'<?xml version="1.0"?><!DOCTYPE edXML><edXML/>',
        b"<edXML><edXMLEnvelope><edXMLHeader><MessageHeader><To><OrganId>1</OrganId></To></MessageHeader>"
        b"</edXMLHeader></edXMLEnvelope></edXML>",  # no From
        b"<Other/>",
        b"",
        b"<edXML>" + b"<a>" * 40 + b"</a>" * 40 + b"</edXML>",
    ],
)
def test_hostile_or_incomplete_headers_refused(doc: bytes) -> None:
    with pytest.raises(BadInput) as exc:
        read_header(io.BytesIO(doc))
    assert exc.value.code == "bad_package" and exc.value.vi


legacy = st.from_regex(r"\A\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}\Z")
decision20 = st.from_regex(r"\A[A-Y]\d{2}(\.[0-9A-Z]{1,4}){0,3}\Z")
codes = st.one_of(legacy, decision20)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    lambda s: s.strip() == s and s != ""
)


@settings(max_examples=150, deadline=None)
@given(
    sender=codes,
    recipients=st.lists(codes, min_size=1, max_size=6, unique=True),
    doc_id=text,
    bdt=st.integers(0, 3),
    payload=st.binary(max_size=200),
)
def test_header_round_trip_edoc(
    sender: str, recipients: list[str], doc_id: str, bdt: int, payload: bytes
) -> None:
    h = read_header(io.BytesIO(edoc(sender, recipients, doc_id, payload, business_doc_type=bdt)))
    assert (h.from_organ, h.to_organs, h.document_id, h.business_doc_type, h.is_status) == (
        sender,
        recipients,
        doc_id,
        bdt,
        False,
    )


@settings(max_examples=100, deadline=None)
@given(sender=codes, original=codes, doc_id=text, code=st.sampled_from(["01", "02", "03", "13", "15", "16"]))
def test_header_round_trip_status(sender: str, original: str, doc_id: str, code: str) -> None:
    h = read_header(io.BytesIO(status(sender, original, doc_id, code, "2026/11/22 08:00:00")))
    assert (h.from_organ, h.to_organs, h.document_id, h.status_code, h.message_type) == (
        sender,
        [original],
        doc_id,
        code,
        "status",
    )


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _service(tmp_path: Path, clock: _Clock) -> HubService:
    hs = HubSettings(
        database_url=f"sqlite:///{tmp_path / 'hub.db'}", blob_dir=tmp_path / "blobs", retention_days=30
    )
    db = Database(hs.database_url)
    migrate(db)
    return HubService(db, BlobStore(hs.blob_dir), hs, clock=clock)


def test_purge_honours_acknowledgement_and_retention(tmp_path: Path) -> None:
    clock = _Clock()
    svc = _service(tmp_path, clock)
    for code in ("000.00.00.A01", "000.00.00.B01", "000.00.00.C01"):
        svc.register_agency(code, code)
    a = Caller("s", 1, "000.00.00.A01")
    b = Caller("s", 2, "000.00.00.B01")
    c = Caller("s", 3, "000.00.00.C01")
    pkg = edoc(a.agency_code, [b.agency_code, c.agency_code], "A01,2026/01/01,1/X")
    sent = svc.send(a, io.BytesIO(pkg))
    blob = svc.blobs.path_for(hashlib.sha256(pkg).hexdigest())
    svc.update_status(b, sent.doc_id, "done")

    clock.now += timedelta(days=400)  # very old, but C never acknowledged: kept
    assert svc.purge() == 0 and blob.exists()
    svc.update_status(c, sent.doc_id, "fail", "cannot parse")
    clock.now += timedelta(days=29)  # acknowledged, but not yet past retention
    assert svc.purge() == 0 and blob.exists()
    assert svc.open_edoc(c, sent.doc_id).path.read_bytes() == pkg
    clock.now += timedelta(days=2)
    assert svc.purge() == 1 and not blob.exists()
    assert svc.purge() == 0
    with pytest.raises(NotFound) as exc:
        svc.open_edoc(b, sent.doc_id)
    assert exc.value.code == "purged"
    # the row survives the purge: dedup is permanent and the delivery report complete
    again = svc.send(a, io.BytesIO(pkg))
    assert again.doc_id == sent.doc_id and again.duplicate
    assert [(r["to"], r["receiveStatus"]) for r in svc.sent_list(a)] == [
        ("000.00.00.B01", "done"),
        ("000.00.00.C01", "fail"),
    ]


def test_own_version_table_and_idempotent_migration(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'h.db'}")
    migrate(db)
    migrate(db)
    names = set(inspect(db.engine).get_table_names())
    assert "hub_alembic_version" in names and "alembic_version" not in names
    assert {
        "hub_agencies",
        "hub_systems",
        "hub_packages",
        "hub_deliveries",
        "hub_delivery_events",
        "hub_alerts",
        "hub_nonces",
    } <= names


def test_tampered_blob_detected_by_recipient(hub: HubProcess, make_agency, workdir: Path) -> None:
    a_code, a = make_agency()
    b_code, b = make_agency()
    package = edoc(a_code, [b_code], f"{a_code},2026/11/22,99/TAMPER")
    a.send_edoc_bytes(package)
    [item] = b.get_received_edoc_list()
    sha = item.content_sha256
    blob = hub.workdir / "blobs" / sha[:2] / sha[2:4] / sha
    os.chmod(blob, 0o644)
    blob.write_bytes(package.replace(b"TAMPER", b"TAMPEX"))  # same length, other bytes
    with pytest.raises(IntegrityMismatch) as exc:
        b.get_edoc(item.doc_id, workdir / "in.edxml", item.content_sha256, item.content_length)
    assert exc.value.code == "integrity_mismatch"
    assert not (workdir / "in.edxml").exists() and not list(workdir.glob(".part-*"))


fields = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["POST", "GET"]),
        "path": st.sampled_from(["/sendEdoc", "/getEdoc", "/updateStatus", "/getReceivedEdocList"]),
        "query": st.sampled_from(["", "a=1", "a=2"]),
        "system_id": st.from_regex(r"\A[A-Z0-9.]{3,12}\Z"),
        "timestamp": st.integers(0, 2**33),
        "nonce": st.from_regex(r"\A[A-Za-z0-9_-]{16,24}\Z"),
        "body_sha256": st.binary(min_size=1, max_size=8).map(lambda b: hashlib.sha256(b).hexdigest()),
    }
)


@settings(max_examples=200, deadline=None)
@given(a=fields, b=fields, secret=st.text(min_size=1, max_size=20))
def test_hmac_signature_binds_every_field(a: dict, b: dict, secret: str) -> None:  # type: ignore[type-arg]
    from docexchange.axis.hub import signing

    sig = signing.sign(secret, **a)
    assert signing.verify(secret, sig, **a)
    assert signing.verify(secret, sig.upper(), **a)
    for key in a:
        changed = dict(a, **{key: b[key]})
        assert signing.verify(secret, sig, **changed) == (changed == a)
    assert not signing.verify(secret + "x", sig, **a)
