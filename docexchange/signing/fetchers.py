"""The only way validation reaches the network: a pyHanko fetcher backend that asks OCSP responders and CRL
distribution points named in a certificate only when that certificate sits on a chain that verifies, signature
by signature, up to a configured trust anchor, and only through ``netutil.safe_fetch`` (public or operator-
allowed addresses, pinned, no redirects, timeouts of at most 5 s, a size limit). Issuer certificates
(AIA caIssuers) are never fetched: the chain is built from the certificates in the file and the anchors.

One backend per validation context (``bind`` it to the context after creating it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import requests
from asn1crypto import x509 as ax509
from pyhanko_certvalidator.fetchers.api import (
    CertificateFetcher,
    FetcherBackend,
    Fetchers,
    FetchLimits,
)
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget
from pyhanko_certvalidator.fetchers.requests_fetchers.crl_client import RequestsCRLFetcher
from pyhanko_certvalidator.fetchers.requests_fetchers.ocsp_client import RequestsOCSPFetcher

from ..netutil import DEFAULT_FETCH_MAX_BYTES, MAX_FETCH_TIMEOUT_S, AllowEntry, FetchRefused, safe_fetch

log = logging.getLogger(__name__)

# far below pyHanko's defaults: a real chain here is 3 certificates, each with one OCSP and one CRL URL
LIMITS = FetchLimits(max_requests=24, max_cert_requests=0, max_aia_urls_per_object=2)


class _Body:
    """What the requests-based pyHanko fetchers read from an answer."""

    def __init__(self, content: bytes) -> None:
        self.content = content


class GuardedFetcherBackend(FetcherBackend):
    def __init__(self, allow: tuple[AllowEntry, ...], *, timeout: float = MAX_FETCH_TIMEOUT_S,
                 max_bytes: int = DEFAULT_FETCH_MAX_BYTES) -> None:
        self.allow = allow
        self.timeout = min(float(timeout), MAX_FETCH_TIMEOUT_S)
        self.max_bytes = max_bytes
        self._vc: Any = None
        self._trusted: dict[bytes, bool] = {}
        self.refused: list[str] = []  # why requests were not made (for logs and tests)

    def bind(self, validation_context: Any) -> Any:
        """Attach the validation context whose certificates and anchors decide what may be fetched."""
        self._vc = validation_context
        return validation_context

    def get_fetchers(self) -> Fetchers:
        budget = FetchBudget(LIMITS)
        to = max(1, int(self.timeout))
        return Fetchers(ocsp_fetcher=_OCSP(self, per_request_timeout=to, budget=budget),
                        crl_fetcher=_CRL(self, per_request_timeout=to, budget=budget),
                        cert_fetcher=_NoIssuerFetching())

    # ---- the gate -----------------------------------------------------------------------------------------
    async def on_trusted_path(self, cert: Any) -> bool:
        """True when ``cert`` is a configured anchor, or some chain from it to an anchor verifies: every
        certificate's signature checked with its issuer's key (built offline, from what the file carries)."""
        if not isinstance(cert, ax509.Certificate) or self._vc is None:
            return False
        key = cert.sha256
        if key not in self._trusted:
            self._trusted[key] = await self._verify_some_path(cert)
        return self._trusted[key]

    async def _verify_some_path(self, cert: ax509.Certificate) -> bool:
        from pyhanko_certvalidator.sig_validate import DefaultSignatureValidator

        try:
            paths = await self._vc.path_builder.async_build_paths(cert)
        except Exception:  # PathBuildingError: no chain to an anchor
            return False
        check = DefaultSignatureValidator()
        for path in paths:
            try:
                certs = [c for c in path.iter_certs(include_root=True) if isinstance(c, ax509.Certificate)]
                issuer_key = path.trust_anchor.authority.public_key
                start = 1 if certs and certs[0].public_key.dump() == issuer_key.dump() else 0
                for c in certs[start:]:
                    check.validate_signature(c["signature_value"].native, c["tbs_certificate"].dump(),
                                             issuer_key, c["signature_algorithm"])
                    issuer_key = c.public_key
                return True
            except Exception:  # a link that does not verify: try the next path
                continue
        return False

    # ---- the transport ------------------------------------------------------------------------------------
    def transfer(self, url: str, data: bytes | None, headers: dict[str, str]) -> _Body:
        try:
            return _Body(safe_fetch(url, data=data, headers=headers, allow=self.allow, timeout=self.timeout,
                                    max_bytes=self.max_bytes))
        except FetchRefused as exc:
            self.refused.append(str(exc))
            log.warning("revocation fetch refused: %s", exc)
            raise requests.RequestException(str(exc)) from None
        except OSError as exc:
            raise requests.RequestException(f"{url}: {exc}") from None


class _Guarded:
    """Replaces the requests transport of pyHanko's fetchers with ``GuardedFetcherBackend.transfer``."""

    guard: GuardedFetcherBackend

    def _get(self, url: str, *, acceptable_content_types: Iterable[str]) -> Any:
        return asyncio.to_thread(self.guard.transfer, url, None, {"Accept": ",".join(acceptable_content_types)})

    def _post(self, url: str, data: bytes, *, content_type: str, acceptable_content_types: Iterable[str]) -> Any:
        return asyncio.to_thread(self.guard.transfer, url, data, {"Accept": ",".join(acceptable_content_types),
                                                                  "Content-Type": content_type})


class _OCSP(_Guarded, RequestsOCSPFetcher):
    def __init__(self, guard: GuardedFetcherBackend, **kw: Any) -> None:
        super().__init__(**kw)
        self.guard = guard

    async def fetch(self, cert: Any, authority: Any) -> Any:
        from pyhanko_certvalidator.errors import OCSPFetchError

        if not await self.guard.on_trusted_path(cert):
            self.guard.refused.append("OCSP for a certificate not on a trusted chain")
            raise OCSPFetchError("not fetched: the certificate does not chain to a configured trust anchor")
        return await super().fetch(cert, authority)


class _CRL(_Guarded, RequestsCRLFetcher):
    def __init__(self, guard: GuardedFetcherBackend, **kw: Any) -> None:
        super().__init__(**kw)
        self.guard = guard

    async def fetch(self, cert: Any, *, use_deltas: bool = True) -> Any:
        from pyhanko_certvalidator.errors import CRLFetchError

        if not await self.guard.on_trusted_path(cert):
            self.guard.refused.append("CRL for a certificate not on a trusted chain")
            raise CRLFetchError("not fetched: the certificate does not chain to a configured trust anchor")
        return await super().fetch(cert, use_deltas=use_deltas)


class _NoIssuerFetching(CertificateFetcher):
    """Issuer certificates are never fetched: a chain must be complete from the file and the anchors."""

    async def fetch_cert_issuers(self, cert: Any) -> Any:  # type: ignore[override]
        return
        yield  # an empty async generator

    async def fetch_crl_issuers(self, certificate_list: Any) -> Any:  # type: ignore[override]
        return
        yield

    def fetched_certs(self) -> Iterable[ax509.Certificate]:
        return ()
