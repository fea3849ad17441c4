"""Password hashing (werkzeug's scrypt, the Flask stack's maintained implementation; hashes of the earlier
``scrypt$N$r$p$salt$dk`` format are still accepted) and API tokens (random, stored as SHA-256)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

METHOD = "scrypt:16384:8:1"  # 16 MiB per hash: the cost the node used before (werkzeug's default is 32768)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=METHOD)


def _check_legacy(password: str, stored: str) -> bool:
    scheme, n, r, p, salt_b64, dk_b64 = stored.split("$")
    if scheme != "scrypt":
        return False
    dk = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=int(n), r=int(r), p=int(p),
                        maxmem=256 * 1024 * 1024, dklen=32)
    return hmac.compare_digest(dk, base64.b64decode(dk_b64))


def check_password(password: str, stored: str) -> bool:
    try:
        if stored.startswith("scrypt$"):
            return _check_legacy(password, stored)
        return check_password_hash(stored, password)
    except (ValueError, TypeError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def burn_password_check(password: str) -> None:
    """Spend the time of one password check, for an unknown or disabled user name: the answer then takes as
    long as for a known name, so timing does not tell which names exist."""
    check_password(password, _dummy_hash())


def new_token() -> tuple[str, str]:
    """Returns (token shown once to the caller, its SHA-256 to store)."""
    token = "dx_" + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> tuple[str, str]:
    """A page session id for the cookie and its SHA-256 to store."""
    sid = secrets.token_urlsafe(32)
    return sid, token_digest(sid)
