"""Forgery and labelling cases built from real signatures: certificates from the dev CA's own intermediate with
unusual extensions, CMS structures re-signed after a change (so only the change under test is wrong), and
incremental updates that touch metadata, actions, attachments, fonts and layers."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.validation import helpers as h

_KEYS: dict[str, Any] = {}


def rsa_key(slot: str = "leaf") -> Any:
    if slot not in _KEYS:
        _KEYS[slot] = rsa.generate_private_key(65537, 2048)
    return _KEYS[slot]


def ku(*, ds: bool = True, nr: bool = True, cert_sign: bool = False, key_enc: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=ds, content_commitment=nr, key_encipherment=key_enc,
                         data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
                         crl_sign=cert_sign, encipher_only=False, decipher_only=False)


def issue(ca: Any, cn: str, *, key: Any = None, eku: list[x509.ObjectIdentifier] | None = None,
          key_usage: x509.KeyUsage | None = None, is_ca: bool = False, self_signed: bool = False,
          issuer: str = "gov-int") -> tuple[Any, x509.Certificate, list[x509.Certificate]]:
    """(key, certificate, chain) issued by the dev CA's ``issuer`` (or self-signed) with the given extensions;
    no revocation URLs on the leaf (the intermediate's CRL is still checked online)."""
    key = key or rsa_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UBND tỉnh Thử Nghiệm"),
                         x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    if self_signed:
        icert, ikey, issuer_name, chain = None, key, subject, []
    else:
        icert, ikey = ca.load(issuer)
        issuer_name, chain = icert.subject, list(ca.chain_for(issuer))
    now = datetime.now(UTC)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
         .not_valid_after(now + timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(key_usage or ku(cert_sign=is_ca), critical=True))
    if icert is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(icert.public_key()), critical=False)
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return key, b.sign(ikey, hashes.SHA256()), chain


SERVER_AUTH = [ExtendedKeyUsageOID.SERVER_AUTH]
DOC_SIGNING = [x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")]
ADOBE = [x509.ObjectIdentifier("1.2.840.113583.1.1.5")]
MS_DOC = [x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.12")]
EMAIL = [ExtendedKeyUsageOID.EMAIL_PROTECTION]
ANY = [ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE]


def sign_with(pdf: bytes, key: Any, cert: x509.Certificate, chain: list[x509.Certificate], **kw: Any) -> bytes:
    return h.sign(pdf, h.signer_for(key, cert, chain), **kw)


# ---- the CMS in /Contents ------------------------------------------------------------------------------------
def contents_span(pdf: bytes) -> tuple[int, int]:
    """Offsets of the hex digits of the last signature's /Contents (inside ``<`` … ``>``)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    emb = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[-1]
    a, alen, b, _ = (int(x) for x in emb.byte_range)
    return a + alen + 1, b - 1


def get_cms(pdf: bytes) -> cms.ContentInfo:
    s, e = contents_span(pdf)
    # asn1crypto reads the DER length and ignores the zero padding after it (strict=False); stripping the zeros
    # instead would cut a CMS whose last byte happens to be 0x00 (one signature in 256)
    return cms.ContentInfo.load(bytes.fromhex(pdf[s:e].decode()), strict=False)


def put_contents(pdf: bytes, raw: bytes, pad: bytes = b"\0") -> bytes:
    """``raw`` in the last signature's /Contents, padded with ``pad`` bytes to the reserved size."""
    s, e = contents_span(pdf)
    room = (e - s) // 2
    assert len(raw) <= room, "the new CMS does not fit the reserved /Contents"
    body = raw + (pad * room)[: room - len(raw)]
    return pdf[:s] + body.hex().encode() + pdf[e:]


def resign(pdf: bytes, key: Any, mutate_attrs: Callable[[cms.CMSAttributes], bytes | None]) -> bytes:
    """Change the signed attributes of the last signature and sign them again with ``key`` (RSA PKCS#1 v1.5,
    SHA-256). ``mutate_attrs`` edits the attributes in place, or returns the exact SET encoding to sign and embed
    (e.g. a non-DER one)."""
    ci = get_cms(pdf)
    sd = ci["content"]
    si = sd["signer_infos"][0]
    attrs = si["signed_attrs"]
    raw = mutate_attrs(attrs)
    if raw is None:
        to_sign = cms.CMSAttributes(list(attrs)).dump(force=True)
    else:
        to_sign = raw
    sig = key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    # embed the attributes exactly as signed: [0] IMPLICIT, same contents
    new_attrs = cms.CMSAttributes.load(to_sign)
    si["signed_attrs"] = new_attrs
    si["signature"] = sig
    out = ci.dump(force=False)
    return put_contents(pdf, out)


def set_unsigned_tst(pdf: bytes, token: cms.ContentInfo) -> bytes:
    """Replace the signature time-stamp token (an unsigned attribute: nothing needs re-signing)."""
    ci = get_cms(pdf)
    si = ci["content"]["signer_infos"][0]
    si["unsigned_attrs"] = cms.CMSAttributes([cms.CMSAttribute({
        "type": "signature_time_stamp_token", "values": [token]})])
    return put_contents(pdf, ci.dump(force=True))


def non_der_attrs(attrs: cms.CMSAttributes) -> bytes:
    """The same attributes as a SET in reverse DER order (BER allows it, DER does not: X.690 §11.6)."""
    items = sorted((a.dump() for a in attrs), reverse=True)
    return _tlv(0x31, b"".join(items))


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + body


def wrong_signing_certificate(attrs: cms.CMSAttributes) -> None:
    for a in attrs:
        if a["type"].native == "signing_certificate_v2":
            cert_id = a["values"][0]["certs"][0]
            cert_id["cert_hash"] = hashlib.sha256(b"another certificate").digest()
            return None
    raise AssertionError("no signing-certificate-v2 attribute")


# ---- incremental updates after signing --------------------------------------------------------------------
def set_info(pdf: bytes, **entries: str) -> bytes:
    def edit(w: Any) -> None:
        w.add_metadata({f"/{k}": v for k, v in entries.items()})
    return h._incremental(pdf, edit)


XMP = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">%s</rdf:li></rdf:Alt></dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def set_xmp(pdf: bytes, title: str) -> bytes:
    def edit(w: Any) -> None:
        from pypdf.generic import DecodedStreamObject, NameObject

        s = DecodedStreamObject()
        s.set_data(XMP % title.encode())
        s[NameObject("/Type")] = NameObject("/Metadata")
        s[NameObject("/Subtype")] = NameObject("/XML")
        w._root_object[NameObject("/Metadata")] = w._add_object(s)
    return h._incremental(pdf, edit)


def add_open_action_js(pdf: bytes) -> bytes:
    def edit(w: Any) -> None:
        from pypdf.generic import DictionaryObject, NameObject, TextStringObject

        action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                                   NameObject("/JS"): TextStringObject("app.alert('Đã thanh toán');")})
        w._root_object[NameObject("/OpenAction")] = w._add_object(action)
    return h._incremental(pdf, edit)


def add_named_js(pdf: bytes) -> bytes:
    def edit(w: Any) -> None:
        w.add_js("this.print();")
    return h._incremental(pdf, edit)


def add_embedded_file(pdf: bytes, name: str = "hoa-don.exe") -> bytes:
    def edit(w: Any) -> None:
        w.add_attachment(name, b"MZ not really a program")
    return h._incremental(pdf, edit)


def _first_font(w: Any) -> Any:
    fonts = w.pages[0]["/Resources"]["/Font"]
    return fonts[sorted(fonts.keys())[0]].get_object()


def change_font_encoding(pdf: bytes) -> bytes:
    """Replace the /ToUnicode map of the page's font: what a reader copies or searches changes."""
    def edit(w: Any) -> None:
        from pypdf.generic import DecodedStreamObject, NameObject

        font = _first_font(w)
        cmap = DecodedStreamObject()
        cmap.set_data(b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def "
                      b"1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfrange <0000> <FFFF> <0041> "
                      b"endbfrange endcmap CMapName currentdict /CMap defineresource pop end end")
        font[NameObject("/ToUnicode")] = w._add_object(cmap)
        w._objects[font.indirect_reference.idnum - 1] = font  # mark the font object as updated
    return h._incremental(pdf, edit)


def with_layer(pdf: bytes) -> bytes:
    """An unsigned document whose page text sits in an optional content group "Lớp 1", visible (ON)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        ocg = doc.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.OCG, Name="Lớp 1"))
        doc.Root.OCProperties = pikepdf.Dictionary(OCGs=[ocg], D=pikepdf.Dictionary(ON=[ocg], OFF=[]))
        page = doc.pages[0]
        page.Resources.Properties = pikepdf.Dictionary(OC1=ocg)
        page.contents_add(doc.make_stream(b"/OC /OC1 BDC"), prepend=True)
        page.contents_add(doc.make_stream(b"EMC"))
        out = io.BytesIO()
        doc.save(out)
        return out.getvalue()


def hide_layer(pdf: bytes) -> bytes:
    def edit(w: Any) -> None:
        from pypdf.generic import ArrayObject, NameObject

        props = w._root_object["/OCProperties"].get_object()
        d = props["/D"].get_object()
        ocgs = props["/OCGs"]
        d[NameObject("/ON")] = ArrayObject()
        d[NameObject("/OFF")] = ArrayObject(list(ocgs))
        w._root_object[NameObject("/OCProperties")] = props
    return h._incremental(pdf, edit)


def repoint_resources(pdf: bytes, swap_font: bool = False) -> bytes:
    """A later revision that only gives page 1 an identical copy of its /Resources (a new object). Written with
    pyHanko's incremental writer, which rewrites nothing else (pypdf's would also flatten inherited page
    attributes)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    page_ref = w.root["/Pages"]["/Kids"].raw_get(0).reference
    page = w.get_object(page_ref)
    res = page["/Resources"]
    copy = generic.DictionaryObject({k: res.raw_get(k) for k in res.keys()})
    if swap_font:  # the same names, another font behind /F1...: not identical any more
        fonts = res["/Font"]
        helv = w.add_object(generic.DictionaryObject({
            generic.pdf_name("/Type"): generic.pdf_name("/Font"), generic.pdf_name("/Subtype"):
            generic.pdf_name("/Type1"), generic.pdf_name("/BaseFont"): generic.pdf_name("/Helvetica")}))
        copy[generic.pdf_name("/Font")] = generic.DictionaryObject({k: helv for k in fonts.keys()})
    page["/Resources"] = w.add_object(copy)
    w.mark_update(page_ref)
    out = io.BytesIO()
    w.write(out)
    data = out.getvalue()
    assert data.startswith(pdf)
    return data
