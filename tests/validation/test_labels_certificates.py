"""Issue 17 §2 and §3 (self-signed), issue 13 §6: the signer-certificate policy and fail-closed algorithm checks.

Certificates are issued by the dev CA's own intermediate (``gov-int``, the live node's PKI) with the extension
under test; the intermediate's CRL is fetched live from the node."""

from __future__ import annotations

from typing import Any

import pytest

from docexchange.signing.validation import validate_pdf
from tests.conftest import LiveNode
from tests.validation import helpers as h
from tests.validation import tamper as t
from tests.validation.test_generated import Kit


@pytest.fixture(scope="module")
def kit(live_node: LiveNode) -> Kit:
    return Kit(live_node)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return h.make_pdf()


def _verdict(kit: Kit, pdf: bytes, **cert: Any) -> Any:
    key, cert_, chain = t.issue(kit.svc.ca, "Người ký Thử Chính Sách", **cert)
    r = validate_pdf(t.sign_with(pdf, key, cert_, chain), kit.online)
    assert len(r.signatures) == 1, r.to_json()
    return r.signatures[0]


@pytest.mark.parametrize("cert,code", [
    (dict(eku=t.SERVER_AUTH), "SIGNER_EXTENDED_KEY_USAGE"),          # a TLS server certificate
    (dict(is_ca=True), "SIGNER_IS_CA"),                              # a CA certificate (keyCertSign too)
    (dict(is_ca=True, key_usage=t.ku()), "SIGNER_IS_CA"),            # CA:TRUE even with signing key usages
    (dict(key_usage=t.ku(ds=False, nr=False, key_enc=True)), "SIGNER_KEY_USAGE"),  # encryption only
], ids=["serverAuth-only", "ca-true", "ca-true-with-signing-ku", "keyEncipherment-only"])
def test_certificate_not_meant_for_signing(kit: Kit, pdf: bytes, cert: dict[str, Any], code: str) -> None:
    s = _verdict(kit, pdf, **cert)
    assert (s.integrity, s.modifications) == (True, "NONE")
    assert (s.indication, s.subindication) == ("INDETERMINATE", "SIG_CONSTRAINTS_FAILURE"), s.messages
    msg = next(m for m in s.messages if m.code == code)
    assert msg.severity == "error" and "Người ký Thử Chính Sách" in msg.vi and msg.en


@pytest.mark.parametrize("cert", [
    dict(eku=t.DOC_SIGNING), dict(eku=t.ADOBE), dict(eku=t.MS_DOC), dict(eku=t.EMAIL), dict(eku=t.ANY),
    dict(eku=t.SERVER_AUTH + t.DOC_SIGNING), dict(), dict(key_usage=t.ku(nr=False)), dict(key_usage=t.ku(ds=False)),
], ids=["documentSigning", "adobe", "microsoft", "emailProtection", "anyEKU", "server+documentSigning", "no-eku",
        "digitalSignature-only", "nonRepudiation-only"])
def test_document_signing_certificates_pass(kit: Kit, pdf: bytes, cert: dict[str, Any]) -> None:
    s = _verdict(kit, pdf, **cert)
    assert (s.indication, s.subindication, s.integrity) == ("TOTAL_PASSED", None, True), s.messages


def test_self_signed_signer_has_no_chain(kit: Kit, pdf: bytes) -> None:
    s = _verdict(kit, pdf, self_signed=True)
    assert s.integrity is True and s.trusted is False
    assert (s.indication, s.subindication) == ("INDETERMINATE", "NO_CERTIFICATE_CHAIN_FOUND"), s.messages
    assert "CHAIN_CONSTRAINTS_FAILURE" not in {m.code for m in s.messages}
    assert "SELF_SIGNED_CERTIFICATE" in {m.code for m in s.messages}


# ---- fail closed (issue 13 §6): a key or certificate that cannot be read is INDETERMINATE, not skipped -------
def _unreadable_key_cert(cert: Any) -> Any:
    """The same certificate (asn1crypto) whose RSA public key inside subjectPublicKeyInfo is not an
    RSAPublicKey (wrong tag; every length unchanged, so the certificate itself still parses)."""
    from asn1crypto import x509

    der = cert.dump()
    spki = cert["tbs_certificate"]["subject_public_key_info"].dump()
    at = der.index(spki)
    inner = at + spki.index(bytes.fromhex("3082010a"))  # the RSAPublicKey SEQUENCE
    return x509.Certificate.load(der[:inner] + b"\x04" + der[inner + 1:])


def test_crypto_policy_fails_closed_on_unreadable_signer_key(kit: Kit, pdf: bytes) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    from docexchange.signing.validation import engine
    from docexchange.signing.validation.report import SignatureReport

    key, cert, chain = t.issue(kit.svc.ca, "Người ký khoá hỏng")
    import io

    emb = PdfFileReader(io.BytesIO(t.sign_with(pdf, key, cert, chain))).embedded_signatures[0]
    emb._sd_cert_info = None
    bad = _unreadable_key_cert(emb.signer_cert)
    with pytest.raises(Exception):  # noqa: B017 - the point: reading this key fails
        _ = bad.public_key.bit_size

    class Emb:
        md_algorithm = "sha256"
        signer_cert = bad

    sr = SignatureReport(field="Sig1", indication="TOTAL_PASSED")
    engine._crypto_policy(sr, Emb(), kit.online)
    assert (sr.indication, sr.subindication) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    assert [m.code for m in sr.messages] == ["KEY_UNREADABLE"]


def test_chain_policy_fails_closed_on_unreadable_ca_key(kit: Kit) -> None:
    from pyhanko_certvalidator.authority import CertTrustAnchor
    from pyhanko_certvalidator.path import ValidationPath

    from docexchange.signing.validation import engine
    from docexchange.signing.validation.report import SignatureReport

    root, interm = (h.asn1_cert(c) for c in (kit.svc.ca.cert("gov-root"), kit.svc.ca.cert("gov-int")))
    _key, leaf, _ = t.issue(kit.svc.ca, "Người ký chuỗi hỏng")
    path = ValidationPath(trust_anchor=CertTrustAnchor(root), interm=[_unreadable_key_cert(interm)],
                          leaf=h.asn1_cert(leaf))

    class Status:
        validation_path = path
        timestamp_validity = None

    sr = SignatureReport(field="Sig1", indication="TOTAL_PASSED")
    engine._chain_policy(sr, Status(), kit.online, is_ts=False)
    assert (sr.indication, sr.subindication) == ("INDETERMINATE", "CRYPTO_CONSTRAINTS_FAILURE")
    assert [m.code for m in sr.messages] == ["KEY_UNREADABLE"] and "CA phục vụ" in sr.messages[0].vi


def test_eddsa_keys_are_judged_not_skipped(kit: Kit) -> None:
    """EdDSA keys have no asn1crypto bit size: they are known-strong, neither skipped nor refused."""
    from asn1crypto import keys
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from docexchange.signing.validation import engine

    spki = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert engine._key_minimum(keys.PublicKeyInfo.load(spki), kit.online) == ("ed25519", 256, 0)
