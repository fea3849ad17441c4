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
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, str(p), str(tmp_path / "out.pdf")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    res = json.loads(r.stdout)
    assert res["sha256"] == digest and res["size"] == 200 << 20
    assert res["rss_growth_kb"] < 32 * 1024, res  # package is ~270 MB of base64
    print(
        f"200 MB attachment: peak RSS growth {res['rss_growth_kb'] / 1024:.1f} MiB "
        f"(RSS before parsing {res['rss_before_kb'] / 1024:.1f} MiB)"
    )


def test_write_edoc_equals_build_and_verifies(pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import io
    import shutil

    from signxml import XMLVerifier

    from docexchange.axis.edxml import build_edoc, write_edoc
    from docexchange.pki.keys import cert_pem

    from .test_roundtrip import sample, strip_sig

    for seal in (pki.rsa_seal, pki.ec_seal):
        msg = sample()
        buf = io.BytesIO()
        n = write_edoc(msg, buf, seal)
        data = buf.getvalue()
        assert n == len(data)
        streamed = parse_package(data, anchors=pki.ca.anchors()).normalized
        built = parse_package(build_edoc(msg, seal)).normalized
        assert strip_sig(streamed) == strip_sig(built)
        assert (streamed["package_signature"]["note"], streamed["package_signature"]["trusted"]) == (
            "valid",
            True,
        )
        # independent verifiers: signxml with the CA chain, and xmlsec1
        (tmp_path / "root.pem").write_bytes(cert_pem(pki.ca.cert("gov-root")))
        (tmp_path / "int.pem").write_bytes(cert_pem(pki.ca.cert("gov-int")))
        XMLVerifier().verify(data, ca_pem_file=str(tmp_path / "root.pem"))
        if shutil.which("xmlsec1"):
            (tmp_path / "w.edxml").write_bytes(data)
            r = subprocess.run(
                [
                    "xmlsec1",
                    "--verify",
                    "--trusted-pem",
                    str(tmp_path / "root.pem"),
                    "--untrusted-pem",
                    str(tmp_path / "int.pem"),
                    str(tmp_path / "w.edxml"),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert r.returncode == 0, r.stderr


def test_write_and_parse_signed_40mb_bounded_memory(pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from docexchange.axis.edxml import Attachment, Limits, write_edoc

    from .test_roundtrip import sample

    src = tmp_path / "big.pdf"
    h = hashlib.sha256()
    with src.open("wb") as f:
        block = b"%PDF-1.7\n" + os.urandom(BLOCK - 9)
        for _ in range((40 << 20) // BLOCK):
            f.write(block)
            h.update(block)
    msg = sample(
        attachments=[
            Attachment("big.pdf", "application/pdf", src),
            Attachment("big-zipped.pdf", "application/pdf", src, zip_payload=True),
        ]
    )
    out = tmp_path / "big.edxml"
    tracemalloc.start()
    with out.open("wb") as f:
        write_edoc(msg, f, pki.rsa_seal)
    _, write_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    sinks = {cid: (tmp_path / f"out-{cid}").open("wb") for cid in ("1", "2")}
    # max_verify_bytes below the package size: only the streamed digest can verify the signature
    pkg = parse_package(
        out,
        sink=lambda cid, name: sinks[cid],
        anchors=pki.ca.anchors(),
        limits=Limits(max_verify_bytes=1 << 20),
    )
    _, parse_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for f in sinks.values():
        f.close()
    assert pkg.ok, pkg.normalized["errors"]
    assert pkg.normalized["package_signature"]["note"] == "valid"
    assert [a.sha256 for a in pkg.attachments] == [h.hexdigest()] * 2
    assert [a.zipped for a in pkg.attachments] == [False, True]
    print(f"write peak {write_peak / 2**20:.2f} MiB, parse peak {parse_peak / 2**20:.2f} MiB (traced)")
    assert write_peak < 8 << 20, write_peak
    assert parse_peak < 8 << 20, parse_peak
