"""Fixtures for the signing engine tests: the live node's PKI (TSA, OCSP, CRL over HTTP), demo keys and images."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import DocumentSecurityStore, validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from docexchange.signing import KeyHandle, KeyResolver, SigningEngine, http_timestamper
from tests.conftest import LiveNode
from tests.signing.pdfgen import decree30_pdf

BNV_CODE = "000.00.00.G09"
HEAD_NAME = "Nguyễn Văn Thắng"


@dataclass
class SigningEnv:
    node: LiveNode
    engine: SigningEngine
    resolver: KeyResolver
    roots: list[x509.Certificate]
    person: KeyHandle
    seal: KeyHandle
    signature_png: bytes
    seal_png: bytes
    doc: Path

    @property
    def pin(self) -> str:
        return self.node.demo_pin


@pytest.fixture(scope="session")
def signing_env(live_node: LiveNode, tmp_path_factory: pytest.TempPathFactory) -> SigningEnv:
    svc: Any = live_node.services
    roots = [x509.load_pem_x509_certificate(p.read_bytes()) for p in live_node.anchors]
    resolver = KeyResolver(certs_dir=live_node.certs_dir, db=svc.db)
    engine = SigningEngine(timestamper=http_timestamper(f"{live_node.url}/pki/tsa"), trust_roots=roots,
                           image_loader=svc.blobs.get_bytes)
    person = resolver.resolve("officer:bnv.lanhdao", live_node.demo_pin)
    seal = resolver.resolve(f"agency:{BNV_CODE}", live_node.demo_pin)
    sig_png = svc.blobs.get_bytes(person.owner["image_sha256"])
    seal_png = svc.blobs.get_bytes(seal.owner["image_sha256"])
    d = tmp_path_factory.mktemp("signing-docs")
    doc = decree30_pdf(d / "qd.pdf", signer=HEAD_NAME, position="BỘ TRƯỞNG", authority="")
    return SigningEnv(live_node, engine, resolver, roots, person, seal, sig_png, seal_png, doc)


def asn1_roots(roots: list[x509.Certificate]) -> list[ax509.Certificate]:
    return [ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in roots]


ACCEPTABLE = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)


def pyhanko_check(path: Path, roots: list[x509.Certificate], *, dss_only: bool = False) -> list[dict[str, Any]]:
    """Validate every signature with pyhanko; assert intact/valid/trusted/acceptable; return a summary per sig."""
    out = []
    with open(path, "rb") as fh:
        reader = PdfFileReader(fh)
        if dss_only:
            vc = DocumentSecurityStore.read_dss(reader).as_validation_context(
                {"trust_roots": asn1_roots(roots), "allow_fetching": False, "revocation_mode": "require"})
        else:
            vc = ValidationContext(trust_roots=asn1_roots(roots), allow_fetching=True, revocation_mode="hard-fail")
        sigs = reader.embedded_signatures
        assert sigs, "no signatures"
        for s in sigs:
            if s.sig_object.get("/Type") == "/DocTimeStamp":
                ts = validate_pdf_timestamp(s, validation_context=vc)
                assert ts.intact and ts.valid and ts.trusted, ts.summary()
                out.append({"field": s.field_name, "kind": "doc_timestamp"})
                continue
            st = validate_pdf_signature(s, signer_validation_context=vc)
            assert st.intact and st.valid and st.trusted, (s.field_name, st.summary())
            assert st.bottom_line, (s.field_name, st.summary())
            assert st.modification_level in ACCEPTABLE, (s.field_name, st.modification_level)
            out.append({"field": s.field_name, "kind": "signature", "modification_level": st.modification_level,
                        "timestamp": st.timestamp_validity is not None, "summary": st.summary(),
                        "docmdp_ok": st.docmdp_ok, "reason": s.sig_object.get("/Reason")})
    return out


def pdfsig_blocks(output: str) -> list[str]:
    """Split pdfsig output into one block per signature."""
    parts = output.split("Signature #")[1:]
    return ["Signature #" + p for p in parts]

