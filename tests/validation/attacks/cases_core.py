"""Red-team cases: issue 17 §1 (what the page shows after signing) and the attack classes caught before it (ISA,
SWA, USF, shadow, EAA, SSA, PKI), plus the honest changes that must keep passing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.validation import helpers as h
from tests.validation.attacks import kit as k
from tests.validation.attacks.kit import AMOUNT_BOX, CHECK_EMPTY, EMPTY_BOX, SIG_EMPTY, Kit, base_pdf
from tests.validation.attacks.registry import case

PASSED, FAILED, INDET = "TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"


# ---- honest changes: must stay TOTAL_PASSED ---------------------------------------------------------------------
@case("benign_fill_empty_text_box", "BENIGN", indication=PASSED, changes=("field_filled",),
      modifications="FORM_FILLING")
def _(kit: Kit) -> bytes:
    prepared = k.add_fields(base_pdf(), [{"name": "GhiChu", "type": "text", "box": EMPTY_BOX}])
    signed = kit.sign(prepared)
    return k.update_field(signed, "GhiChu", value="Da nhan du", appearance=k.plain_text(EMPTY_BOX, "Da nhan du"))


@case("benign_tick_empty_checkbox", "BENIGN", indication=PASSED, changes=("field_filled",),
      modifications="FORM_FILLING")
def _(kit: Kit) -> bytes:
    on = b"0 g 2 2 m 12 12 l 2 12 m 12 2 l S"  # a cross in the box
    prepared = k.add_fields(base_pdf(), [{"name": "DongY", "type": "check", "box": CHECK_EMPTY, "on": on}])
    return k.update_field(kit.sign(prepared), "DongY", state="/On")


@case("benign_later_signature_in_empty_field", "BENIGN", indication=PASSED, changes=("signature_added",),
      modifications="FORM_FILLING")
def _(kit: Kit) -> bytes:
    prepared = k.add_empty_signature_field(base_pdf(), "Seal", SIG_EMPTY)
    return kit.sign(kit.sign(prepared, field="Sig1"), kit.second, field="Seal")


@case("benign_decree30_person_then_seal", "BENIGN", indication=PASSED, messages=("PERSONAL_SIGNATURE",),
      changes=("signature_added",), absent_messages=("CONTENT_COVERED",))
def _(kit: Kit) -> bytes:
    """The node's own Decree 30 pair: the agency seal's red image overlaps about a third of the competent
    person's signature image (an earlier signature's appearance, not document content)."""
    import tempfile
    from pathlib import Path

    from docexchange.node_signing import node_signing
    from docexchange.signing import KeyResolver, SignOptions
    from tests.signing.pdfgen import decree30_pdf

    svc, pin = kit.svc, kit.node.demo_pin
    resolver = KeyResolver(certs_dir=kit.node.certs_dir, db=svc.db)
    person = resolver.resolve("officer:bnv.lanhdao", pin)
    seal = resolver.resolve("agency:000.00.00.G09", pin)
    ns = node_signing(svc)
    with tempfile.TemporaryDirectory(prefix="dx-attack-") as d:
        src = decree30_pdf(Path(d) / "qd.pdf", signer="Nguyễn Văn Thắng", position="BỘ TRƯỞNG", authority="")
        ns.sign(src, Path(d) / "p.pdf", person, "person", SignOptions(
            image=svc.blobs.get_bytes(person.owner["image_sha256"]), signer_name="Nguyễn Văn Thắng",
            position="BỘ TRƯỞNG"))
        ns.sign(Path(d) / "p.pdf", Path(d) / "ps.pdf", seal, "seal",
                SignOptions(image=svc.blobs.get_bytes(seal.owner["image_sha256"])))
        return (Path(d) / "ps.pdf").read_bytes()


@case("benign_numbering_after_signing", "BENIGN", indication=PASSED, changes=("field_filled",),
      modifications="FORM_FILLING", absent_messages=("CONTENT_COVERED",))
def _(kit: Kit) -> bytes:
    """Decree 30 numbering: the clerk writes the number into the blank of "Số:      /QĐ-BNV" and the day and
    month into the blanks of a printed "Hà Nội, ngày      tháng      năm 2026" after the person signed."""
    import tempfile
    from pathlib import Path

    from fpdf import FPDF

    from docexchange.documents.fields import add_issue_fields, fill_issue_fields

    pdf = FPDF(format="A4", unit="pt")
    pdf.add_font("S", "", h.FONT)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("S", "", 13)
    for x, y, text in ((60, 40, "BỘ NỘI VỤ"), (300, 40, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
                       (80, 60, "Số:      /QĐ-BNV"), (330, 80, "Hà Nội, ngày      tháng      năm 2026"),
                       (60, 140, "Quyết định về việc ban hành quy chế công tác văn thư, lưu trữ.")):
        pdf.set_xy(x, y)
        pdf.cell(250, 16, text)
    signed = kit.sign(add_issue_fields(bytes(pdf.output())))
    with tempfile.TemporaryDirectory(prefix="dx-attack-") as d:
        (Path(d) / "s.pdf").write_bytes(signed)
        fill_issue_fields(Path(d) / "s.pdf", Path(d) / "n.pdf", number_text="15/QĐ-BNV",
                          date_text="Hà Nội, ngày 04 tháng 12 năm 2026")
        return (Path(d) / "n.pdf").read_bytes()


# ---- issue 17 §1: filled fields and later signatures drawing over signed content -------------------------------
@case("shadow_fill_text_field_over_content", "SHADOW", indication=FAILED, subindication="FORMAT_FAILURE",
      changes=("field_filled", "content_covered"), flags=("content_covered",), messages=("CONTENT_COVERED",))
def _(kit: Kit) -> bytes:
    """An empty text field prepared over the amount; after signing it is "filled" with an opaque appearance
    showing another amount."""
    prepared = k.add_fields(base_pdf(), [{"name": "SoTien", "type": "text", "box": AMOUNT_BOX}])
    return k.update_field(kit.sign(prepared), "SoTien", value="999.000.000",
                          appearance=k.opaque_text(AMOUNT_BOX, "So tien thanh toan: 999.000.000 dong"))


@case("shadow_checkbox_on_over_content", "SHADOW", indication=FAILED, subindication="FORMAT_FAILURE",
      changes=("field_filled", "content_covered"), flags=("content_covered",))
def _(kit: Kit) -> bytes:
    """A checkbox over the amount whose prepared "on" appearance is opaque; ticked after signing."""
    on = k.opaque_text(AMOUNT_BOX, "So tien thanh toan: 999.000.000 dong")
    prepared = k.add_fields(base_pdf(), [{"name": "XacNhan", "type": "check", "box": AMOUNT_BOX, "on": on}])
    return k.update_field(kit.sign(prepared), "XacNhan", state="/On")


@case("shadow_replace_filled_field_value", "SHADOW", indication=FAILED, subindication="FORMAT_FAILURE",
      changes=("field_filled", "content_covered"), flags=("content_covered",))
def _(kit: Kit) -> bytes:
    """A field already filled (and shown) when signed gets another value afterwards (replace via form)."""
    prepared = k.add_fields(base_pdf(), [{"name": "GhiChu", "type": "text", "box": EMPTY_BOX, "value": "Tam ung 10%",
                                          "appearance": k.plain_text(EMPTY_BOX, "Tam ung 10%")}])
    return k.update_field(kit.sign(prepared), "GhiChu", value="Tam ung 90%",
                          appearance=k.opaque_text(EMPTY_BOX, "Tam ung 90%"))


@case("ssa_later_signature_covers_content", "SSA", indication=FAILED, subindication="FORMAT_FAILURE",
      changes=("signature_added", "content_covered"), flags=("content_covered",), messages=("CONTENT_COVERED",))
def _(kit: Kit) -> bytes:
    """A second, trusted signer's visible signature stamped over the signed amount (sneaky signature)."""
    first = kit.sign(base_pdf(), field="Sig1")
    return kit.sign(first, kit.second, field="Seal", box=tuple(int(x) for x in AMOUNT_BOX))


@case("ssa_prepared_signature_field_over_content", "SSA", indication=FAILED, subindication="FORMAT_FAILURE",
      changes=("content_covered",), flags=("content_covered",))
def _(kit: Kit) -> bytes:
    """An empty signature field prepared over the amount before the first signature; the second signer signs
    into it later, so the stamp appears over signed text."""
    prepared = k.add_empty_signature_field(base_pdf(), "Seal", AMOUNT_BOX)
    return kit.sign(kit.sign(prepared, field="Sig1"), kit.second, field="Seal")


@case("trailing_objects_after_eof", "TRAILING", indication=FAILED, subindication="FORMAT_FAILURE",
      flags=("unsigned_trailing_objects",), messages=("UNSIGNED_TRAILING_OBJECTS",))
def _(kit: Kit) -> bytes:
    """A new page content appended after the last %%EOF without a cross-reference section: a reader that
    rebuilds the table from the objects shows it."""
    signed = kit.signed_base()
    fake = b"BT /F1 24 Tf 60 700 Td (So tien: 999.000.000 dong) Tj ET"
    return k.redefine_objects(signed, {k.page_content_ref(signed): k.stream_body(fake)}, xref=False)


@case("trailing_junk_after_eof", "TRAILING", indication=PASSED, messages=("TRAILING_BYTES",))
def _(kit: Kit) -> bytes:
    """Unsigned bytes after %%EOF that define nothing: reported, the verdict stands."""
    return kit.signed_base() + b"\n% generated by a scanner workflow, no objects here\n"


# ---- ISA: incremental saving attacks -----------------------------------------------------------------------------
@case("isa_page_content_replaced", "ISA", indication=FAILED, subindication="FORMAT_FAILURE",
      changes=("content_changed",), modifications="OTHER", flags=("visual_difference",))
def _(kit: Kit) -> bytes:
    signed = kit.signed_base()
    fake = b"BT /F1 24 Tf 60 700 Td (So tien: 999.000.000 dong) Tj ET"
    return k.redefine_objects(signed, {k.page_content_ref(signed): k.stream_body(fake)})


@case("isa_page_added", "ISA", indication=FAILED, subindication="FORMAT_FAILURE", changes=("page_added",),
      flags=("page_count_changed",), modifications="OTHER")
def _(kit: Kit) -> bytes:
    return h.add_page(kit.signed_base())


@case("isa_page_removed", "ISA", indication=FAILED, subindication="FORMAT_FAILURE", changes=("page_removed",),
      modifications="OTHER")
def _(kit: Kit) -> bytes:
    return h.remove_last_page(kit.sign(h.make_pdf(2)))


@case("isa_overlay_merged_into_page", "ISA", indication=FAILED, changes=("content_changed",),
      flags=("visual_difference",), modifications="OTHER")
def _(kit: Kit) -> bytes:
    return h.replace_content(kit.signed_base())


# ---- SWA: signature wrapping ------------------------------------------------------------------------------------
def _signature_parts(signed: bytes) -> tuple[int, int, int, int, re.Match[bytes]]:
    m = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", signed))[-1]
    a, alen, b, blen = (int(x) for x in m.groups())
    return a, alen, b, blen, m


@case("swa_signed_bytes_relocated", "SWA", indication=FAILED, subindication="FORMAT_FAILURE",
      flags=("byterange_invalid",), messages=("SIGNATURE_OUTSIDE_GAP",))
def _(kit: Kit) -> bytes:
    """The signature dictionary is redefined in an update whose /ByteRange points its second part at a copy of
    the signed tail hidden in a stream, so that the gap wraps the original tail and new objects: the digest
    still matches."""
    signed = kit.signed_base()
    a, alen, b, blen, m = _signature_parts(signed)
    tail = signed[b:b + blen]
    start = signed.rfind(b" 0 obj", 0, m.start())
    num = int(signed[:start].split()[-1])
    sig_dict = signed[start + len(b" 0 obj"):signed.index(b"endobj", m.end())]
    stream_head = b"\n%d 0 obj\n<< /Length %d >>\nstream\n" % (num + 1000, len(tail))
    copy_at = len(signed) + len(stream_head)
    new_br = b"/ByteRange [0 %d %d %d]" % (alen, copy_at, blen)
    old_br = signed[m.start():m.end()]
    forged = sig_dict.replace(old_br, new_br.ljust(len(old_br)) if len(new_br) <= len(old_br) else new_br)
    # the stream holding the copy, then the redefined signature dictionary, in one raw update
    with_copy = signed + stream_head + tail + b"\nendstream\nendobj\n"
    return k.redefine_objects(with_copy, {num: forged.strip()})


@case("swa_contents_differs_from_gap", "SWA", indication=FAILED, subindication="FORMAT_FAILURE",
      flags=("byterange_invalid",), messages=("CONTENTS_MISMATCH",))
def _(kit: Kit) -> bytes:
    """The signature dictionary is redefined with a /Contents other than the CMS in the signed gap."""
    other = kit.sign(base_pdf(), kit.second)
    signed = kit.signed_base()
    _, _, _, _, m = _signature_parts(signed)
    start = signed.rfind(b" 0 obj", 0, m.start())
    num = int(signed[:start].split()[-1])
    sig_dict = signed[start + len(b" 0 obj"):signed.index(b"endobj", m.end())]
    mine = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", sig_dict)
    theirs = re.search(rb"/Contents\s*<([0-9A-Fa-f]+)>", other)
    assert mine and theirs
    forged = sig_dict.replace(mine.group(1), theirs.group(1)[:len(mine.group(1))].ljust(len(mine.group(1)), b"0"))
    return k.redefine_objects(signed, {num: forged.strip()})


# ---- USF: universal signature forgery ---------------------------------------------------------------------------
@case("usf_contents_zeroed", "USF", indication=FAILED, subindication="FORMAT_FAILURE", flags=("no_cms",))
def _(kit: Kit) -> bytes:
    """/Contents holds no CMS at all (zeros of the same length)."""
    signed = kit.signed_base()
    a, alen, b, _, _ = _signature_parts(signed)
    return signed[:alen + 1] + b"0" * (b - alen - 2) + signed[b - 1:]


@case("usf_byterange_removed", "USF", indication=FAILED)
def _(kit: Kit) -> bytes:
    """/ByteRange renamed away (same length): nothing says which bytes are signed."""
    signed = kit.signed_base()
    _, _, _, _, m = _signature_parts(signed)
    return signed[:m.start()] + b"/ByteRangX" + signed[m.start() + len(b"/ByteRange"):]


@case("usf_cms_of_another_document", "USF", indication=FAILED, subindication="HASH_FAILURE")
def _(kit: Kit) -> bytes:
    """A valid CMS signature of another document copied into the gap (same length)."""
    signed = kit.signed_base()
    other = kit.sign(h.make_pdf(1, "Văn bản khác"))
    _, alen, b, _, _ = _signature_parts(signed)
    _, oalen, ob, _, _ = _signature_parts(other)
    theirs = other[oalen + 1:ob - 1]
    gap = b - alen - 2
    return signed[:alen + 1] + theirs[:gap].ljust(gap, b"0") + signed[b - 1:]


# ---- shadow attacks -------------------------------------------------------------------------------------------
@case("shadow_hide_overlay_removed", "SHADOW", indication=FAILED, changes=("content_changed",),
      flags=("visual_difference",), modifications="OTHER")
def _(kit: Kit) -> bytes:
    """Hide: the signed page draws a white box over "999.000.000" via an XObject; after signing the XObject is
    redefined as empty, revealing the hidden text."""
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(base_pdf())) as pdf:
        page = pdf.pages[0]
        cover = pikepdf.Stream(pdf, b"1 g 0 0 300 30 re f", Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                               BBox=pikepdf.Array([0, 0, 300, 30]))
        page.obj.Resources.XObject = pikepdf.Dictionary(Cover=pdf.make_indirect(cover))
        helv = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                    BaseFont=pikepdf.Name.Helvetica))
        page.obj.Resources.Font.Helv = helv
        page.contents_add(pikepdf.Stream(pdf, b"BT /Helv 14 Tf 60 420 Td (Phu luc: 999.000.000 dong) Tj ET "
                                              b"q 1 0 0 1 55 412 cm /Cover Do Q"))
        out = io.BytesIO()
        pdf.save(out)
        prepared = out.getvalue()
    signed = kit.sign(prepared)
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        num = pdf.pages[0].obj.Resources.XObject.Cover.objgen[0]
    empty = b"<< /Type /XObject /Subtype /Form /BBox [0 0 300 30] /Length 0 >>\nstream\n\nendstream"
    return k.redefine_objects(signed, {num: empty})


@case("shadow_hide_and_replace_page_tree", "SHADOW", indication=FAILED, subindication="FORMAT_FAILURE",
      modifications="OTHER", flags=("visual_difference",))
def _(kit: Kit) -> bytes:
    """Hide-and-replace: the update redefines the page object to show another (unsigned) content stream."""
    import io

    import pikepdf

    signed = kit.signed_base()
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        page = pdf.pages[0].obj
        pnum = page.objgen[0]
        size = int(pdf.trailer.Size)
        parent = page.Parent.objgen[0]
        res = page.Resources.unparse() if not page.Resources.is_indirect else b"%d 0 R" % page.Resources.objgen[0]
    fake = b"BT /F1 20 Tf 60 700 Td (HOP DONG DA HUY) Tj ET"
    page_obj = (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595.28 841.89] /Resources " % parent + res
                + b" /Contents %d 0 R >>" % size)
    return k.redefine_objects(signed, {pnum: page_obj, size: k.stream_body(fake)})


# ---- EAA: evil annotations -------------------------------------------------------------------------------------
@case("eaa_freetext_over_content", "EAA", indication=FAILED, subindication="FORMAT_FAILURE",
      changes=("annotation_added",), flags=("visual_difference", "annotation_changes"))
def _(kit: Kit) -> bytes:
    return k.add_annotation(kit.signed_base(), AMOUNT_BOX, "999.000.000 dong")


@case("eaa_freetext_in_empty_area", "EAA", indication=FAILED, changes=("annotation_added",),
      flags=("annotation_changes",))
def _(kit: Kit) -> bytes:
    """Even where the page was empty, a new annotation changes what is shown (visual difference)."""
    return k.add_annotation(kit.signed_base(), EMPTY_BOX, "DA THANH TOAN", opaque=False)


# ---- PKI misuse -----------------------------------------------------------------------------------------------
@case("pki_untrusted_self_signed", "PKI", indication=INDET,
      subindication=("NO_CERTIFICATE_CHAIN_FOUND", "CHAIN_CONSTRAINTS_FAILURE"))
def _(kit: Kit) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Nguyễn Văn Giả")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
            .sign(key, hashes.SHA256()))
    return h.sign(base_pdf(), h.signer_for(key, cert, [cert]), tsa_url=kit.tsa)


@case("pki_wrong_key_usage", "PKI", indication=INDET,
      subindication=("SIG_CONSTRAINTS_FAILURE", "CHAIN_CONSTRAINTS_FAILURE"))
def _(kit: Kit) -> bytes:
    """An OCSP-responder certificate (digitalSignature, OCSP-signing EKU) used to sign a document."""
    return kit.sign(base_pdf(), kit.identity("Not a signing certificate", kind="ocsp"))


@case("pki_revoked_before_signing", "PKI", indication=FAILED, subindication="REVOKED")
def _(kit: Kit) -> bytes:
    from docexchange.pki.ca import DevCA

    ident = kit.identity("Nguyễn Văn Thu Hồi")
    with kit.svc.db.transaction() as s:
        DevCA.revoke(s, ident.serial_hex, "key_compromise", when=datetime.now(UTC) - timedelta(minutes=2))
    return kit.sign(base_pdf(), ident)
