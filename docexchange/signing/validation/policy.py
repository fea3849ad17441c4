"""Validation policy: trust anchors, revocation mode, algorithm limits and resource limits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .bounded import default_time_limit

if TYPE_CHECKING:
    from ..fetchers import GuardedFetcherBackend

STRONG_DIGESTS = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512"})
# key usages of which a signer certificate must assert at least one (RFC 5280 names, as asn1crypto spells them)
SIGNER_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})
# extended key usages that allow document signing; a signer certificate WITH an EKU extension must assert one
DOCUMENT_SIGNING_EKUS = frozenset({
    "2.5.29.37.0",               # anyExtendedKeyUsage
    "1.3.6.1.5.5.7.3.4",         # emailProtection (S/MIME certificates are used for PDF signing)
    "1.3.6.1.5.5.7.3.36",        # id-kp-documentSigning (RFC 9336)
    "1.2.840.113583.1.1.5",      # Adobe Authentic Documents Trust
    "1.3.6.1.4.1.311.10.3.12",   # Microsoft document signing
})


def load_certs(paths: list[Path]) -> list[x509.Certificate]:
    """PEM (one or more certificates per file) or DER files."""
    out: list[x509.Certificate] = []
    for p in paths:
        data = Path(p).read_bytes()
        if b"-----BEGIN" in data:
            out.extend(x509.load_pem_x509_certificates(data))
        else:
            out.append(x509.load_der_x509_certificate(data))
    return out


def default_anchor_paths() -> list[Path]:
    from ...config import Settings

    return sorted((Settings.from_env().certs_dir / "anchors").glob("*.pem"))


@dataclass
class ValidationPolicy:
    """What ``validate_pdf`` accepts. ``trust_anchors=None`` means the node's ``certs/anchors/*.pem``."""

    trust_anchors: list[x509.Certificate] | None = None
    offline: bool = False                  # True: only revocation data embedded in the PDF (DSS / CMS)
    at: datetime | None = None             # past-time validation (``--at``); None = now
    # clock skew tolerated when validating "now" (at=None): evidence up to this far in the future of the
    # node's clock still passes; further → INDETERMINATE (check the node's clock). Same as the hub's HMAC window.
    clock_tolerance_s: float = 300.0
    require_revocation: bool = True        # no usable revocation data → INDETERMINATE/TRY_LATER
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    allowed_digests: frozenset[str] = STRONG_DIGESTS
    # signer certificate policy (signatures, not time-stamps): a key usage in ``signer_key_usages``; an EKU
    # extension, if present, with one of ``signer_ekus``; never a CA certificate (basicConstraints cA TRUE).
    # Violation → INDETERMINATE / SIG_CONSTRAINTS_FAILURE (docs/validation.md)
    signer_key_usages: frozenset[str] = SIGNER_KEY_USAGES
    signer_ekus: frozenset[str] = DOCUMENT_SIGNING_EKUS
    accept_annotations: bool = False       # ANNOTATIONS after signing → INDETERMINATE unless accepted
    visual_check: bool = True
    render_dpi: int = 40
    max_render_pages: int = 60
    visual_threshold: float = 0.0          # changed-pixel ratio above which a page counts as changed
    # resource limits
    max_file_bytes: int = 300 * 1024 * 1024
    max_revisions: int = 200
    max_objects: int = 2_000_000
    max_nesting: int = 256
    time_limit_s: float = field(default_factory=default_time_limit)  # DOCEXCHANGE_ANALYSIS_TIME_LIMIT, 60 s
    fetch_timeout_s: float = 5.0           # connect and read timeout of one OCSP/CRL request (capped at 5 s)
    fetch_max_bytes: int = 10 * 1024 * 1024  # largest OCSP response or CRL accepted
    # non-public addresses validation may reach (docs/security.md §3); None = DOCEXCHANGE_FETCH_ALLOW plus the
    # node's own <public URL>/pki/
    fetch_allow: tuple[str, ...] | None = None
    policy_id: str = "docexchange-default"
    policy_version: str = "1"
    _anchors_cache: list[x509.Certificate] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_paths(cls, trust: list[Path] | None = None, **kw: object) -> ValidationPolicy:
        return cls(trust_anchors=load_certs(trust) if trust else None, **kw)  # type: ignore[arg-type]

    def anchors(self) -> list[x509.Certificate]:
        if self.trust_anchors is not None:
            return self.trust_anchors
        if self._anchors_cache is None:
            self._anchors_cache = load_certs(default_anchor_paths())
        return self._anchors_cache

    def allow_list(self) -> tuple[str, ...]:
        if self.fetch_allow is not None:
            return self.fetch_allow
        from ...config import Settings

        return Settings.from_env().fetch_allow_list()

    def fetcher_backend(self) -> GuardedFetcherBackend:
        """A fresh guarded backend for one validation context (bind it to the context)."""
        from ...netutil import parse_allow_list
        from ..fetchers import GuardedFetcherBackend

        return GuardedFetcherBackend(parse_allow_list(self.allow_list()), timeout=self.fetch_timeout_s,
                                     max_bytes=self.fetch_max_bytes)

    def anchor_digests(self) -> list[str]:
        return [hashlib.sha256(c.public_bytes(serialization.Encoding.DER)).hexdigest() for c in self.anchors()]
