"""``docexchange edxml inspect``: exit codes 0 / 1 / 4 and the normalized JSON on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from docexchange.axis.edxml import build_edoc
from docexchange.cli import main

from .test_roundtrip import sample


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["edxml", "inspect", *args])
    return r.exit_code, r.output


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("new-document.edxml", 1),
        ("update.edxml", 1),
        ("new-document-legacy-variant.edxml", 4),
        ("status-02-rejected.edxml", 0),
        ("status-03-accepted.edxml", 0),
        ("status-05-processing.edxml", 0),
    ],
)
def test_fixture_exit_codes(shared_dir: Path, name: str, code: int) -> None:
    rc, out = run(str(shared_dir / "fixtures" / "edxml" / name), "--json")
    assert rc == code
    n = json.loads(out)
    assert n["errors"] if code else all(e["severity"] == "warning" for e in n["errors"])
    if code == 4:
        assert n["kind"] is None and n["errors"][0]["code"] == "M.XML"


def test_valid_signed_package(pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "ok.edxml"
    p.write_bytes(build_edoc(sample(), pki.rsa_seal))
    rc, out = run(str(p), "--json")
    assert rc == 0
    n = json.loads(out)
    assert n["code"] == {"number": "05", "notation": "QĐ-UBND"} and n["package_signature"]["note"] == "valid"
    assert "Văn phòng Chính phủ" in out  # UTF-8, not \\u escapes
    rc, text = run(str(p))
    assert rc == 0
    assert "document: 05/QĐ-UBND" in text and "package signature: valid" in text


def test_unreadable(tmp_path: Path) -> None:
    assert run(str(tmp_path / "missing.edxml"), "--json")[0] == 4
    (tmp_path / "x.edxml").write_bytes(b"\x00\x01 not xml")
    rc, out = run(str(tmp_path / "x.edxml"), "--json")
    assert rc == 4 and json.loads(out)["errors"][0]["code"].startswith("M.")
    assert run(str(tmp_path), "--json")[0] == 2  # a directory: click usage error
