"""Inputs that crashed a target (found by bench/fuzz.py and tests/hostile), kept as fixed regressions."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import pytest

from docexchange.axis.edxml import parse_package
from docexchange.documents.fields import add_issue_fields
from docexchange.errors import BadInput
from docexchange.formats.documents import normalize_document

from . import _corpus as C

# a mutated 1-page PDF on which qpdf raises QpdfRuntimeError("/Count is wrong after flattening pages tree")
COUNT_WRONG = base64.b64decode(
    "JVBERi0xLjcKJb/3ov4KMSAwIG9iago8PCAvUGFnZXMgMiAwIFIgL1R5cGUgL0NhdGFsb2cgPj4KZW5kb2JqCjIgMCBvYmoKPGFnZXMgMiAwIFIgL1R5cGUgL0NhdGFsb2cgPj4KZW5kb2JqCjIgMCBvYmoKPGFnZXMgMiAwIFIgL1R5cGUgL0NhdGFsb2cgPj4KZW5kb2JqCjIgMCBvYmoKPGFnZXMgMiAwIFIgL1R5cGUgL0NhdGFsb2cgPj4KZW5kb2JqCjIgMCBvYmoKPDwgL0NvdQ0KbnQgMSAvS2lkcyBbJmw5OyAzIDAgUiBdIC9UeXBlIC9QYWdlcyA+PgplbmRvYmoKMyAwIG9iago8PCAvQ29udGVudHMgNCAwIFIgL01lZGlhQm94IFsgMCAwIDIwMCAyMDBlbmRvYmogXSAvUGFyZW50IDIgMCBSIC9SZXNvdXJjZXMgPDwgPj4gL1R5cGUgL1BhZ2UgPj4KZW5kb2JqCjQgMCBvYmoKPDwgL0xlbmd0aCA1MiAvRmlsdGVyIC9GbGF0ZURlY29kZSA+PgpzdHJlYW0KeJxzClHQdzNUMDRSCElTMDJQMDQwUAhJUdDwyC8uycxJVcjMKygt0VQIyVJwDQEA8tQL9QplbmRzdHJlYW0KZW5kb2JqCnhyZWYKMCA1CjAwMDAwMDAwMDAgNjU1MzUgZiAKMDAwMDAwMDAxNSAwMDAwMCBuIAowMDAwMDAwMDY0yDAwMDAwIG4gCjAwMDAwMDAxMjMgMDAwMDAgbiAKMDAwMDAwMDIyOSAwMDAwMCBuIAp0cmFpbGVyIDw8IC9Sb290IDEgMCBSIC9TaXplIDUgL0lEIFs8ZTFjMmI3MzFlOTlkZmFlODVkNTgyZTU3MzBiNTMwZTk+PGUxYzJiNzMxZTk5ZGZhZTg1ZDU4MmU1NzMwYjUzMGU5Pl0gPj4Kc3RhcnR4cmVmCjM1MgolJUVPRgo="
)


def test_zip_attachment_with_negative_header_offset() -> None:
    """10 bytes cut before the central directory: zipfile seeks to -10 (ValueError, was unhandled)."""
    z = C._zip_named("bc.pdf")
    pkg = parse_package(C.edoc(zipped=True, payload=z[:40] + z[50:]))
    assert [i.code for i in pkg.errors] == ["M.Attachment-Zip"]
    assert pkg.readable and pkg.attachments[0].size == 0


def test_qpdf_runtime_error_is_bad_input() -> None:
    with pytest.raises(BadInput) as info, tempfile.TemporaryDirectory() as d:
        normalize_document(COUNT_WRONG, "a.pdf", out_dir=Path(d))
    assert info.value.code == "damaged_file" and info.value.vi == "Không đọc được tệp PDF"
    assert "/tmp/" not in info.value.en


def test_pypdf_failure_on_draft_is_bad_input() -> None:
    """A trailer without /Size: pypdf raised KeyError('/Size') → 500 on POST /api/v1/documents."""
    with pytest.raises(BadInput) as info:
        add_issue_fields(C.small_pdf().replace(b"/Size", b"/Sizf"))
    assert info.value.code == "damaged_file"


@pytest.mark.parametrize("name", ["x\x00.pdf", "Quyết định " * 40 + ".pdf", "../../..", "C:\\a\\b.pdf"])
def test_hostile_names_give_a_safe_output_file(name: str, tmp_path: Path) -> None:
    res = normalize_document(C.small_pdf(), name, out_dir=tmp_path)
    assert res.pdf_path.parent == tmp_path and len(res.pdf_path.name.encode()) <= 124
    assert "\x00" not in res.pdf_path.name and "\\" not in res.pdf_path.name
