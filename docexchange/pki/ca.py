"""The development CA: creates the two trust anchors and their intermediates, issues agency-seal, officer,
TSA and OCSP-responder certificates, and records every certificate in the ``certificates`` table so that
CRLs and OCSP answers are computed live from the database.

Layout under ``certs/``:
  anchors/<root>.pem            public trust anchors (exported, safe to distribute)
  ca/<name>.crt.pem, .key.pem   CA certificates and password-encrypted CA keys (git-ignored)
  keys/<name>.p12               issued end-entity keys, encrypted PKCS#12 (git-ignored)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Certificate
from .keys import PrivateKey, cert_pem, generate_key, load_encrypted_pem, write_encrypted_pem

# Private-arc policy OID our dev CA puts in agency-seal certificates (the real Vietnamese CAs mark
# organisation certificates by subject content; we also check that, see signing/validation).
ORG_SEAL_POLICY = ObjectIdentifier("1.3.6.1.4.1.59999.1.1")
PERSON_POLICY = ObjectIdentifier("1.3.6.1.4.1.59999.1.2")

ROOTS = {
    "gov-root": "CA chuyên dùng Chính phủ (thử nghiệm)",
    "neac-root": "Root CA NEAC (thử nghiệm)",
}
INTERMEDIATES = {
    "gov-int": ("gov-root", "CA phục vụ các cơ quan Nhà nước (thử nghiệm)"),
    "neac-int": ("neac-root", "CA công cộng (thử nghiệm)"),
}
ALL_CAS = tuple(ROOTS) + tuple(INTERMEDIATES)


@dataclass(frozen=True)
class Identity:
    """A key and its certificate with the chain up to (and including) the root."""

    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def serial_hex(self) -> str:
        return format(self.cert.serial_number, "x")


def serial_hex(cert: x509.Certificate) -> str:
    return format(cert.serial_number, "x")


def cert_sha256(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _name(cn: str, o: str | None = None, ou: str | None = None, title: str | None = None,
          locality: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if locality:
        attrs.append(x509.NameAttribute(NameOID.LOCALITY_NAME, locality))
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    if title:
        attrs.append(x509.NameAttribute(NameOID.TITLE, title))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


class DevCA:
    """File-backed CA material plus database-recorded issuance. Parsed CA keys are cached per instance."""

    def __init__(self, certs_dir: Path, password: bytes, base_url: str) -> None:
        self.dir = Path(certs_dir)
        self.password = password
        self.base_url = base_url.rstrip("/")
        self._cache: dict[str, tuple[x509.Certificate, PrivateKey]] = {}

    # ---- paths and loading -------------------------------------------------------------------------
    def cert_path(self, name: str) -> Path:
        return self.dir / "ca" / f"{name}.crt.pem"

    def key_path(self, name: str) -> Path:
        return self.dir / "ca" / f"{name}.key.pem"

    def is_initialised(self) -> bool:
        return all(self.cert_path(n).exists() for n in ALL_CAS) and self.cert_path("tsa").exists()

    def load(self, name: str) -> tuple[x509.Certificate, PrivateKey]:
        if name not in self._cache:
            cert = x509.load_pem_x509_certificate(self.cert_path(name).read_bytes())
            key = load_encrypted_pem(self.key_path(name), self.password)
            self._cache[name] = (cert, key)
        return self._cache[name]

    def cert(self, name: str) -> x509.Certificate:
        if name in self._cache:
            return self._cache[name][0]
        return x509.load_pem_x509_certificate(self.cert_path(name).read_bytes())

    def anchors(self) -> list[x509.Certificate]:
        return [self.cert(r) for r in ROOTS]

    def chain_for(self, issuer: str) -> tuple[x509.Certificate, ...]:
        if issuer in ROOTS:
            return (self.cert(issuer),)
        parent = INTERMEDIATES[issuer][0]
        return (self.cert(issuer), self.cert(parent))

    # ---- creation ------------------------------------------------------------------------------------
    def init(self, session: Session, key_type: str = "rsa2048") -> None:
        """Create anchors, intermediates, TSA and OCSP responders if absent (idempotent)."""
        now = datetime.now(UTC)
        (self.dir / "anchors").mkdir(parents=True, exist_ok=True)
        for name, cn in ROOTS.items():
            if not self.cert_path(name).exists():
                key = generate_key("rsa3072" if key_type.startswith("rsa") else key_type)
                subject = _name(cn, o=cn)
                cert = self._build(subject, key, subject, key, serial=x509.random_serial_number(),
                                   not_before=now - timedelta(days=1), days=3650, ca=True, path_len=1,
                                   crl_of=None, ocsp=False)
                self._store(session, name, cert, key, "root", name)
            (self.dir / "anchors" / f"{name}.pem").write_bytes(cert_pem(self.cert(name)))
        for name, (parent, cn) in INTERMEDIATES.items():
            if not self.cert_path(name).exists():
                pcert, pkey = self.load(parent)
                key = generate_key(key_type)
                cert = self._build(_name(cn, o=cn), key, pcert.subject, pkey,
                                   serial=x509.random_serial_number(), not_before=now - timedelta(days=1),
                                   days=1825, ca=True, path_len=0, crl_of=parent, ocsp=False)
                self._store(session, name, cert, key, "intermediate", parent)
        if not self.cert_path("tsa").exists():
            ident = self.issue(session, kind="tsa", issuer="gov-int",
                               common_name="Dịch vụ cấp dấu thời gian (thử nghiệm)", key_type="rsa2048",
                               organization="docexchange dev TSA", days=1825, store=False)
            self._store(session, "tsa", ident.cert, ident.key, None, None)
        for ca_name in INTERMEDIATES:
            name = f"ocsp-{ca_name}"
            if not self.cert_path(name).exists():
                ident = self.issue(session, kind="ocsp", issuer=ca_name, common_name=f"OCSP {ca_name}",
                                   key_type="ec256", organization="docexchange dev OCSP", days=1825,
                                   store=False)
                self._store(session, name, ident.cert, ident.key, None, None)

    def _store(self, session: Session, name: str, cert: x509.Certificate, key: PrivateKey,
               kind: str | None, issuer_name: str | None) -> None:
        write_encrypted_pem(self.key_path(name), key, self.password)
        self.cert_path(name).write_bytes(cert_pem(cert))
        self._cache[name] = (cert, key)
        if kind is not None and issuer_name is not None:
            self._record(session, cert, kind, issuer_name, key_ref=None)

    def _record(self, session: Session, cert: x509.Certificate, kind: str, issuer_name: str,
                key_ref: str | None) -> Certificate:
        cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        row = Certificate(
            serial=serial_hex(cert), issuer_name=issuer_name, kind=kind, subject=cert.subject.rfc4514_string(),
            common_name=str(cn[0].value) if cn else "", sha256=cert_sha256(cert),
            der=cert.public_bytes(serialization.Encoding.DER), not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc, key_ref=key_ref)
        session.add(row)
        session.flush()
        return row

    def _build(self, subject: x509.Name, key: PrivateKey, issuer: x509.Name, issuer_key: PrivateKey, *,
               serial: int, not_before: datetime, days: int, ca: bool, path_len: int | None = None,
               crl_of: str | None, ocsp: bool, kind: str = "ca", issuer_cert: x509.Certificate | None = None,
               not_after: datetime | None = None) -> x509.Certificate:
        pub = key.public_key()
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
             .serial_number(serial).not_valid_before(not_before)
             .not_valid_after(not_after or (not_before + timedelta(days=days)))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False))
        if issuer_cert is not None:
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_cert.public_key()), critical=False)  # type: ignore[arg-type]
        elif issuer != subject:
            b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False)
        if ca:
            b = b.add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                              key_encipherment=False, data_encipherment=False,
                                              key_agreement=False, key_cert_sign=True, crl_sign=True,
                                              encipher_only=False, decipher_only=False), critical=True)
        else:
            b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=kind != "ocsp",
                                              key_encipherment=False, data_encipherment=False,
                                              key_agreement=False, key_cert_sign=False, crl_sign=False,
                                              encipher_only=False, decipher_only=False), critical=True)
        if kind == "tsa":
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        elif kind == "ocsp":
            b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
            b = b.add_extension(x509.OCSPNoCheck(), critical=False)
        elif kind in ("seal", "person"):
            policy = ORG_SEAL_POLICY if kind == "seal" else PERSON_POLICY
            b = b.add_extension(x509.CertificatePolicies([x509.PolicyInformation(policy, None)]), critical=False)
        if crl_of is not None:
            b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(f"{self.base_url}/pki/crl/{crl_of}.crl")],
                relative_name=None, reasons=None, crl_issuer=None)]), critical=False)
        if ocsp and crl_of is not None:
            b = b.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.OCSP,
                                       x509.UniformResourceIdentifier(f"{self.base_url}/pki/ocsp")),
                x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                                       x509.UniformResourceIdentifier(f"{self.base_url}/pki/ca/{crl_of}.crt")),
            ]), critical=False)
        return b.sign(issuer_key, hashes.SHA256())

    def issue(self, session: Session, *, kind: str, issuer: str, common_name: str, key_type: str = "rsa2048",
              organization: str | None = None, title: str | None = None, locality: str | None = None,
              days: int = 730, not_before: datetime | None = None, not_after: datetime | None = None,
              key: PrivateKey | None = None, store: bool = True, key_ref: str | None = None,
              with_revocation_urls: bool = True) -> Identity:
        """Issue an end-entity certificate (kind: seal | person | tsa | ocsp) under an intermediate."""
        if kind not in ("seal", "person", "tsa", "ocsp"):
            raise ValueError(f"unknown certificate kind {kind!r}")
        icert, ikey = self.load(issuer)
        key = key or generate_key(key_type)
        nb = not_before or datetime.now(UTC) - timedelta(minutes=5)
        if kind == "seal":
            subject = _name(common_name, o=common_name, locality=locality)
        else:
            subject = _name(common_name, o=organization, title=title, locality=locality)
        cert = self._build(subject, key, icert.subject, ikey, serial=x509.random_serial_number(),
                           not_before=nb, days=days, not_after=not_after, ca=False,
                           crl_of=issuer if with_revocation_urls and kind != "ocsp" else None,
                           ocsp=with_revocation_urls and kind != "ocsp", kind=kind, issuer_cert=icert)
        if store:
            self._record(session, cert, kind, issuer, key_ref)
        return Identity(key=key, cert=cert, chain=self.chain_for(issuer))

    def ca_name_for(self, cert: x509.Certificate) -> str | None:
        for name in ALL_CAS:
            if self.cert(name).subject == cert.issuer:
                return name
        return None

    # ---- revocation ----------------------------------------------------------------------------------
    @staticmethod
    def revoke(session: Session, serial: str, reason: str = "unspecified",
               when: datetime | None = None) -> Certificate:
        """Mark a certificate revoked; the next CRL and OCSP answer reflect it."""
        serial = serial.lower().removeprefix("0x")
        if reason not in REASONS:
            raise ValueError(f"unknown revocation reason {reason!r}; one of {sorted(REASONS)}")
        rows = list(session.execute(select(Certificate).where(Certificate.serial == serial)).scalars())
        if not rows:
            raise LookupError(f"no certificate with serial {serial}")
        row = rows[0]
        if row.revoked_at is None:
            row.revoked_at = when or datetime.now(UTC)
            row.revocation_reason = reason
        return row


REASONS = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "ca_compromise": x509.ReasonFlags.ca_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "certificate_hold": x509.ReasonFlags.certificate_hold,
}
