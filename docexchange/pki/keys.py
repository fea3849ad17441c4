"""Key generation and PKCS#12 files. Parsed keys are cached by the callers, never re-parsed per signature."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KEY_TYPES = ("rsa2048", "rsa3072", "ec256")


def generate_key(key_type: str = "rsa2048") -> PrivateKey:
    if key_type == "rsa2048":
        return rsa.generate_private_key(65537, 2048)
    if key_type == "rsa3072":
        return rsa.generate_private_key(65537, 3072)
    if key_type in ("ec256", "ecdsa", "p256"):
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unsupported key type {key_type!r}; use one of {KEY_TYPES}")


def write_pkcs12(path: Path, key: PrivateKey, cert: x509.Certificate, chain: list[x509.Certificate],
                 password: bytes, friendly_name: str = "") -> None:
    """Encrypted PKCS#12 (AES-256 + PBKDF2 via ``BestAvailableEncryption``), written atomically, mode 0600."""
    data = pkcs12.serialize_key_and_certificates(
        friendly_name.encode() or None, key, cert, chain, serialization.BestAvailableEncryption(password))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


def load_pkcs12(path: Path, password: bytes) -> tuple[PrivateKey, x509.Certificate, list[x509.Certificate]]:
    """Raises ``ValueError`` on a wrong password or a damaged file."""
    key, cert, extra = pkcs12.load_key_and_certificates(Path(path).read_bytes(), password)
    if key is None or cert is None:
        raise ValueError(f"{path}: no key or certificate in the PKCS#12 file")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: unsupported key type")
    return key, cert, list(extra)


def write_encrypted_pem(path: Path, key: PrivateKey, password: bytes) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(password))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)


def load_encrypted_pem(path: Path, password: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: unsupported key type")
    return key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
