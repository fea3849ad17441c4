"""Building blocks for the red-team corpus: the live node's PKI, a base document with known text positions,
form fields prepared before signing (pikepdf), incremental updates after signing (pyHanko's incremental writer)
and raw-byte surgery. Everything built here is cached per test session (``Kit.memo``)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pikepdf
from fpdf import FPDF
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from docexchange.signing.validation import ValidationPolicy
from tests.conftest import LiveNode
from tests.validation import helpers as h

Box = tuple[float, float, float, float]

# the base document (A4, 595 x 842 pt): where its text stands, and where the page is empty
TITLE_Y = 780                        # baseline region of the title line
AMOUNT_BOX: Box = (60, 640, 360, 664)  # "Số tiền thanh toán: 100.000 đồng" (signed content)
EMPTY_BOX: Box = (330, 200, 530, 240)  # nothing drawn here
CHECK_EMPTY: Box = (60, 200, 74, 214)  # empty square for an honest checkbox
SIG_EMPTY: Box = (330, 80, 530, 160)  # empty area for a later signature


def base_pdf() -> bytes:
    """One page: a title, a payment amount and body text in the top half; the bottom half is empty."""
    pdf = FPDF(format="A4", unit="pt")
    pdf.add_font("S", "", h.FONT)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("S", "", 16)
    pdf.set_xy(60, 842 - TITLE_Y - 20)
    pdf.cell(475, 20, "HỢP ĐỒNG THANH TOÁN SỐ 15/HĐ-UBND")
    pdf.set_font("S", "", 14)
    pdf.set_xy(60, 842 - AMOUNT_BOX[3] + 4)
    pdf.cell(300, 16, "Số tiền thanh toán: 100.000 đồng")
    pdf.set_xy(60, 842 - 600)
    pdf.multi_cell(475, 18, "Bên A đồng ý thanh toán cho bên B theo điều khoản của hợp đồng. " * 5)
    return bytes(pdf.output())


class Kit:
    """The live node's dev PKI and TSA, identities issued once, and a memo of built documents."""

    def __init__(self, node: LiveNode) -> None:
        from pyhanko_certvalidator import ValidationContext

        self.node = node
        self.svc: Any = node.services
        self.tsa = f"{node.url}/pki/tsa"
        self.policy = ValidationPolicy(trust_anchors=self.svc.ca.anchors())
        self.lt_vc = ValidationContext(trust_roots=[h.asn1_cert(c) for c in self.svc.ca.anchors()],
                                       allow_fetching=True, revocation_mode="hard-fail")
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def identity(self, name: str, kind: str = "person", **kw: Any) -> Any:
        def issue() -> Any:
            with self.svc.db.transaction() as s:
                return self.svc.ca.issue(s, kind=kind, issuer="gov-int", common_name=name, **kw)
        return self.memo(f"id:{kind}:{name}", issue)

    def signer(self, ident: Any) -> Any:
        return h.signer_for(ident.key, ident.cert, list(ident.chain))

    @property
    def person(self) -> Any:
        return self.identity("Nguyễn Văn Ký", organization="UBND tỉnh Thử", title="Chuyên viên")

    @property
    def second(self) -> Any:
        return self.identity("Sở Tài chính tỉnh Thử", kind="seal")

    def sign(self, pdf: bytes, ident: Any | None = None, **kw: Any) -> bytes:
        """A B-T signature (pyHanko, the node's TSA) by ``ident`` (default: the person)."""
        return h.sign(pdf, self.signer(ident or self.person), tsa_url=self.tsa, **kw)

    def signed_base(self) -> bytes:
        return self.memo("signed_base", lambda: self.sign(base_pdf()))


# ---- before signing: form fields (pikepdf rewrites the unsigned document) ---------------------------------------
def _helv(pdf: pikepdf.Pdf) -> Any:
    return pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica,
                                                Encoding=pikepdf.Name.WinAnsiEncoding))


def form_xobject(pdf: pikepdf.Pdf, box: Box, content: bytes, font: Any | None = None) -> pikepdf.Stream:
    w, ht = box[2] - box[0], box[3] - box[1]
    res = pikepdf.Dictionary(Font=pikepdf.Dictionary(Helv=font)) if font is not None else pikepdf.Dictionary()
    return pikepdf.Stream(pdf, content, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form,
                          BBox=pikepdf.Array([0, 0, w, ht]), Resources=res)


def opaque_text(box: Box, text: str) -> bytes:
    """Appearance content: an opaque white box with ``text`` in it (what an attacker draws over content)."""
    w, ht = box[2] - box[0], box[3] - box[1]
    return (f"q 1 g 0 0 {w:g} {ht:g} re f Q BT /Helv 14 Tf 0 g 2 {ht / 2 - 4:g} Td ({text}) Tj ET").encode()


def plain_text(box: Box, text: str) -> bytes:
    """Appearance content: just text, no background (an honest filled field)."""
    ht = box[3] - box[1]
    return f"BT /Helv 12 Tf 0 g 2 {ht / 2 - 4:g} Td ({text}) Tj ET".encode()


def add_fields(pdf_bytes: bytes, specs: list[dict[str, Any]]) -> bytes:
    """Widgets on page 1. Each spec: name, type ("text" | "check"), box, and for text an optional value and
    appearance content; for a checkbox the "on" appearance content (off: empty)."""
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        page = pdf.pages[0]
        helv = _helv(pdf)
        fields = []
        for spec in specs:
            box = spec["box"]
            d = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget,
                                   T=pikepdf.String(spec["name"]), Rect=pikepdf.Array(list(box)), F=4, P=page.obj)
            if spec["type"] == "text":
                d.FT = pikepdf.Name.Tx
                d.DA = pikepdf.String("/Helv 12 Tf 0 g")
                if spec.get("value") is not None:
                    d.V = pikepdf.String(spec["value"])
                d.AP = pikepdf.Dictionary(N=form_xobject(pdf, box, spec.get("appearance", b""), helv))
            else:
                d.FT = pikepdf.Name.Btn
                d.V = pikepdf.Name.Off
                d.AS = pikepdf.Name.Off
                d.AP = pikepdf.Dictionary(N=pikepdf.Dictionary(On=form_xobject(pdf, box, spec["on"], helv),
                                                               Off=form_xobject(pdf, box, b"", helv)))
            ref = pdf.make_indirect(d)
            fields.append(ref)
            page.obj.Annots = pikepdf.Array([*(page.obj.get("/Annots") or []), ref])
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array(fields),
                                               DR=pikepdf.Dictionary(Font=pikepdf.Dictionary(Helv=helv)),
                                               DA=pikepdf.String("/Helv 12 Tf 0 g"))
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def add_empty_signature_field(pdf_bytes: bytes, name: str, box: Box) -> bytes:
    from pyhanko.sign import fields

    w = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
    fields.append_signature_field(w, fields.SigFieldSpec(name, on_page=0, box=tuple(int(x) for x in box)))  # type: ignore[arg-type]
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


# ---- after signing: incremental updates ------------------------------------------------------------------------
def _field_ref(w: IncrementalPdfFileWriter, name: str) -> Any:
    for ref in w.root["/AcroForm"]["/Fields"]:
        if str(ref.get_object().get("/T")) == name:
            return ref
    raise KeyError(name)


def update_field(pdf: bytes, name: str, *, value: Any = None, state: str | None = None,
                 appearance: bytes | None = None) -> bytes:
    """Incremental update of field ``name``: a new value and/or appearance stream (text), or a new state
    (checkbox: /V and /AS switched to a prepared appearance)."""
    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    ref = _field_ref(w, name)
    obj = ref.get_object()
    if value is not None:
        obj["/V"] = generic.TextStringObject(value)
    if state is not None:
        obj["/V"] = generic.NameObject(state)
        obj["/AS"] = generic.NameObject(state)
    if appearance is not None:
        rect = [float(x) for x in obj["/Rect"]]
        font = w.add_object(generic.DictionaryObject({
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
            generic.NameObject("/Encoding"): generic.NameObject("/WinAnsiEncoding")}))
        stream = generic.StreamObject({
            generic.NameObject("/Type"): generic.NameObject("/XObject"),
            generic.NameObject("/Subtype"): generic.NameObject("/Form"),
            generic.NameObject("/BBox"): generic.ArrayObject([generic.FloatObject(0), generic.FloatObject(0),
                                                              generic.FloatObject(rect[2] - rect[0]),
                                                              generic.FloatObject(rect[3] - rect[1])]),
            generic.NameObject("/Resources"): generic.DictionaryObject({
                generic.NameObject("/Font"): generic.DictionaryObject({generic.NameObject("/Helv"): font})})},
            stream_data=appearance)
        obj["/AP"] = generic.DictionaryObject({generic.NameObject("/N"): w.add_object(stream)})
    w.mark_update(ref)
    out = io.BytesIO()
    w.write(out)
    assert out.getvalue().startswith(pdf)
    return out.getvalue()


def add_annotation(pdf: bytes, rect: Box, text: str, opaque: bool = True) -> bytes:
    """A FreeText annotation (pyHanko writer) on page 1."""
    w = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    width, height = rect[2] - rect[0], rect[3] - rect[1]
    bg = f"q 1 1 0 rg 0 0 {width:g} {height:g} re f Q " if opaque else ""
    ap = generic.StreamObject({
        generic.NameObject("/Type"): generic.NameObject("/XObject"),
        generic.NameObject("/Subtype"): generic.NameObject("/Form"),
        generic.NameObject("/BBox"): generic.ArrayObject([generic.FloatObject(x) for x in (0, 0, width, height)]),
        generic.NameObject("/Resources"): generic.DictionaryObject({
            generic.NameObject("/Font"): generic.DictionaryObject({
                generic.NameObject("/Helv"): w.add_object(generic.DictionaryObject({
                    generic.NameObject("/Type"): generic.NameObject("/Font"),
                    generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
                    generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica")}))})})},
        stream_data=f"{bg}BT /Helv 14 Tf 1 0 0 rg 4 {height / 2 - 5:g} Td ({text}) Tj ET".encode())
    annot = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.FloatObject(x) for x in rect]),
        generic.NameObject("/Contents"): generic.TextStringObject(text),
        generic.NameObject("/DA"): generic.TextStringObject("/Helv 14 Tf 1 0 0 rg"),
        generic.NameObject("/F"): generic.NumberObject(4),
        generic.NameObject("/AP"): generic.DictionaryObject({generic.NameObject("/N"): w.add_object(ap)})})
    w.register_annotation(w.find_page_for_modification(0)[0], w.add_object(annot))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def redefine_objects(pdf: bytes, objects: dict[int, bytes], *, xref: bool = True) -> bytes:
    """Raw incremental update: ``objects`` (number → body between ``obj`` and ``endobj``, generation 0)
    appended with a classic cross-reference section and a trailer chaining to the previous one; ``xref=False``
    appends the object definitions only (no cross-reference section, no trailer, no ``%%EOF``)."""
    body = bytearray(b"\n")
    offsets: dict[int, int] = {}
    for num, content in sorted(objects.items()):
        offsets[num] = len(pdf) + len(body)
        body += b"%d 0 obj\n" % num + content + b"\nendobj\n"
    if not xref:
        return pdf + bytes(body)
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    trailer = reader.trailer
    prev = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    size = max(int(trailer["/Size"]), max(objects) + 1)
    xref_at = len(pdf) + len(body)
    body += b"xref\n"
    for num in sorted(offsets):
        body += b"%d 1\n%010d 00000 n \n" % (num, offsets[num])
    root = trailer.raw_get("/Root")
    body += b"trailer\n<< /Size %d /Root %d %d R /Prev %d" % (size, root.idnum, root.generation, prev)
    info = trailer.raw_get("/Info") if "/Info" in trailer else None
    if info is not None:
        body += b" /Info %d %d R" % (info.idnum, info.generation)
    body += b" >>\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return pdf + bytes(body)


def page_content_ref(pdf: bytes) -> int:
    """Object number of page 1's (first) content stream."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    page = reader.root["/Pages"]["/Kids"][0].get_object()
    contents = page.raw_get("/Contents")
    if isinstance(contents, generic.ArrayObject):
        contents = contents[0]
    return int(contents.idnum)


def stream_body(content: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
