"""A 300-page scan is processed page by page: peak memory stays flat whatever the file size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .memprobe import generate

PROBE = Path(__file__).with_name("memprobe.py")


@pytest.mark.slow
def test_300_page_scan_in_bounded_memory(tmp_path: Path) -> None:
    total = generate(tmp_path, 300)
    assert total > 150 * 1024 * 1024  # the scan is much larger than the memory bound below
    proc = subprocess.run([sys.executable, str(PROBE), "run", str(tmp_path)], capture_output=True, text=True,
                          timeout=240, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    print(got)
    assert got["pages"] == 300 and got["hashes_match"] is True
    assert got["output_bytes"] > total  # every page embedded unchanged, plus statement and attestation
    assert got["rss_growth_bytes"] < 64 * 1024 * 1024, got
