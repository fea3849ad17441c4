"""Benchmark ``copies.certify_vs_baseline`` (interfaces.md): certify a 10-page A4 200 dpi colour JPEG scan end to
end (scan checks, lossless PDF, QR strip on every page, statement page, attestation, PDF/A-3b, two signatures,
book number, ledger entry, blobs) ÷ (img2pdf of the same pages + two bare pyhanko signatures), same run.

Until the signing engine is bound, both sides sign with the same bare pyhanko signer (invisible, B-B), so the
figure measures this package's own overhead; the output says ``"engine": "stand-in"``."""

from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _signer() -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench signer")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
            .sign(key, hashes.SHA256()))
    with tempfile.TemporaryDirectory() as tmp:
        kp, cp = Path(tmp) / "k.pem", Path(tmp) / "c.pem"
        kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))
        cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pk, c = load_private_key_from_pemder(str(kp), None), load_cert_from_pemder(str(cp))
    return signers.SimpleSigner(signing_cert=c, signing_key=pk, cert_registry=SimpleCertificateStore.from_certs([c]))


def _sign(signer: Any, src: bytes, field: str) -> bytes:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner

    out = io.BytesIO()
    PdfSigner(PdfSignatureMetadata(field_name=field), signer=signer).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(src)), output=out)
    return out.getvalue()


class BarePyhankoSigning:
    """Stand-in for the signing engine in this benchmark: two bare invisible pyhanko signatures."""

    def __init__(self, signer: Any) -> None:
        self.signer = signer

    def person(self, src: Path, dst: Path, **_: Any) -> None:
        dst.write_bytes(_sign(self.signer, src.read_bytes(), "Certifier"))

    def seal(self, src: Path, dst: Path, **_: Any) -> None:
        dst.write_bytes(_sign(self.signer, src.read_bytes(), "Seal"))

    def copy(self, src: Path, dst: Path, **_: Any) -> None:
        dst.write_bytes(_sign(self.signer, src.read_bytes(), "Copy"))


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


def _node(tmp: Path) -> tuple[Any, Any, Any]:
    from docexchange.auth import Principal
    from docexchange.blobstore import BlobStore
    from docexchange.copies.service import Deps
    from docexchange.db import Database
    from docexchange.ledger import Ledger
    from docexchange.model_registry import metadata
    from docexchange.models import Agency, User

    db = Database(f"sqlite:///{tmp / 'bench.db'}")
    metadata.create_all(db.engine)
    with db.transaction() as s:
        s.add(Agency(id=1, code="000.21.31.H41", name="Ủy ban nhân dân xã Nghi Phú", kind="commune",
                     abbreviation="UBND", place="Nghi Phú"))
        s.add(User(id=1, agency_id=1, username="chungthuc", full_name="Hoàng Thị Mỹ Linh", position="Phó Chủ tịch",
                   roles="certifier", password_hash="x"))
    p = Principal(user_id=1, username="chungthuc", full_name="Hoàng Thị Mỹ Linh", agency_id=1,
                  agency_code="000.21.31.H41", role="certifier")
    deps = Deps(blobs=BlobStore(tmp / "blobs"), ledger=Ledger(), public_url="https://node.invalid")
    return db, deps, p


def run(quick: bool = False) -> list[dict[str, Any]]:
    import img2pdf

    from docexchange.copies import service

    reps = 5 if quick else 15
    pages = _pages(10)
    signer = _signer()
    ours: list[float] = []
    base: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        db, deps, p = _node(Path(tmp))
        deps.signing = BarePyhankoSigning(signer)
        req = dict(requester_name="Nguyễn Thị Hoa", requester_id_number="040190001234",
                   original_type="Học bạ", original_issuer="Trường THPT Nghi Lộc", page_count=10)

        def baseline() -> None:
            pdf = img2pdf.convert(pages)
            assert pdf is not None
            _sign(signer, _sign(signer, pdf, "Certifier"), "Seal")

        def certify() -> None:
            service.certify(db, deps, p, service.CopyRequest(**req),  # type: ignore[arg-type]
                            [service.Upload(f"{i}.jpg", io.BytesIO(b)) for i, b in enumerate(pages)],
                            pin="", seal_pin="")

        baseline()
        certify()  # warm-up: imports, font subset cache
        for _ in range(reps):
            t0 = time.perf_counter()
            baseline()
            t1 = time.perf_counter()
            certify()
            t2 = time.perf_counter()
            base.append(t1 - t0)
            ours.append(t2 - t1)
        db.dispose()
    mo, mb = statistics.median(ours), statistics.median(base)
    return [{"name": "copies.certify_vs_baseline", "unit": "ratio", "value": round(mo / mb, 3),
             "baseline": "img2pdf + two bare pyhanko signatures (SimpleSigner, invisible), same 10 pages, same run",
             "target": 2.0, "better": "lower", "engine": "stand-in", "ours_ms": round(mo * 1000, 1),
             "baseline_ms": round(mb * 1000, 1), "reps": reps,
             "scan_bytes": sum(len(x) for x in pages)}]


if __name__ == "__main__":
    for line in run(quick="--quick" in sys.argv):
        print(json.dumps(line, ensure_ascii=False))
