"""The ``dxhub1`` scheme (docexchange's own): see ``docexchange.axis.hub.signing`` (kept there for imports)."""

from __future__ import annotations

from docexchange.axis.hub.signing import (
    H_CONTENT_SHA256,
    H_NONCE,
    H_SIGNATURE,
    H_SYSTEM,
    H_TIMESTAMP,
    SCHEME,
    canonical_string,
    sign,
    signed_headers,
    verify,
)

NAME = "dxhub1"

__all__ = [
    "H_CONTENT_SHA256",
    "H_NONCE",
    "H_SIGNATURE",
    "H_SYSTEM",
    "H_TIMESTAMP",
    "NAME",
    "SCHEME",
    "canonical_string",
    "sign",
    "signed_headers",
    "verify",
]
