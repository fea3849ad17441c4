"""How long a signed PDF stays verifiable, and the archive time-stamp (PAdES B-LTA) that extends it.

"Verifiable until" is the earliest expiry among the certificates the long-term proof depends on: the newest
document time-stamp's TSA certificate when the file has one (B-LTA), otherwise every signer certificate and
every signature time-stamp's TSA certificate. Pure functions over bytes: no database, no Flask."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from asn1crypto import ocsp as aocsp
from asn1crypto import x509 as ax509
from asn1crypto.crl import CertificateList
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext

from ..errors import BadInput


@dataclass(frozen=True)
class LtvInfo:
    level: str  # B-B | B-T | B-LT | B-LTA | none
    verifiable_until: datetime | None  # None: no signature at all
    limiting_subject: str  # the certificate that sets the date
    signatures: int
    document_timestamps: int
    certificates: tuple[ax509.Certificate, ...]  # every signer / TSA certificate seen (for revocation data)


def _tsa_cert(signed_data: Any) -> ax509.Certificate | None:
    """The certificate that signed a CMS SignedData (a time-stamp token), from its own certificate set."""
    sid = signed_data["signer_infos"][0]["sid"]
    certs = _cms_certs(signed_data)
    for c in certs:
        if sid.name == "issuer_and_serial_number":
            if (c.issuer == sid.chosen["issuer"] and c.serial_number == sid.chosen["serial_number"].native):
                return c
        elif c.key_identifier == sid.chosen.native:
            return c
    return certs[0] if len(certs) == 1 else None


def _sig_timestamp_certs(signed_data: Any) -> list[ax509.Certificate]:
    out = []
    for si in signed_data["signer_infos"]:
        for attr in si["unsigned_attrs"] or ():
            if attr["type"].native == "signature_time_stamp_token":
                for token in attr["values"]:
                    cert = _tsa_cert(token["content"])
                    if cert is not None:
                        out.append(cert)
    return out


def _until(cert: ax509.Certificate) -> datetime:
    return cert["tbs_certificate"]["validity"]["not_after"].native  # type: ignore[no-any-return]


def _subject(cert: ax509.Certificate) -> str:
    return str(cert.subject.human_friendly)


def _cms_certs(signed_data: Any) -> list[ax509.Certificate]:
    return [c.chosen for c in signed_data["certificates"] or () if c.name == "certificate"]


def _chain_until(cert: ax509.Certificate, pool: dict[Any, ax509.Certificate]) -> tuple[datetime, ax509.Certificate]:
    """Earliest expiry along the issuer chain of ``cert`` as far as ``pool`` (subject.hashable -> cert) knows it."""
    best, who = _until(cert), cert
    seen = {cert.sha256}
    cur = cert
    while cur.issuer != cur.subject:
        nxt = pool.get(cur.issuer.hashable)
        if nxt is None or nxt.sha256 in seen:
            break
        seen.add(nxt.sha256)
        if _until(nxt) < best:
            best, who = _until(nxt), nxt
        cur = nxt
    return best, who


def ltv_info(data: bytes | IO[bytes], ca_certs: Sequence[ax509.Certificate] = ()) -> LtvInfo:
    """Inspect the embedded signatures and document time-stamps (no validation: see ``validate_pdf``). A
    certificate's date is the earliest expiry along its issuer chain, built from the certificates in the
    signatures and ``ca_certs`` (the CA certificates the caller knows). ``data``: bytes or a seekable binary
    stream (an open blob: the file is not read into memory)."""
    try:
        reader = PdfFileReader(io.BytesIO(data) if isinstance(data, bytes) else data, strict=False)
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # noqa: BLE001 - unreadable PDF is bad input, whatever the parser says
        raise BadInput(f"The PDF cannot be read: {exc}", f"Không đọc được tệp PDF: {exc}", code="bad_pdf") from exc
    doc_ts = [e for e in embedded if e.sig_object_type == "/DocTimeStamp"]
    sigs = [e for e in embedded if e.sig_object_type != "/DocTimeStamp"]
    seen: list[ax509.Certificate] = []
    limiting: list[ax509.Certificate] = []
    has_sig_ts = False
    for e in sigs:
        seen.append(e.signer_cert)
        limiting.append(e.signer_cert)
        ts = _sig_timestamp_certs(e.signed_data)
        has_sig_ts = has_sig_ts or bool(ts)
        seen.extend(ts)
        limiting.extend(ts)
    newest_ts: ax509.Certificate | None = None
    for e in doc_ts:  # in file order: the last one is the newest
        cert = _tsa_cert(e.signed_data)
        if cert is not None:
            seen.append(cert)
            newest_ts = cert
    if doc_ts and newest_ts is not None:
        limiting = [newest_ts]
        level = "B-LTA"
    elif not sigs:
        level = "none"
    elif "/DSS" in reader.root:
        level = "B-LT"
    else:
        level = "B-T" if has_sig_ts else "B-B"
    pool: dict[Any, ax509.Certificate] = {c.subject.hashable: c for c in ca_certs}
    for e in embedded:
        for c in _cms_certs(e.signed_data):
            pool.setdefault(c.subject.hashable, c)
        for tok_cert in _sig_timestamp_certs(e.signed_data):
            pool.setdefault(tok_cert.subject.hashable, tok_cert)
    dated = [_chain_until(c, pool) for c in limiting]
    until, first = min(dated, key=lambda d: d[0]) if dated else (None, None)
    uniq = {c.sha256: c for c in seen}
    return LtvInfo(level=level, verifiable_until=until,
                   limiting_subject=_subject(first) if first is not None else "", signatures=len(sigs),
                   document_timestamps=len(doc_ts), certificates=tuple(uniq.values()))


# Revocation data for a certificate: (OCSP responses DER, CRLs DER). Empty when the node cannot answer for it.
RevInfoSource = Callable[[Iterable[ax509.Certificate]], tuple[list[bytes], list[bytes]]]


def add_archive_timestamp(data: bytes | IO[bytes], *, timestamper: TimeStamper, tsa_cert: ax509.Certificate,
                          trust_roots: list[ax509.Certificate], other_certs: list[ax509.Certificate],
                          revinfo: RevInfoSource, output: IO[bytes] | None = None) -> bytes | None:
    """One incremental update: the DSS gains the certificates and revocation data of every signer and TSA (the
    new one included), then a document time-stamp covers everything. Earlier signatures see only LTA_UPDATES.
    Returns the new file's bytes, or writes it to ``output`` (a writable, seekable stream) and returns None."""
    info = ltv_info(data, other_certs)
    if info.signatures == 0 and info.document_timestamps == 0:
        raise BadInput("The PDF has no signature to preserve", "Tệp PDF không có chữ ký số để lưu trữ",
                       code="no_signature")
    certs = list(info.certificates) + [tsa_cert]
    ocsp_der, crl_der = revinfo(certs)
    ocsps = [aocsp.OCSPResponse.load(b) for b in ocsp_der]
    crls = [CertificateList.load(b) for b in crl_der]
    src = io.BytesIO(data) if isinstance(data, bytes) else data
    src.seek(0)
    writer = IncrementalPdfFileWriter(src, strict=False)
    DocumentSecurityStore.supply_dss_in_writer(writer, None, certs=certs + other_certs, ocsps=ocsps, crls=crls)
    vc = ValidationContext(trust_roots=trust_roots, other_certs=other_certs + certs, allow_fetching=False,
                           revocation_mode="soft-fail", ocsps=ocsps, crls=crls)
    out = output if output is not None else io.BytesIO()
    PdfTimeStamper(timestamper).timestamp_pdf(writer, "sha256", validation_context=vc, output=out)
    return out.getvalue() if isinstance(out, io.BytesIO) and output is None else None


__all__ = ["LtvInfo", "RevInfoSource", "add_archive_timestamp", "ltv_info"]
