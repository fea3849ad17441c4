"""Inventory and archive re-time-stamping against a short-lived TSA certificate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from docexchange.archive.ltv import ltv_info
from docexchange.archive.models import ArchiveVersion, PdfLtvCache
from docexchange.archive.service import history, inventory, refresh
from docexchange.documents.models import Document
from docexchange.models import LedgerEntry
from docexchange.signing.validation import TOTAL_PASSED, ValidationPolicy, validate_pdf

from .conftest import SHORT_DAYS, ArchiveNode


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

    info = ltv_info(new_bytes)
    assert info.level == "B-LTA" and info.document_timestamps == 1
    assert info.verifiable_until == svc.tsa.cert.not_valid_after_utc.replace(microsecond=0)
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


def test_refresh_of_b_lta_chains_a_newer_timestamp(archive_node: ArchiveNode) -> None:
    """Far in the future the node's TSA itself is near expiry: the job adds a second archive time-stamp."""
    svc = archive_node.svc
    later = datetime.now(UTC) + timedelta(days=1825 - 30)
    with svc.db.reading() as s:
        before = s.get(Document, archive_node.doc_id).issued_sha256
    done = [r for r in refresh(svc, now=later) if r.kind == "document"]
    assert len(done) == 1 and done[0].error == ""
    data = svc.blobs.get_bytes(done[0].sha256)
    info = ltv_info(data)
    assert info.document_timestamps == 2 and done[0].previous_sha256 == before
    report = validate_pdf(data, ValidationPolicy(trust_anchors=svc.ca.anchors(), offline=True))
    assert report.indication == TOTAL_PASSED, report.to_json(indent=1)
    assert [s.kind for s in report.signatures].count("document_timestamp") == 2
