"""Building the certified copy PDF.

1. ``build_scan_pdf``: every scanned page becomes one PDF page, losslessly (img2pdf per page: JPEG is passed
   through unchanged, PNG/TIFF frames are stored with lossless Flate; PDF scans keep their page objects as they
   are). Each page gets a strip added *below* the scanned area (MediaBox extended), holding the verification QR
   code and code, so nothing of the original is covered. Pages are processed one at a time and merged with qpdf,
   which copies image data lazily from the per-page files at write time: memory stays flat.
2. ``finalize``: append the certification statement page (Liberation Serif, Vietnamese), embed the attestation
   JSON as an associated file (AFRelationship /Data), declare PDF/A-3b where the content allows it. The
   signatures are applied afterwards, so they cover the attestation.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import img2pdf
import pikepdf
import qrcode
from fpdf import FPDF
from PIL import Image

from .scans import ScanReport

FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf"
FONT_ITALIC = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Italic.ttf"
SRGB_ICC = Path("/usr/share/color/icc/ghostscript/srgb.icc")
PT_PER_MM = 72 / 25.4
STRIP_PT = 50.0  # height of the verification strip added below each scanned page
STAMP_W_PT = 300.0
A4_PT = (595.28, 841.89)
ATTESTATION_NAME = "attestation.json"

Box = tuple[float, float, float, float]


def qr_modules(url: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    qr.add_data(url)
    qr.make(fit=True)
    return [list(map(bool, row)) for row in qr.get_matrix()]


def _draw_qr(pdf: FPDF, modules: list[list[bool]], x: float, y: float, size: float) -> None:
    """Vector QR: one filled rectangle per horizontal run of dark modules (crisp at any zoom, no image)."""
    m = size / len(modules)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(modules):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + start * m, y + r * m, (c - start) * m, m, style="F")
            else:
                c += 1


# Vietnamese + Latin: what our generated pages write. Parsing and subsetting the full 2,600-glyph Liberation
# fonts costs ~30 ms per font per document; a once-per-process subset of ~400 glyphs makes it ~5 ms.
_CHARS = (set(range(0x20, 0x7F)) | set(range(0xA0, 0x180)) | set(range(0x1EA0, 0x1EFA))
          | {0x1A0, 0x1A1, 0x1AF, 0x1B0, 0x300, 0x301, 0x303, 0x309, 0x323, 0x2013, 0x2014, 0x2018, 0x2019, 0x201C,
             0x201D, 0x2022, 0x2026, 0x20AB})


@functools.cache
def _font_file(src: str) -> str:
    """A cached subset of ``src`` with the Vietnamese/Latin repertoire (falls back to the full font)."""
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont

        st = os.stat(src)
        cache = Path(tempfile.gettempdir()) / f"docexchange-fonts-{os.getuid()}"
        cache.mkdir(mode=0o700, exist_ok=True)
        dst = cache / f"{Path(src).stem}-{st.st_size}-{int(st.st_mtime)}-v2.ttf"
        if not dst.exists():
            font = TTFont(src)
            opts = subset.Options()
            opts.notdef_outline = True
            opts.recommended_glyphs = True
            opts.name_IDs = ["*"]
            opts.layout_features = []  # no shaping is used; dropping GSUB/GPOS makes each later subset cheap
            opts.hinting = False
            opts.drop_tables = [*opts.drop_tables, "FFTM", "GSUB", "GPOS", "GDEF", "kern", "DSIG"]
            sub = subset.Subsetter(opts)
            sub.populate(unicodes=_CHARS)
            sub.subset(font)
            tmp = dst.with_suffix(f".{os.getpid()}.tmp")
            font.save(str(tmp))
            os.replace(tmp, dst)
        return str(dst)
    except Exception:  # noqa: BLE001 - any problem: use the full font, only slower
        return src


def _fpdf(unit: str, fmt: tuple[float, float] | str, styles: str = "B") -> FPDF:
    pdf = FPDF(unit=unit, format=fmt)  # type: ignore[arg-type]
    pdf.add_font("LS", "", _font_file(FONT))
    for style, path in (("B", FONT_BOLD), ("I", FONT_ITALIC)):
        if style in styles:
            pdf.add_font("LS", style, _font_file(path))
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_creator("docexchange")
    return pdf


def _draw_stamp(pdf: FPDF, url: str, code: str) -> None:
    """The strip (on a page of STAMP_W_PT x STRIP_PT, user unit mm): QR of the URL and the code, white ground."""
    u = 1 / PT_PER_MM
    width, height, side = STAMP_W_PT * u, STRIP_PT * u, (STRIP_PT - 6) * u
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(0, 0, width, height, style="F")
    _draw_qr(pdf, qr_modules(url), width - side - 3 * u, 3 * u, side)
    pdf.set_text_color(0, 0, 0)
    text_w = width - side - 10 * u
    for y, style, size, text in ((6, "B", 7.5, "Bản sao điện tử được chứng thực từ bản chính"),
                                 (17, "", 7.5, f"Mã kiểm tra: {code}"), (28, "", 6, url)):
        pdf.set_xy(4 * u, y * u)
        pdf.set_font("LS", style, size)
        pdf.cell(text_w, 10 * u, text, align="R")


def stamp_pdf(url: str, code: str) -> bytes:
    """A one-page PDF holding only the strip drawn under every scanned page."""
    pdf = _fpdf("mm", (STAMP_W_PT / PT_PER_MM, STRIP_PT / PT_PER_MM))
    pdf.add_page()
    _draw_stamp(pdf, url, code)
    return bytes(pdf.output())


def _page_pdf_from_image(path: Path, frame: int, kind: str, tmp: Path, n: int) -> Path:
    out = tmp / f"p{n:05d}.pdf"
    if kind == "tiff":
        with Image.open(path) as im:
            im.seek(frame)
            buf = io.BytesIO()
            dpi = im.info.get("dpi")
            im.save(buf, format="PNG", compress_level=1, dpi=dpi)  # lossless
            data = img2pdf.convert(buf.getvalue(), rotation=img2pdf.Rotation.ifvalid)
    else:
        data = img2pdf.convert(str(path), rotation=img2pdf.Rotation.ifvalid)
    assert data is not None
    out.write_bytes(data)
    return out


def build_scan_pdf(report: ScanReport, tmp: Path, *, url: str, code: str, strip: bool = True,
                   stamp: bytes | None = None) -> Path:
    """All scanned pages in order, each with the verification strip below it (``strip=False``: no strip, used
    for Decree 30 agency copies). Returns the path of the PDF in ``tmp``.

    Pages are merged by the qpdf command, which copies stream data from the per-page files while writing (about
    20 MB of memory for any size); pikepdf's page copy loads every image into memory, so it is not used here."""
    out_path = tmp / "scan.pdf"
    if len(report.files) == 1 and report.files[0].kind == "pdf":
        merged = report.files[0].path
    else:
        sources: list[Path] = []
        n = 0
        for f in report.files:
            if f.kind == "pdf":
                sources.append(f.path)
                continue
            for frame in range(f.pages):
                n += 1
                sources.append(_page_pdf_from_image(f.path, frame, f.kind, tmp, n))
        merged = tmp / "merged.pdf"
        proc = subprocess.run(["qpdf", "--empty", "--pages", *map(str, sources), "--", str(merged)],
                              capture_output=True, text=True, timeout=600)
        if proc.returncode not in (0, 3):  # 3: warnings, output written
            raise RuntimeError(f"qpdf could not merge the scanned pages: {proc.stderr.strip()[:300]}")
        for src in sources:
            if src.parent == tmp:
                src.unlink()
    with pikepdf.open(merged) as base:
        if strip:
            with pikepdf.open(io.BytesIO(stamp or stamp_pdf(url, code))) as stamp_src:
                form = base.copy_foreign(stamp_src.pages[0].as_form_xobject())
            for page in base.pages:
                add_strip(page, form)
        base.save(out_path)
    return out_path


def add_strip(page: pikepdf.Page, form: pikepdf.Object) -> None:
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    new_box = pikepdf.Array([x0, y0 - STRIP_PT, x1, y1])
    page.obj.MediaBox = new_box
    for key in ("/CropBox", "/TrimBox", "/BleedBox", "/ArtBox"):
        if key in page.obj:
            del page.obj[key]
    width = min(STAMP_W_PT, x1 - x0)
    page.add_overlay(form, pikepdf.Rectangle(x1 - width, y0 - STRIP_PT, x1, y0))


def page_image_hashes(path: Path) -> list[dict[str, Any]]:
    """Per page: SHA-256 of the raw (still encoded) stream of every image XObject it draws, in resource-name
    order, searched through nested forms. For a JPEG scan this equals the SHA-256 of the JPEG file."""
    result: list[dict[str, Any]] = []
    with pikepdf.open(path) as pdf:
        for n, page in enumerate(pdf.pages, 1):
            images: list[dict[str, Any]] = []
            _collect_images(page.obj.get("/Resources"), images, depth=0)
            result.append({"page": n, "images": images})
    return result


def _collect_images(resources: Any, out: list[dict[str, Any]], depth: int) -> None:
    if resources is None or depth > 3 or "/XObject" not in resources:
        return
    xobjects = resources.XObject
    for name in sorted(xobjects.keys()):
        obj = xobjects[name]
        sub = obj.get("/Subtype")
        if sub == "/Image":
            raw = obj.read_raw_bytes()
            filt = obj.get("/Filter")
            out.append({"name": str(name), "sha256": hashlib.sha256(raw).hexdigest(), "width": int(obj.Width),
                        "height": int(obj.Height), "filter": str(filt) if filt is not None else None})
            del raw
        elif sub == "/Form":
            _collect_images(obj.get("/Resources"), out, depth + 1)


@dataclass(frozen=True)
class StatementText:
    agency_name: str
    agency_place: str
    number_text: str  # "05"
    book_text: str  # "01/2026-SCT/BS"
    date_digits: str  # "ngày 22 tháng 11 năm 2026"
    date_words: str
    certifier_name: str
    certifier_title: str
    original_line: str
    fee_line: str

    @property
    def statement(self) -> str:
        """The lời chứng (Decree 23/2015 form), as recorded and printed."""
        return (f"Chứng thực bản sao đúng với bản chính.\n"
                f"Số chứng thực: {self.number_text}, quyển số: {self.book_text}.\n"
                f"{self.date_digits[0].upper()}{self.date_digits[1:]} "
                f"(bằng chữ: {self.date_words}).")


@dataclass(frozen=True)
class StatementLayout:
    """Where the two signatures go on the statement page (PDF points, origin bottom-left)."""

    person_box: Box
    seal_box: Box


def statement_page(t: StatementText, *, url: str, code: str, with_stamp: bool = False
                   ) -> tuple[bytes, StatementLayout]:
    """The statement page (last page of the certified copy). ``with_stamp``: the strip is rendered first, as
    page 1 of the same PDF, so the fonts are parsed and subset once for both (``build_scan_pdf`` takes page 1 as
    the strip, ``finalize`` appends the last page)."""
    pdf = _fpdf("mm", "A4", "B")
    if with_stamp:
        pdf.add_page(format=(STAMP_W_PT / PT_PER_MM, STRIP_PT / PT_PER_MM))
        _draw_stamp(pdf, url, code)
    pdf.add_page(format="A4")
    pdf.set_text_color(0, 0, 0)
    left, right = 20.0, 190.0
    pdf.set_xy(left, 15)
    pdf.set_font("LS", "B", 12)
    pdf.multi_cell(80, 6, t.agency_name.upper(), align="C")
    pdf.set_xy(95, 15)
    pdf.cell(95, 6, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C")
    pdf.set_xy(95, 21)
    pdf.set_font("LS", "B", 13)
    pdf.cell(95, 6, "Độc lập - Tự do - Hạnh phúc", align="C")
    pdf.line(122, 28, 163, 28)
    pdf.set_xy(left, 45)
    pdf.set_font("LS", "B", 14)
    pdf.cell(right - left, 8, "LỜI CHỨNG CỦA NGƯỜI THỰC HIỆN CHỨNG THỰC", align="C")
    pdf.set_xy(left, 60)
    pdf.set_font("LS", "", 13)
    pdf.multi_cell(right - left, 7.5, t.statement, align="L")
    pdf.set_xy(left, pdf.get_y() + 4)
    pdf.set_font("LS", "", 11)
    pdf.multi_cell(right - left, 6, f"{t.original_line}\n{t.fee_line}", align="L")
    top = max(pdf.get_y() + 10, 120.0)
    pdf.set_xy(105, top)
    pdf.set_font("LS", "B", 13)
    pdf.multi_cell(85, 6.5, f"NGƯỜI THỰC HIỆN CHỨNG THỰC\n{t.certifier_title.upper()}", align="C")
    sig_top = pdf.get_y() + 1
    sig_h = 32.0
    pdf.set_xy(105, sig_top + sig_h)
    pdf.cell(85, 7, t.certifier_name, align="C")
    # verification strip at the bottom, as on every scanned page
    side = 22.0
    _draw_qr(pdf, qr_modules(url), right - side, 297 - 12 - side, side)
    pdf.set_font("LS", "", 9)
    pdf.set_xy(left, 297 - 12 - side + 4)
    pdf.cell(right - left - side - 4, 5, "Bản sao điện tử được chứng thực từ bản chính", align="R")
    pdf.set_xy(left, 297 - 12 - side + 10)
    pdf.cell(right - left - side - 4, 5, f"Mã kiểm tra: {code}", align="R")
    pdf.set_xy(left, 297 - 12 - side + 16)
    pdf.set_font("LS", "", 7.5)
    pdf.cell(right - left - side - 4, 5, url, align="R")

    def box(x1: float, x2: float) -> Box:
        return (x1 * PT_PER_MM, (297 - sig_top - sig_h) * PT_PER_MM, x2 * PT_PER_MM, (297 - sig_top) * PT_PER_MM)

    return bytes(pdf.output()), StatementLayout(person_box=box(125, 185), seal_box=box(100, 140))


def _claims_pdfa(pdf: pikepdf.Pdf) -> str | None:
    try:
        meta = pdf.open_metadata()
        part = meta.get("pdfaid:part")
    except Exception:  # noqa: BLE001 - unreadable XMP counts as no claim
        return None
    return str(part) if part else None


def finalize(scan_pdf: Path, out: Path, *, statement: bytes, attestation: dict[str, Any], from_images: bool
             ) -> str | None:
    """Append the statement page, embed the attestation, declare PDF/A-3b when possible. Returns the PDF/A
    claim written ("3B") or None."""
    data = json.dumps(attestation, ensure_ascii=False, indent=1, sort_keys=True).encode()
    with pikepdf.open(scan_pdf) as pdf, pikepdf.open(io.BytesIO(statement)) as st:
        pdf.pages.append(st.pages[-1])
        spec = pikepdf.AttachedFileSpec(pdf, data, description="Chứng thực bản sao điện tử: dữ liệu máy đọc được "
                                        "(attestation)", filename=ATTESTATION_NAME, mime_type="application/json",
                                        relationship=pikepdf.Name.Data)  # type: ignore[call-arg]
        pdf.attachments[ATTESTATION_NAME] = spec
        af = pikepdf.Array([spec.obj])
        pdf.Root.AF = af
        existing = _claims_pdfa(pdf)
        has_intent = "/OutputIntents" in pdf.Root
        claim: str | None = None
        if (from_images or (existing in ("2", "3") and has_intent)) and SRGB_ICC.exists():
            if not has_intent:
                icc = pdf.make_stream(SRGB_ICC.read_bytes())
                icc.N = 3
                pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
                    Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFA1,
                    OutputConditionIdentifier=pikepdf.String("sRGB IEC61966-2.1"),
                    Info=pikepdf.String("sRGB IEC61966-2.1"), DestOutputProfile=icc)])
            claim = "3B"
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = "Bản sao điện tử được chứng thực từ bản chính"
            meta["xmp:CreatorTool"] = "docexchange"
            if claim:
                meta["pdfaid:part"] = "3"
                meta["pdfaid:conformance"] = "B"
            else:
                for key in ("pdfaid:part", "pdfaid:conformance", "pdfaid:amd"):
                    if key in meta:
                        del meta[key]
        pdf.save(out, min_version="1.7")
    return claim


def read_attestation(path: Path) -> dict[str, Any] | None:
    with pikepdf.open(path) as pdf:
        att = pdf.attachments.get(ATTESTATION_NAME)
        if att is None:
            return None
        return json.loads(att.get_file().read_bytes())  # type: ignore[no-any-return]


def sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size
