"""Benchmark ``copies.certify_vs_baseline`` (interfaces.md): certify a 10-page A4 200 dpi colour JPEG scan end to
end through the node's real certification path (``service.certify`` with ``deps_for(svc)``: scan checks, lossless
PDF, QR strip on every page, statement page, attestation, PDF/A-3b, the certifier's visible B-LT signature and the
agency's visible B-LT seal from the node's one signing engine, book number, ledger entry, blobs) ÷ (img2pdf of the
same pages + two bare pyhanko signatures), medians of the same run.

The baseline's bare signatures are B-B (no time-stamp, no revision data); ours are B-LT (an RFC 3161 time-stamp
each, OCSP + CRLs embedded in a DSS revision each). The line also carries a same-level comparison
(``same_level_*``): the baseline with two stock pyhanko B-LT signatures (same keys, the same in-process TSA,
the same OCSP responses and CRLs, validation info embedded), so our own overhead can be read apart from the
level's cost."""

from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _pages(n: int) -> list[bytes]:
    from PIL import Image, ImageDraw

    out = []
    for i in range(n):
        im = Image.effect_noise((1654, 2339), 6).convert("RGB")
        d = ImageDraw.Draw(im)
        for k in range(30):
            d.line((150, 200 + k * 60 + i, 1500, 200 + k * 60), fill=(25, 25, 25), width=4)
        d.ellipse((1150, 1850, 1500, 2200), outline=(210, 20, 20), width=14)
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=85, dpi=(200, 200))
        out.append(buf.getvalue())
    return out


def _node(tmp: Path) -> Any:
    """A demo node (SQLite, dev PKI, demo agencies and keys), as ``docexchange init --demo`` makes it."""
    from docexchange.config import Settings
    from docexchange.seed import init_node
    from docexchange.services import Services

    settings = Settings.from_env(instance_dir=tmp / "instance", database_url=f"sqlite:///{tmp / 'bench.db'}",
                                 blob_dir=tmp / "blobs", certs_dir=tmp / "certs", public_url="http://127.0.0.1:9",
                                 secret_key="bench")
    svc = Services(settings)
    init_node(svc, demo=True)
    return svc


class _Baseline:
    """img2pdf + two pyhanko signatures with the demo keys (loaded once): bare B-B, or stock B-LT."""

    def __init__(self, svc: Any, person_ref: str, seal_ref: str) -> None:
        from pyhanko.sign import signers

        from docexchange.node_signing import node_signing

        pin = svc.secrets["demo_pin"].encode()
        self.signers = [signers.SimpleSigner.load_pkcs12(str(svc.settings.certs_dir / ref), passphrase=pin)
                        for ref in (person_ref, seal_ref)]
        self.svc = svc
        from asn1crypto import x509 as ax
        from cryptography.hazmat.primitives.serialization import Encoding

        self.roots = [ax.Certificate.load(c.public_bytes(Encoding.DER)) for c in svc.ca.anchors()]
        ns = node_signing(svc)
        self.revinfo = [ns._local_revinfo(ns.key(ref, pin.decode())) for ref in (person_ref, seal_ref)]

    def run(self, pages: list[bytes], level: str) -> bytes:
        import img2pdf
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
        from pyhanko_certvalidator import ValidationContext

        from docexchange.signing import InProcessTimeStamper

        data = img2pdf.convert(pages)
        assert data is not None
        for i, (signer, field) in enumerate(zip(self.signers, ("Certifier", "Seal"), strict=True)):
            out = io.BytesIO()
            if level == "B-B":
                PdfSigner(PdfSignatureMetadata(field_name=field), signer=signer).sign_pdf(
                    IncrementalPdfFileWriter(io.BytesIO(data)), output=out)
            else:
                ocsps, crls = self.revinfo[i]
                from asn1crypto import crl as acrl
                from asn1crypto import ocsp as aocsp

                vc = ValidationContext(trust_roots=self.roots, allow_fetching=False,
                                       ocsps=[aocsp.OCSPResponse.load(o) for o in ocsps],
                                       crls=[acrl.CertificateList.load(c) for c in crls])
                PdfSigner(PdfSignatureMetadata(field_name=field, embed_validation_info=True, validation_context=vc,
                                               subfilter=None, use_pades_lta=False),
                          signer=signer, timestamper=InProcessTimeStamper(self.svc.tsa)).sign_pdf(
                    IncrementalPdfFileWriter(io.BytesIO(data)), output=out)
            data = out.getvalue()
        return data


def run(quick: bool = False) -> list[dict[str, Any]]:
    import logging

    from sqlalchemy import select

    from docexchange.auth import principal_for_user
    from docexchange.copies import service
    from docexchange.copies.engine import deps_for
    from docexchange.models import Agency, User

    logging.getLogger("pyhanko").setLevel(logging.ERROR)  # "fetching is not allowed": we supply revinfo
    reps = 5 if quick else 15
    pages = _pages(10)
    ours: list[float] = []
    base: list[float] = []
    same: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        svc = _node(Path(tmp))
        deps = deps_for(svc)
        pin = svc.secrets["demo_pin"]
        with svc.db.transaction() as s:
            user = s.execute(select(User).where(User.username == "nghiphu.chungthuc")).scalar_one()
            agency = s.get(Agency, user.agency_id)
            assert agency is not None and user.key_ref and agency.seal_key_ref
            p = principal_for_user(s, user, "certifier")
            baseline = _Baseline(svc, user.key_ref, agency.seal_key_ref)
        req = dict(requester_name="Nguyễn Thị Hoa", requester_id_number="040190001234",
                   original_type="Học bạ", original_issuer="Trường THPT Nghi Lộc", page_count=10)

        def certify() -> None:
            service.certify(svc.db, deps, p, service.CopyRequest(**req),  # type: ignore[arg-type]
                            [service.Upload(f"{i}.jpg", io.BytesIO(b)) for i, b in enumerate(pages)],
                            pin=pin, seal_pin=pin)

        baseline.run(pages, "B-B")
        baseline.run(pages, "B-LT")
        certify()  # warm-up: imports, font subset cache, parsed keys, appearances
        for _ in range(reps):
            t0 = time.perf_counter()
            baseline.run(pages, "B-B")
            t1 = time.perf_counter()
            certify()
            t2 = time.perf_counter()
            baseline.run(pages, "B-LT")
            t3 = time.perf_counter()
            base.append(t1 - t0)
            ours.append(t2 - t1)
            same.append(t3 - t2)
        svc.db.dispose()
    mo, mb, ms = statistics.median(ours), statistics.median(base), statistics.median(same)
    return [{"name": "copies.certify_vs_baseline", "unit": "ratio", "value": round(mo / mb, 3),
             "baseline": "img2pdf + two bare pyhanko signatures (B-B, invisible, keys loaded once), same 10 pages, "
                         "same run",
             "target": 2.0, "better": "lower", "engine": "NodeSigning B-LT (visible person + seal)",
             "ours_ms": round(mo * 1000, 1), "baseline_ms": round(mb * 1000, 1),
             "same_level_value": round(mo / ms, 3), "same_level_baseline_ms": round(ms * 1000, 1),
             "same_level_baseline": "img2pdf + two stock pyhanko B-LT signatures (in-process TSA, same OCSP/CRLs "
                                    "embedded)",
             "reps": reps, "scan_bytes": sum(len(x) for x in pages)}]


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(json.dumps(line, ensure_ascii=False))
