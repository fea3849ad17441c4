"""Document intake: sniffing, office → PDF/A-2b through the pool, images, PDF cleaning, bad input."""

from __future__ import annotations

import io
import os
import subprocess
import zipfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from docexchange.errors import BadInput, TooLarge
from docexchange.formats.documents import NormalizedDocument, clean_pdf, normalize_document, sniff
from docexchange.formats.office import ConversionTimeout, OfficePool
from docexchange.formats.text import VIETNAMESE_LETTERS

VN_TITLE = "Cộng hòa xã hội chủ nghĩa Việt Nam"


def make_docx(path: Path, paragraphs: list[str], pages: int = 1) -> Path:
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)
    for page in range(pages):
        for text in paragraphs:
            doc.add_paragraph(text)
        if page < pages - 1:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.save(str(path))
    return path


def pdftotext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdffonts(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


# ------------------------------------------------------------------------------------------ office documents
def test_vietnamese_docx_to_pdfa2b(tmp_path: Path, office_pool: OfficePool) -> None:
    letters = sorted(ch for ch in VIETNAMESE_LETTERS if not ch.isascii())
    alphabet = ["".join(letters[i:i + 30]) for i in range(0, len(letters), 30)]  # one short line each
    src = make_docx(tmp_path / "vanban.docx", [VN_TITLE, "Độc lập - Tự do - Hạnh phúc", *alphabet])
    original = src.read_bytes()
    result = normalize_document(src, "vanban.docx", out_dir=tmp_path / "out", pool=office_pool)
    assert result.kind == "docx" and result.pdfa and not result.unchanged and result.pages == 1
    assert src.read_bytes() == original  # the original is untouched
    assert [n.as_dict() for n in result.normalizations] == [{"field": "file.format", "from": "docx",
                                                             "to": "pdf/a-2b"}]
    with pikepdf.open(result.pdf_path) as pdf:
        meta = pdf.open_metadata()
        assert meta["pdfaid:part"] == "2"
        assert meta["pdfaid:conformance"] == "B"
        assert "/OutputIntents" in pdf.Root
    lines = [line.strip() for line in pdftotext(result.pdf_path).splitlines() if line.strip()]
    assert lines == [VN_TITLE, "Độc lập - Tự do - Hạnh phúc", *alphabet]
    fonts = pdffonts(result.pdf_path)
    assert fonts, "no fonts in the PDF"
    for row in fonts:
        # name, type..., emb sub uni: every font embedded with a ToUnicode map, and it is Liberation Serif
        # (liberation2, the Times-compatible font with full Vietnamese coverage): no fallback font was needed.
        assert row[-5:-2] == ["yes", "yes", "yes"], row
        assert "LiberationSerif" in row[0], row
    check = subprocess.run(["qpdf", "--check", str(result.pdf_path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


@pytest.mark.parametrize("kind,writer", [
    ("odt", "odt"), ("rtf", "rtf"), ("doc", "doc"),
])
def test_other_office_formats(tmp_path: Path, office_pool: OfficePool, kind: str, writer: str) -> None:
    # Produce the input format with the pool's LibreOffice from a DOCX (no other writer for ODT/DOC/RTF here).
    docx = make_docx(tmp_path / "src.docx", [VN_TITLE])
    src = tmp_path / f"src.{kind}"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path}/lo", "--headless",
                    "--convert-to", writer, "--outdir", str(tmp_path), str(docx)],
                   check=True, capture_output=True, timeout=120, env=dict(os.environ, HOME=str(tmp_path)))
    assert sniff(src) == kind
    result = normalize_document(src, f"x.{kind}", out_dir=tmp_path / "out", pool=office_pool)
    assert result.kind == kind and result.pdfa
    assert VN_TITLE in pdftotext(result.pdf_path)


def test_hanging_conversion_is_killed_and_next_works(tmp_path: Path, office_pool: OfficePool) -> None:
    src = make_docx(tmp_path / "long.docx", [VN_TITLE * 20], pages=30)
    slots = list(office_pool._all)
    pids_before = {s.office.pid for s in slots if s.office is not None}
    with pytest.raises(ConversionTimeout) as err:
        normalize_document(src, "long.docx", out_dir=tmp_path / "out", pool=office_pool, timeout=0.05)
    assert err.value.code == "conversion_timeout" and err.value.status == 422
    assert "giây" in err.value.vi and "longer than" in err.value.en
    # The slot's soffice was killed (its process is gone), and nothing was left in out/.
    killed = [pid for pid in pids_before if not _alive(pid)]
    assert len(killed) == 1
    assert not (tmp_path / "out" / "long.pdf").exists()
    # Both slots work afterwards (the killed one restarts).
    for i in range(3):
        ok = normalize_document(make_docx(tmp_path / f"ok{i}.docx", [VN_TITLE]), "ok.docx",
                                out_dir=tmp_path / f"ok{i}", pool=office_pool)
        assert VN_TITLE in pdftotext(ok.pdf_path)
    assert all(s.alive for s in office_pool._all)  # the killed slot was restarted and used


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_zip_bomb_disguised_as_docx_refused(tmp_path: Path, office_pool: OfficePool) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w") as entry:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(64):
                entry.write(chunk)
    assert bomb.stat().st_size < 200_000
    assert sniff(bomb) == "docx"
    with pytest.raises(TooLarge) as err:
        normalize_document(bomb, "bomb.docx", out_dir=tmp_path / "out", pool=office_pool)
    assert err.value.code == "zip_bomb" and "bom" in err.value.vi


def test_zip_with_lying_sizes_refused(tmp_path: Path) -> None:
    # A container whose header under-declares the entry size: the CRC check catches it within the limit.
    good = tmp_path / "good.docx"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"A" * 100_000)
    data = bytearray(good.read_bytes())
    # Patch the central-directory uncompressed size of word/document.xml to 10 bytes.
    cd = data.rfind(b"PK\x01\x02word/document.xml"[:4], 0, len(data))
    idx = data.find(b"word/document.xml", data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 4))
    size_at = idx - 46 + 24
    assert cd >= 0 and data[size_at:size_at + 4] == (100_000).to_bytes(4, "little")
    data[size_at:size_at + 4] = (10).to_bytes(4, "little")
    liar = tmp_path / "liar.docx"
    liar.write_bytes(bytes(data))
    from docexchange.formats.documents import check_zip_container
    with pytest.raises(BadInput) as err:
        check_zip_container(liar)
    assert err.value.code == "damaged_file"


def test_empty_file_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.docx"
    empty.write_bytes(b"")
    with pytest.raises(BadInput) as err:
        normalize_document(empty, "empty.docx", out_dir=tmp_path / "out")
    assert err.value.code == "empty_file" and "rỗng" in err.value.vi
    with pytest.raises(BadInput):
        normalize_document(b"", "empty.pdf", out_dir=tmp_path / "out")


def test_unknown_content_refused(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as err:
        normalize_document(b"MZ\x90\x00 this is an executable", "report.pdf", out_dir=tmp_path / "out")
    assert err.value.code == "unsupported_type"


def test_lying_extension_is_sniffed(tmp_path: Path, office_pool: OfficePool) -> None:
    docx = make_docx(tmp_path / "real.docx", [VN_TITLE])
    liar = tmp_path / "scan.pdf"
    liar.write_bytes(docx.read_bytes())
    result = normalize_document(liar, "scan.pdf", out_dir=tmp_path / "out", pool=office_pool)
    assert result.kind == "docx"
    assert {"field": "file.type", "from": "pdf", "to": "docx"} in [n.as_dict() for n in result.normalizations]
    assert VN_TITLE in pdftotext(result.pdf_path)
    # A PDF named .docx is handled as the PDF it is (kept byte-identical), LibreOffice never involved.
    pdf_as_docx = tmp_path / "letter.docx"
    pdf_as_docx.write_bytes(result.pdf_path.read_bytes())
    again = normalize_document(pdf_as_docx, "letter.docx", out_dir=tmp_path / "out2")
    assert again.kind == "pdf" and again.unchanged
    assert again.pdf_path.read_bytes() == result.pdf_path.read_bytes()
    # A JPEG named .png.
    buf = io.BytesIO()
    Image.new("RGB", (50, 40), "white").save(buf, "JPEG")
    assert normalize_document(buf.getvalue(), "photo.png", out_dir=tmp_path / "out3").kind == "jpeg"


# ----------------------------------------------------------------------------------------------- images
def _tiff(path: Path, pages: int, size: tuple[int, int] = (64, 64)) -> Path:
    frames = [Image.new("1", size, 1) for _ in range(pages)]
    frames[0].save(path, "TIFF", save_all=True, append_images=frames[1:], compression="group4")
    return path


def test_tiff_multipage(tmp_path: Path) -> None:
    src = _tiff(tmp_path / "scan.tif", 12)
    result = normalize_document(src, "scan.tif", out_dir=tmp_path / "out")
    assert result.kind == "tiff" and result.pages == 12 and result.pdfa
    with pikepdf.open(result.pdf_path) as pdf:
        assert len(pdf.pages) == 12
        assert pdf.open_metadata()["pdfaid:part"] == "1"


def test_tiff_with_500_pages_refused(tmp_path: Path) -> None:
    src = _tiff(tmp_path / "huge.tiff", 500, (16, 16))
    with pytest.raises(TooLarge) as err:
        normalize_document(src, "huge.tiff", out_dir=tmp_path / "out")
    assert err.value.code == "too_many_pages" and "500" in err.value.en and "500" in err.value.vi


def test_jpeg_is_embedded_losslessly(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.effect_noise((300, 200), 40).convert("RGB").save(buf, "JPEG", quality=80)
    result = normalize_document(buf.getvalue(), "scan.jpg", out_dir=tmp_path / "out")
    with pikepdf.open(result.pdf_path) as pdf:
        xobjects = pdf.pages[0].Resources.XObject
        (image,) = [xobjects[k] for k in xobjects.keys()]
        assert image.Filter == pikepdf.Name.DCTDecode
        assert image.read_raw_bytes() == buf.getvalue()


def test_png_to_pdf(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (120, 80), (10, 20, 200)).save(buf, "PNG")
    result = normalize_document(io.BytesIO(buf.getvalue()), "seal.png", out_dir=tmp_path / "out")
    assert result.kind == "png" and result.pages == 1 and result.pdfa


# ----------------------------------------------------------------------------------------------- PDFs
def _pdf_with_active_content(path: Path) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    js = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript,
                                              JS=pikepdf.String("app.alert('pwned')")))
    pdf.Root.OpenAction = js
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("init"), js])),
        EmbeddedFiles=pikepdf.Dictionary(Names=pikepdf.Array([
            pikepdf.String("tool.exe"),
            pdf.make_indirect(pikepdf.Dictionary(
                Type=pikepdf.Name.Filespec, F=pikepdf.String("tool.exe"), UF=pikepdf.String("tool.exe"),
                EF=pikepdf.Dictionary(F=pdf.make_stream(b"MZ\x90\x00evil")))),
        ])),
    )
    link = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 100, 100],
                              A=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")))
    uri = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 100, 100, 200],
                             A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("http://evil.invalid")))
    pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(link), pdf.make_indirect(uri)]))
    on_open = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("1"))
    pdf.pages[0].AA = pikepdf.Dictionary(O=on_open)
    pdf.save(path)
    return path


def test_pdf_with_javascript_cleaned(tmp_path: Path) -> None:
    src = _pdf_with_active_content(tmp_path / "active.pdf")
    original = src.read_bytes()
    result = normalize_document(src, "active.pdf", out_dir=tmp_path / "out")
    assert src.read_bytes() == original
    assert result.kind == "pdf" and not result.unchanged
    assert sorted(result.removed) == sorted([
        "document JavaScript (/Names /JavaScript)",
        "JavaScript action (/OpenAction) on document",
        "additional actions (/AA) on page",
        "Launch action (/A) on annotation Link",
        "URI action (/A) on annotation Link",
        "embedded executable file 'tool.exe'",
    ])
    out = result.pdf_path.read_bytes()
    assert b"pwned" not in out and b"/JavaScript" not in out and b"/Launch" not in out
    assert b"MZ\x90" not in out and b"evil.invalid" not in out
    with pikepdf.open(result.pdf_path) as pdf:
        assert "/OpenAction" not in pdf.Root and "/AA" not in pdf.pages[0]
        assert len(pdf.pages[0].Annots) == 2  # the links stay, inert
    assert [n.as_dict()["field"] for n in result.normalizations] == ["file.content"] * 6


def test_clean_pdf_kept_byte_identical(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(tmp_path / "clean.pdf")
    result = normalize_document(tmp_path / "clean.pdf", "clean.pdf", out_dir=tmp_path / "out")
    assert result.unchanged and result.removed == [] and result.repairs == []
    assert result.pdf_path.read_bytes() == (tmp_path / "clean.pdf").read_bytes()


def test_broken_xref_repaired(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(tmp_path / "ok.pdf")
    data = (tmp_path / "ok.pdf").read_bytes()
    start = data.rindex(b"startxref") + len(b"startxref\n")
    end = data.index(b"\n", start)
    broken = data[:start] + b"999" + data[end:]
    (tmp_path / "broken.pdf").write_bytes(broken)
    rewritten, removed, repairs = clean_pdf(tmp_path / "broken.pdf", tmp_path / "fixed.pdf")
    assert rewritten and removed == [] and repairs
    check = subprocess.run(["qpdf", "--check", str(tmp_path / "fixed.pdf")], capture_output=True, text=True)
    assert check.returncode == 0 and "No syntax or stream encoding errors" in check.stdout


@pytest.mark.parametrize("user", ["secret", ""])
def test_encrypted_pdf_refused(tmp_path: Path, user: str) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(tmp_path / "enc.pdf", encryption=pikepdf.Encryption(user=user, owner="owner"))
    with pytest.raises(BadInput) as err:
        normalize_document(tmp_path / "enc.pdf", "enc.pdf", out_dir=tmp_path / "out")
    assert err.value.code == "encrypted_pdf"
    assert "mã hóa" in err.value.vi and "Encrypted" in err.value.en


@pytest.mark.slow
def test_ocr_text_layer(tmp_path: Path) -> None:
    from PIL import ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf", 48)
    img = Image.new("L", (1400, 300), 255)
    ImageDraw.Draw(img).text((40, 100), VN_TITLE, font=font, fill=0)
    buf = io.BytesIO()
    img.save(buf, "PNG", dpi=(200, 200))
    result = normalize_document(buf.getvalue(), "scan.png", out_dir=tmp_path / "out", ocr=True)
    assert isinstance(result, NormalizedDocument) and result.pages == 1
    text = pdftotext(result.pdf_path)
    assert "Việt Nam" in text


def test_converted_pdf_signs_and_pdfsig_validates(tmp_path: Path, office_pool: OfficePool) -> None:
    import datetime

    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn thư UBND tỉnh")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        cert_registry=SimpleCertificateStore())
    doc = normalize_document(make_docx(tmp_path / "qd.docx", [VN_TITLE]), "qd.docx", out_dir=tmp_path / "out",
                             pool=office_pool)
    signed = tmp_path / "signed.pdf"
    with doc.pdf_path.open("rb") as inf, signed.open("wb") as outf:
        signers.sign_pdf(IncrementalPdfFileWriter(inf), signers.PdfSignatureMetadata(field_name="Sig1"),
                         signer=signer, output=outf)
    out = subprocess.run(["pdfsig", str(signed)], capture_output=True, text=True).stdout
    assert "Signature is Valid." in out
    with pikepdf.open(signed) as pdf:
        assert pdf.open_metadata()["pdfaid:part"] == "2"
