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
