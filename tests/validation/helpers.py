"""Make signed PDFs with pyHanko directly (the signing engine is a separate piece) for the validation corpus."""

from __future__ import annotations

import io
from typing import Any

from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from cryptography.hazmat.primitives import serialization
from fpdf import FPDF
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"


def make_pdf(pages: int = 1, text: str = "Công văn số 123/UBND-VP về việc thử nghiệm") -> bytes:
    pdf = FPDF(format="A4")
    pdf.add_font("S", "", FONT)
    for i in range(pages):
        pdf.add_page()
        pdf.set_font("S", "", 14)
        pdf.multi_cell(0, 8, f"{text}\nTrang {i + 1}/{pages}\n" + "Nội dung văn bản. " * 30)
    return bytes(pdf.output())


def asn1_cert(cert: Any) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def signer_for(key: Any, cert: Any, chain: list[Any]) -> signers.SimpleSigner:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return signers.SimpleSigner(signing_cert=asn1_cert(cert), signing_key=akeys.PrivateKeyInfo.load(der),
                                cert_registry=SimpleCertificateStore.from_certs([asn1_cert(c) for c in chain]))


def sign(pdf: bytes, signer: signers.SimpleSigner, *, field: str = "Sig1", tsa_url: str | None = None,
         md: str = "sha256", lt_context: ValidationContext | None = None, box: tuple[int, int, int, int] | None = None,
         lta: bool = False) -> bytes:
    meta = signers.PdfSignatureMetadata(
        field_name=field, md_algorithm=md, subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=lt_context is not None, validation_context=lt_context, use_pades_lta=lta)
    ts = timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None
    spec = fields.SigFieldSpec(field, on_page=0, box=box) if box else None
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer, timestamper=ts, new_field_spec=spec).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out)
    return out.getvalue()


def doc_timestamp(pdf: bytes, tsa_url: str) -> bytes:
    out = io.BytesIO()
    signers.PdfTimeStamper(timestamps.HTTPTimeStamper(tsa_url)).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), "sha256", output=out)
    return out.getvalue()


# ---- incremental updates after signing (pypdf appends a revision, leaving the signed bytes untouched) ----------
def _incremental(pdf: bytes, edit: Any) -> bytes:
    from pypdf import PdfWriter

    w = PdfWriter(io.BytesIO(pdf), incremental=True)
    edit(w)
    out = io.BytesIO()
    w.write(out)
    data = out.getvalue()
    assert data.startswith(pdf), "the update must be incremental"
    return data


def add_page(pdf: bytes) -> bytes:
    def edit(w: Any) -> None:
        from pypdf import PdfReader

        extra = PdfReader(io.BytesIO(make_pdf(1, "Trang giả mạo được thêm sau khi ký")))
        w.add_page(extra.pages[0])
    return _incremental(pdf, edit)


def remove_last_page(pdf: bytes) -> bytes:
    def edit(w: Any) -> None:
        w.remove_page(len(w.pages) - 1)
    return _incremental(pdf, edit)


def replace_content(pdf: bytes, page: int = 0) -> bytes:
    def edit(w: Any) -> None:
        from pypdf import PdfReader

        other = PdfReader(io.BytesIO(make_pdf(1, "Số tiền: 999.000.000 đồng (nội dung bị thay)")))
        w.pages[page].merge_page(other.pages[0])
    return _incremental(pdf, edit)


def add_overlay_annotation(pdf: bytes) -> bytes:
    def edit(w: Any) -> None:
        from pypdf.annotations import FreeText

        ann = FreeText(text="ĐÃ THANH TOÁN", rect=(60, 600, 400, 700), font_size="28pt", font_color="ff0000",
                       background_color="ffff00", border_color="000000")
        w.add_annotation(page_number=0, annotation=ann)
    return _incremental(pdf, edit)
