"""The node's one signing engine, configured once per process and shared by every workflow (documents,
copies, exchange, sealed reports).

The node is its own CA, OCSP responder and TSA: for certificates it issued, revocation answers and time-stamps
are produced in-process (the same code that serves /pki/ocsp, /pki/crl and /pki/tsa), and B-LT revocation data
is supplied to the engine instead of being fetched over HTTP from ourselves. Certificates of other CAs go to
their AIA/CRLDP URLs as usual."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pyhanko.sign.timestamps import TimeStamper

from .config import Settings
from .models import Agency, User
from .pki.ca import ALL_CAS, Identity
from .pki.responders import build_crl, build_ocsp_response
from .services import Services
from .signing import (
    InProcessTimeStamper,
    KeyHandle,
    KeyResolver,
    SigningEngine,
    SignOptions,
    SignResult,
    WaitingTimeStamper,
    http_timestamper,
)
from .signing.keys import CachedKeySigner
from .signing.revocation import http_crl, http_ocsp

Box = tuple[float, float, float, float]


def node_timestamper(svc: Services, settings: Settings) -> TimeStamper:
    """``DOCEXCHANGE_TSA_URL`` over HTTP with the ``DOCEXCHANGE_TSA_WAIT_SECONDS`` retry policy, or the node's
    in-process dev TSA when the URL is empty."""
    if not settings.tsa_url:
        return InProcessTimeStamper(svc.tsa)
    per_try = max(1.0, min(10.0, settings.tsa_wait_seconds))
    return WaitingTimeStamper(http_timestamper(settings.tsa_url, timeout=per_try), settings.tsa_wait_seconds,
                              name=settings.tsa_url)


class NodeSigning:
    """Implements the ``Signing`` protocols of documents and copies on top of ``SigningEngine``. ``settings``
    overrides the node's for the signing settings (TSA, level); tests use it."""

    def __init__(self, svc: Services, settings: Settings | None = None) -> None:
        cfg = settings or svc.settings
        self.svc = svc
        self.level: str = cfg.signing_level
        self.prefix = svc.settings.public_url.rstrip("/") + "/pki/"
        self.engine = SigningEngine(timestamper=node_timestamper(svc, cfg), trust_roots=svc.ca.anchors(),
                                    ocsp_fetch=self._ocsp, crl_fetch=self._crl, image_loader=svc.blobs.get_bytes,
                                    fetch_allow=svc.settings.fetch_allow_list())
        self.resolver = KeyResolver(certs_dir=svc.settings.certs_dir)
        self._ca_subjects = {svc.ca.cert(n).subject for n in ALL_CAS}

    # ---- revocation sources ---------------------------------------------------------------------------
    def _ocsp(self, url: str, request_der: bytes) -> bytes:
        if url.startswith(self.prefix):
            with self.svc.db.reading() as s:
                return build_ocsp_response(s, self.svc.ca, request_der)
        return http_ocsp(url, request_der, allow=self.svc.settings.fetch_allow_list())

    def _crl(self, url: str) -> bytes:
        if url.startswith(self.prefix + "crl/"):
            name = url.rsplit("/", 1)[-1].removesuffix(".crl")
            with self.svc.db.reading() as s:
                return build_crl(s, self.svc.ca, name)
        return http_crl(url, allow=self.svc.settings.fetch_allow_list())

    def _local_revinfo(self, key: KeyHandle) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
        """OCSP for the signer and the TSA, CRLs of every dev CA: everything B-LT needs, when we issued it."""
        if key.certificate.issuer not in self._ca_subjects:
            return (), ()
        ocsps = []
        tsa_cert = self.svc.tsa.cert
        for cert in (key.certificate, tsa_cert):
            issuer = next((c for c in (self.svc.ca.cert(n) for n in ALL_CAS) if c.subject == cert.issuer), None)
            if issuer is None:
                continue
            req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
            ocsps.append(self._ocsp(self.prefix + "ocsp", req.public_bytes(serialization.Encoding.DER)))
        crls = []
        with self.svc.db.reading() as s:
            for name in ALL_CAS:
                crls.append(build_crl(s, self.svc.ca, name))
        return tuple(ocsps), tuple(crls)

    # ---- keys ---------------------------------------------------------------------------------------
    def key(self, key_ref: str, pin: str) -> KeyHandle:
        """A stored key reference: a path relative to certs/, or a pkcs11: URI. (Resolved without the node
        database so that it can run inside the caller's transaction.) A wrong PIN carries ``key_ref``, so that
        ``auth.pin_guard`` counts it against this key."""
        from .signing import WrongPin

        try:
            if key_ref.startswith("pkcs11:"):
                return self.resolver.resolve(key_ref, pin)
            path = (self.svc.settings.certs_dir / key_ref).resolve()
            if not path.is_relative_to(self.svc.settings.certs_dir.resolve()):
                raise ValueError(f"key reference {key_ref!r} points outside certs/")
            return self.resolver.resolve(str(path), pin)
        except WrongPin as exc:
            exc.key_ref = key_ref  # type: ignore[attr-defined]
            raise

    def sign(self, src: Path, dst: Path, key: KeyHandle, profile: str, options: SignOptions,
             level: str | None = None) -> SignResult:
        level = level or self.level
        if level in ("B-LT", "B-LTA") and not options.ocsp_responses:
            ocsps, crls = self._local_revinfo(key)
            if ocsps:
                options = replace(options, ocsp_responses=ocsps, crls=crls)
        return self.engine.sign(src, dst, key, profile, level, options)

    # ---- documents.Signing ----------------------------------------------------------------------------
    def person(self, src: Path, dst: Path, *, user: User, pin: str, marker: str = "", position: str = "",
               page: int | None = None, box: Box | None = None) -> None:
        key = self._officer(user, pin)
        image = self.svc.blobs.get_bytes(user.signature_image_sha256) if user.signature_image_sha256 else None
        self.sign(src, dst, key, "person", SignOptions(
            image=image, signer_name=None if box else user.full_name, page=page, box=box,
            authority=marker or None, position=position or user.position or None,
            reason="Ký ban hành văn bản" if box is None else "Ký chứng thực bản sao"))

    def seal(self, src: Path, dst: Path, *, agency: Agency, pin: str, page: int | None = None,
             box: Box | None = None) -> None:
        key = self._agency(agency, pin)
        image = self.svc.blobs.get_bytes(agency.seal_image_sha256) if agency.seal_image_sha256 else None
        self.sign(src, dst, key, "seal", SignOptions(image=image, page=page, box=box,
                                                     reason="Đóng dấu cơ quan", location=agency.place or None))

    def attachment(self, src: Path, dst: Path, *, agency: Agency, pin: str, number_text: str) -> None:
        self.sign(src, dst, self._agency(agency, pin), "attachment", SignOptions(text=number_text))

    def copy(self, src: Path, dst: Path, *, agency: Agency, pin: str, form: str) -> None:
        self.sign(src, dst, self._agency(agency, pin), "copy", SignOptions(text=form, agency_name=agency.name))

    def _officer(self, user: User, pin: str) -> KeyHandle:
        from .errors import BadInput

        if not user.key_ref:
            raise BadInput(f"{user.username} has no signing key", f"{user.username} chưa có khóa ký số",
                           code="no_signing_key")
        return self.key(user.key_ref, pin)

    def _agency(self, agency: Agency, pin: str) -> KeyHandle:
        from .errors import BadInput

        if not agency.seal_key_ref:
            raise BadInput(f"{agency.name} has no seal key", f"{agency.name} chưa có khóa con dấu",
                           code="no_seal_key")
        return self.key(agency.seal_key_ref, pin)

    def seal_identity(self, agency: Agency, pin: str) -> Identity | None:
        """The seal key as a plain key object for the edXML package signature (PKCS#12 keys; a token key
        cannot sign XML through signxml, so such packages go without a package signature)."""
        handle = self._agency(agency, pin)
        signer = handle.signer
        if isinstance(signer, CachedKeySigner):
            return Identity(key=signer._key, cert=handle.certificate, chain=handle.chain)
        return None


_lock = threading.Lock()


def node_signing(svc: Services) -> NodeSigning:
    """One engine per Services container (appearances and parsed keys are cached inside)."""
    with _lock:
        cached: Any = svc.__dict__.get("_node_signing")
        if cached is None:
            cached = svc.__dict__["_node_signing"] = NodeSigning(svc)
    return cached  # type: ignore[no-any-return]

