"""Large attachments are streamed: memory stays bounded whatever the attachment size."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from docexchange.axis.edxml import parse_package

from .test_variants_and_safety import hand_made

BLOCK = 3 * (1 << 16)  # a multiple of 3: base64 of consecutive blocks concatenates cleanly


def write_big_package(path: Path, size: int) -> str:
    """Write a package with one ``size``-byte PDF-like attachment without holding it; return its sha256."""
    marker = b"QUJD"  # base64 of "ABC"
    head, tail = hand_made(payload=b"ABC").split(marker)
    pattern = os.urandom(BLOCK)
    h = hashlib.sha256()
    with path.open("wb") as f:
        f.write(head)
        written = 0
        first = b"%PDF-1.7\n" + pattern[9:]
        while written < size:
            block = (first if written == 0 else pattern)[: size - written]
            if len(block) % 3 and written + len(block) < size:
                raise AssertionError("block not a multiple of 3")
            h.update(block)
            f.write(base64.b64encode(block) + b"\n")
            written += len(block)
        f.write(tail)
    return h.hexdigest()


def test_parse_40mb_attachment_bounded_python_memory(tmp_path: Path) -> None:
    p = tmp_path / "big.edxml"
    digest = write_big_package(p, 40 << 20)
    sink_path = tmp_path / "out.pdf"
    with sink_path.open("wb") as out:
        tracemalloc.start()
        pkg = parse_package(p, sink=lambda cid, name: out)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert pkg.attachments[0].sha256 == digest and pkg.attachments[0].size == 40 << 20
    assert pkg.attachments[0].is_pdf
    assert hashlib.sha256(sink_path.read_bytes()).hexdigest() == digest
    assert peak < 4 << 20, f"peak traced memory {peak} bytes"


_CHILD = """
import json, os, sys, threading, time
from docexchange.axis.edxml import parse_package
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
before = rss()
peak = [before]
done = threading.Event()
def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
t = threading.Thread(target=sample)
t.start()
with open(sys.argv[2], "wb") as out:
    pkg = parse_package(sys.argv[1], sink=lambda cid, name: out)
done.set()
t.join()
print(json.dumps({"sha256": pkg.attachments[0].sha256, "size": pkg.attachments[0].size,
                  "rss_growth_kb": (peak[0] - before) // 1024, "rss_before_kb": before // 1024,
                  "errors": pkg.normalized["errors"]}))
"""


@pytest.mark.slow
def test_parse_200mb_attachment_in_subprocess_rss(tmp_path: Path) -> None:
    p = tmp_path / "huge.edxml"
    digest = write_big_package(p, 200 << 20)
    r = subprocess.run([sys.executable, "-c", _CHILD, str(p), str(tmp_path / "out.pdf")], capture_output=True,
                       text=True, timeout=300, check=True)
    res = json.loads(r.stdout)
    assert res["sha256"] == digest and res["size"] == 200 << 20
    assert res["rss_growth_kb"] < 32 * 1024, res  # package is ~270 MB of base64
    print(f"200 MB attachment: peak RSS growth {res['rss_growth_kb'] / 1024:.1f} MiB "
          f"(RSS before parsing {res['rss_before_kb'] / 1024:.1f} MiB)")
