"""Inventory and archive re-time-stamping against a short-lived TSA certificate."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from docexchange.archive.ltv import add_archive_timestamp, ltv_info
from docexchange.archive.models import ArchiveVersion, PdfLtvCache
from docexchange.archive.service import _ca_certs, _NodeRevInfo, history, inventory, node_tsa_until, refresh
from docexchange.documents.models import Document
from docexchange.models import LedgerEntry
from docexchange.signing import InProcessTimeStamper
from docexchange.signing.validation import TOTAL_PASSED, ValidationPolicy, validate_pdf
from tests.validation.helpers import asn1_cert, make_pdf

from .conftest import SHORT_DAYS, ArchiveNode, short_lived_tsa, sign_b_lt


def test_verifiable_until_is_the_short_tsa_expiry(archive_node: ArchiveNode) -> None:
    info = ltv_info(archive_node.svc.blobs.get_bytes(archive_node.signed_sha))
    assert info.level == "B-LT"
    assert info.signatures == 1 and info.document_timestamps == 0
    assert info.verifiable_until == archive_node.short_tsa.not_valid_after_utc.replace(microsecond=0)
    assert "ngắn hạn" in info.limiting_subject


def test_refresh_extends_and_validates(archive_node: ArchiveNode) -> None:
    svc = archive_node.svc
    items = {(i.kind, i.id): i for i in inventory(svc)}
    doc = items[("document", archive_node.doc_id)]
    assert doc.level == "B-LT" and doc.sha256 == archive_node.signed_sha
    assert doc.days_left is not None and SHORT_DAYS - 2 <= doc.days_left <= SHORT_DAYS
    assert items[("incoming", archive_node.incoming_id)].days_left == doc.days_left

    # nothing within 5 days: no-op; dry run within 90 days: lists both, changes nothing
    assert refresh(svc, before_days=5) == []
    planned = refresh(svc, dry_run=True)
    assert {(r.kind, r.id) for r in planned} == {("document", archive_node.doc_id),
                                                 ("incoming", archive_node.incoming_id)}
    assert all(r.sha256 == "" for r in planned)
    with svc.db.reading() as s:
        assert s.get(Document, archive_node.doc_id).issued_sha256 == archive_node.signed_sha
        assert s.execute(select(ArchiveVersion)).first() is None

    done = refresh(svc)
    assert len(done) == 2 and all(r.error == "" for r in done)
    by_kind = {r.kind: r for r in done}
    new_sha = by_kind["document"].sha256
    assert new_sha and new_sha != archive_node.signed_sha
    old_bytes = svc.blobs.get_bytes(archive_node.signed_sha)  # the old version is kept
    new_bytes = svc.blobs.get_bytes(new_sha)
    assert new_bytes.startswith(old_bytes)  # an incremental update: the signed bytes are untouched

    info = ltv_info(new_bytes, _ca_certs(svc))
    assert info.level == "B-LTA" and info.document_timestamps == 1
    assert info.verifiable_until == node_tsa_until(svc)
    assert node_tsa_until(svc) == min(c.not_valid_after_utc for c in (svc.tsa.cert, *svc.ca.chain_for("gov-int")))
    assert info.verifiable_until > archive_node.short_tsa.not_valid_after_utc + timedelta(days=365)

    report = validate_pdf(new_bytes, ValidationPolicy(trust_anchors=svc.ca.anchors(), offline=True))
    assert report.indication == TOTAL_PASSED, report.to_json(indent=1)
    sig = next(s for s in report.signatures if s.kind == "signature")
    ts = next(s for s in report.signatures if s.kind == "document_timestamp")
    assert sig.modifications == "LTA_UPDATES"
    assert ts.indication == TOTAL_PASSED

    with svc.db.reading() as s:
        assert s.get(Document, archive_node.doc_id).issued_sha256 == new_sha
        versions = s.execute(select(ArchiveVersion).order_by(ArchiveVersion.id)).scalars().all()
        assert [(v.kind, v.previous_sha256, v.current_sha256) for v in versions] == [
            ("document", archive_node.signed_sha, new_sha), ("incoming", archive_node.signed_sha, new_sha)]
        entries = s.execute(select(LedgerEntry).where(LedgerEntry.action == "archive_timestamp")).scalars().all()
        assert sorted(e.object_type for e in entries) == ["document", "incoming"]
        assert all(e.object_sha256 == new_sha for e in entries)
    from docexchange.exchange.models import IncomingDocument

    with svc.db.reading() as s:
        inc = s.get(IncomingDocument, archive_node.incoming_id)
        assert inc.main_pdf_sha256 == new_sha and new_sha in inc.files

    assert history(svc, "document", archive_node.doc_id) == [archive_node.signed_sha, new_sha]

    # second run: nothing near expiry any more
    assert refresh(svc) == []
    after = {(i.kind, i.id): i for i in inventory(svc)}
    assert after[("document", archive_node.doc_id)].level == "B-LTA"
    assert after[("document", archive_node.doc_id)].versions == 1
    assert after[("document", archive_node.doc_id)].days_left > 1000
    with svc.db.reading() as s:  # each blob parsed once, then served from the cache
        cached = {r.sha256: r.level for r in s.execute(select(PdfLtvCache)).scalars()}
    assert cached == {archive_node.signed_sha: "B-LT", new_sha: "B-LTA"}


def test_refresh_of_b_lta_chains_a_newer_timestamp(archive_node: ArchiveNode, tmp_path: Path) -> None:
    """A B-LTA file whose archive time-stamp comes from a short-lived TSA gets a second, longer one."""
    svc = archive_node.svc
    tsa, tsa_cert = short_lived_tsa(svc, 20)
    base = sign_b_lt(svc, tsa, tsa_cert, make_pdf(text="Quyết định số 13/QĐ-BNV"), tmp_path)
    lta = add_archive_timestamp(base, timestamper=InProcessTimeStamper(tsa), tsa_cert=asn1_cert(tsa_cert),
                                trust_roots=[asn1_cert(c) for c in svc.ca.anchors()], other_certs=_ca_certs(svc),
                                revinfo=_NodeRevInfo(svc))
    first = ltv_info(lta, _ca_certs(svc))
    assert first.level == "B-LTA" and first.verifiable_until == tsa_cert.not_valid_after_utc.replace(microsecond=0)
    sha = svc.blobs.put_bytes(lta)
    with svc.db.transaction() as s:
        d = s.get(Document, archive_node.doc_id)
        doc = Document(public_id=str(uuid.uuid4()), agency_id=d.agency_id, status="issued", type_abbr="QĐ",
                       type_name="Quyết định", subject="B-LTA ngắn hạn", original_sha256=sha, draft_sha256=sha,
                       issued_sha256=sha, created_by=d.created_by)
        s.add(doc)
        s.flush()
        doc_id = doc.id
    done = [r for r in refresh(svc) if r.kind == "document"]
    assert [(r.id, r.error) for r in done] == [(doc_id, "")]
    data = svc.blobs.get_bytes(done[0].sha256)
    info = ltv_info(data, _ca_certs(svc))
    assert info.document_timestamps == 2 and info.verifiable_until == node_tsa_until(svc)
    report = validate_pdf(data, ValidationPolicy(trust_anchors=svc.ca.anchors(), offline=True))
    assert report.indication == TOTAL_PASSED, report.to_json(indent=1)
    assert [s.kind for s in report.signatures].count("document_timestamp") == 2
    assert next(s for s in report.signatures if s.kind == "signature").modifications == "LTA_UPDATES"


def test_refresh_refuses_when_the_node_tsa_would_not_extend(archive_node: ArchiveNode) -> None:
    """Near the node TSA's own expiry, a new time-stamp by it gains nothing: reported, nothing changes."""
    svc = archive_node.svc
    later = node_tsa_until(svc) - timedelta(days=30)
    with svc.db.reading() as s:
        before = s.get(Document, archive_node.doc_id).issued_sha256
        n_versions = len(s.execute(select(ArchiveVersion)).all())
    done = refresh(svc, now=later)
    assert done and all("renew the TSA certificate" in r.error and "gia hạn" in r.error for r in done)
    with svc.db.reading() as s:
        assert s.get(Document, archive_node.doc_id).issued_sha256 == before
        assert len(s.execute(select(ArchiveVersion)).all()) == n_versions
