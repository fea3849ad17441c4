"""PDF intake (``normalize_document``) under hostile input: PDF bombs (deep nesting, inflate bombs, object
streams, thousands of revisions, xref loops), lying extensions, zip bombs dressed as DOCX, traversal and NUL
file names, byte mutations of a real PDF. Guarantees: a clean PDF or a ``DomainError`` with English and
Vietnamese text, bounded time and memory, only the output PDF written (inside ``out_dir``)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docexchange.errors import DomainError
from docexchange.formats.documents import NormalizedDocument, normalize_document

from . import _corpus as C
from ._guard import bounded, snapshot, top_level_hits, traversal_hits

SECONDS, RSS_MIB = 20.0, 400
_BUILDERS = C.pdf_cases()


@functools.cache
def case(name: str) -> tuple[bytes, str]:
    return _BUILDERS[name]()


def check(data: bytes, filename: str, out: Path, label: str) -> NormalizedDocument | DomainError:
    """Normalize once under the guard; the result is either a readable PDF in ``out`` or a domain error."""
    before = set(out.iterdir()) if out.exists() else set()
    try:
        with bounded(label, SECONDS, RSS_MIB):
            result: NormalizedDocument | DomainError = normalize_document(data, filename, out_dir=out)
    except DomainError as exc:
        assert exc.en and exc.vi and exc.code, exc
        result = exc
    created = (set(out.iterdir()) if out.exists() else set()) - before
    if isinstance(result, NormalizedDocument):
        assert created == {result.pdf_path} and result.pdf_path.parent == out
        with pikepdf.open(result.pdf_path) as pdf:
            assert len(pdf.pages) == result.pages
    else:
        assert created == set(), created  # a refusal leaves nothing behind (no .work-* dir, no partial PDF)
    return result


REFUSED = {  # name → the error code family a clear refusal carries ("" = any refusal)
    "zip_bomb_as_docx": "zip", "zip_bomb_named_pdf": "zip", "zip_6000_entries": "", "zip_declares_1gb": "",
    "png_pixel_bomb": "", "png_bomb_named_pdf": "", "empty": "", "exe_named_pdf": "", "html_named_pdf": "",
    "null_bytes": "",
}


@pytest.mark.parametrize("name", sorted(_BUILDERS))
def test_crafted_upload(name: str, canary: Path, tmp_path: Path) -> None:
    data, filename = case(name)
    out = tmp_path / "out"
    before = snapshot(canary)
    result = check(data, filename, out, f"formats:{name}")
    assert snapshot(canary) == before
    assert traversal_hits(C.MARK, canary) == [] and top_level_hits(C.MARK) == []
    if name in REFUSED:
        assert isinstance(result, DomainError), result
        assert REFUSED[name] in result.code or REFUSED[name] in result.en.lower(), (result.code, result.en)
    if name == "pdf_named_docx":  # the content decides, the lying extension is recorded
        assert isinstance(result, NormalizedDocument) and result.kind == "pdf"
        assert any(n.field == "file.type" for n in result.normalizations)
    if name in ("traversal_name", "absolute_name", "nul_name", "long_name", "backslash_name"):
        assert isinstance(result, NormalizedDocument) and result.pdf_path.parent == out


SEED = C.small_pdf(pages=2)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), base=st.sampled_from(["seed", "revisions", "objstm", "deep"]))
def test_mutated_pdfs(seed: int, base: str, tmp_path: Path) -> None:
    data = {"seed": SEED, "revisions": C.pdf_many_revisions(50), "objstm": C.pdf_objstm_bomb(2000),
            "deep": C.pdf_deep_nesting(2000)}[base]
    with tempfile.TemporaryDirectory(dir=tmp_path) as d:
        check(C.mutate(data, seed), "m.pdf", Path(d) / "out", "formats:mutated")
