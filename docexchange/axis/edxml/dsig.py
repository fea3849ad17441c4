"""Enveloped XML-DSig of the whole package (signxml, exclusive c14n, SHA-256) and its check on receipt.

A package signature is transport evidence only: the legal signatures are in the PDFs (domain-vn.md §6.4).
Absent or placeholder signatures are noted, never trusted; a real one is verified and its signer reported.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature as InvalidSignatureError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from lxml import etree
from signxml import SignatureConfiguration, XMLSigner, XMLVerifier, methods
from signxml.exceptions import InvalidInput, InvalidSignature

from ...pki.keys import PrivateKey
from .model import DSIG_NS, SignatureCheck
from .safexml import Node, StreamDigest

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_SIGNERS: dict[str, XMLSigner] = {}


def _signer(alg: str) -> XMLSigner:
    if alg not in _SIGNERS:
        _SIGNERS[alg] = XMLSigner(
            method=methods.enveloped,
            signature_algorithm=alg,
            digest_algorithm="sha256",
            c14n_algorithm=EXC_C14N,
        )
    return _SIGNERS[alg]


def sign_root(
    root: etree._Element, key: PrivateKey, cert: x509.Certificate, chain: Sequence[x509.Certificate] = ()
) -> etree._Element:
    """Sign ``root`` (which holds one ``<ds:Signature Id="placeholder"/>``) with the seal key; KeyInfo carries
    the leaf and the non-root chain certificates. Returns the signed root."""
    if isinstance(key, rsa.RSAPrivateKey):
        alg = "rsa-sha256"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        alg = "ecdsa-sha256"
    else:  # pragma: no cover - PrivateKey is RSA | EC
        raise TypeError("seal key must be RSA or EC")
    certs = [cert] + [c for c in chain if c.issuer != c.subject]
    signed: etree._Element = _signer(alg).sign(root, key=key, cert=certs)
    return signed


def signature_element(
    digest: bytes, key: PrivateKey, cert: x509.Certificate, chain: Sequence[x509.Certificate] = ()
) -> bytes:
    """A serialized enveloped ``ds:Signature`` over a document whose exclusive-c14n SHA-256 (Signature
    excluded) is ``digest``: the same shape signxml produces, signed with the seal key directly."""
    ds = f"{{{DSIG_NS}}}"
    sig = etree.Element(ds + "Signature", nsmap={"ds": DSIG_NS})
    si = etree.SubElement(sig, ds + "SignedInfo")
    etree.SubElement(si, ds + "CanonicalizationMethod", Algorithm=EXC_C14N)
    rsa_key = isinstance(key, rsa.RSAPrivateKey)
    etree.SubElement(si, ds + "SignatureMethod", Algorithm=RSA_SHA256 if rsa_key else ECDSA_SHA256)
    ref = etree.SubElement(si, ds + "Reference", URI="")
    tr = etree.SubElement(ref, ds + "Transforms")
    etree.SubElement(tr, ds + "Transform", Algorithm=ENVELOPED)
    etree.SubElement(tr, ds + "Transform", Algorithm=EXC_C14N)
    etree.SubElement(ref, ds + "DigestMethod", Algorithm=SHA256)
    etree.SubElement(ref, ds + "DigestValue").text = base64.b64encode(digest).decode()
    signed_info = etree.tostring(si, method="c14n", exclusive=True, with_comments=False)
    if isinstance(key, rsa.RSAPrivateKey):
        value = key.sign(signed_info, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s_ = decode_dss_signature(key.sign(signed_info, ec.ECDSA(hashes.SHA256())))
        n = (key.curve.key_size + 7) // 8
        value = r.to_bytes(n, "big") + s_.to_bytes(n, "big")
    etree.SubElement(sig, ds + "SignatureValue").text = base64.b64encode(value).decode()
    x509_data = etree.SubElement(etree.SubElement(sig, ds + "KeyInfo"), ds + "X509Data")
    for c in [cert] + [c for c in chain if c.issuer != c.subject]:
        der = c.public_bytes(serialization.Encoding.DER)
        etree.SubElement(x509_data, ds + "X509Certificate").text = base64.b64encode(der).decode()
    return bytes(etree.tostring(sig))


def placeholder() -> etree._Element:
    el = etree.Element(f"{{{DSIG_NS}}}Signature", nsmap={"ds": DSIG_NS})
    el.set("Id", "placeholder")
    return el


_PARSER_KW = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": True}


def _text(node: Node | None) -> str:
    return "".join(node.text.split()) if node is not None else ""


def _descendant(node: Node, local: str) -> Node | None:
    for n in node.iter():
        if n.local == local:
            return n
    return None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True) if text else None
    except (binascii.Error, ValueError):
        return None


def _chain_trusted(
    leaf: x509.Certificate, extra: list[x509.Certificate], anchors: Sequence[x509.Certificate]
) -> tuple[bool, str | None]:
    """Path leaf → (intermediates) → anchor by signature and validity period at now. No revocation check:
    revocation of the sender's seal is the exchange service's job (it has the CRL/OCSP sources)."""
    now = datetime.now(UTC)
    current = leaf
    pool = list(extra)
    for _ in range(6):
        if not (current.not_valid_before_utc <= now <= current.not_valid_after_utc):
            return False, f"certificate {current.subject.rfc4514_string()} is outside its validity period"
        for anchor in anchors:
            if current.issuer == anchor.subject:
                try:
                    current.verify_directly_issued_by(anchor)
                    return True, None
                except (ValueError, TypeError, InvalidSignatureError):
                    pass
        parent = next((c for c in pool if c.subject == current.issuer and c != current), None)
        if parent is None:
            return False, "no chain to a trusted anchor"
        try:
            current.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignatureError):
            return False, "broken certificate chain"
        pool.remove(parent)
        current = parent
    return False, "certificate chain too long"


def _streaming_verdict(sig: Node, cert: x509.Certificate, value: bytes, digest: StreamDigest) -> str | None:
    """Check the signature from the streamed digest (no second copy of the package in memory).

    Returns None when valid, a reason when invalid, or "unsupported" when the algorithms or the document
    shape are outside what the streaming form reproduces (then the in-memory check decides)."""
    c14n = _descendant(sig, "CanonicalizationMethod")
    method = _descendant(sig, "SignatureMethod")
    dmethod = _descendant(sig, "DigestMethod")
    transforms = [t.attrs.get("Algorithm") for t in _descendants(sig, "Transform")]
    refs = _descendants(sig, "Reference")
    if not (
        digest.found_signature
        and digest.supported
        and digest.signature_parent == "edXMLHeader"
        and digest.signed_info
        and len(refs) == 1
        and c14n is not None
        and c14n.attrs.get("Algorithm") == EXC_C14N
        and dmethod is not None
        and dmethod.attrs.get("Algorithm") == SHA256
        and transforms == [ENVELOPED, EXC_C14N]
        and method is not None
        and method.attrs.get("Algorithm") in (RSA_SHA256, ECDSA_SHA256)
    ):
        return "unsupported"
    if _descendant(sig, "InclusiveNamespaces") is not None:
        return "unsupported"
    expected = _b64(_text(_descendant(sig, "DigestValue")))
    if expected != digest.sha256:
        return "InvalidDigest: digest mismatch for the whole-package reference"
    key = cert.public_key()
    try:
        if method.attrs.get("Algorithm") == RSA_SHA256 and isinstance(key, rsa.RSAPublicKey):
            key.verify(value, digest.signed_info, padding.PKCS1v15(), hashes.SHA256())
        elif method.attrs.get("Algorithm") == ECDSA_SHA256 and isinstance(key, ec.EllipticCurvePublicKey):
            n = (key.curve.key_size + 7) // 8
            if len(value) != 2 * n:
                return "InvalidSignature: ECDSA value has the wrong length"
            der = encode_dss_signature(int.from_bytes(value[:n], "big"), int.from_bytes(value[n:], "big"))
            key.verify(der, digest.signed_info, ec.ECDSA(hashes.SHA256()))
        else:
            return "InvalidSignature: the certificate key does not match the signature method"
    except InvalidSignatureError:
        return "InvalidSignature: signature value does not verify with the certificate key"
    return None


def check_signature(
    header: Node | None,
    load_raw: Callable[[], bytes | None],
    anchors: Sequence[x509.Certificate] | None = None,
    digest: StreamDigest | None = None,
) -> SignatureCheck:
    """Classify the package signature found under ``edXMLHeader`` and verify it when it is real.

    ``load_raw`` returns the whole package, or None when it is too large to verify in memory; it is only
    called for a signature that looks real (XML-DSig namespace, parseable certificate and value)."""
    sig = None
    if header is not None:
        for n in header.iter():
            if n.local in ("Signature", "DigitalSignature"):
                sig = n
                break
    if sig is None:
        return SignatureCheck(present=False, valid=False, note="absent")
    if sig.ns != DSIG_NS:
        return SignatureCheck(
            present=True,
            valid=False,
            note="dummy",
            reason=f"<{sig.local}> is not in the XML-DSig namespace (namespace {sig.ns!r})",
        )
    method = _descendant(sig, "SignatureMethod")
    alg = method.attrs.get("Algorithm") if method is not None else None
    cert_der = _b64(_text(_descendant(sig, "X509Certificate")))
    try:
        cert = x509.load_der_x509_certificate(cert_der) if cert_der else None
    except ValueError:
        cert = None
    if cert is None:
        return SignatureCheck(
            present=True,
            valid=False,
            note="dummy",
            algorithm=alg,
            reason="no parseable X.509 certificate in KeyInfo",
        )
    value = _b64(_text(_descendant(sig, "SignatureValue")))
    der = cert.public_bytes(serialization.Encoding.DER)
    result = SignatureCheck(
        present=True,
        valid=False,
        note="invalid",
        algorithm=alg,
        signer_subject=cert.subject.rfc4514_string(),
        signer_cert_sha256=hashlib.sha256(der).hexdigest(),
        signer_cert_der=der,
    )
    if not value:
        result.note, result.reason = "dummy", "empty or non-base64 SignatureValue"
        return result
    ref = _descendant(sig, "Reference")
    if ref is None or ref.attrs.get("URI", None) != "":
        result.reason = 'the signature does not reference the whole package (Reference URI must be "")'
        return result
    verdict = _streaming_verdict(sig, cert, value, digest) if digest is not None else "unsupported"
    if verdict is not None:
        # Not verified from the stream (other algorithms, or a failure to confirm): the in-memory signxml
        # check decides when the package is small enough; a streamed failure stands otherwise.
        raw = load_raw()
        if raw is None:
            if verdict == "unsupported":
                result.note = "unverified"
                result.reason = "package too large to verify this kind of XML signature in memory"
            else:
                result.reason = verdict
            return result
        try:
            root = etree.fromstring(raw, etree.XMLParser(**_PARSER_KW))  # type: ignore[arg-type]
            XMLVerifier().verify(
                root, x509_cert=cert, expect_config=SignatureConfiguration(expect_references=1)
            )
        except (InvalidSignature, InvalidInput, etree.XMLSyntaxError, ValueError) as e:
            result.reason = f"{type(e).__name__}: {e}"
            return result
    result.valid, result.note = True, "valid"
    if anchors:
        extra = []
        for c in _descendants(sig, "X509Certificate"):
            d = _b64(_text(c))
            if d and d != der:
                try:
                    extra.append(x509.load_der_x509_certificate(d))
                except ValueError:
                    pass
        result.trusted, why = _chain_trusted(cert, extra, anchors)
        if why:
            result.reason = why
    return result


def _descendants(node: Node, local: str) -> list[Node]:
    return [n for n in node.iter() if n.local == local]
