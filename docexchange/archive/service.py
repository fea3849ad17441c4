"""Inventory of stored signed PDFs and the refresh job that re-time-stamps them before they stop being
verifiable. Works on the node's ``Services`` (database, blob store, dev CA/TSA); no Flask."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..blobstore import BlobNotFound
from ..copies.models import AgencyCopy, CertifiedCopy
from ..documents.models import Document
from ..errors import BadInput
from ..exchange.models import IncomingDocument
from ..models import Agency
from ..pki.ca import ALL_CAS
from ..pki.responders import build_crl, build_ocsp_response
from ..services import Services
from ..signing import InProcessTimeStamper
from .ltv import LtvInfo, add_archive_timestamp, ltv_info
from .models import ArchiveVersion, PdfLtvCache

KINDS = ("document", "incoming", "certified_copy", "agency_copy")
DEFAULT_BEFORE_DAYS = 90


@dataclass
class InventoryItem:
    kind: str
    id: int
    public_id: str
    agency_code: str
    sha256: str
    level: str
    verifiable_until: datetime | None
    days_left: int | None
    limiting_certificate: str
    versions: int  # archive refreshes so far
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verifiable_until"] = self.verifiable_until.isoformat() if self.verifiable_until else None
        return d


@dataclass
class RefreshOutcome:
    kind: str
    id: int
    previous_sha256: str
    sha256: str  # new version ("" when dry run or failed)
    previous_verifiable_until: datetime | None
    verifiable_until: datetime | None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("previous_verifiable_until", "verifiable_until"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def _records(s: Session, agency_id: int | None) -> Iterator[tuple[str, Any, str]]:
    """(kind, row, current sha256) for every stored signed PDF."""
    queries: list[tuple[str, Any, Any]] = [
        ("document", Document, Document.issued_sha256),
        ("incoming", IncomingDocument, IncomingDocument.main_pdf_sha256),
        ("certified_copy", CertifiedCopy, CertifiedCopy.pdf_sha256),
        ("agency_copy", AgencyCopy, AgencyCopy.pdf_sha256),
    ]
    for kind, model, col in queries:
        stmt = select(model).where(col.is_not(None)).order_by(model.id)
        if kind == "certified_copy":
            stmt = stmt.where(CertifiedCopy.status == "certified")
        if agency_id is not None:
            stmt = stmt.where(model.agency_id == agency_id)
        for row in s.execute(stmt).scalars():
            yield kind, row, str(getattr(row, _sha_attr(kind)))


def _sha_attr(kind: str) -> str:
    return {"document": "issued_sha256", "incoming": "main_pdf_sha256"}.get(kind, "pdf_sha256")


@dataclass(frozen=True)
class _Summary:
    level: str
    verifiable_until: datetime | None
    limiting_subject: str


def _summaries(svc: Services, shas: set[str]) -> tuple[dict[str, _Summary], dict[str, str]]:
    """Cached per blob (``archive_pdf_info``); unknown blobs are parsed once and cached. Returns (summaries,
    errors by sha256)."""
    out: dict[str, _Summary] = {}
    errors: dict[str, str] = {}
    with svc.db.reading() as s:
        for row in s.execute(select(PdfLtvCache).where(PdfLtvCache.sha256.in_(shas))).scalars() if shas else ():
            out[row.sha256] = _Summary(row.level, row.verifiable_until, row.limiting_subject)
    fresh: list[PdfLtvCache] = []
    ca_certs = _ca_certs(svc)
    for sha in sorted(shas - out.keys()):
        try:
            with svc.blobs.open(sha) as fh:
                info = ltv_info(fh, ca_certs)
        except (BlobNotFound, BadInput) as exc:
            errors[sha] = f"{type(exc).__name__}: {exc}"
            continue
        out[sha] = _Summary(info.level, info.verifiable_until, info.limiting_subject)
        fresh.append(PdfLtvCache(sha256=sha, level=info.level, verifiable_until=info.verifiable_until,
                                 limiting_subject=info.limiting_subject[:500], signatures=info.signatures,
                                 document_timestamps=info.document_timestamps))
    if fresh:
        with svc.db.transaction() as s:
            known = set(s.execute(select(PdfLtvCache.sha256).where(
                PdfLtvCache.sha256.in_([f.sha256 for f in fresh]))).scalars())
            s.add_all([f for f in fresh if f.sha256 not in known])
    return out, errors


def inventory(svc: Services, *, agency_id: int | None = None, now: datetime | None = None) -> list[InventoryItem]:
    """Every stored signed PDF with its level and "verifiable until" date, soonest first."""
    now = now or datetime.now(UTC)
    with svc.db.reading() as s:
        codes = {a: c for a, c in s.execute(select(Agency.id, Agency.code))}
        counts: dict[tuple[str, int], int] = {}
        for kind, rid in s.execute(select(ArchiveVersion.kind, ArchiveVersion.record_id)):
            counts[(kind, rid)] = counts.get((kind, rid), 0) + 1
        rows = [(kind, row.id, row.public_id, row.agency_id, sha) for kind, row, sha in _records(s, agency_id)]
    summaries, errors = _summaries(svc, {r[4] for r in rows})
    items: list[InventoryItem] = []
    for kind, rid, public_id, aid, sha in rows:
        item = InventoryItem(kind, rid, public_id, codes.get(aid, ""), sha, "unknown", None, None, "",
                             counts.get((kind, rid), 0), errors.get(sha, ""))
        info = summaries.get(sha)
        if info is not None:
            item.level = info.level
            item.verifiable_until = info.verifiable_until
            item.limiting_certificate = info.limiting_subject
            if info.verifiable_until is not None:
                item.days_left = (info.verifiable_until - now).days
        items.append(item)
    far = datetime.max.replace(tzinfo=UTC)
    items.sort(key=lambda i: (i.verifiable_until or far, i.kind, i.id))
    return items


def history(svc: Services, kind: str, record_id: int) -> list[str]:
    """Every SHA-256 the record has had, oldest first (the first is the file as signed): lets a holder of an
    earlier copy match it to the record."""
    with svc.db.reading() as s:
        rows = s.execute(select(ArchiveVersion).where(ArchiveVersion.kind == kind,
                                                      ArchiveVersion.record_id == record_id)
                         .order_by(ArchiveVersion.id)).scalars().all()
        return [rows[0].previous_sha256] + [r.current_sha256 for r in rows] if rows else []


class _NodeRevInfo:
    """OCSP answers and CRLs for certificates the node's dev CA issued, produced in-process."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.cas = {svc.ca.cert(n).subject: svc.ca.cert(n) for n in ALL_CAS}

    def __call__(self, certs: Iterable[ax509.Certificate]) -> tuple[list[bytes], list[bytes]]:
        ocsps: list[bytes] = []
        with self.svc.db.reading() as s:
            for c in certs:
                cert = x509.load_der_x509_certificate(c.dump())
                issuer = self.cas.get(cert.issuer)
                if issuer is None or cert.subject == cert.issuer or cert.subject in self.cas:
                    continue
                req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
                ocsps.append(build_ocsp_response(s, self.svc.ca, req.public_bytes(serialization.Encoding.DER)))
            crls = [build_crl(s, self.svc.ca, name) for name in ALL_CAS]
        return ocsps, crls


def _asn1(cert: x509.Certificate) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _ca_certs(svc: Services) -> list[ax509.Certificate]:
    return [_asn1(svc.ca.cert(n)) for n in ALL_CAS]


def node_tsa_until(svc: Services) -> datetime:
    """What a new archive time-stamp by the node's TSA is worth: the earliest expiry along its chain."""
    ca = {c.subject: c for c in (svc.ca.cert(n) for n in ALL_CAS)}
    until = svc.tsa.cert.not_valid_after_utc
    cur = svc.tsa.cert
    while cur.issuer in ca and cur.issuer != cur.subject:
        cur = ca[cur.issuer]
        until = min(until, cur.not_valid_after_utc)
    return until.replace(microsecond=0)


def retimestamp(svc: Services, sha256: str) -> tuple[str, LtvInfo]:
    """The blob ``sha256`` plus DSS and a new document time-stamp by the node's TSA, stored as a new blob:
    (new sha256, its LtvInfo). Streams through a temporary file; memory stays flat for large files."""
    roots = [_asn1(c) for c in svc.ca.anchors()]
    others = _ca_certs(svc)
    with svc.blobs.open(sha256) as src, tempfile.TemporaryFile(dir=svc.blobs.root / "tmp") as out:
        add_archive_timestamp(src, timestamper=InProcessTimeStamper(svc.tsa), tsa_cert=_asn1(svc.tsa.cert),
                              trust_roots=roots, other_certs=others, revinfo=_NodeRevInfo(svc), output=out)
        out.seek(0)
        info = ltv_info(out, others)
        out.seek(0)
        new_sha, _ = svc.blobs.put_stream(out)
    return new_sha, info


def refresh(svc: Services, *, before_days: int = DEFAULT_BEFORE_DAYS, dry_run: bool = False,
            now: datetime | None = None, actor: str = "system:archive") -> list[RefreshOutcome]:
    """Re-time-stamp every stored PDF whose verifiable-until date falls within ``before_days``. Each refresh
    stores a new blob and, in one transaction, points the record at it, records the old hash and appends an
    ``archive_timestamp`` ledger entry. A record changed meanwhile is left alone (reported, not overwritten)."""
    if before_days < 0:
        raise BadInput("--before-days must not be negative", "--before-days không được âm", code="bad_days")
    now = now or datetime.now(UTC)
    horizon = now + timedelta(days=before_days)
    out: list[RefreshOutcome] = []
    made: dict[str, tuple[str, LtvInfo]] = {}  # records sharing one blob share its new version
    node_until = node_tsa_until(svc)
    for item in inventory(svc, now=now):
        if item.error or item.verifiable_until is None or item.verifiable_until > horizon:
            continue
        res = RefreshOutcome(item.kind, item.id, item.sha256, "", item.verifiable_until, None)
        out.append(res)
        if node_until <= item.verifiable_until:
            res.error = (f"the node's TSA certificate chain expires {node_until:%Y-%m-%d}, no later than the file's "
                         f"proof: renew the TSA certificate / chứng thư TSA của nút hết hạn "
                         f"{node_until:%Y-%m-%d}, không muộn hơn hạn của tệp: cần gia hạn chứng thư TSA")
            continue
        if dry_run:
            continue
        if item.sha256 not in made:
            try:
                made[item.sha256] = retimestamp(svc, item.sha256)
            except Exception as exc:  # noqa: BLE001 - one broken file must not stop the job; it is reported
                res.error = f"{type(exc).__name__}: {exc}"
                continue
        new_sha, new_info = made[item.sha256]
        with svc.db.transaction() as s:
            model: Any = {"document": Document, "incoming": IncomingDocument, "certified_copy": CertifiedCopy,
                     "agency_copy": AgencyCopy}[item.kind]
            row: Any = s.get(model, item.id, with_for_update=True)
            attr = _sha_attr(item.kind)
            if row is None or getattr(row, attr) != item.sha256:
                res.error = "changed meanwhile"
                continue
            setattr(row, attr, new_sha)
            if item.kind == "incoming":
                files = json.loads(row.files or "[]")
                for f in files:
                    if f.get("sha256") == item.sha256:
                        f["sha256"] = new_sha
                row.files = json.dumps(files, ensure_ascii=False)
            s.add(ArchiveVersion(kind=item.kind, record_id=item.id, agency_id=row.agency_id,
                                 previous_sha256=item.sha256, current_sha256=new_sha,
                                 previous_verifiable_until=item.verifiable_until,
                                 verifiable_until=new_info.verifiable_until, refreshed_at=now))
            svc.ledger.append(s, actor=actor, action="archive_timestamp", object_type=item.kind,
                              object_id=str(item.public_id), agency_code=item.agency_code, object_sha256=new_sha,
                              details={"previous_sha256": item.sha256, "level": new_info.level,
                                       "verifiable_until": new_info.verifiable_until.isoformat()
                                       if new_info.verifiable_until else None})
        res.sha256 = new_sha
        res.verifiable_until = new_info.verifiable_until
    return out
