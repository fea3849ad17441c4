"""Issue 17 §3 and §4: labels an auditor reads. Every case starts from a real signature (dev CA person
certificate, live node TSA) and changes exactly one thing: a CMS structure re-signed with the signer's key, a
replaced time-stamp token, junk in the /Contents padding, a forged ByteRange, an RFC 3161 token in a /Type /Sig
dictionary, a trailer /Encrypt null."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
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
def ident(kit: Kit) -> Any:
    return kit.identity("person", cn="Trần Thị Kiểm Tra", organization="UBND tỉnh Thử Nghiệm")


@pytest.fixture(scope="module")
def signed_bb(kit: Kit, ident: Any) -> bytes:
    return h.sign(h.make_pdf(), kit.signer(ident))


@pytest.fixture(scope="module")
def signed_bt(kit: Kit, ident: Any) -> bytes:
    return h.sign(h.make_pdf(), kit.signer(ident), tsa_url=kit.tsa)


def _one(r: Any) -> Any:
    assert len(r.signatures) == 1, r.to_json()
    return r.signatures[0]


def _codes(s: Any) -> list[str]:
    return [m.code for m in s.messages]


def test_resigned_unchanged_attributes_still_pass(kit: Kit, ident: Any, signed_bb: bytes) -> None:
    """Control for the re-signing helper: same attributes, new signature value → valid."""
    s = _one(validate_pdf(t.resign(signed_bb, ident.key, lambda a: None), kit.online))
    assert (s.indication, s.integrity) == ("TOTAL_PASSED", True), s.messages


def test_signing_certificate_v2_mismatch_keeps_integrity(kit: Kit, ident: Any, signed_bb: bytes) -> None:
    s = _one(validate_pdf(t.resign(signed_bb, ident.key, t.wrong_signing_certificate), kit.online))
    assert s.integrity is True and s.coverage == "ENTIRE_FILE" and s.modifications == "NONE"
    assert (s.indication, s.subindication) == ("INDETERMINATE", "NO_SIGNING_CERTIFICATE_FOUND"), s.messages
    assert "SIGNING_CERTIFICATE_MISMATCH" in _codes(s) and "VALIDATOR_ERROR" not in _codes(s)
    assert s.trusted is False


def test_signed_attributes_not_der_are_not_intact(kit: Kit, ident: Any, signed_bb: bytes) -> None:
    forged = t.resign(signed_bb, ident.key, t.non_der_attrs)
    attrs = t.get_cms(forged)["content"]["signer_infos"][0]["signed_attrs"]
    assert attrs.dump() != attrs.copy().dump(force=True)  # really not DER (unsorted SET OF)
    s = _one(validate_pdf(forged, kit.online))
    assert (s.integrity, s.indication, s.subindication) == (False, "TOTAL_FAILED", "HASH_FAILURE"), s.messages
    assert _codes(s)[0] == "SIGNED_ATTRIBUTES_NOT_DER"


def _token_for(kit: Kit, data: bytes) -> Any:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    return asyncio.run(HTTPTimeStamper(kit.tsa).async_timestamp(hashlib.sha256(data).digest(), "sha256"))


def test_timestamp_with_wrong_imprint_is_not_a_hash_failure(kit: Kit, signed_bt: bytes) -> None:
    # a genuine token from the same TSA, over other data: valid in itself, its imprint does not match
    forged = t.set_unsigned_tst(signed_bt, _token_for(kit, b"some other signature value"))
    s = _one(validate_pdf(forged, kit.online))
    assert s.integrity is True and s.subindication != "HASH_FAILURE", s.messages
    assert s.timestamp is not None and s.timestamp.valid is False
    assert s.level == "B-B" and "timestamp_invalid" in s.flags
    assert "TIMESTAMP_INVALID" in _codes(s) and "HASH_FAILURE" not in _codes(s)
    assert s.indication == "TOTAL_PASSED"  # the signature stands on its own; the token proves nothing


def test_junk_after_cms_in_contents_is_reported(kit: Kit, signed_bb: bytes) -> None:
    ci = t.get_cms(signed_bb)
    forged = t.put_contents(signed_bb, ci.dump(), pad=b"<script>")
    s = _one(validate_pdf(forged, kit.online))
    assert s.integrity is True and "contents_trailing_data" in s.flags
    msg = next(m for m in s.messages if m.code == "CONTENTS_TRAILING_DATA")
    assert msg.severity == "warning" and re.search(r"\d+ bytes", msg.en)
    clean = _one(validate_pdf(signed_bb, kit.online))
    assert "contents_trailing_data" not in clean.flags


def test_byte_flip_headline_is_integrity_only(kit: Kit, signed_bt: bytes) -> None:
    data = bytearray(signed_bt)
    data[data.index(b"Contents") - 200] ^= 0x01
    s = _one(validate_pdf(bytes(data), kit.online))
    assert (s.integrity, s.indication, s.subindication) == (False, "TOTAL_FAILED", "HASH_FAILURE")
    errors = [m.code for m in s.messages if m.severity == "error"]
    assert errors == ["HASH_FAILURE"], s.messages  # not also "the certificate chain is untrusted"
    assert s.trusted is None


@pytest.mark.parametrize("byte_range,code", [(b"[0 0 0 0]", "BYTERANGE_EMPTY"), (b"[]", "BYTERANGE_MALFORMED")],
                         ids=["zero", "empty"])
def test_zero_or_empty_byterange_gives_one_reason(kit: Kit, signed_bb: bytes, byte_range: bytes, code: str) -> None:
    m = re.search(rb"/ByteRange\s*\[[^\]]*\]", signed_bb)
    assert m is not None
    new = b"/ByteRange " + byte_range
    forged = signed_bb[:m.start()] + new.ljust(m.end() - m.start()) + signed_bb[m.end():]
    r = validate_pdf(forged, kit.online)
    s = _one(r)
    assert s.integrity is False and s.indication == "TOTAL_FAILED", r.to_json()
    errors = [m.code for m in s.messages if m.severity == "error"]
    assert errors == [code], s.messages
    assert (s.subindication, s.trusted) == ("FORMAT_FAILURE", None) and "byterange_invalid" in s.flags


# ---- §4: precision on what DSS expects ------------------------------------------------------------------
def _sig_type_timestamp(kit: Kit, pdf: bytes) -> bytes:
    """A document time-stamp whose dictionary says /Type /Sig (same length), re-stamped over its new bytes."""
    stamped = h.doc_timestamp(pdf, kit.tsa)
    at = stamped.rindex(b"/Type /DocTimeStamp")
    patched = stamped[:at] + b"/Type /Sig".ljust(len(b"/Type /DocTimeStamp")) + stamped[at + 19:]
    s, e = t.contents_span(patched)
    covered = patched[:s - 1] + patched[e + 1:]
    return t.put_contents(patched, _token_for(kit, covered).dump())


def test_rfc3161_token_in_sig_dictionary_is_a_timestamp(kit: Kit, signed_bt: bytes) -> None:
    r = validate_pdf(_sig_type_timestamp(kit, signed_bt), kit.online)
    sig, ts = r.signatures
    assert ts.kind == "document_timestamp" and "TIMESTAMP_IN_SIGNATURE_DICTIONARY" in _codes(ts), r.to_json()
    assert (ts.integrity, ts.indication) == (True, "TOTAL_PASSED"), ts.messages
    assert ts.timestamp is not None and ts.timestamp.valid
    assert "SIGNATURE_UNPARSABLE" not in _codes(ts) and "VALIDATOR_ERROR" not in _codes(ts)
    assert sig.indication == "TOTAL_PASSED" and r.indication == "TOTAL_PASSED"


def test_encrypt_null_is_readable(kit: Kit, ident: Any) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from docexchange.signing.validation.engine import _reader_class

    base = h.make_pdf()
    at = base.rindex(b"trailer")
    base = base[:at] + base[at:].replace(b"<<", b"<<\n/Encrypt null", 1)
    # pyHanko itself refuses to open it, so the signer opens it with the engine's reader
    w = IncrementalPdfFileWriter.from_reader(_reader_class()(io.BytesIO(base), strict=False))
    out = io.BytesIO()
    meta = signers.PdfSignatureMetadata(field_name="Sig1", subfilter=fields.SigSeedSubFilter.PADES)
    signers.PdfSigner(meta, signer=kit.signer(ident)).sign_pdf(w, output=out)
    signed = out.getvalue()
    assert b"/Encrypt null" in signed
    r = validate_pdf(signed, kit.online)
    assert r.readable is True and r.exit_code == 0, r.to_json()
    assert _one(r).indication == "TOTAL_PASSED"
