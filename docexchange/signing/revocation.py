"""Pre-signing certificate checks: validity period and revocation (OCSP at the AIA URL, else the CRL).

A revoked, expired or not-yet-valid signer certificate is refused BEFORE anything is signed. Certificates with
no AIA/CRL URL are accepted (nothing to ask). If a URL exists but does not answer, signing is refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from ..netutil import MAX_FETCH_TIMEOUT_S, AllowEntry, parse_allow_list, safe_fetch
from .errors import CertificateRefused, RevocationUnavailable
from .timeutil import iso_vn

# (url, request DER) -> response DER ; (url) -> CRL DER
OcspFetcher = Callable[[str, bytes], bytes]
CrlFetcher = Callable[[str], bytes]


def allow_entries(allow: tuple[str, ...] | None) -> tuple[AllowEntry, ...]:
    """The parsed allow-list; None: ``DOCEXCHANGE_FETCH_ALLOW`` plus the node's own /pki/."""
    if allow is None:
        from ..config import Settings

        allow = Settings.from_env().fetch_allow_list()
    return parse_allow_list(allow)


def http_ocsp(url: str, request_der: bytes, timeout: float = MAX_FETCH_TIMEOUT_S,
              allow: tuple[str, ...] | None = None) -> bytes:
    """POST an OCSP request to a URL of the signer's certificate, through the guarded fetch (public or
    allow-listed addresses, no redirects, at most 5 s per step, a size limit; docs/security.md §3).
    ``allow`` None: ``DOCEXCHANGE_FETCH_ALLOW`` plus the node's own /pki/."""
    return safe_fetch(url, data=request_der, headers={"Content-Type": "application/ocsp-request",
                                                      "Accept": "application/ocsp-response"},
                      allow=allow_entries(allow), timeout=timeout)


def http_crl(url: str, timeout: float = MAX_FETCH_TIMEOUT_S, allow: tuple[str, ...] | None = None) -> bytes:
    return safe_fetch(url, headers={"Accept": "application/pkix-crl"}, allow=allow_entries(allow), timeout=timeout)


@dataclass(frozen=True)
class RevocationStatus:
    source: str  # "ocsp" | "crl" | "none"
    ocsp_response: bytes | None = None  # DER, reusable as B-LT revocation info
    crl: bytes | None = None


def _verify_sig(signer: x509.Certificate, signature: bytes, data: bytes,
                algorithm: hashes.HashAlgorithm | None) -> None:
    pub = signer.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        pub.verify(signature, data, padding.PKCS1v15(), algorithm or hashes.SHA256())
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        pub.verify(signature, data, ec.ECDSA(algorithm or hashes.SHA256()))
    else:
        raise ValueError("unsupported responder key")


def _urls(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    ocsp_urls: list[str] = []
    crl_urls: list[str] = []
    try:
        aia = cast(x509.AuthorityInformationAccess,
                   cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value)
        ocsp_urls = [d.access_location.value for d in aia
                     if d.access_method == AuthorityInformationAccessOID.OCSP]
    except x509.ExtensionNotFound:
        pass
    try:
        dps = cast(x509.CRLDistributionPoints,
                   cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value)
        crl_urls = [n.value for dp in dps for n in (dp.full_name or [])
                    if isinstance(n, x509.UniformResourceIdentifier)]
    except x509.ExtensionNotFound:
        pass
    return ocsp_urls, crl_urls


def check_validity(cert: x509.Certificate, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    if now < cert.not_valid_before_utc:
        raise CertificateRefused(
            f"The signer certificate is not valid yet (valid from {iso_vn(cert.not_valid_before_utc)}); "
            "nothing was signed",
            f"Chứng thư số của người ký chưa có hiệu lực (từ {iso_vn(cert.not_valid_before_utc)}); chưa ký",
            code="certificate_not_yet_valid")
    if now > cert.not_valid_after_utc:
        raise CertificateRefused(
            f"The signer certificate expired on {iso_vn(cert.not_valid_after_utc)}; nothing was signed",
            f"Chứng thư số của người ký đã hết hạn ngày {iso_vn(cert.not_valid_after_utc)}; chưa ký",
            code="certificate_expired")


def check_revocation(cert: x509.Certificate, issuer: x509.Certificate | None, *,
                     ocsp_fetch: OcspFetcher = http_ocsp, crl_fetch: CrlFetcher = http_crl,
                     now: datetime | None = None) -> RevocationStatus:
    """Ask the certificate's OCSP responder (or CRL) whether it is revoked. Raises ``CertificateRefused`` if
    revoked, ``RevocationUnavailable`` if a declared source does not give a verifiable answer."""
    now = now or datetime.now(UTC)
    ocsp_urls, crl_urls = _urls(cert)
    if not ocsp_urls and not crl_urls:
        return RevocationStatus("none")
    if issuer is None:
        raise RevocationUnavailable(
            "The issuer of the signer certificate is unknown, so its revocation status cannot be checked",
            "Không xác định được tổ chức cấp chứng thư số của người ký nên không kiểm tra được tình trạng thu hồi")
    errors: list[str] = []
    for url in ocsp_urls:
        try:
            req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256()).build()
            der = ocsp_fetch(url, req.public_bytes(serialization.Encoding.DER))
            resp = ocsp.load_der_ocsp_response(der)
            if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
                raise ValueError(f"responder status {resp.response_status.name}")
            responder = issuer
            if resp.certificates:
                delegated = resp.certificates[0]
                _verify_sig(issuer, delegated.signature, delegated.tbs_certificate_bytes,
                            delegated.signature_hash_algorithm)
                responder = delegated
            _verify_sig(responder, resp.signature, resp.tbs_response_bytes, resp.signature_hash_algorithm)
            if resp.serial_number != cert.serial_number:
                raise ValueError("response is for another certificate")
            nu = resp.next_update_utc
            if resp.this_update_utc > now + timedelta(minutes=5) or (nu is not None and nu < now):
                raise ValueError("stale OCSP response")
            if resp.certificate_status == ocsp.OCSPCertStatus.REVOKED:
                assert resp.revocation_time_utc is not None
                raise CertificateRefused(
                    f"The signer certificate was revoked on {iso_vn(resp.revocation_time_utc)}; nothing was signed",
                    f"Chứng thư số của người ký đã bị thu hồi ngày {iso_vn(resp.revocation_time_utc)}; chưa ký",
                    code="certificate_revoked")
            if resp.certificate_status == ocsp.OCSPCertStatus.GOOD:
                return RevocationStatus("ocsp", ocsp_response=der)
            raise ValueError("responder does not know the certificate")
        except CertificateRefused:
            raise
        except Exception as exc:  # noqa: BLE001 - network, parse and signature errors all mean "no answer"
            errors.append(f"OCSP {url}: {exc}")
    for url in crl_urls:
        try:
            der = crl_fetch(url)
            crl = x509.load_der_x509_crl(der)
            if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                raise ValueError("bad CRL signature")
            if crl.next_update_utc is not None and crl.next_update_utc < now:
                raise ValueError("stale CRL")
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                raise CertificateRefused(
                    f"The signer certificate was revoked on {iso_vn(entry.revocation_date_utc)}; nothing was signed",
                    f"Chứng thư số của người ký đã bị thu hồi ngày {iso_vn(entry.revocation_date_utc)}; chưa ký",
                    code="certificate_revoked")
            return RevocationStatus("crl", crl=der)
        except CertificateRefused:
            raise
        except Exception as exc:  # noqa: BLE001
            errors.append(f"CRL {url}: {exc}")
    raise RevocationUnavailable(
        "Could not check whether the signer certificate is revoked; nothing was signed (" + "; ".join(errors) + ")",
        "Không kiểm tra được tình trạng thu hồi chứng thư số của người ký; chưa ký (" + "; ".join(errors) + ")")
