"""The algorithm policy on the whole validated path, not only the signer's key and digest: a certificate in the
signer's chain or in the signature time-stamp's chain signed with SHA-1, or a CA with an RSA-1024 key, makes the
signature INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE (the same verdict as a weak signer key), with a message
naming the certificate. The trust anchor's own self-signature is not judged (it is trusted by configuration).

Small real chains (root → intermediate → leaf) built with ``cryptography``; B-B signatures (and a B-T one with an
in-process pyHanko time-stamper); no revocation URLs in the certificates, so offline with
``require_revocation=False`` is the complete check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from docexchange.signing.validation import ValidationPolicy, validate_pdf
from tests.validation import helpers as h

NOW = datetime.now(UTC)


@dataclass
class Node:
    key: Any
    cert: x509.Certificate


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CA Thử Nghiệm Thuật Toán"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(cn: str, key: Any, issuer: Node | None, *, ca: bool, md: Any = None, tsa: bool = False) -> Node:
    """A certificate for ``key`` signed by ``issuer`` (self-signed when None) with hash ``md`` (SHA-256)."""
    signing_key = key if issuer is None else issuer.key
    b = (x509.CertificateBuilder().subject_name(_name(cn))
         .issuer_name(_name(cn) if issuer is None else issuer.cert.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(NOW - timedelta(days=2)).not_valid_after(NOW + timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                            critical=False)
    if ca:
        ku = x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                           encipher_only=False, decipher_only=False)
    else:
        ku = x509.KeyUsage(digital_signature=True, content_commitment=not tsa, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                           encipher_only=False, decipher_only=False)
    b = b.add_extension(ku, critical=True)
    if tsa:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    cert = b.sign(signing_key, hashes.SHA256())
    return Node(key, cert if md is None else _resign(cert, signing_key, md))


def _resign(cert: x509.Certificate, issuer_key: Any, md: Any) -> x509.Certificate:
    """The same certificate signed with ``md`` (RSA PKCS#1 v1.5). cryptography's builder refuses SHA-1 for
    certificates, but such certificates exist in the wild, so the TBS is re-signed by hand."""
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    a = ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    algo = {"algorithm": f"{md.name}_rsa"}
    tbs = a["tbs_certificate"].copy()
    tbs["signature"] = algo
    der = tbs.dump(force=True)
    out = ax509.Certificate({"tbs_certificate": tbs, "signature_algorithm": algo,
                             "signature_value": issuer_key.sign(der, padding.PKCS1v15(), md)})
    return x509.load_der_x509_certificate(out.dump())


_KEYS: dict[str, Any] = {}


def _rsa(bits: int = 2048, slot: str = "") -> Any:
    """RSA keys are the slow part: one per (size, slot) for the module."""
    k = f"{bits}:{slot}"
    if k not in _KEYS:
        _KEYS[k] = rsa.generate_private_key(65537, bits)
    return _KEYS[k]


@dataclass
class Chain:
    root: Node
    interm: Node
    leaf: Node


def _chain(tag: str, *, interm_md: Any = None, interm_key: Any = None, leaf_md: Any = None,
           root_key: Any = None, tsa: bool = False) -> Chain:
    # distinct CA keys per chain: path building matches issuers by key identifier as well as by name
    root = _issue(f"Gốc {tag}", root_key or _rsa(2048, f"root {tag}"), None, ca=True)
    interm = _issue(f"CA trung gian {tag}", interm_key or _rsa(2048, f"interm {tag}"), root, ca=True,
                    md=interm_md)
    leaf = _issue(f"Người ký {tag}" if not tsa else f"TSA {tag}", _rsa(2048, "leaf" if not tsa else "tsa"),
                  interm, ca=False, md=leaf_md, tsa=tsa)
    return Chain(root, interm, leaf)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return h.make_pdf()


def _stamper(tsa: Chain) -> Any:
    """pyHanko's in-process time-stamper with the given TSA chain."""
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return DummyTimeStamper(tsa_cert=h.asn1_cert(tsa.leaf.cert), tsa_key=h.signer_for(
        tsa.leaf.key, tsa.leaf.cert, []).signing_key, certs_to_embed=SimpleCertificateStore.from_certs(
        [h.asn1_cert(tsa.interm.cert), h.asn1_cert(tsa.root.cert)]))


def _signed(pdf: bytes, c: Chain, tsa: Chain | None = None) -> bytes:
    signer = h.signer_for(c.leaf.key, c.leaf.cert, [c.interm.cert, c.root.cert])
    if tsa is None:
        return h.sign(pdf, signer)
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    stamper = _stamper(tsa)
    meta = signers.PdfSignatureMetadata(field_name="Sig1", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer, timestamper=stamper).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out)
    return out.getvalue()


def _policy(*roots: Node, **kw: Any) -> ValidationPolicy:
    return ValidationPolicy(trust_anchors=[r.cert for r in roots], offline=True, require_revocation=False,
                            visual_check=False, **kw)


def _only_sig(rep: Any) -> Any:
    assert len(rep.signatures) == 1, rep.to_json()
    return rep.signatures[0]


def _codes(sig: Any) -> list[str]:
    return [m.code for m in sig.messages]


def test_good_chain_passes(pdf: bytes) -> None:
    c = _chain("tốt")
    rep = validate_pdf(_signed(pdf, c), _policy(c.root))
    s = _only_sig(rep)
    assert (rep.indication, s.indication, s.subindication) == ("TOTAL_PASSED", "TOTAL_PASSED", None), rep.to_json()
    assert s.chain == ["Gốc tốt", "CA trung gian tốt", "Người ký tốt"]
    assert not {"WEAK_CHAIN_KEY", "WEAK_CHAIN_SIGNATURE", "WEAK_KEY", "WEAK_DIGEST"} & set(_codes(s))


def test_sha1_signed_intermediate_is_crypto_constraints_failure(pdf: bytes) -> None:
    c = _chain("SHA1", interm_md=hashes.SHA1())  # noqa: S303 - the weak case under test
    rep = validate_pdf(_signed(pdf, c), _policy(c.root))
    s = _only_sig(rep)
    assert (s.integrity, s.indication, s.subindication) == (True, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"), \
        rep.to_json()
    assert rep.indication == "INDETERMINATE" and rep.exit_code == 2
    weak = [m for m in s.messages if m.code == "WEAK_CHAIN_SIGNATURE"]
    assert len(weak) == 1 and weak[0].severity == "error"
    assert "CA trung gian SHA1" in weak[0].vi and "CA trung gian SHA1" in weak[0].en
    assert "sha1" in weak[0].vi and "sha1" in weak[0].en and "signer's certificate chain" in weak[0].en
    # the signer's own key and digest are fine, the root's self-signature is not judged
    assert not {"WEAK_KEY", "WEAK_DIGEST", "WEAK_CHAIN_KEY"} & set(_codes(s))


def test_sha1_signed_leaf_names_the_leaf(pdf: bytes) -> None:
    c = _chain("lá SHA1", leaf_md=hashes.SHA1())  # noqa: S303
    s = _only_sig(validate_pdf(_signed(pdf, c), _policy(c.root)))
    assert (s.indication, s.subindication) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    weak = [m for m in s.messages if m.code == "WEAK_CHAIN_SIGNATURE"]
    assert len(weak) == 1 and "Người ký lá SHA1" in weak[0].en


def test_rsa1024_intermediate_is_crypto_constraints_failure(pdf: bytes) -> None:
    c = _chain("RSA1024", interm_key=_rsa(1024, "interm"))
    rep = validate_pdf(_signed(pdf, c), _policy(c.root))
    s = _only_sig(rep)
    assert (s.integrity, s.indication, s.subindication) == (True, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"), \
        rep.to_json()
    weak = [m for m in s.messages if m.code == "WEAK_CHAIN_KEY"]
    assert len(weak) == 1, _codes(s)
    assert "CA trung gian RSA1024" in weak[0].vi and "CA trung gian RSA1024" in weak[0].en
    assert "RSA" in weak[0].en and "1024" in weak[0].en and "2048" in weak[0].en and "1024 bit" in weak[0].vi
    assert "WEAK_CHAIN_SIGNATURE" not in _codes(s) and "WEAK_KEY" not in _codes(s)


def test_weak_root_key_is_reported_but_not_its_self_signature(pdf: bytes) -> None:
    c = _chain("gốc yếu", root_key=_rsa(1024, "root"))
    # the root signs itself with SHA-1 too: its self-signature is configuration, not judged
    sha1_root = _issue("Gốc gốc yếu", c.root.key, None, ca=True, md=hashes.SHA1())  # noqa: S303
    s = _only_sig(validate_pdf(_signed(pdf, Chain(sha1_root, c.interm, c.leaf)), _policy(sha1_root)))
    assert (s.indication, s.subindication) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    weak = [m for m in s.messages if m.code == "WEAK_CHAIN_KEY"]
    assert len(weak) == 1 and "Gốc gốc yếu" in weak[0].en and "1024" in weak[0].en
    assert "WEAK_CHAIN_SIGNATURE" not in _codes(s)


def test_small_ec_intermediate(pdf: bytes) -> None:
    c = _chain("EC192", interm_key=ec.generate_private_key(ec.SECP192R1()))
    s = _only_sig(validate_pdf(_signed(pdf, c), _policy(c.root)))
    assert (s.indication, s.subindication) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    weak = [m for m in s.messages if m.code == "WEAK_CHAIN_KEY"]
    assert len(weak) == 1 and "CA trung gian EC192" in weak[0].en and "EC key of 192 bits" in weak[0].en


def test_good_ec_intermediate_passes(pdf: bytes) -> None:
    c = _chain("EC256", interm_key=ec.generate_private_key(ec.SECP256R1()))
    s = _only_sig(validate_pdf(_signed(pdf, c), _policy(c.root)))
    assert (s.indication, s.subindication) == ("TOTAL_PASSED", None), s.messages


def test_weak_timestamp_chain(pdf: bytes) -> None:
    c = _chain("ký")
    good_tsa = _chain("TSA tốt", tsa=True)
    weak_tsa = _chain("TSA SHA1", interm_md=hashes.SHA1(), tsa=True)  # noqa: S303
    rep = validate_pdf(_signed(pdf, c, good_tsa), _policy(c.root, good_tsa.root))
    s = _only_sig(rep)
    assert (s.indication, s.level) == ("TOTAL_PASSED", "B-T"), rep.to_json()
    assert s.timestamp is not None and s.timestamp.valid
    rep = validate_pdf(_signed(pdf, c, weak_tsa), _policy(c.root, weak_tsa.root))
    s = _only_sig(rep)
    assert (s.integrity, s.indication, s.subindication) == (True, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE"), \
        rep.to_json()
    weak = [m for m in s.messages if m.code == "WEAK_CHAIN_SIGNATURE"]
    assert len(weak) == 1 and "CA trung gian TSA SHA1" in weak[0].en and "time-stamp's certificate chain" in \
        weak[0].en and "chuỗi chứng thư của dấu thời gian" in weak[0].vi


def test_weak_tsa_key(pdf: bytes) -> None:
    c = _chain("ký TSA yếu")
    tsa_root = _issue("Gốc TSA khoá yếu", _rsa(2048, "root TSA khoá yếu"), None, ca=True)
    tsa_int = _issue("CA TSA khoá yếu", _rsa(2048, "interm TSA khoá yếu"), tsa_root, ca=True)
    tsa_leaf = _issue("TSA khoá 1024", _rsa(1024, "tsa"), tsa_int, ca=False, tsa=True)
    s = _only_sig(validate_pdf(_signed(pdf, c, Chain(tsa_root, tsa_int, tsa_leaf)), _policy(c.root, tsa_root)))
    assert (s.indication, s.subindication) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    weak = [m for m in s.messages if m.code == "WEAK_CHAIN_KEY"]
    assert len(weak) == 1 and "TSA khoá 1024" in weak[0].en


def test_weak_document_timestamp_chain(pdf: bytes) -> None:
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    c = _chain("ký DTS")
    tsa = _chain("DTS RSA1024", interm_key=_rsa(1024, "interm DTS"), tsa=True)
    out = io.BytesIO()
    signers.PdfTimeStamper(_stamper(tsa)).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(_signed(pdf, c)), strict=False), "sha256", output=out)
    rep = validate_pdf(out.getvalue(), _policy(c.root, tsa.root))
    sig, dts = rep.signatures
    assert (sig.indication, dts.kind) == ("TOTAL_PASSED", "document_timestamp"), rep.to_json()
    assert (dts.integrity, dts.indication, dts.subindication) == (True, "INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    weak = [m for m in dts.messages if m.code == "WEAK_CHAIN_KEY"]
    assert len(weak) == 1 and "CA trung gian DTS RSA1024" in weak[0].en and "time-stamp's" in weak[0].en
    assert rep.indication == "INDETERMINATE"


def test_past_time_validation_keeps_the_chain_check(pdf: bytes) -> None:
    good, weak = _chain("at tốt"), _chain("at SHA1", interm_md=hashes.SHA1())  # noqa: S303
    good_pdf, weak_pdf = _signed(pdf, good), _signed(pdf, weak)
    at = datetime.now(UTC) + timedelta(days=30)
    r = validate_pdf(good_pdf, _policy(good.root, at=at))
    assert r.indication == "TOTAL_PASSED" and r.validation_time.startswith(
        (at + timedelta(hours=7)).strftime("%Y-%m-%d")), r.to_json()
    s = _only_sig(validate_pdf(weak_pdf, _policy(weak.root, at=at)))
    assert (s.indication, s.subindication) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    assert "WEAK_CHAIN_SIGNATURE" in _codes(s)
    # before the certificates existed: not valid at that time, and still no crash / no chain verdict invented
    before = validate_pdf(weak_pdf, _policy(weak.root, at=NOW - timedelta(days=10)))
    assert before.indication == "INDETERMINATE" and _only_sig(before).integrity is True


def test_untrusted_chain_is_not_judged(pdf: bytes) -> None:
    """No path to an anchor: the verdict stays the trust problem (no path, nothing validated to judge)."""
    c = _chain("không tin", interm_md=hashes.SHA1())  # noqa: S303
    other = _chain("khác")
    s = _only_sig(validate_pdf(_signed(pdf, c), _policy(other.root)))
    assert (s.indication, s.subindication) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND")
    assert "WEAK_CHAIN_SIGNATURE" not in _codes(s)
