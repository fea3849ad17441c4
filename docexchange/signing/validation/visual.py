"""Rendered comparison of a signed revision against the final file (poppler ``pdftoppm``).

Two questions are answered here:

* ``changed_ratio``: did anything change *outside* the widgets whose appearance changed after signing
  (page content, overlays, annotations)?
* ``covered``: inside each widget whose appearance is new or changed after signing (a field filled later, a
  checkbox switched to another state, a later signature's stamp), did the new appearance draw over content the
  signed revision showed? A filled field or a later signature may only draw where the signed revision had
  nothing to hide. Content is what the signed revision shows *other than signature appearances* (page content,
  images, vector graphics, annotations and form fields that were there when it was signed); an earlier
  signature's stamp may be overlapped (Decree 30: the agency seal covers about a third of the competent person's
  signature image).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageDraw

Rect = tuple[float, float, float, float]

# grey levels: a pixel "differs" when it moved by more than this; "non-blank" when darker than 255 - this
DIFF_LEVEL = 48
# resolution of the covering check (1 px = 1 pt): a 13 pt line of text is ~9 px high, a checkbox ~12 px wide
COVER_DPI = 72
# covered content pixels inside one widget from which it counts (anti-aliasing alone never reaches it)
MIN_COVERED_PIXELS = 6
# annotation flags: Hidden (2), NoView (32)
_INVISIBLE = 2 | 32


def render(data: bytes, dpi: int, last_page: int, timeout: float, first_page: int = 1,
           hide_annotations: bool = False) -> list[Image.Image]:
    """Grey-scale page images of 1-based pages first_page..last_page. Raises on renderer failure."""
    with tempfile.TemporaryDirectory(prefix="dx-render-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        cmd = ["pdftoppm", "-r", str(dpi), "-gray", "-f", str(first_page), "-l", str(last_page)]
        if hide_annotations:
            cmd.append("-hide-annotations")
        subprocess.run([*cmd, str(src), str(Path(tmp) / "p")], check=True, capture_output=True, timeout=timeout)
        files = sorted(Path(tmp).glob("p-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        images = []
        for f in files:
            with Image.open(f) as im:
                images.append(im.convert("L").copy())
        return images


def to_pixels(r: Rect, box: Rect, rotate: int, dpi: float) -> tuple[float, float, float, float]:
    """A PDF-space rectangle as (left, top, right, bottom) pixels of a page rendered at ``dpi`` (MediaBox
    ``box``, page ``/Rotate``)."""
    s = dpi / 72.0
    x0, y0, x1, y1 = box
    rot = rotate % 360
    if rot == 90:
        xs, ys = ((r[1] - y0) * s, (r[3] - y0) * s), ((r[0] - x0) * s, (r[2] - x0) * s)
    elif rot == 180:
        xs, ys = ((x1 - r[2]) * s, (x1 - r[0]) * s), ((r[1] - y0) * s, (r[3] - y0) * s)
    elif rot == 270:
        xs, ys = ((y1 - r[3]) * s, (y1 - r[1]) * s), ((x1 - r[2]) * s, (x1 - r[0]) * s)
    else:
        xs, ys = ((r[0] - x0) * s, (r[2] - x0) * s), ((y1 - r[3]) * s, (y1 - r[1]) * s)
    return min(xs), min(ys), max(xs), max(ys)


def changed_ratio(a: Image.Image, b: Image.Image, masks: list[Rect], box: Rect, dpi: int,
                  rotate: int = 0) -> float:
    """Share of pixels that differ noticeably, outside ``masks`` (PDF-space rects of widgets whose appearance
    changed; what they draw is judged by ``covered``)."""
    if a.size != b.size:
        return 1.0
    diff = ImageChops.difference(a, b).point(lambda v: 255 if v > DIFF_LEVEL else 0)
    if masks:
        draw = ImageDraw.Draw(diff)
        for r in masks:
            left, top, right, bottom = to_pixels(r, box, rotate, dpi)
            draw.rectangle([left - 2, top - 2, right + 2, bottom + 2], fill=0)
    hist = diff.histogram()
    total = a.size[0] * a.size[1]
    return (total - hist[0]) / total if total else 0.0


def covered(before: Image.Image, after: Image.Image, content: Image.Image | None, rect: Rect, box: Rect,
            rotate: int, dpi: int) -> tuple[int, int]:
    """(covered pixels, content pixels) inside ``rect``: content pixels are non-blank in the signed revision
    ``before`` and belong to the document rather than to a signature appearance (``content`` is the signed
    revision rendered without signature appearances; None when it has none there); covered ones look different
    in ``after``."""
    if before.size != after.size or (content is not None and content.size != before.size):
        return (1 << 30, 1 << 30)
    left, top, right, bottom = to_pixels(rect, box, rotate, dpi)
    crop = (max(0, int(left) - 1), max(0, int(top) - 1), min(before.size[0], int(right + 0.999) + 1),
            min(before.size[1], int(bottom + 0.999) + 1))
    if crop[2] <= crop[0] or crop[3] <= crop[1]:
        return (0, 0)
    a, b = before.crop(crop), after.crop(crop)
    ink = a.point(lambda v: 255 if v < 255 - DIFF_LEVEL else 0)
    if content is not None:
        own = ImageChops.difference(a, content.crop(crop)).point(lambda v: 255 if v <= DIFF_LEVEL else 0)
        ink = ImageChops.multiply(ink, own)
    changed = ImageChops.difference(a, b).point(lambda v: 255 if v > DIFF_LEVEL else 0)
    hidden = ImageChops.multiply(ink, changed)
    n_ink = ink.histogram()[255]
    return hidden.histogram()[255], n_ink


# ---- widgets and their appearances -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Widget:
    key: tuple[int, int]  # the annotation's object (number, generation); (0, -n) for a direct one
    page: int          # 0-based
    rect: Rect
    name: str          # fully qualified field name
    signature: bool    # a signature field's widget
    look: str | None   # digest of what it shows (None: nothing: hidden, empty rectangle or no appearance)


@dataclass
class Layout:
    """Pages (MediaBox, /Rotate) and widget annotations of one revision, keyed by (page, annotation)."""

    pages: list[tuple[Rect, int]] = field(default_factory=list)
    widgets: dict[tuple[int, tuple[int, int]], Widget] = field(default_factory=dict)


def _inherited(obj: Any, key: str) -> Any:
    for _ in range(32):
        if obj is None:
            return None
        v = obj.get(key)
        if v is not None:
            return v
        obj = obj.get("/Parent")
    return None


def _name(obj: Any) -> str:
    parts = []
    for _ in range(32):
        if obj is None:
            break
        t = obj.get("/T")
        if t is not None:
            parts.append(str(t))
        obj = obj.get("/Parent")
    return ".".join(reversed(parts))


def _digest(obj: Any, h: Any, seen: set[tuple[int, int]], budget: list[int]) -> None:
    """Hash a PDF object tree (streams by their raw bytes), following references once each, bounded."""
    import pikepdf

    budget[0] -= 1
    if budget[0] < 0:
        h.update(b"...")
        return
    if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array) and obj.is_indirect:
        if obj.objgen in seen:
            h.update(b"R%d" % obj.objgen[0])
            return
        seen.add(obj.objgen)
    if isinstance(obj, pikepdf.Stream):
        try:
            h.update(bytes(obj.read_raw_bytes()))
        except Exception:
            h.update(b"?stream")
    if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
        for k in sorted(obj.keys()):
            if k in ("/Parent", "/P", "/Length"):
                continue
            h.update(k.encode())
            _digest(obj.get(k), h, seen, budget)
    elif isinstance(obj, pikepdf.Array):
        h.update(b"[")
        for v in obj:
            _digest(v, h, seen, budget)
        h.update(b"]")
    else:
        h.update(repr(obj).encode())


def _look(annot: Any, rect: Rect) -> str | None:
    """Digest of what a widget shows: its normal appearance (the state named by /AS when there are several),
    rectangle, flags and, without an appearance stream, the values a viewer would draw itself."""
    import pikepdf

    try:
        flags = int(annot.get("/F", 0))
    except Exception:
        flags = 0
    if flags & _INVISIBLE or rect[2] - rect[0] < 1 or rect[3] - rect[1] < 1:
        return None
    h = hashlib.sha256(repr(rect).encode())
    ap = annot.get("/AP")
    normal = ap.get("/N") if isinstance(ap, pikepdf.Dictionary) else None
    if isinstance(normal, pikepdf.Dictionary) and not isinstance(normal, pikepdf.Stream):
        state = annot.get("/AS")
        normal = normal.get(str(state)) if state is not None else None
    seen: set[tuple[int, int]] = set()
    budget = [5000]
    if normal is not None:
        _digest(normal, h, seen, budget)
    else:  # a viewer may generate the appearance from the value
        for key in ("/V", "/DA", "/AS", "/Opt"):
            v = _inherited(annot, key)
            if v is not None:
                h.update(key.encode())
                _digest(v, h, seen, budget)
        if _inherited(annot, "/V") is None and annot.get("/AS") is None:
            return None
    for key in ("/MK", "/F", "/BS", "/Border"):
        v = annot.get(key)
        if v is not None:
            h.update(key.encode())
            _digest(v, h, seen, budget)
    return h.hexdigest()


def _rect(annot: Any) -> Rect:
    try:
        r = [float(x) for x in annot.get("/Rect")]
        return (min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3]))
    except Exception:
        return (0.0, 0.0, 0.0, 0.0)


def layout(data: bytes) -> Layout:
    """Pages and widgets of a revision (``data`` = the file's prefix up to that revision's end)."""
    import pikepdf

    out = Layout()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for i, page in enumerate(pdf.pages):
            try:
                mb = [float(x) for x in page.mediabox]
                box = (min(mb[0], mb[2]), min(mb[1], mb[3]), max(mb[0], mb[2]), max(mb[1], mb[3]))
            except Exception:
                box = (0.0, 0.0, 595.0, 842.0)
            try:
                rotate = int(page.obj.get("/Rotate", 0))
            except Exception:
                rotate = 0
            out.pages.append((box, rotate))
            for j, a in enumerate(page.obj.get("/Annots") or []):
                if not isinstance(a, pikepdf.Dictionary) or a.get("/Subtype") != "/Widget":
                    continue
                key = a.objgen if a.is_indirect else (0, -1 - j)
                rect = _rect(a)
                out.widgets[(i, key)] = Widget(key, i, rect, _name(a), str(_inherited(a, "/FT")) == "/Sig",
                                               _look(a, rect))
    return out


def changed_widgets(signed: Layout, final: Layout) -> list[Widget]:
    """Widgets of the final file that show something new: added after signing, or with another appearance
    (filled, switched state, moved, made visible)."""
    out = []
    for key, w in final.widgets.items():
        if w.look is None:
            continue
        before = signed.widgets.get(key)
        if before is None or before.look != w.look:
            out.append(w)
    return out


def without_signature_appearances(data: bytes) -> bytes:
    """The revision with every signature widget hidden: what the document itself shows."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            for a in page.obj.get("/Annots") or []:
                if isinstance(a, pikepdf.Dictionary) and a.get("/Subtype") == "/Widget" and \
                        str(_inherited(a, "/FT")) == "/Sig":
                    a["/F"] = int(a.get("/F", 0)) | 2
        buf = io.BytesIO()
        pdf.save(buf)
        return buf.getvalue()


@dataclass
class Covered:
    page: int       # 1-based
    box: Rect
    field: str
    signature: bool
    pixels: int
    share: float    # of the content pixels inside the widget


class Renders:
    """Renders and layouts of revisions of one file (``data[:end]``), computed on demand and kept."""

    def __init__(self, data: bytes, timeout: float, max_pages: int) -> None:
        self.data = data
        self.timeout = timeout
        self.max_pages = max_pages
        self._layouts: dict[int, Layout] = {}
        self._pages: dict[tuple[int, int, bool, int], Image.Image] = {}

    def layout(self, end: int) -> Layout:
        if end not in self._layouts:
            self._layouts[end] = layout(self.data[:end])
        return self._layouts[end]

    def pages(self, end: int, dpi: int, wanted: list[int], doc_only: bool = False) -> dict[int, Image.Image]:
        """0-based page → image for the wanted pages (one renderer run over their span)."""
        missing = sorted({p for p in wanted if (end, dpi, doc_only, p) not in self._pages and p < self.max_pages})
        if missing:
            src = self.data[:end]
            if doc_only:
                src = without_signature_appearances(src)
            images = render(src, dpi, missing[-1] + 1, self.timeout, first_page=missing[0] + 1)
            for k, im in enumerate(images):
                self._pages[(end, dpi, doc_only, missing[0] + k)] = im
        return {p: self._pages[(end, dpi, doc_only, p)] for p in wanted if (end, dpi, doc_only, p) in self._pages}


def find_covered(renders: Renders, signed_end: int, final_end: int, widgets: list[Widget]) -> list[Covered]:
    """The covering check for ``widgets`` (changed after the revision ending at ``signed_end``)."""
    if not widgets:
        return []
    signed = renders.layout(signed_end)
    final = renders.layout(final_end)
    pages = sorted({w.page for w in widgets if w.page < len(signed.pages) and w.page < len(final.pages)})
    if not pages:
        return []
    before = renders.pages(signed_end, COVER_DPI, pages)
    after = renders.pages(final_end, COVER_DPI, pages)
    # where a signature appearance of the signed revision meets a changed widget, tell document content from it
    stamped = {p for p in pages for w in signed.widgets.values()
               if w.signature and w.look is not None and w.page == p and any(
                   _overlap(w.rect, c.rect) for c in widgets if c.page == p)}
    content = renders.pages(signed_end, COVER_DPI, sorted(stamped), doc_only=True) if stamped else {}
    out = []
    for w in widgets:
        if w.page not in before or w.page not in after:
            continue
        box, rotate = final.pages[w.page]
        hidden, ink = covered(before[w.page], after[w.page], content.get(w.page), w.rect, box, rotate, COVER_DPI)
        if hidden >= MIN_COVERED_PIXELS:
            out.append(Covered(w.page + 1, tuple(round(x, 1) for x in w.rect), w.name,  # type: ignore[arg-type]
                               w.signature, hidden, round(hidden / ink, 4) if ink else 1.0))
    return out


def _overlap(a: Rect, b: Rect) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])
