"""Signing errors: each carries an English and a Vietnamese message and a stable code."""

from __future__ import annotations

from ..errors import BadInput, DomainError, Forbidden, Unavailable

__all__ = ["BadInput", "CertificateRefused", "RevocationUnavailable", "SigningFailed", "TsaUnavailable", "WrongPin"]


class WrongPin(Forbidden):
    """The PIN/password did not unlock the key. Callers count it toward the signer's lockout."""

    code = "wrong_pin"
    title = "Wrong PIN"


class CertificateRefused(Forbidden):
    """The signer certificate is revoked, expired or not yet valid; nothing was signed."""

    code = "certificate_refused"
    title = "Signer certificate refused"


class RevocationUnavailable(Unavailable):
    """Revocation status of the signer certificate could not be established; nothing was signed."""

    code = "revocation_unavailable"


class TsaUnavailable(Unavailable):
    """The time-stamping authority did not answer usefully within the wait; nothing was signed."""

    code = "tsa_unavailable"
    title = "Time-stamping authority unavailable"


class SigningFailed(DomainError):
    status = 500
    code = "signing_failed"
    title = "Signing failed"
