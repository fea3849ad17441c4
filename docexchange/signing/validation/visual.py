"""Rendered comparison of the signed revision against the final file (poppler ``pdftoppm``)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

Rect = tuple[float, float, float, float]


def render(data: bytes, dpi: int, last_page: int, timeout: float) -> list[Image.Image]:
    """Grey-scale page images (1-based pages 1..last_page). Raises on renderer failure."""
    with tempfile.TemporaryDirectory(prefix="dx-render-") as tmp:
        src = Path(tmp) / "in.pdf"
        src.write_bytes(data)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-l", str(last_page), str(src), str(Path(tmp) / "p")],
                       check=True, capture_output=True, timeout=timeout)
        files = sorted(Path(tmp).glob("p-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        images = []
        for f in files:
            with Image.open(f) as im:
                images.append(im.convert("L").copy())
        return images


def changed_ratio(a: Image.Image, b: Image.Image, masks: list[Rect], box: Rect, dpi: int) -> float:
    """Share of pixels that differ noticeably, outside ``masks`` (PDF-space rects of later signature widgets)."""
    if a.size != b.size:
        return 1.0
    diff = ImageChops.difference(a, b).point(lambda v: 255 if v > 48 else 0)
    if masks:
        draw = ImageDraw.Draw(diff)
        scale = dpi / 72.0
        x0, _y0, _x1, y1 = box
        for r in masks:
            draw.rectangle([(r[0] - x0) * scale - 2, (y1 - r[3]) * scale - 2,
                            (r[2] - x0) * scale + 2, (y1 - r[1]) * scale + 2], fill=0)
    hist = diff.histogram()
    total = a.size[0] * a.size[1]
    return (total - hist[0]) / total if total else 0.0
