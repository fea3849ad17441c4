"""Run in a subprocess by test_large_scan: build a certified-copy PDF from N A4 200 dpi JPEG pages and print
peak-RSS growth as JSON. Kept separate so the measurement is not polluted by the test process."""

from __future__ import annotations

import hashlib
import io
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image


def generate(folder: Path, pages: int, sigma: int = 6) -> int:
    """N distinct A4 200 dpi colour JPEG pages (noise makes them realistically large). Returns total bytes."""
    rnd = random.Random(1)
    im = Image.effect_noise((1654, 2339), sigma).convert("RGB")
    im.paste((200, 30, 30), (1200, 1900, 1500, 2200))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85, dpi=(200, 200))
    base = buf.getvalue()
    total = 0
    for i in range(pages):
        data = base + rnd.randbytes(8)  # distinct files (bytes after EOI are ignored by decoders)
        (folder / f"p{i:04d}.jpg").write_bytes(data)
        total += len(data)
    return total


def run(folder: Path) -> None:
    from docexchange.copies import pdfbuild
    from docexchange.copies.scans import ScanFile, inspect_scan

    paths = sorted(folder.glob("p*.jpg"))
    files = [ScanFile(p, "", hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size) for p in paths]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        start = time.perf_counter()
        report = inspect_scan(files)
        scan = pdfbuild.build_scan_pdf(report, t, url="https://n.invalid/verify/copy/X", code="X")
        hashes = pdfbuild.page_image_hashes(scan)
        st, _ = pdfbuild.statement_page(pdfbuild.StatementText("A", "B", "01", "01/2026-SCT/BS", "d", "w", "n", "t",
                                                               "o", "f"), url="u", code="X")
        out = t / "final.pdf"
        pdfbuild.finalize(scan, out, statement=st, attestation={"pages": hashes}, from_images=True)
        _digest, size = pdfbuild.sha256_file(out)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        ok = all(h["images"][0]["sha256"] == f.sha256 for h, f in zip(hashes, files, strict=True))
        print(json.dumps({"pages": len(hashes), "input_bytes": sum(f.size for f in files), "output_bytes": size,
                          "rss_before_bytes": before, "rss_growth_bytes": after - before,
                          "seconds": round(elapsed, 2), "hashes_match": ok}))


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        print(generate(Path(sys.argv[2]), int(sys.argv[3])))
    else:
        run(Path(sys.argv[2]))
