"""Every profile at every level, checked independently by poppler's pdfsig (NSS, live OCSP) and pyhanko."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel

from docexchange.signing import Level, SignOptions
from tests.conftest import pdfsig
from tests.signing.conftest import SigningEnv, pdfsig_blocks, pyhanko_check

LEVELS = ["B-B", "B-T", "B-LT", "B-LTA"]


def _dss(path: Path) -> dict[str, int]:
    with open(path, "rb") as fh:
        root = PdfFileReader(fh).root
        if "/DSS" not in root:
            return {}
        dss = root["/DSS"]
        return {k: len(dss[k]) for k in ("/Certs", "/OCSPs", "/CRLs") if k in dss}


def _assert_pdfsig(nss: str, path: Path, n_sigs: int, n_doc_ts: int = 0) -> None:
    out = pdfsig(nss, path)
    blocks = pdfsig_blocks(out)
    assert len(blocks) == n_sigs + n_doc_ts, out
    checked = 0
    for b in blocks:
        if "Signature Type: unknown" in b or "Unimplemented" in b:  # PAdES document time-stamp: pdfsig can't
            continue
        assert "Signature Validation: Signature is Valid." in b, b
        assert "Certificate Validation: Certificate is Trusted." in b, b
        checked += 1
    assert checked == n_sigs, out


@pytest.mark.parametrize("level", LEVELS)
def test_person_then_seal(signing_env: SigningEnv, nss_db: str, tmp_path: Path, level: str) -> None:
    env = signing_env
    person_out = tmp_path / "person.pdf"
    r1 = env.engine.sign(env.doc, person_out, env.person, "person", level,
                         SignOptions(image=env.signature_png, position="Bộ trưởng"))
    assert r1.field_name == "Person1" and r1.level == Level(level) and r1.revocation_source == "ocsp"
    sealed = tmp_path / "sealed.pdf"
    r2 = env.engine.sign(person_out, sealed, env.seal, "seal", level, SignOptions(image=env.seal_png))
    assert r2.field_name == "Seal1" and r2.page == r1.page
    # the person's revision is a byte-exact prefix of the sealed file (incremental update)
    assert sealed.read_bytes().startswith(person_out.read_bytes())
    doc_ts = 2 if level == "B-LTA" else 0
    _assert_pdfsig(nss_db, sealed, n_sigs=2, n_doc_ts=doc_ts)
    results = pyhanko_check(sealed, env.roots)
    sigs = [r for r in results if r["kind"] == "signature"]
    assert [s["field"] for s in sigs] == ["Person1", "Seal1"]
    assert sigs[0]["modification_level"] in (ModificationLevel.FORM_FILLING,)
    assert all(s["timestamp"] == (level != "B-B") for s in sigs)
    assert "Bộ trưởng" in str(sigs[0]["reason"])
    if level in ("B-LT", "B-LTA"):
        dss = _dss(sealed)
        assert dss.get("/OCSPs", 0) >= 2 and dss.get("/Certs", 0) >= 3, dss
        pyhanko_check(sealed, env.roots, dss_only=True)  # long-term: trusted from the DSS alone, no fetching
    else:
        assert _dss(sealed) == {}


@pytest.mark.parametrize("level", ["B-T", "B-LTA"])
def test_attachment_profile(signing_env: SigningEnv, nss_db: str, tmp_path: Path, level: str) -> None:
    import subprocess

    env = signing_env
    out = tmp_path / "att.pdf"
    r = env.engine.sign(env.doc, out, env.seal, "attachment", level, SignOptions(text="15/QĐ-BNV"))
    assert r.page == 1 and r.box is not None
    x1, y1, x2, y2 = r.box
    assert x2 > 500 and y2 > 780  # top right of an A4 page (595 x 842)
    assert abs((y2 - y1) - 2 * 10 * 1.25 - 4) < 0.01  # two 10 pt lines
    _assert_pdfsig(nss_db, out, n_sigs=1, n_doc_ts=1 if level == "B-LTA" else 0)
    pyhanko_check(out, env.roots)
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(out), "-"], capture_output=True, text=True).stdout
    assert "15/QĐ-BNV" in text
    stamp_time = r.signing_time.astimezone().strftime("%Y-%m-%d")
    assert "+07:00" in text and stamp_time[:4] in text


def test_copy_profile(signing_env: SigningEnv, nss_db: str, tmp_path: Path) -> None:
    import re
    import subprocess

    env = signing_env
    out = tmp_path / "copy.pdf"
    r = env.engine.sign(env.doc, out, env.seal, "copy", "B-LT", SignOptions(text="Sao lục"))
    _assert_pdfsig(nss_db, out, n_sigs=1)
    pyhanko_check(out, env.roots)
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(out), "-"], capture_output=True,
                          text=True).stdout
    assert "SAO LỤC" in text and "Bộ Nội vụ" in text
    m = re.search(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00)", text)
    assert m, text
    from datetime import datetime

    shown = datetime.fromisoformat(m.group(1))
    assert abs((shown - r.signing_time).total_seconds()) < 2


def test_streams_in_and_out(signing_env: SigningEnv, tmp_path: Path) -> None:
    """Stream input (also non-seekable) and stream output give the same kind of valid incremental update."""
    import io

    env = signing_env
    data = env.doc.read_bytes()

    class OneWay(io.RawIOBase):
        def __init__(self, b: bytes) -> None:
            self.b = io.BytesIO(b)

        def readable(self) -> bool:
            return True

        def readinto(self, buf: bytearray) -> int:  # type: ignore[override]
            chunk = self.b.read(len(buf))
            buf[: len(chunk)] = chunk
            return len(chunk)

    for src in (io.BytesIO(data), io.BufferedReader(OneWay(data))):
        out = io.BytesIO()
        r = env.engine.sign(src, out, env.seal, "attachment", "B-T", SignOptions(text="7/TB-BNV"))
        signed = out.getvalue()
        assert signed.startswith(data) and r.size == len(signed) and r.output_path is None
        p = tmp_path / "s.pdf"
        p.write_bytes(signed)
        pyhanko_check(p, env.roots)
