"""Server-rendered page images of a PDF (poppler's ``pdftoppm``), cached by content hash and page, so no PDF
viewer runs in the browser. The cache key is the blob's SHA-256: a version never changes, so nothing expires."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

DPI = 80  # A4 at 80 dpi is 661 x 935 px: readable, small enough for a phone


class PreviewError(RuntimeError):
    pass


def page_png(pdf: Path, sha256: str, page: int, cache_dir: Path, dpi: int = DPI) -> Path:
    """Path of the PNG of ``page`` (1-based) of ``pdf``; rendered once, then served from ``cache_dir``."""
    target = cache_dir / sha256[:2] / f"{sha256}-p{page}-{dpi}.png"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / "page"
        proc = subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
                               str(pdf), str(out)], capture_output=True, timeout=60)
        made = out.with_suffix(".png")
        if proc.returncode != 0 or not made.is_file():
            raise PreviewError(proc.stderr.decode(errors="replace")[:300] or "pdftoppm failed")
        os.replace(made, target)  # atomic: concurrent requests for the same page both end with one file
    return target


def mark_box(png: Path, target: Path, box: tuple[float, float, float, float], page_height_pt: float,
             dpi: int = DPI) -> Path:
    """A copy of ``png`` with a dashed blue frame where a signature will go (``box`` in PDF points)."""
    if target.is_file():
        return target
    from PIL import Image, ImageDraw

    scale = dpi / 72
    x1, y1, x2, y2 = box
    rect = (x1 * scale, (page_height_pt - y2) * scale, x2 * scale, (page_height_pt - y1) * scale)
    with Image.open(png) as im:
        img = im.convert("RGB")
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = rect
    step = 6
    for x in range(int(left), int(right), step * 2):  # dashed: printable and visible on any background
        draw.line([(x, top), (min(x + step, right), top)], fill=(20, 60, 200), width=2)
        draw.line([(x, bottom), (min(x + step, right), bottom)], fill=(20, 60, 200), width=2)
    for y in range(int(top), int(bottom), step * 2):
        draw.line([(left, y), (left, min(y + step, bottom))], fill=(20, 60, 200), width=2)
        draw.line([(right, y), (right, min(y + step, bottom))], fill=(20, 60, 200), width=2)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.png")
    img.save(tmp, format="PNG")
    os.replace(tmp, target)
    return target


def outline_changes(signed_png: Path, final_png: Path, target: Path) -> Path:
    """A copy of ``final_png`` with a red frame around the region that differs from ``signed_png`` (the bounding
    box of the changed pixels, a few pixels wider); unchanged pages are copied as they are."""
    if target.is_file():
        return target
    from PIL import Image, ImageChops, ImageDraw

    with Image.open(signed_png) as a, Image.open(final_png) as b:
        before, after = a.convert("RGB"), b.convert("RGB")
    if before.size != after.size:
        before = before.resize(after.size)
    box = ImageChops.difference(before, after).convert("L").point(lambda v: 255 if v > 24 else 0).getbbox()
    if box is not None:
        pad = 4
        x1, y1, x2, y2 = box
        ImageDraw.Draw(after).rectangle((max(0, x1 - pad), max(0, y1 - pad), min(after.width - 1, x2 + pad),
                                         min(after.height - 1, y2 + pad)), outline=(210, 20, 20), width=3)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp.png")
    after.save(tmp, format="PNG")
    os.replace(tmp, target)
    return target
