"""Scan intake: identify each uploaded file (JPEG, PNG, TIFF with one or many pages, or PDF), decode it page by
page to prove it is readable, and check the Decree 30 digitisation rule (colour, at least 200 dpi, 100 % scale).

Only one page is ever decoded at a time (JPEGs in DCT draft mode), and PDFs are inspected with poppler's
``pdfimages -list`` without decoding, so memory stays flat for a 300-page scan.

Colour rule (documented in docs/copies.md): a page stored as greyscale or black-and-white (Pillow modes 1/L/LA/I,
PDF images with one colour component) is refused when colour is required (the default, Decree 30
Appendix I Part II) and only warned about with ``colour="warn"``. A page stored in colour whose content looks grey
is never refused (a black-and-white original scanned in colour is a correct colour scan); if *every* page looks
grey a warning is recorded.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageChops, ImageSequence, UnidentifiedImageError

from ..errors import BadInput, scrub_paths

MIN_DPI = 200
MAX_PAGES = 1000
GREY_SPREAD = 12  # max channel difference (0-255) under which a reduced page counts as grey-looking
ColourPolicy = Literal["require", "warn"]
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F", "La"}


@dataclass
class ScanPage:
    file: int  # index of the uploaded file
    frame: int  # page/frame inside that file (0-based)
    kind: str  # jpeg | png | tiff | pdf
    width_px: int
    height_px: int
    dpi: float
    colour: bool  # stored in colour
    looks_grey: bool = False


@dataclass
class ScanFile:
    path: Path
    kind: str
    sha256: str
    size: int
    pages: int = 0


@dataclass
class ScanReport:
    files: list[ScanFile]
    pages: list[ScanPage]
    warnings: list[dict[str, str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        kinds = {f.kind for f in self.files}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    @property
    def min_dpi(self) -> float:
        return min(p.dpi for p in self.pages)

    def params(self) -> dict[str, Any]:
        """What the record keeps about the scan (domain-vn.md §4.5 "scan parameters")."""
        return {"format": self.kind, "files": [{"sha256": f.sha256, "kind": f.kind, "size": f.size, "pages": f.pages}
                                               for f in self.files],
                "pages": len(self.pages), "min_dpi": round(self.min_dpi, 1),
                "colour": all(p.colour for p in self.pages), "warnings": self.warnings}

    def page_dicts(self) -> list[dict[str, Any]]:
        return [asdict(p) for p in self.pages]


def sniff(head: bytes) -> str | None:
    from ..formats.documents import sniff_head

    return sniff_head(head)


def _corrupt(index: int, detail: str) -> BadInput:
    detail = scrub_paths(detail)
    return BadInput(f"scan file {index + 1} cannot be read ({detail}); scan the original again",
                    f"không đọc được tệp quét thứ {index + 1} ({detail}); vui lòng quét lại bản chính",
                    code="scan_corrupt")


def _dpi(im: Image.Image) -> float | None:
    dpi = im.info.get("dpi")
    if dpi:
        try:
            x, y = float(dpi[0]), float(dpi[1])
            if x > 1 and y > 1:
                return min(x, y)
        except (TypeError, ValueError, IndexError):
            return None
    return None


def _looks_grey(im: Image.Image) -> bool:
    small = im.convert("RGB")
    small.thumbnail((96, 96))
    r, g, b = small.split()
    spread = max(int(ImageChops.difference(x, y).getextrema()[1])  # type: ignore[arg-type]
                 for x, y in ((r, g), (g, b), (r, b)))
    return spread < GREY_SPREAD


def _image_pages(index: int, path: Path, kind: str) -> list[ScanPage]:
    pages: list[ScanPage] = []
    try:
        with Image.open(path) as im:
            for frame_no, frame in enumerate(ImageSequence.Iterator(im)):
                if frame_no >= MAX_PAGES:
                    raise BadInput(f"a scan may have at most {MAX_PAGES} pages",
                                   f"bản quét tối đa {MAX_PAGES} trang", code="scan_too_many_pages")
                dpi = _dpi(frame)
                width, height = frame.size
                colour = frame.mode not in _GREY_MODES
                if kind == "jpeg":
                    frame.draft("RGB" if colour else "L", (max(1, width // 8), max(1, height // 8)))
                frame.load()  # decodes the whole entropy stream: truncated or corrupt data fails here
                pages.append(ScanPage(index, frame_no, kind, width, height, dpi or 0.0, colour,
                                      _looks_grey(frame) if colour else True))
    except BadInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise _corrupt(index, str(exc)[:120]) from exc
    return pages


def _pdf_pages(index: int, path: Path) -> list[ScanPage]:
    import pikepdf

    try:
        with pikepdf.open(path) as pdf:
            if pdf.is_encrypted:
                raise _encrypted(index)
            count = len(pdf.pages)
    except pikepdf.PasswordError as exc:
        raise _encrypted(index) from exc
    except pikepdf.PdfError as exc:
        raise _corrupt(index, str(exc)[:120]) from exc
    if count == 0 or count > MAX_PAGES:
        raise BadInput(f"a scan must have 1 to {MAX_PAGES} pages", f"bản quét phải có từ 1 đến {MAX_PAGES} trang",
                       code="scan_too_many_pages")
    proc = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise _corrupt(index, proc.stderr.strip()[:120])
    best: dict[int, tuple[int, ScanPage]] = {}
    for line in proc.stdout.splitlines()[2:]:
        cols = line.split()
        if len(cols) < 14 or cols[2] != "image":
            continue
        page, width, height, colour_space, comps = int(cols[0]), int(cols[3]), int(cols[4]), cols[5], int(cols[6])
        try:
            xppi, yppi = float(cols[12]), float(cols[13])
        except ValueError:
            continue
        area = width * height
        colour = comps >= 3 or colour_space == "index"
        if page not in best or area > best[page][0]:
            best[page] = (area, ScanPage(index, page - 1, "pdf", width, height, min(xppi, yppi), colour))
    missing = [n for n in range(1, count + 1) if n not in best]
    if missing:
        raise BadInput(f"page(s) {_ranges(missing)} of scan file {index + 1} contain no scanned image; "
                       "a certified copy is made from a scan of the original",
                       f"trang {_ranges(missing)} của tệp quét thứ {index + 1} không có ảnh quét; bản sao chứng "
                       "thực phải được quét từ bản chính", code="scan_not_image")
    return [best[n][1] for n in range(1, count + 1)]


def _encrypted(index: int) -> BadInput:
    return BadInput(f"scan file {index + 1} is an encrypted PDF; upload the scanner's unprotected output",
                    f"tệp quét thứ {index + 1} là PDF có mật khẩu/mã hóa; hãy tải lên tệp quét không khóa",
                    code="scan_encrypted")


def _ranges(nums: list[int]) -> str:
    out: list[str] = []
    start = prev = nums[0]
    for n in nums[1:] + [None]:  # type: ignore[list-item]
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out)


def inspect_scan(files: list[ScanFile], *, colour: ColourPolicy = "require", min_dpi: int = MIN_DPI) -> ScanReport:
    """Identify, decode and check every file; raise ``BadInput`` (nothing kept) on the first violation."""
    if not files:
        raise BadInput("attach the scan of the original", "chưa đính kèm bản quét của bản chính", code="scan_missing")
    kinds: list[str] = []
    for i, f in enumerate(files):
        with open(f.path, "rb") as fh:
            kind = sniff(fh.read(16))
        if kind is None:
            raise BadInput(f"scan file {i + 1} is not JPEG, PNG, TIFF or PDF",
                           f"tệp quét thứ {i + 1} không phải JPEG, PNG, TIFF hoặc PDF", code="scan_format")
        f.kind = kind
        kinds.append(kind)

    def one(i: int) -> list[ScanPage]:
        f = files[i]
        return _pdf_pages(i, f.path) if f.kind == "pdf" else _image_pages(i, f.path, f.kind)

    # Decoding releases the GIL: two files at a time (two pages in memory at most); errors in file order.
    if len(files) > 1:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(one, range(len(files))))
    else:
        results = [one(0)]
    pages: list[ScanPage] = []
    for f, got in zip(files, results, strict=True):
        f.pages = len(got)
        pages.extend(got)
    if len(pages) > MAX_PAGES:
        raise BadInput(f"a scan may have at most {MAX_PAGES} pages", f"bản quét tối đa {MAX_PAGES} trang",
                       code="scan_too_many_pages")
    report = ScanReport(files, pages)
    no_dpi = [n for n, p in enumerate(pages, 1) if p.dpi <= 0]
    if no_dpi:
        raise BadInput(f"page(s) {_ranges(no_dpi)}: the file does not record its resolution; scan again at "
                       f"{min_dpi} dpi or more", f"trang {_ranges(no_dpi)}: tệp không ghi độ phân giải; hãy quét "
                       f"lại ở {min_dpi} dpi trở lên", code="scan_no_dpi")
    low = [n for n, p in enumerate(pages, 1) if round(p.dpi) < min_dpi]
    if low:
        worst = min(pages[n - 1].dpi for n in low)
        raise BadInput(f"page(s) {_ranges(low)} scanned at {worst:.0f} dpi; Decree 30 requires at least "
                       f"{min_dpi} dpi", f"trang {_ranges(low)} được quét ở {worst:.0f} dpi; Nghị định 30 yêu cầu "
                       f"tối thiểu {min_dpi} dpi", code="scan_low_dpi", pages=low)
    grey = [n for n, p in enumerate(pages, 1) if not p.colour]
    if grey:
        en = f"page(s) {_ranges(grey)} are greyscale or black-and-white; Decree 30 requires a colour scan"
        vi = f"trang {_ranges(grey)} được quét đen trắng/thang xám; Nghị định 30 yêu cầu quét màu"
        if colour == "require":
            raise BadInput(en, vi, code="scan_not_colour", pages=grey)
        report.warnings.append({"code": "scan_not_colour", "en": en, "vi": vi})
    elif all(p.looks_grey for p in pages):
        report.warnings.append({"code": "scan_looks_greyscale",
                                "en": "the scan is stored in colour but every page looks grey; check the scanner's "
                                      "colour setting", "vi": "bản quét lưu ở chế độ màu nhưng mọi trang đều có màu "
                                                              "xám; hãy kiểm tra chế độ màu của máy quét"})
    return report
