"""Key handles: encrypted PKCS#12 files (parsed once, cached), PKCS#11 tokens (RFC 7512 URIs) and keys the
node manages for its officers (``officer:USERNAME``) and agencies (``agency:ORGAN_ID``).

A PIN is required for every signing act: the PKCS#12 cache is keyed by a keyed hash of the PIN, so a wrong PIN
never hits the cache and fails decryption; PKCS#11 sessions are logged in with the PIN."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from .errors import BadInput, WrongPin

DEFAULT_PKCS11_MODULE = os.environ.get("DOCEXCHANGE_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")


def to_asn1(cert: x509.Certificate) -> ax509.Certificate:
    return ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def from_asn1(cert: ax509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


class CachedKeySigner(SimpleSigner):
    """``SimpleSigner`` that keeps the parsed private key (stock pyhanko re-parses and re-validates the RSA key
    on every ``sign_raw``, ~40 ms for RSA-2048)."""

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, cert: x509.Certificate,
                 chain: Sequence[x509.Certificate]) -> None:
        from pyhanko.keys import load_private_key_from_pemder_data as _load

        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        super().__init__(signing_cert=to_asn1(cert), signing_key=_load(der, passphrase=None),
                         cert_registry=SimpleCertificateStore.from_certs([to_asn1(c) for c in chain]))
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mech = self.get_signature_mechanism_for_digest(digest_algorithm)["algorithm"].native
        h = get_pyca_cryptography_hash(digest_algorithm)
        if mech in ("sha256_rsa", "sha384_rsa", "sha512_rsa", "rsassa_pkcs1v15") and isinstance(
                self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, PKCS1v15(), h)
        if mech in ("ecdsa", "sha256_ecdsa", "sha384_ecdsa", "sha512_ecdsa") and isinstance(
                self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ECDSA(h))
        return super().sign_raw(data, digest_algorithm)


@dataclass
class KeyHandle:
    """An unlocked signing key with its certificate and chain (issuer first, root last if known).

    ``owner`` carries what the node knows about the key holder for service-managed keys: ``full_name``,
    ``position`` (officers), ``agency_name``, ``agency_code``, ``image_sha256`` (signature or seal PNG)."""

    signer: Signer
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    source: str  # "pkcs12:<path>", "pkcs11:<uri without pin>", "officer:<username>", "agency:<code>"
    owner: dict[str, str] = field(default_factory=dict)
    _closer: Any = None

    @property
    def common_name(self) -> str:
        attrs = self.certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else ""

    @property
    def issuer(self) -> x509.Certificate | None:
        for c in self.chain:
            if c.subject == self.certificate.issuer:
                return c
        return None

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
            self._closer = None


_SALT = secrets.token_bytes(16)
_p12_cache: dict[tuple[str, int, int, bytes], tuple[Any, x509.Certificate, tuple[x509.Certificate, ...]]] = {}
_lock = threading.Lock()


def _pin_bytes(pin: str | bytes) -> bytes:
    return pin.encode() if isinstance(pin, str) else pin


def load_pkcs12_key(path: str | Path, pin: str | bytes, *, extra_certs: Sequence[x509.Certificate] = ()
                    ) -> KeyHandle:
    """Open an encrypted PKCS#12 file. Parsed once per (file version, PIN) and cached in memory."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise BadInput(f"Key file not found: {p}", f"Không tìm thấy tệp khóa: {p}", code="bad_key_ref") from exc
    pin_b = _pin_bytes(pin)
    if not pin_b:
        raise WrongPin("A PIN is required to sign", "Cần nhập mã PIN để ký số")
    ck = (str(p.resolve()), st.st_mtime_ns, st.st_size, hmac.digest(_SALT, pin_b, "sha256"))
    with _lock:
        hit = _p12_cache.get(ck)
    if hit is None:
        data = p.read_bytes()
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, pin_b)
        except ValueError as exc:
            if b"0\x82" not in data[:4] and not data.startswith(b"0"):
                raise BadInput(f"Not a PKCS#12 file: {p}", f"Không phải tệp PKCS#12: {p}", code="bad_key_ref") from exc
            raise WrongPin("Wrong PIN: the key could not be unlocked; nothing was signed",
                           "Sai mã PIN: không mở được khóa; chưa ký") from exc
        if key is None or cert is None or not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise BadInput(f"{p}: no usable RSA/ECDSA key and certificate",
                           f"{p}: không có khóa RSA/ECDSA và chứng thư số dùng được", code="bad_key_ref")
        chain = _complete_chain(cert, list(extra) + list(extra_certs))
        signer = CachedKeySigner(key, cert, chain)
        hit = (signer, cert, chain)
        with _lock:
            _p12_cache[ck] = hit
    signer, cert, chain = hit
    return KeyHandle(signer=signer, certificate=cert, chain=chain, source=f"pkcs12:{p}")


def _complete_chain(leaf: x509.Certificate, pool: Sequence[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    chain: list[x509.Certificate] = []
    current = leaf
    for _ in range(6):
        if current.issuer == current.subject:
            break
        nxt = next((c for c in pool if c.subject == current.issuer and c not in chain), None)
        if nxt is None:
            break
        chain.append(nxt)
        current = nxt
    return tuple(chain)


# ---- PKCS#11 --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pkcs11Uri:
    token: str | None
    object: str | None
    id: bytes | None
    module: str
    slot: int | None = None

    @classmethod
    def parse(cls, uri: str) -> Pkcs11Uri:
        """RFC 7512 subset: path attributes token, object, id, slot-id; query module-path. PINs in the URI are
        refused (the PIN is always asked for separately)."""
        if not uri.startswith("pkcs11:"):
            raise BadInput(f"Not a pkcs11: URI: {uri}", f"Không phải URI pkcs11: {uri}", code="bad_key_ref")
        body = uri[len("pkcs11:"):]
        path, _, query = body.partition("?")
        attrs: dict[str, str] = {}
        for part in filter(None, path.split(";")):
            k, sep, v = part.partition("=")
            if not sep:
                raise BadInput(f"Malformed pkcs11: URI attribute {part!r}",
                               f"Thuộc tính URI pkcs11 không hợp lệ {part!r}", code="bad_key_ref")
            attrs[k] = v
        q = dict(urllib.parse.parse_qsl(query.replace(";", "&")))
        if "pin-value" in q or "pin-source" in q:
            raise BadInput("Put the PIN in the PIN prompt/variable, not in the pkcs11: URI",
                           "Không đưa mã PIN vào URI pkcs11; hãy nhập mã PIN riêng", code="bad_key_ref")
        token = urllib.parse.unquote(attrs["token"]) if "token" in attrs else None
        obj = urllib.parse.unquote(attrs["object"]) if "object" in attrs else None
        oid = urllib.parse.unquote_to_bytes(attrs["id"]) if "id" in attrs else None
        if obj is None and oid is None:
            raise BadInput("The pkcs11: URI must name the key (object=... or id=...)",
                           "URI pkcs11 phải chỉ rõ khóa (object=... hoặc id=...)", code="bad_key_ref")
        slot = int(attrs["slot-id"]) if "slot-id" in attrs else None
        return cls(token=token, object=obj, id=oid, module=q.get("module-path", DEFAULT_PKCS11_MODULE), slot=slot)


_p11_sessions: dict[tuple[Pkcs11Uri, bytes], tuple[Any, Signer]] = {}


def open_pkcs11_key(uri: str, pin: str | bytes, *, extra_certs: Sequence[x509.Certificate] = ()) -> KeyHandle:
    """Log in to the token and bind the key named by ``uri``. Logged-in sessions are cached per (URI, PIN);
    ECDSA keys use the raw mechanism (SoftHSM2 has no CKM_ECDSA_SHA256)."""
    import pkcs11.exceptions as p11e
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign import pkcs11 as p11

    parsed = Pkcs11Uri.parse(uri)
    pin_b = _pin_bytes(pin)
    if not pin_b:
        raise WrongPin("A PIN is required to sign", "Cần nhập mã PIN để ký số")
    ck = (parsed, hmac.digest(_SALT, pin_b, "sha256"))
    with _lock:
        hit = _p11_sessions.get(ck)
    if hit is None:
        try:
            session = p11.open_pkcs11_session(
                parsed.module, slot_no=parsed.slot,
                token_criteria=TokenCriteria(label=parsed.token) if parsed.token else None,
                user_pin=pin_b.decode())
        except p11e.PinIncorrect as exc:
            raise WrongPin("Wrong PIN for the token; nothing was signed",
                           "Sai mã PIN của thiết bị ký số; chưa ký") from exc
        except (p11e.PKCS11Error, OSError, RuntimeError) as exc:
            raise BadInput(f"Cannot open the PKCS#11 token: {exc!r}", f"Không mở được thiết bị PKCS#11: {exc!r}",
                           code="bad_key_ref") from exc
        kwargs: dict[str, Any] = dict(cert_label=parsed.object, key_label=parsed.object, cert_id=parsed.id,
                                      key_id=parsed.id)
        try:
            probe = p11.PKCS11Signer(session, **kwargs)
            cert_a = probe.signing_cert
            assert cert_a is not None
            chain_x = _complete_chain(from_asn1(cert_a), list(extra_certs))  # embed only the signer's own chain
            signer: Signer = p11.PKCS11Signer(session, ca_chain=[to_asn1(c) for c in chain_x],
                                              use_raw_mechanism=cert_a.public_key.algorithm == "ec", **kwargs)
        except (p11e.PKCS11Error, p11.PKCS11Error) as exc:  # type: ignore[attr-defined]
            session.close()
            raise BadInput(f"Key or certificate not found on the token: {exc}",
                           f"Không tìm thấy khóa hoặc chứng thư trên thiết bị: {exc}", code="bad_key_ref") from exc
        hit = (session, signer)
        with _lock:
            _p11_sessions[ck] = hit
    session, signer = hit
    assert signer.signing_cert is not None
    cert = from_asn1(signer.signing_cert)
    return KeyHandle(signer=signer, certificate=cert, chain=_complete_chain(cert, list(extra_certs)),
                     source=f"pkcs11:{uri[len('pkcs11:'):]}")


def close_pkcs11_sessions() -> None:
    with _lock:
        items = list(_p11_sessions.values())
        _p11_sessions.clear()
    for session, _ in items:
        try:
            session.close()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            pass


# ---- resolution of key references ---------------------------------------------------------------------
class KeyResolver:
    """Turns a key reference into a ``KeyHandle``:

    - a PKCS#12 path (``.p12``/``.pfx``), with its password as the PIN;
    - an RFC 7512 ``pkcs11:`` URI (token=...;object=... or id=...), with the token user PIN;
    - ``officer:USERNAME`` / ``agency:ORGAN_ID``: the node's ``User.key_ref`` / ``Agency.seal_key_ref`` (relative to
      ``certs_dir``; a ``pkcs11:`` URI there also works), needing ``db``.

    ``ca_certs`` complete chains (e.g. the dev CA's intermediates and roots under ``certs/ca``)."""

    def __init__(self, *, certs_dir: Path | None = None, db: Any = None,
                 ca_certs: Sequence[x509.Certificate] = ()) -> None:
        self.certs_dir = Path(certs_dir) if certs_dir else None
        self.db = db
        self.ca_certs = list(ca_certs)
        if not self.ca_certs and self.certs_dir and (self.certs_dir / "ca").is_dir():
            for pem in sorted((self.certs_dir / "ca").glob("*.crt.pem")):
                self.ca_certs.append(x509.load_pem_x509_certificate(pem.read_bytes()))

    def resolve(self, ref: str, pin: str | bytes) -> KeyHandle:
        if ref.startswith("pkcs11:"):
            return open_pkcs11_key(ref, pin, extra_certs=self.ca_certs)
        if ref.startswith(("officer:", "agency:")):
            return self._managed(ref, pin)
        return load_pkcs12_key(ref, pin, extra_certs=self.ca_certs)

    def _managed(self, ref: str, pin: str | bytes) -> KeyHandle:
        from sqlalchemy import select

        from ..models import Agency, User

        if self.db is None or self.certs_dir is None:
            raise BadInput(f"{ref}: service-managed keys need the node database",
                           f"{ref}: khóa do hệ thống quản lý cần cơ sở dữ liệu của nút", code="bad_key_ref")
        kind, _, ident = ref.partition(":")
        owner: dict[str, str] = {}
        with self.db.transaction() as s:
            if kind == "officer":
                user = s.execute(select(User).where(User.username == ident)).scalar_one_or_none()
                if user is None or not user.key_ref or not user.active:
                    raise BadInput(f"No signing key for officer {ident!r}",
                                   f"Không có khóa ký của cán bộ {ident!r}", code="bad_key_ref")
                key_ref = user.key_ref
                owner = {"full_name": user.full_name, "position": user.position,
                         "agency_name": user.agency.name, "agency_code": user.agency.code,
                         "image_sha256": user.signature_image_sha256 or ""}
            else:
                agency = s.execute(select(Agency).where(Agency.code == ident)).scalar_one_or_none()
                if agency is None or not agency.seal_key_ref:
                    raise BadInput(f"No seal key for agency {ident!r}",
                                   f"Không có khóa con dấu của cơ quan {ident!r}", code="bad_key_ref")
                key_ref = agency.seal_key_ref
                owner = {"agency_name": agency.name, "agency_code": agency.code,
                         "image_sha256": agency.seal_image_sha256 or ""}
        if key_ref.startswith("pkcs11:"):
            handle = open_pkcs11_key(key_ref, pin, extra_certs=self.ca_certs)
        else:
            path = (self.certs_dir / key_ref).resolve()
            if not path.is_relative_to(self.certs_dir.resolve()):
                raise BadInput(f"Key reference {key_ref!r} points outside certs/",
                               f"Tham chiếu khóa {key_ref!r} nằm ngoài thư mục certs/", code="bad_key_ref")
            handle = load_pkcs12_key(path, pin, extra_certs=self.ca_certs)
        handle.source = ref
        handle.owner = owner
        return handle


def pin_fingerprint(pin: str | bytes) -> str:
    """A per-process keyed fingerprint of a PIN (for logs/tests; never the PIN itself)."""
    return hashlib.sha256(_SALT + _pin_bytes(pin)).hexdigest()[:12]
