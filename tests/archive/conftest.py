"""A node with one issued document signed under a short-lived TSA certificate (expires in 10 days)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from docexchange.archive.service import _NodeRevInfo
from docexchange.documents.models import Document
from docexchange.exchange.models import IncomingDocument
from docexchange.models import Agency, User
from docexchange.node_signing import NodeSigning
from docexchange.pki.responders import TimeStampAuthority
from docexchange.signing import InProcessTimeStamper, SigningEngine, SignOptions
from tests.conftest import make_settings
from tests.validation.helpers import make_pdf

BNV = "000.00.00.G09"
SHORT_DAYS = 10


@dataclass
class ArchiveNode:
    svc: Any
    short_tsa: x509.Certificate
    doc_id: int
    incoming_id: int
    signed_sha: str


def short_lived_tsa(svc: Any, days: int) -> tuple[TimeStampAuthority, x509.Certificate]:
    """A TSA like the node's but with a certificate that expires in ``days`` days."""
    with svc.db.transaction() as s:
        ident = svc.ca.issue(s, kind="tsa", issuer="gov-int", common_name="TSA ngắn hạn (thử nghiệm)",
                             organization="docexchange test TSA",
                             not_after=datetime.now(UTC) + timedelta(days=days))
    tsa = TimeStampAuthority.__new__(TimeStampAuthority)
    tsa.cert, tsa.key = ident.cert, ident.key
    tsa.chain = [ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in ident.chain]
    tsa._cert_asn1 = ax509.Certificate.load(ident.cert.public_bytes(serialization.Encoding.DER))
    tsa._cert_hash = hashlib.sha256(tsa._cert_asn1.dump()).digest()
    return tsa, ident.cert


def sign_b_lt(svc: Any, tsa: TimeStampAuthority, tsa_cert: x509.Certificate, pdf: bytes, tmp: Path) -> bytes:
    """A B-LT seal signature whose signature time-stamp comes from ``tsa`` (revocation data embedded)."""
    ns = NodeSigning(svc)
    engine = SigningEngine(timestamper=InProcessTimeStamper(tsa), trust_roots=svc.ca.anchors(),
                           ocsp_fetch=ns._ocsp, crl_fetch=ns._crl)
    with svc.db.reading() as s:
        agency = s.execute(select(Agency).where(Agency.code == BNV)).scalar_one()
        key_ref = agency.seal_key_ref
    key = ns.key(key_ref, svc.secrets["demo_pin"])
    asn = [ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in (key.certificate, tsa_cert)]
    ocsps, crls = _NodeRevInfo(svc)(asn)
    src, dst = tmp / "in.pdf", tmp / "out.pdf"
    src.write_bytes(pdf)
    engine.sign(src, dst, key, "attachment", "B-LT",
                SignOptions(text="12/QĐ-BNV", ocsp_responses=tuple(ocsps), crls=tuple(crls)))
    return dst.read_bytes()


@pytest.fixture(scope="module")
def archive_node(tmp_path_factory: pytest.TempPathFactory) -> ArchiveNode:
    from docexchange.seed import init_node
    from docexchange.services import Services

    base = tmp_path_factory.mktemp("archive")
    svc = Services(make_settings(base / "instance", "http://127.0.0.1:9"))
    init_node(svc, demo=True)
    tsa, tsa_cert = short_lived_tsa(svc, SHORT_DAYS)
    signed = sign_b_lt(svc, tsa, tsa_cert, make_pdf(text="Quyết định số 12/QĐ-BNV"), base)
    sha = svc.blobs.put_bytes(signed)
    with svc.db.transaction() as s:
        agency = s.execute(select(Agency).where(Agency.code == BNV)).scalar_one()
        user = s.execute(select(User).where(User.agency_id == agency.id)).scalars().first()
        assert user is not None
        doc = Document(public_id=str(uuid.uuid4()), agency_id=agency.id, status="issued", type_abbr="QĐ",
                       type_name="Quyết định", subject="Lưu trữ dài hạn", original_sha256=sha, draft_sha256=sha,
                       issued_sha256=sha, created_by=user.id, issued_at=datetime.now(UTC))
        inc = IncomingDocument(public_id=str(uuid.uuid4()), agency_id=agency.id, hub_doc_id="hub-1",
                               sender_code="000.00.00.H29", edxml_document_id="X", package_sha256=sha,
                               main_pdf_sha256=sha, files=f'[{{"name": "qd.pdf", "sha256": "{sha}"}}]')
        s.add_all([doc, inc])
        s.flush()
        ids = doc.id, inc.id
    return ArchiveNode(svc, tsa_cert, ids[0], ids[1], sha)
