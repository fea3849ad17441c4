"""Live revocation and time-stamping: CRLs and OCSP answers computed from the ``certificates`` table, and an
RFC 3161 time-stamp authority. Plain functions over a ``DevCA``; the HTTP layer is in ``api/pki.py``."""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from datetime import UTC, datetime, timedelta

import pyhanko.sign.ades.cades_asn1  # noqa: F401  (registers CAdES attribute types, see below)
from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Certificate
from .ca import ALL_CAS, INTERMEDIATES, REASONS, DevCA

TSA_POLICY = "1.3.6.1.4.1.59999.2.1"

# asn1crypto caches the reverse OID map of CMS attribute types the first time one is encoded; attribute types
# registered later (pyHanko's CAdES signer-attributes-v2, used by the signing engine) would then fail to encode
# ("invalid literal for int() … 'signer_attributes_v2'"). Registering them first and dropping any stale cache
# makes the order of imports irrelevant.
cms.CMSAttributeType._reverse_map = None


class MalformedRequest(ValueError):
    """The request could not be parsed (HTTP 400)."""


# ---- CRL ----------------------------------------------------------------------------------------------
def build_crl(session: Session, ca: DevCA, ca_name: str, validity: timedelta = timedelta(hours=24)) -> bytes:
    if ca_name not in ALL_CAS:
        raise LookupError(ca_name)
    cert, key = ca.load(ca_name)
    now = datetime.now(UTC)
    b = (x509.CertificateRevocationListBuilder().issuer_name(cert.subject)
         .last_update(now - timedelta(minutes=1)).next_update(now + validity)
         .add_extension(x509.CRLNumber(time.time_ns() // 1000), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(cert.public_key()),  # type: ignore[arg-type]
                        critical=False))
    rows = session.execute(select(Certificate).where(Certificate.issuer_name == ca_name,
                                                     Certificate.revoked_at.is_not(None))).scalars()
    for row in rows:
        assert row.revoked_at is not None
        rb = (x509.RevokedCertificateBuilder().serial_number(int(row.serial, 16))
              .revocation_date(row.revoked_at))
        reason = REASONS.get(row.revocation_reason or "unspecified")
        if reason is not None and reason != x509.ReasonFlags.unspecified:
            rb = rb.add_extension(x509.CRLReason(reason), critical=False)
        b = b.add_revoked_certificate(rb.build())
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


# ---- OCSP ---------------------------------------------------------------------------------------------
def _key_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    bits = ax509.PublicKeyInfo.load(spki)["public_key"].contents[1:]  # BIT STRING value without unused-bits byte
    h = hashes.Hash(algorithm)
    h.update(bits)
    return h.finalize()


def build_ocsp_response(session: Session, ca: DevCA, request_der: bytes) -> bytes:
    """Answer one OCSP request: good / revoked / unknown, signed by the delegated responder of the issuing
    CA (or the CA itself for intermediates' status). Raises ``MalformedRequest`` on garbage."""
    try:
        req = ocsp.load_der_ocsp_request(request_der)
        serial = req.serial_number
        algorithm = req.hash_algorithm
        key_hash = req.issuer_key_hash
        name_hash = req.issuer_name_hash
    except Exception as exc:  # cryptography raises ValueError / UnsupportedAlgorithm
        raise MalformedRequest(f"malformed OCSP request: {exc}") from exc
    issuer_name = None
    for name in ALL_CAS:
        if _key_hash(ca.cert(name), algorithm) == key_hash:
            issuer_name = name
            break
    if issuer_name is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
    issuer_cert, issuer_key = ca.load(issuer_name)
    responder_cert, responder_key = (ca.load(f"ocsp-{issuer_name}") if issuer_name in INTERMEDIATES
                                     else (issuer_cert, issuer_key))
    row = session.execute(select(Certificate).where(Certificate.issuer_name == issuer_name,
                                                    Certificate.serial == format(serial, "x"))).scalar_one_or_none()
    now = datetime.now(UTC)
    revocation_time = None
    revocation_reason = None
    if row is None:
        status = ocsp.OCSPCertStatus.UNKNOWN
    elif row.revoked_at is not None:
        status = ocsp.OCSPCertStatus.REVOKED
        revocation_time = row.revoked_at
        revocation_reason = REASONS.get(row.revocation_reason or "unspecified")
    else:
        status = ocsp.OCSPCertStatus.GOOD
    b = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=name_hash, issuer_key_hash=key_hash, serial_number=serial, algorithm=algorithm,
        cert_status=status, this_update=now - timedelta(minutes=1), next_update=now + timedelta(hours=1),
        revocation_time=revocation_time, revocation_reason=revocation_reason,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, responder_cert)
    if responder_cert is not issuer_cert:
        b = b.certificates([responder_cert])
    for ext in req.extensions:
        if isinstance(ext.value, x509.OCSPNonce):
            b = b.add_extension(ext.value, critical=False)
    return b.sign(responder_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


# ---- RFC 3161 TSA -------------------------------------------------------------------------------------
_HASH_LEN = {"sha256": 32, "sha384": 48, "sha512": 64}
_serial_counter = itertools.count(int.from_bytes(os.urandom(6), "big") << 16)


class TimeStampAuthority:
    """Issues RFC 3161 tokens with the dev TSA key (parsed once)."""

    def __init__(self, ca: DevCA) -> None:
        cert, key = ca.load("tsa")
        self.cert = cert
        self.key = key
        self.chain = [ax509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                      for c in ca.chain_for("gov-int")]
        self._cert_asn1 = ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
        self._cert_hash = hashlib.sha256(self._cert_asn1.dump()).digest()

    def respond(self, request_der: bytes) -> bytes:
        """A full TimeStampResp for a DER TimeStampReq; raises ``MalformedRequest`` on garbage."""
        try:
            req = tsp.TimeStampReq.load(request_der)
            imprint = req["message_imprint"]
            alg = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            nonce = req["nonce"].native
            cert_req = bool(req["cert_req"].native)
            policy = req["req_policy"].native
        except Exception as exc:
            raise MalformedRequest(f"malformed time-stamp request: {exc}") from exc
        if alg not in _HASH_LEN or len(digest) != _HASH_LEN[alg]:
            return tsp.TimeStampResp({"status": {"status": "rejection", "status_string": ["unsupported hash"],
                                                 "fail_info": "bad_alg"}}).dump()
        if policy is not None and policy != TSA_POLICY:
            return tsp.TimeStampResp({"status": {"status": "rejection", "fail_info": "unaccepted_policy"}}).dump()
        token = self.token(digest, alg, nonce=nonce, include_chain=cert_req)
        return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()

    def stamp(self, digest: bytes, alg: str = "sha256") -> bytes:
        """DER TimeStampToken (ContentInfo) over ``digest``; used by the ledger in-process."""
        return self.token(digest, alg, nonce=None, include_chain=True).dump()

    def token(self, digest: bytes, alg: str, *, nonce: int | None, include_chain: bool) -> cms.ContentInfo:
        now = datetime.now(UTC).replace(microsecond=(datetime.now(UTC).microsecond // 1000) * 1000)
        info: dict[str, object] = {
            "version": "v1", "policy": TSA_POLICY,
            "message_imprint": {"hash_algorithm": {"algorithm": alg}, "hashed_message": digest},
            "serial_number": next(_serial_counter), "gen_time": now,
            "accuracy": {"seconds": 1}, "ordering": False,
        }
        if nonce is not None:
            info["nonce"] = nonce
        tst_info = tsp.TSTInfo(info)
        content = tst_info.dump()
        signed_attrs = cms.CMSAttributes([
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "signing_time", "values": [cms.Time({"utc_time": now})]},
            {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
            {"type": "signing_certificate_v2", "values": [tsp.SigningCertificateV2(
                {"certs": [{"hash_algorithm": {"algorithm": "sha256"}, "cert_hash": self._cert_hash}]})]},
        ])
        to_sign = signed_attrs.dump()
        if isinstance(self.key, rsa.RSAPrivateKey):
            signature = self.key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
            sig_alg = "sha256_rsa"
        else:
            assert isinstance(self.key, ec.EllipticCurvePrivateKey)
            signature = self.key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
            sig_alg = "sha256_ecdsa"
        signer_info = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
                "issuer": self._cert_asn1.issuer, "serial_number": self._cert_asn1.serial_number}}),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": sig_alg}),
            "signature": signature,
        })
        certs = [self._cert_asn1] + (self.chain if include_chain else [])
        signed_data = cms.SignedData({
            "version": "v3",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(content)},
            "certificates": certs if include_chain else [self._cert_asn1],
            "signer_infos": [signer_info],
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": signed_data})


def token_time_if_valid(token_der: bytes, digest: bytes, tsa_cert: x509.Certificate) -> datetime | None:
    """Check a token we issued: imprint matches ``digest`` and the signature verifies with ``tsa_cert``."""
    try:
        ci = cms.ContentInfo.load(token_der)
        sd = ci["content"]
        info = sd["encap_content_info"]["content"].parsed
        if info["message_imprint"]["hashed_message"].native != digest:
            return None
        si = sd["signer_infos"][0]
        attrs = si["signed_attrs"]
        md = next(a["values"][0].native for a in attrs if a["type"].native == "message_digest")
        if md != hashlib.sha256(sd["encap_content_info"]["content"].contents).digest():
            return None
        data = attrs.untag().dump()
        pub = tsa_cert.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(si["signature"].native, data, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(si["signature"].native, data, ec.ECDSA(hashes.SHA256()))
        else:
            return None
        gen_time: datetime = info["gen_time"].native
        return gen_time
    except Exception:
        return None
