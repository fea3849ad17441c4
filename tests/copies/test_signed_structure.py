"""The certified-copy PDF takes the two incremental signatures the workflow asks for, and an independent
verifier (poppler pdfsig, live OCSP from the node) finds both valid and covering the whole statement page and
the attestation. Until the signing engine is bound, ``BarePyhankoForTest`` signs (plain pyhanko B-B, invisible,
the demo keys) — this checks our PDF structure, not the engine's profiles or levels."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pikepdf
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigFieldSpec
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from sqlalchemy import select

from docexchange.auth import principal_for_user
from docexchange.copies import service
from docexchange.copies.engine import deps_for
from docexchange.models import User
from tests.conftest import pdfsig

from .conftest import REQUEST, jpeg


class BarePyhankoForTest:
    def __init__(self, certs: Path, pin: str) -> None:
        self.certs, self.pin = certs, pin.encode()

    def _sign(self, src: Path, dst: Path, key_ref: str, field: str, page: int, box: Any) -> None:
        signer = signers.SimpleSigner.load_pkcs12(str(self.certs / key_ref), passphrase=self.pin)
        assert signer is not None
        out = io.BytesIO()
        PdfSigner(PdfSignatureMetadata(field_name=field), signer=signer,
                  new_field_spec=SigFieldSpec(field, on_page=page - 1, box=tuple(int(v) for v in box))
                  ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(src.read_bytes())), output=out)
        dst.write_bytes(out.getvalue())

    def person(self, src: Path, dst: Path, *, user: Any, pin: str, page: int, box: Any) -> None:
        self._sign(src, dst, user.key_ref, "NguoiChungThuc", page, box)

    def seal(self, src: Path, dst: Path, *, agency: Any, pin: str, page: int, box: Any) -> None:
        self._sign(src, dst, agency.seal_key_ref, "ConDau", page, box)

    def copy(self, src: Path, dst: Path, **_: Any) -> None:  # pragma: no cover - not used here
        raise NotImplementedError


def test_two_signatures_cover_the_copy_and_pdfsig_accepts_them(live_node, nss_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    svc = live_node.services
    deps = deps_for(svc)
    deps.signing = BarePyhankoForTest(live_node.certs_dir, live_node.demo_pin)
    with svc.db.transaction() as s:
        user = s.execute(select(User).where(User.username == "nghiphu.chungthuc")).scalar_one()
        p = principal_for_user(s, user, "certifier")
    row = service.certify(svc.db, deps, p, service.CopyRequest(**REQUEST),  # type: ignore[arg-type]
                          [service.Upload("a.jpg", io.BytesIO(jpeg()))], pin="", seal_pin="")
    out = tmp_path / "copy.pdf"
    out.write_bytes(svc.blobs.get_bytes(row.pdf_sha256))
    report = pdfsig(nss_db, out)
    assert report.count("Signature is Valid") == 2, report
    assert report.count("Certificate is Trusted") == 2, report
    assert "Hoàng Thị Mỹ Linh" in report and "Ủy ban nhân dân xã Nghi Phú" in report
    # the second signature covers the whole file; the first covers everything but the second's revision,
    # in which the attestation was already present
    assert "Total document signed" in report
    with pikepdf.open(out) as pdf:
        assert "attestation.json" in pdf.attachments and len(pdf.pages) == 2
