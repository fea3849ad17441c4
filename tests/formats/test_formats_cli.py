"""The ``docexchange formats`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pikepdf
from click.testing import CliRunner

from docexchange.cli import main


def test_formats_text_command() -> None:
    result = CliRunner().invoke(main, ["formats", "text", "Céng hßa x· héi chñ nghÜa ViÖt Nam",
                                       "--field", "subject"])
    assert result.exit_code == 0
    out = json.loads(result.output)
    assert out["value"] == "Cộng hòa xã hội chủ nghĩa Việt Nam" and out["encoding"] == "tcvn3"
    assert out["normalization"]["field"] == "subject"


def test_formats_convert_pdf_and_bad_input(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("x"))
    pdf.save(tmp_path / "in.pdf")
    result = CliRunner().invoke(main, ["formats", "convert", str(tmp_path / "in.pdf"), "-o",
                                       str(tmp_path / "out.pdf"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["removed"] == ["JavaScript action (/OpenAction) on document"]
    assert (tmp_path / "out.pdf").read_bytes().startswith(b"%PDF")
    (tmp_path / "empty.docx").write_bytes(b"")
    bad = CliRunner().invoke(main, ["formats", "convert", str(tmp_path / "empty.docx"), "-o",
                                    str(tmp_path / "x.pdf")])
    assert bad.exit_code == 4 and not (tmp_path / "x.pdf").exists()
