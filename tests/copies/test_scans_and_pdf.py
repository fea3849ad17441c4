"""Scan intake and PDF building without a node: formats, the dpi/colour rules, corrupt and encrypted input,
lossless embedding, the verification strip, the statement, the attestation."""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import img2pdf
import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from docexchange.copies import pdfbuild
from docexchange.copies.scans import ScanFile, inspect_scan
from docexchange.errors import BadInput

from .conftest import jpeg, page_image, png, tiff


def _files(tmp: Path, *blobs: bytes) -> list[ScanFile]:
    out = []
    for i, b in enumerate(blobs):
        path = tmp / f"in{i}"
        path.write_bytes(b)
        out.append(ScanFile(path, "", hashlib.sha256(b).hexdigest(), len(b)))
    return out


def _code(tmp: Path, *blobs: bytes, **kw) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInput) as err:
        inspect_scan(_files(tmp, *blobs), **kw)
    assert err.value.vi and err.value.en
    return err.value.code


def _img(page: pikepdf.Page) -> pikepdf.Object:
    xobjects = page.obj.Resources.XObject
    return next(xobjects[k] for k in sorted(xobjects.keys()) if xobjects[k].Subtype == "/Image")


def _pdf_of(image: bytes) -> bytes:
    out = img2pdf.convert(image)
    assert out is not None
    return out


def test_formats_and_pages(tmp_path: Path) -> None:
    r = inspect_scan(_files(tmp_path, jpeg(), png(), tiff(3), _pdf_of(jpeg(dpi=300))))
    assert [p.kind for p in r.pages] == ["jpeg", "png", "tiff", "tiff", "tiff", "pdf"]
    assert [round(p.dpi) for p in r.pages] == [200, 200, 200, 200, 200, 300]
    assert r.params()["format"] == "mixed" and r.params()["colour"] is True and r.warnings == []


def test_dpi_rule(tmp_path: Path) -> None:
    assert _code(tmp_path, jpeg(dpi=199)) == "scan_low_dpi"
    assert _code(tmp_path, jpeg(), tiff(2, dpi=150)) == "scan_low_dpi"
    assert _code(tmp_path, _pdf_of(jpeg(dpi=100))) == "scan_low_dpi"
    assert _code(tmp_path, png(dpi=None)) == "scan_no_dpi"
    with pytest.raises(BadInput) as err:
        inspect_scan(_files(tmp_path, jpeg(), jpeg(dpi=150), jpeg(dpi=150)))
    assert "page(s) 2-3" in err.value.en and "150 dpi" in err.value.en and "trang 2-3" in err.value.vi
    assert inspect_scan(_files(tmp_path, jpeg(dpi=150)), min_dpi=150).min_dpi == 150


def test_colour_rule(tmp_path: Path) -> None:
    assert _code(tmp_path, jpeg(mode="L")) == "scan_not_colour"
    assert _code(tmp_path, png(mode="1")) == "scan_not_colour"
    assert _code(tmp_path, _pdf_of(jpeg(mode="L"))) == "scan_not_colour"
    warned = inspect_scan(_files(tmp_path, jpeg(mode="L")), colour="warn")
    assert [w["code"] for w in warned.warnings] == ["scan_not_colour"] and warned.params()["colour"] is False
    # stored in colour but grey content: accepted with a warning (a black-and-white original scanned in colour)
    buf = io.BytesIO()
    page_image(mode="L").convert("RGB").save(buf, format="JPEG", dpi=(200, 200))
    grey_rgb = inspect_scan(_files(tmp_path, buf.getvalue()))
    assert [w["code"] for w in grey_rgb.warnings] == ["scan_looks_greyscale"]
    assert inspect_scan(_files(tmp_path, jpeg())).warnings == []


def test_corrupt_encrypted_and_non_scan_input(tmp_path: Path) -> None:
    good = jpeg()
    assert _code(tmp_path, good[: len(good) // 2]) == "scan_corrupt"
    assert _code(tmp_path, b"\x89PNG\r\n\x1a\n" + b"\x00" * 50) == "scan_corrupt"
    assert _code(tmp_path, b"%PDF-1.7\nnot really") == "scan_corrupt"
    assert _code(tmp_path, b"hello") == "scan_format"
    assert _code(tmp_path) == "scan_missing"
    enc = tmp_path / "enc.pdf"
    with pikepdf.open(io.BytesIO(_pdf_of(jpeg()))) as pdf:
        pdf.save(enc, encryption=pikepdf.Encryption(owner="o", user="secret"))
    assert _code(tmp_path, enc.read_bytes()) == "scan_encrypted"
    owner_only = tmp_path / "owner.pdf"
    with pikepdf.open(io.BytesIO(_pdf_of(jpeg()))) as pdf:
        pdf.save(owner_only, encryption=pikepdf.Encryption(owner="o", user=""))
    assert _code(tmp_path, owner_only.read_bytes()) == "scan_encrypted"
    text_pdf = pikepdf.Pdf.new()
    text_pdf.add_blank_page()
    buf = io.BytesIO()
    text_pdf.save(buf)
    assert _code(tmp_path, buf.getvalue()) == "scan_not_image"


def test_lossless_pages_strip_and_hashes(tmp_path: Path) -> None:
    j, p = jpeg(), png()
    report = inspect_scan(_files(tmp_path, j, p, tiff(2)))
    out = pdfbuild.build_scan_pdf(report, tmp_path, url="https://node.invalid/verify/copy/ABCD-EFGH-JKMN",
                                  code="ABCD-EFGH-JKMN")
    hashes = pdfbuild.page_image_hashes(out)
    assert len(hashes) == 4
    assert hashes[0]["images"][0]["sha256"] == hashlib.sha256(j).hexdigest()  # JPEG passed through
    with pikepdf.open(out) as pdf:
        for n, page in enumerate(pdf.pages):
            box = [float(v) for v in page.mediabox]
            # 100 % scale: 600 x 800 px at 200 dpi = 216 x 288 pt, plus the strip below
            assert box == pytest.approx([0, -pdfbuild.STRIP_PT, 216, 288], abs=0.01), n
        # PNG and TIFF frames: pixels identical to the originals (lossless)
        png_img = pikepdf.PdfImage(_img(pdf.pages[1])).as_pil_image()
        assert png_img.convert("RGB").tobytes() == Image.open(io.BytesIO(p)).convert("RGB").tobytes()
        tif = pikepdf.PdfImage(_img(pdf.pages[3])).as_pil_image()
        assert tif.convert("RGB").tobytes() == page_image(seed=1).tobytes()
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert text.count("Mã kiểm tra: ABCD-EFGH-JKMN") == 4
    assert text.count("https://node.invalid/verify/copy/ABCD-EFGH-JKMN") == 4


def test_pdf_scan_kept_as_is_and_pdfa_claim_rules(tmp_path: Path) -> None:
    src = _pdf_of(jpeg())
    report = inspect_scan(_files(tmp_path, src))
    scan = pdfbuild.build_scan_pdf(report, tmp_path, url="u", code="C")
    with pikepdf.open(io.BytesIO(src)) as a, pikepdf.open(scan) as b:
        raw_a = _img(a.pages[0]).read_raw_bytes()
        raw_b = _img(b.pages[0]).read_raw_bytes()
        assert raw_a == raw_b
    st, layout = pdfbuild.statement_page(_statement(), url="u", code="C")
    claim = pdfbuild.finalize(scan, tmp_path / "o.pdf", statement=st, attestation={"x": 1}, from_images=False)
    assert claim is None  # a PDF scan that claimed nothing is not declared PDF/A
    with pikepdf.open(tmp_path / "o.pdf") as pdf:
        assert "pdfaid:part" not in pdf.open_metadata()
    assert pdfbuild.read_attestation(tmp_path / "o.pdf") == {"x": 1}
    assert layout.seal_box[0] < layout.person_box[0] < layout.seal_box[2]  # seal overlaps the signature's left


def _statement() -> pdfbuild.StatementText:
    return pdfbuild.StatementText("Ủy ban nhân dân xã Nghi Phú", "Nghi Phú", "07", "01/2026-SCT/BS",
                                  "ngày 05 tháng 04 năm 2026",
                                  "ngày năm tháng tư năm hai nghìn không trăm hai mươi sáu",
                                  "Hoàng Thị Mỹ Linh", "Phó Chủ tịch", "Bản chính: Bằng tốt nghiệp", "Phí: 2.000 đồng")


def test_statement_page_renders_vietnamese(tmp_path: Path) -> None:
    data, _ = pdfbuild.statement_page(_statement(), url="https://n.invalid/verify/copy/X", code="X")
    (tmp_path / "s.pdf").write_bytes(data)
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True,
                                   text=True).stdout.split())
    assert "Chứng thực bản sao đúng với bản chính. Số chứng thực: 07, quyển số: 01/2026-SCT/BS." in text
    assert "Ngày 05 tháng 04 năm 2026 (bằng chữ: ngày năm tháng tư năm hai nghìn không trăm hai mươi sáu)." in text
    assert "ỦY BAN NHÂN DÂN XÃ NGHI PHÚ" in text and "Hoàng Thị Mỹ Linh" in text
    fonts = subprocess.run(["pdffonts", str(tmp_path / "s.pdf")], capture_output=True, text=True).stdout
    assert "LiberationSerif" in fonts
    for line in fonts.splitlines()[2:]:
        assert line.split()[-5] == "yes"  # every font embedded


@pytest.mark.filterwarnings("ignore:Corrupt EXIF")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*", b"%PDF-1.7\n", b""]),
       st.binary(max_size=600))
def test_garbage_scans_always_get_a_clear_error(tmp_path: Path, magic: bytes, body: bytes) -> None:
    """Any byte string that is not a valid scan ends in BadInput with both languages, never another exception."""
    with pytest.raises(BadInput) as err:
        inspect_scan(_files(tmp_path, magic + body))
    assert err.value.code.startswith("scan_") and err.value.vi
