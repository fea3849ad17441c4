"""The hub's request-signing scheme (HMAC-SHA256), shared by the hub and ``docexchange.axis.client``.

Canonical string (UTF-8, lines joined by ``\\n``, no trailing newline)::

    DXHUB1-HMAC-SHA256
    <METHOD upper-case>
    <path, e.g. /sendEdoc>
    <raw query string, empty when none>
    <systemid>
    <timestamp: Unix seconds, decimal>
    <nonce: 16-64 chars [A-Za-z0-9_-]>
    <SHA-256 of the exact request body bytes, lower-case hex>

Signature = lower-case hex HMAC-SHA256(secret, canonical string). Pure functions, no Flask."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

SCHEME = "DXHUB1-HMAC-SHA256"
H_SYSTEM = "systemid"
H_TIMESTAMP = "X-Hub-Timestamp"
H_NONCE = "X-Hub-Nonce"
H_CONTENT_SHA256 = "X-Hub-Content-Sha256"
H_SIGNATURE = "X-Hub-Signature"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def canonical_string(
    method: str, path: str, query: str, system_id: str, timestamp: int, nonce: str, body_sha256: str
) -> str:
    return "\n".join([SCHEME, method.upper(), path, query, system_id, str(timestamp), nonce, body_sha256])


def sign(
    secret: str,
    method: str,
    path: str,
    query: str,
    system_id: str,
    timestamp: int,
    nonce: str,
    body_sha256: str,
) -> str:
    msg = canonical_string(method, path, query, system_id, timestamp, nonce, body_sha256)
    return hmac.new(secret.encode(), msg.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    secret: str,
    system_id: str,
    method: str,
    path: str,
    body_sha256: str,
    query: str = "",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The five headers a client adds to one request (fresh nonce and current time unless given)."""
    ts = int(time.time()) if timestamp is None else timestamp
    nonce = nonce or secrets.token_urlsafe(18)
    return {
        H_SYSTEM: system_id,
        H_TIMESTAMP: str(ts),
        H_NONCE: nonce,
        H_CONTENT_SHA256: body_sha256,
        H_SIGNATURE: sign(secret, method, path, query, system_id, ts, nonce, body_sha256),
    }


def verify(
    secret: str,
    signature: str,
    method: str,
    path: str,
    query: str,
    system_id: str,
    timestamp: int,
    nonce: str,
    body_sha256: str,
) -> bool:
    expected = sign(secret, method, path, query, system_id, timestamp, nonce, body_sha256)
    return hmac.compare_digest(expected, signature.lower())
