"""Where signatures go (Decree 30/2020, Appendix I):

- person: the signature image centred between the position line and the signer's full name (box 7c), found in
  the last page's text layer (``pdftotext -bbox-layout``), or an explicit page + box;
- seal: the seal at actual size (default 36 mm), covering about 1/3 of the signature image on its left, centred
  vertically on it — computed from the person signature field's widget rectangle;
- attachment / copy: top right of page 1 (box 14), no image.

Boxes are PDF user-space points ``(x1, y1, x2, y2)``, origin bottom-left."""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from .errors import BadInput

Box = tuple[float, float, float, float]
MM = 72.0 / 25.4
DEFAULT_SEAL_MM = 36.0
SEAL_OVERLAP = 1.0 / 3.0
MAX_SIGNATURE_WIDTH = 200.0
MIN_GAP = 24.0
DEFAULT_GAP = 60.0
TOP_RIGHT_MARGIN = (15 * MM, 10 * MM)  # right, top


@dataclass(frozen=True)
class TextLine:
    text: str
    box: Box  # PDF coordinates


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", s)).strip().casefold()


class TextLinesJob:
    """``pdftotext -bbox-layout`` for one page, started at once and collected with ``result()``, so the engine can
    do its certificate checks while poppler extracts the text."""

    def __init__(self, pdf_path: Path, page_no: int | None) -> None:
        """``page_no`` None: all pages (cheap for small files, and it can start before the PDF is parsed); the
        result is then the last page."""
        if shutil.which("pdftotext") is None:  # pragma: no cover - poppler-utils is a system requirement
            raise RuntimeError("pdftotext (poppler-utils) is required to locate the signer's name")
        pages = [] if page_no is None else ["-f", str(page_no), "-l", str(page_no)]
        self._done = False
        self.proc = subprocess.Popen(["pdftotext", "-q", *pages, "-bbox-layout", str(pdf_path), "-"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def result(self) -> tuple[list[TextLine], float, float]:
        self._done = True
        try:
            out, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise BadInput("Reading the text of the document took too long", "Đọc nội dung văn bản quá lâu",
                           code="bad_pdf") from None
        if self.proc.returncode != 0:
            raise BadInput("Cannot read the text of the document", "Không đọc được nội dung văn bản", code="bad_pdf")
        return _parse_bbox(out)

    def cancel(self) -> None:
        """Stop and reap the process unless ``result()`` already did (idempotent)."""
        if self._done:
            return
        self._done = True
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def text_lines(pdf_path: Path, page_no: int) -> tuple[list[TextLine], float, float]:
    """Lines of text on 1-based ``page_no`` with their boxes, plus the page width and height."""
    return TextLinesJob(pdf_path, page_no).result()


def _parse_bbox(stdout: bytes) -> tuple[list[TextLine], float, float]:
    xml = re.sub(rb"<!DOCTYPE[^>]*>", b"", stdout)
    root = ET.fromstring(xml)
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    pages = root.findall(".//h:page", ns)
    if not pages:
        return [], 0.0, 0.0
    page = pages[-1]
    width, height = float(page.get("width", 0)), float(page.get("height", 0))
    lines = []
    for line in page.iterfind(".//h:line", ns):
        words = [w.text or "" for w in line.iterfind("h:word", ns)]
        x0, y0 = float(line.get("xMin", 0)), float(line.get("yMin", 0))
        x1, y1 = float(line.get("xMax", 0)), float(line.get("yMax", 0))
        lines.append(TextLine(" ".join(words), (x0, height - y1, x1, height - y0)))
    return lines, width, height


def person_box(lines: list[TextLine], full_name: str, aspect: float) -> Box | None:
    """The signature image rectangle (aspect = width/height) between the position line and the name line."""
    target = _norm(full_name)
    matches = [ln for ln in lines if target and target in _norm(ln.text)]
    if not matches:
        return None
    name = min(matches, key=lambda ln: ln.box[1])  # the lowest occurrence: the signature block
    nx0, ny0, nx1, ny1 = name.box
    cx = (nx0 + nx1) / 2
    above = [ln for ln in lines if ln.box[1] > ny1 - 1 and ln.box[0] < cx < ln.box[2]]
    if above:
        pos = min(above, key=lambda ln: ln.box[1])
        gap_lo, gap_hi = ny1 + 2, pos.box[1] - 2
        if gap_hi - gap_lo < MIN_GAP:
            gap_hi = gap_lo + DEFAULT_GAP
    else:
        gap_lo, gap_hi = ny1 + 2, ny1 + 2 + DEFAULT_GAP
    h = gap_hi - gap_lo
    w = h * aspect
    if w > MAX_SIGNATURE_WIDTH:
        w = MAX_SIGNATURE_WIDTH
        h = w / aspect
    cy = (gap_lo + gap_hi) / 2
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def fit_box(box: Box, aspect: float) -> Box:
    """The largest rectangle of the given aspect centred in ``box`` (so the widget equals the image)."""
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    w, h = (bw, bw / aspect) if bw / aspect <= bh else (bh * aspect, bh)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def seal_box(signature: Box, seal_mm: float = DEFAULT_SEAL_MM, aspect: float = 1.0) -> Box:
    """Seal at actual size whose right edge lies 1/3 into the signature image, vertically centred on it."""
    x0, y0, x1, y1 = signature
    h = seal_mm * MM
    w = h * aspect
    right = x0 + (x1 - x0) * SEAL_OVERLAP
    cy = (y0 + y1) / 2
    return (right - w, cy - h / 2, right, cy + h / 2)


def top_right_box(page_width: float, page_height: float, size: tuple[float, float]) -> Box:
    right, top = TOP_RIGHT_MARGIN
    w, h = size
    return (page_width - right - w, page_height - top - h, page_width - right, page_height - top)


def name_not_found(full_name: str) -> BadInput:
    return BadInput(
        f"The signer's name {full_name!r} was not found on the last page; give the page and box explicitly",
        f"Không tìm thấy họ tên người ký {full_name!r} ở trang cuối; hãy chỉ định trang và vị trí ký",
        code="signer_name_not_found")
