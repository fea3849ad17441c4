"""The number/notation and date of issue are written into the document by filling read-only text fields
that were added to the draft *before* anyone signed it. Filling a field is FORM_FILLING for validators, so
the competent person's signature stays valid when the clerk numbers the document afterwards (Decree 30
Art. 14.3: the clerical office numbers and seals after the person has signed)."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

NUMBER_FIELD = "so_ky_hieu"
DATE_FIELD = "ngay_ban_hanh"
FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
PT_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class Word:
    page: int  # 0-based
    text: str
    x1: float  # PDF points, origin bottom-left
    y1: float
    x2: float
    y2: float


class _BBoxParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.pages: list[tuple[float, float]] = []
        self.words: list[Word] = []
        self._cur: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "page":
            self.pages.append((float(a["width"]), float(a["height"])))
        elif tag == "word":
            self._cur = a

    def handle_data(self, data: str) -> None:
        if self._cur is not None:
            h = self.pages[-1][1]
            a = self._cur
            self.words.append(Word(len(self.pages) - 1, data.strip(), float(a["xmin"]), h - float(a["ymax"]),
                                   float(a["xmax"]), h - float(a["ymin"])))
            self._cur = None


def text_words(pdf_path: Path, first: int = 1, last: int | None = None) -> list[Word]:
    """Words with boxes from poppler's ``pdftotext -bbox`` (bounded to a page range)."""
    cmd = ["pdftotext", "-q", "-bbox", "-f", str(first)]
    if last is not None:
        cmd += ["-l", str(last)]
    proc = subprocess.run(cmd + [str(pdf_path), "-"], capture_output=True, text=True, timeout=60)
    parser = _BBoxParser()
    parser.feed(proc.stdout)
    return [Word(w.page + first - 1, w.text, w.x1, w.y1, w.x2, w.y2) for w in parser.words]


def _appearance(writer: PdfWriter, text: str, width: float, height: float, size: float,
                align: str = "L") -> StreamObject:
    """A form XObject drawing ``text`` in Liberation Serif (full Vietnamese), shrunk to fit the width, with no
    background: the field was placed where the signed draft shows nothing, and a filled field may only draw
    there (the validator's covering check, docs/validation.md)."""
    pdf = FPDF(unit="pt", format=(width, height))
    pdf.set_margin(0)
    pdf.c_margin = 0
    pdf.add_page()
    pdf.add_font("LiberationSerif", "", FONT)
    pdf.set_font("LiberationSerif", size=size)
    natural = pdf.get_string_width(text)
    if natural > width - 1 and natural > 0:
        pdf.set_font("LiberationSerif", size=max(4.0, size * (width - 1) / natural))
    pdf.set_xy(0, 0)
    pdf.cell(width, height, text, align=align)
    src = PdfReader(io.BytesIO(bytes(pdf.output()))).pages[0]
    xobj = StreamObject()
    xobj.set_data(src.get_contents().get_data())  # type: ignore[union-attr]
    xobj.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(width), FloatObject(height)]),
        NameObject("/Resources"): src["/Resources"].clone(writer),
    })
    return xobj


def _find_after(words: list[Word], pattern: str, page: int) -> Word | None:
    rx = re.compile(pattern, re.IGNORECASE)
    for w in words:
        if w.page == page and rx.fullmatch(w.text):
            return w
    return None


def _cluster(line: list[Word], anchor: Word, max_gap: float = 25.0) -> list[Word]:
    """The run of words around ``anchor`` on one line, split where the horizontal gap is large (the number
    column and the date column share a line in the Decree 30 header)."""
    i = line.index(anchor)
    lo = hi = i
    while lo > 0 and line[lo].x1 - line[lo - 1].x2 < max_gap:
        lo -= 1
    while hi < len(line) - 1 and line[hi + 1].x1 - line[hi].x2 < max_gap:
        hi += 1
    return line[lo:hi + 1]


def _date_slots(line: list[Word], rect: tuple[float, float, float, float]) -> list[tuple[float, float, str]]:
    """Blanks after "ngày", "tháng" and "năm" on a printed date line, as (x offset in the field, width, d|m|y):
    the day, month and year are written there, leaving the printed words as signed (a filled field may only
    draw where the signed draft shows nothing). The year is skipped when the line already prints it."""
    out: list[tuple[float, float, str]] = []
    for i, w in enumerate(line):
        kind = {"ngày": "d", "tháng": "m", "năm": "y"}.get(w.text.lower())
        if kind is None:
            continue
        nxt = line[i + 1] if i + 1 < len(line) else None
        if kind == "y" and nxt is not None and re.fullmatch(r"\d{4}\.?", nxt.text):
            continue
        end = nxt.x1 - 1 if nxt is not None else rect[2]
        if end - (w.x2 + 2) >= 6:
            out.append((w.x2 + 2 - rect[0], end - (w.x2 + 2), kind))
    return out


def _slot_appearance(writer: PdfWriter, parts: list[tuple[float, float, str]], width: float, height: float,
                     size: float) -> StreamObject:
    """A form XObject with each text of ``parts`` (x offset, width, text) written into its blank."""
    pdf = FPDF(unit="pt", format=(width, height))
    pdf.set_margin(0)
    pdf.c_margin = 0
    pdf.add_page()
    pdf.add_font("LiberationSerif", "", FONT)
    for x, w, text in parts:
        pdf.set_font("LiberationSerif", size=size)
        natural = pdf.get_string_width(text)
        if natural > w - 1 and natural > 0:
            pdf.set_font("LiberationSerif", size=max(4.0, size * (w - 1) / natural))
        pdf.set_xy(x, 0)
        pdf.cell(w, height, text, align="C")
    src = PdfReader(io.BytesIO(bytes(pdf.output()))).pages[0]
    xobj = StreamObject()
    xobj.set_data(src.get_contents().get_data())  # type: ignore[union-attr]
    xobj.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0), FloatObject(width), FloatObject(height)]),
        NameObject("/Resources"): src["/Resources"].clone(writer),
    })
    return xobj


def add_issue_fields(pdf: bytes, *, font_size: float = 13) -> bytes:
    """``_add_issue_fields``, with pypdf's failures on a damaged draft (KeyError '/Size', IndexError, …: any
    exception from a third-party parser on untrusted bytes) turned into a clear refusal instead of a 500."""
    from ..errors import BadInput

    try:
        return _add_issue_fields(pdf, font_size=font_size)
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput(f"The PDF cannot be read: {type(exc).__name__}", "Không đọc được tệp PDF",
                       code="damaged_file") from exc


def _add_issue_fields(pdf: bytes, *, font_size: float = 13) -> bytes:
    """Add empty read-only text fields for the number (after "Số:") and the date line ("…, ngày … tháng …
    năm …") on page 1. When the draft has no such placeholders, the fields go to the Decree 30 positions
    (number under the agency name on the left, date on the right, both under the header)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as tmp:
        tmp.write(pdf)
        tmp.flush()
        words = text_words(Path(tmp.name), 1, 1)
    reader = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter(clone_from=reader)
    page = writer.pages[0]
    box = page.mediabox
    top = float(box.top)
    so = _find_after(words, r"Số:?", 0)
    suffix = ""
    slots: list[tuple[float, float, str]] = []
    if so is not None:
        number_rect = (so.x2 + 2, so.y1 - 3, so.x2 + 2 + 160, so.y2 + 3)
        # "Số:      /QĐ-BNV": the number goes into the blank before the notation, which stays as signed
        after = sorted((w for w in words if w.page == 0 and abs(w.y1 - so.y1) < 3 and w.x1 > so.x2),
                       key=lambda w: w.x1)
        if after and after[0].x1 - so.x2 < 200 and after[0].text.startswith("/"):
            number_rect = (so.x2 + 1, so.y1 - 3, max(after[0].x1 + 0.5, so.x2 + 4), so.y2 + 3)
            suffix = after[0].text
    else:
        number_rect = (20 * PT_PER_MM, top - 42 * PT_PER_MM, 20 * PT_PER_MM + 180, top - 42 * PT_PER_MM + 18)
    ngay = _find_after(words, r"ngày", 0)
    if ngay is not None:
        line = _cluster(sorted((w for w in words if w.page == 0 and abs(w.y1 - ngay.y1) < 3),
                               key=lambda w: w.x1), ngay)
        x1 = min(w.x1 for w in line)
        date_rect = (x1 - 2, ngay.y1 - 3, max(float(box.right) - 15 * PT_PER_MM, max(w.x2 for w in line) + 2),
                     ngay.y2 + 3)
        slots = _date_slots(line, date_rect)
    else:
        date_rect = (float(box.right) - 110 * PT_PER_MM, top - 42 * PT_PER_MM,
                     float(box.right) - 15 * PT_PER_MM, top - 42 * PT_PER_MM + 18)
    fields = []
    for name, rect in ((NUMBER_FIELD, number_rect), (DATE_FIELD, date_rect)):
        field = DictionaryObject({
            NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"), NameObject("/T"): TextStringObject(name),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in rect]),
            NameObject("/F"): NumberObject(4), NameObject("/Ff"): NumberObject(1),
            NameObject("/DA"): TextStringObject(f"/Helv {font_size:g} Tf 0 g"),
            NameObject("/V"): TextStringObject(""),
            NameObject("/P"): page.indirect_reference,
        })
        if name == NUMBER_FIELD and suffix:
            field[NameObject("/DXSuffix")] = TextStringObject(suffix)  # printed after the field in the draft
        if name == DATE_FIELD and slots:  # the blanks of a printed "…, ngày … tháng … năm …" line
            field[NameObject("/DXSlots")] = ArrayObject(
                [ArrayObject([FloatObject(x), FloatObject(w), TextStringObject(k)]) for x, w, k in slots])
        ref = writer._add_object(field)
        fields.append(ref)
        annots = page.get("/Annots")
        if annots is None:
            page[NameObject("/Annots")] = ArrayObject([ref])
        else:
            annots.get_object().append(ref)
    acro = writer._root_object.get("/AcroForm")
    if acro is None:
        writer._root_object[NameObject("/AcroForm")] = DictionaryObject({
            NameObject("/Fields"): ArrayObject(fields), NameObject("/DA"): TextStringObject("/Helv 12 Tf 0 g")})
    else:
        acro.get_object()[NameObject("/Fields")].get_object().extend(fields)  # type: ignore[union-attr]
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def fill_issue_fields(pdf_path: Path, out_path: Path, *, number_text: str, date_text: str,
                      font_size: float = 13, facts: tuple[str, str, str, date] | None = None) -> None:
    """Fill the two fields as an incremental update (earlier signatures stay valid: FORM_FILLING). ``facts``
    (agency code, number, notation, date of issue) go into the same revision's XMP, which the seal then signs
    (``documents.binding``)."""
    writer = PdfWriter(str(pdf_path), incremental=True)
    if facts is not None:
        from .binding import write_issue_xmp

        write_issue_xmp(writer, *facts)
    if True:
        found = set()
        for annot_ref in writer.pages[0].get("/Annots", []) or []:
            annot = annot_ref.get_object()
            name = annot.get("/T")
            if name not in (NUMBER_FIELD, DATE_FIELD):
                continue
            found.add(name)
            value = number_text if name == NUMBER_FIELD else date_text
            suffix = str(annot.get("/DXSuffix") or "")
            align = "L"
            if suffix and value.endswith(suffix) and len(value) > len(suffix):
                value, align = value[:-len(suffix)], "R"  # the draft already shows the notation after the field
            rect = [float(v) for v in annot["/Rect"]]
            slots = annot.get("/DXSlots")
            found_date = re.search(r"ngày (\d+) tháng (\d+) năm (\d+)", value) if name == DATE_FIELD else None
            if slots and found_date:
                parts = {"d": found_date.group(1), "m": found_date.group(2), "y": found_date.group(3)}
                ap = _slot_appearance(writer, [(float(sl[0]), float(sl[1]), parts[str(sl[2])]) for sl in slots],
                                      rect[2] - rect[0], rect[3] - rect[1], font_size)
            else:
                ap = _appearance(writer, value, rect[2] - rect[0], rect[3] - rect[1], font_size, align)
            annot[NameObject("/V")] = TextStringObject(value)
            annot[NameObject("/AP")] = DictionaryObject({NameObject("/N"): writer._add_object(ap)})
        if found != {NUMBER_FIELD, DATE_FIELD}:
            from ..errors import BadInput

            raise BadInput("the document has no number/date fields: it was not prepared as a draft",
                           "văn bản chưa có trường số, ký hiệu và ngày ban hành (không phải bản dự thảo hợp lệ)",
                           code="no_issue_fields")
        with open(out_path, "wb") as out:
            writer.write(out)
