"""Any incoming document to a clean, signable PDF: content sniffing, office → PDF/A-2b, images → PDF,
PDF cleaning. Originals are never modified: the caller keeps them in the blob store and signs
``NormalizedDocument.pdf_path``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import img2pdf
import pikepdf
from PIL import Image

from docexchange.errors import BadInput, TooLarge, scrub_paths
from docexchange.formats.office import IMPORT_FILTERS, OfficePool, get_office_pool
from docexchange.formats.text import Normalization

__all__ = [
    "LIMITS",
    "Limits",
    "NormalizedDocument",
    "check_zip_container",
    "clean_pdf",
    "normalize_document",
    "sniff",
]

SRGB_ICC = Path("/usr/share/color/icc/ghostscript/srgb.icc")


@dataclass(frozen=True)
class Limits:
    """Documented intake limits (docs/formats.md)."""

    max_input_bytes: int = 250 * 1024 * 1024
    zip_max_entries: int = 5000
    zip_max_uncompressed: int = 200 * 1024 * 1024  # declared, summed over all entries
    zip_max_ratio: int = 100  # per entry larger than 1 MiB: uncompressed ÷ compressed
    image_max_pages: int = 300
    image_max_pixels: int = 120_000_000  # per page (≈ A3 at 600 dpi in colour is 70 MP)
    ocr_page_seconds: float = 60.0


LIMITS = Limits()

# ---------------------------------------------------------------------- sniffing
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_ODT_MIME = b"application/vnd.oasis.opendocument.text"


def sniff_head(head: bytes) -> str | None:
    """PDF and scan image kinds from the first bytes of a file (magic numbers), else None."""
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def sniff(path: Path) -> str:
    """The real kind of a file from its content: pdf, docx, doc, odt, rtf, jpeg, png, tiff.

    Raises ``BadInput`` (``empty_file`` / ``unsupported_type``) otherwise. The file name is never
    consulted."""
    size = path.stat().st_size
    if size == 0:
        raise BadInput("The file is empty (0 bytes)", "Tệp rỗng (0 byte)", code="empty_file")
    with path.open("rb") as fh:
        head = fh.read(8192)
    kind = sniff_head(head)
    if kind is not None:
        return kind
    if head.lstrip()[:5] == b"{\\rtf":
        return "rtf"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                if "word/document.xml" in names and "[Content_Types].xml" in names:
                    return "docx"
                if "mimetype" in names and zf.read("mimetype").strip() == _ODT_MIME:
                    return "odt"
        except zipfile.BadZipFile:
            pass
    if head.startswith(_OLE_MAGIC):
        with path.open("rb") as fh:
            if _WORD_STREAM in fh.read(4 * 1024 * 1024):
                return "doc"
    raise BadInput("Unsupported file type (expected PDF, DOCX, DOC, ODT, RTF, JPEG, PNG or TIFF)",
                   "Định dạng tệp không được hỗ trợ (chấp nhận PDF, DOCX, DOC, ODT, RTF, JPEG, PNG, TIFF)",
                   code="unsupported_type")


# ---------------------------------------------------------------------- zip bombs
def check_zip_container(path: Path, limits: Limits = LIMITS) -> None:
    """Refuse DOCX/ODT containers that would expand beyond the limits, before LibreOffice sees them.

    Checks declared sizes and ratios, then streams every entry to check its CRC within the declared size
    (zipfile stops at the declared size, so a header that under-declares fails the CRC check instead of
    expanding)."""
    def bomb(detail: str) -> TooLarge:
        return TooLarge(f"Refused: the document container is a decompression bomb ({detail})",
                        f"Từ chối: tệp văn bản nén bất thường, có thể là bom giải nén ({detail})",
                        code="zip_bomb")

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > limits.zip_max_entries:
                raise bomb(f"{len(infos)} entries")
            total = sum(i.file_size for i in infos)
            if total > limits.zip_max_uncompressed:
                raise bomb(f"{total} bytes uncompressed")
            for info in infos:
                if info.file_size > 1024 * 1024 and info.file_size > limits.zip_max_ratio * max(
                        info.compress_size, 1):
                    raise bomb(f"{info.filename} expands {info.file_size // max(info.compress_size, 1)}×")
            for info in infos:
                with zf.open(info) as entry:
                    while entry.read(1024 * 1024):
                        pass
    except zipfile.BadZipFile as exc:
        raise BadInput(f"The document container is damaged: {exc}", "Tệp văn bản bị hỏng",
                       code="damaged_file") from exc
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise BadInput(f"The document container cannot be read: {scrub_paths(str(exc))}", "Không đọc được tệp văn bản",
                       code="damaged_file") from exc


# ---------------------------------------------------------------------- PDF
_DANGEROUS_ACTIONS = {"/JavaScript", "/Launch", "/URI", "/SubmitForm", "/ImportData", "/RichMediaExecute",
                      "/GoToR", "/GoToE", "/Rendition", "/Movie", "/Sound"}
_EXEC_SUFFIXES = (".exe", ".dll", ".bat", ".cmd", ".com", ".scr", ".msi", ".ps1", ".vbs", ".js", ".jar",
                  ".sh", ".app", ".apk", ".lnk", ".hta", ".wsf", ".pif", ".cpl")
_EXEC_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"PK\x03\x04")


def _action_is_dangerous(action: object, depth: int = 0) -> str | None:
    if not isinstance(action, pikepdf.Dictionary) or depth > 20:
        return None
    kind = action.get("/S")
    if kind is not None and str(kind) in _DANGEROUS_ACTIONS:
        return str(kind)[1:]
    if "/JS" in action:
        return "JavaScript"
    nxt = action.get("/Next")
    if isinstance(nxt, pikepdf.Array):
        for item in nxt:
            found = _action_is_dangerous(item, depth + 1)
            if found:
                return found
    return _action_is_dangerous(nxt, depth + 1) if nxt is not None else None


def _filespec_is_executable(spec: object) -> bool:
    if not isinstance(spec, pikepdf.Dictionary):
        return False
    names = [str(spec.get(k, "")) for k in ("/UF", "/F")]
    if any(n.lower().endswith(_EXEC_SUFFIXES) for n in names):
        return True
    ef = spec.get("/EF")
    if isinstance(ef, pikepdf.Dictionary):
        for key in ("/F", "/UF"):
            stream = ef.get(key)
            if isinstance(stream, pikepdf.Stream):
                try:
                    head = stream.read_bytes()[:8]
                except pikepdf.PdfError:
                    return True  # unreadable embedded payload: treat as hostile
                if head.startswith(_EXEC_MAGIC):
                    return True
    return False


def _walk(obj: object, seen: set[tuple[int, int]]) -> Iterator[pikepdf.Dictionary]:
    """Every dictionary reachable from ``obj`` (streams' dictionaries included), each once."""
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, pikepdf.Object) and cur.is_indirect:
            key = cur.objgen
            if key in seen:
                continue
            seen.add(key)
        if isinstance(cur, pikepdf.Dictionary | pikepdf.Stream):
            d = cur if isinstance(cur, pikepdf.Dictionary) else cur.stream_dict
            yield d
            for k in list(d.keys()):
                stack.append(d[k])
        elif isinstance(cur, pikepdf.Array):
            stack.extend(cur)


def _clean(pdf: pikepdf.Pdf) -> list[str]:
    removed: list[str] = []
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
        del names["/JavaScript"]
        removed.append("document JavaScript (/Names /JavaScript)")
    acro = root.get("/AcroForm")
    if isinstance(acro, pikepdf.Dictionary) and "/XFA" in acro:
        del acro["/XFA"]
        removed.append("XFA form (scripts)")
    seen: set[tuple[int, int]] = set()
    for d in list(_walk(pdf.trailer, seen)):
        if "/AA" in d:
            del d["/AA"]
            removed.append(f"additional actions (/AA) on {_describe(d)}")
        for key in ("/OpenAction", "/A"):
            if key in d:
                kind = _action_is_dangerous(d[key])
                if kind:
                    del d[key]
                    removed.append(f"{kind} action ({key}) on {_describe(d)}")
        if str(d.get("/Type", "")) == "/Filespec" or "/EF" in d:
            if _filespec_is_executable(d) and "/EF" in d:
                name = str(d.get("/UF", d.get("/F", "?")))
                del d["/EF"]
                removed.append(f"embedded executable file {name!r}")
    if isinstance(names, pikepdf.Dictionary) and "/EmbeddedFiles" in names:
        tree = names["/EmbeddedFiles"]
        if isinstance(tree, pikepdf.Dictionary) and not _tree_has_payload(tree):
            del names["/EmbeddedFiles"]
    return removed


def _tree_has_payload(tree: pikepdf.Dictionary) -> bool:
    for _, spec in pikepdf.NameTree(tree).items():
        if isinstance(spec, pikepdf.Dictionary) and "/EF" in spec:
            return True
    return False


def _describe(d: pikepdf.Dictionary) -> str:
    t = str(d.get("/Type", "")) or str(d.get("/Subtype", ""))
    if t == "/Catalog":
        return "document"
    if t == "/Page":
        return "page"
    if "/FT" in d or "/T" in d:
        return f"form field {str(d.get('/T', ''))!r}"
    if str(d.get("/Subtype", "")):
        return f"annotation {str(d['/Subtype'])[1:]}"
    return "object"


def clean_pdf(src: Path, dst: Path) -> tuple[bool, list[str], list[str]]:
    """Check/clean a PDF. Returns (rewritten, removed, repairs). When nothing needed doing ``dst`` is a
    byte-identical copy of ``src``. Encrypted PDFs are refused."""
    try:
        pdf = pikepdf.open(src)
    except pikepdf.PasswordError as exc:
        raise BadInput("Encrypted PDF refused: remove the password protection and send it again",
                       "Từ chối tệp PDF được mã hóa: hãy gỡ bỏ mật khẩu bảo vệ rồi gửi lại",
                       code="encrypted_pdf") from exc
    except pikepdf.PikepdfError as exc:  # PdfError and qpdf's runtime errors (e.g. "/Count is wrong …")
        raise BadInput(f"The PDF cannot be read: {scrub_paths(str(exc))}", "Không đọc được tệp PDF",
                       code="damaged_file") from exc
    with pdf:
        if pdf.is_encrypted:
            raise BadInput("Encrypted PDF refused: remove the encryption and send it again",
                           "Từ chối tệp PDF được mã hóa: hãy gỡ bỏ mã hóa rồi gửi lại", code="encrypted_pdf")
        repairs = [scrub_paths(str(w)) for w in pdf.get_warnings()]
        try:
            if len(pdf.pages) == 0:
                raise BadInput("The PDF has no pages", "Tệp PDF không có trang nào", code="damaged_file")
        except pikepdf.PikepdfError as exc:
            raise BadInput(f"The PDF cannot be read: {scrub_paths(str(exc))}", "Không đọc được tệp PDF",
                           code="damaged_file") from exc
        removed = _clean(pdf)
        repairs += [str(w) for w in pdf.get_warnings()][len(repairs):]
        if not removed and not repairs:
            shutil.copyfile(src, dst)
            return False, [], []
        pdf.save(dst, fix_metadata_version=False)
    return True, removed, repairs


def _claims_pdfa(path: Path) -> bool:
    try:
        with pikepdf.open(path) as pdf:
            meta = pdf.open_metadata()
            return bool(meta.get("pdfaid:part")) and "/OutputIntents" in pdf.Root
    except pikepdf.PikepdfError:
        return False


# ---------------------------------------------------------------------- images
def _image_pages(path: Path, limits: Limits) -> int:
    Image.MAX_IMAGE_PIXELS = None  # we check per page ourselves, with a clear error
    try:
        with Image.open(path) as im:
            pages = getattr(im, "n_frames", 1)
            if pages > limits.image_max_pages:
                raise TooLarge(
                    f"Too many pages in the image: {pages} (limit {limits.image_max_pages}); split the scan",
                    f"Ảnh có quá nhiều trang: {pages} (tối đa {limits.image_max_pages}); hãy tách bản quét",
                    code="too_many_pages")
            for i in range(pages):
                im.seek(i)
                w, h = im.size
                if w * h > limits.image_max_pixels:
                    raise TooLarge(f"Image page {i + 1} is too large: {w}×{h} pixels",
                                   f"Trang ảnh {i + 1} quá lớn: {w}×{h} điểm ảnh", code="image_too_large")
            return int(pages)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadInput(f"The image cannot be read: {scrub_paths(str(exc))}", "Không đọc được tệp ảnh",
                       code="damaged_file") from exc


def _image_to_pdf(src: Path, dst: Path) -> bool:
    pdfa = SRGB_ICC.is_file()
    try:
        with dst.open("wb") as out:
            img2pdf.convert(str(src), outputstream=out, rotation=img2pdf.Rotation.ifvalid,
                            **({"pdfa": str(SRGB_ICC)} if pdfa else {}))
    except Exception as exc:  # img2pdf raises its own and PIL's errors
        raise BadInput(f"The image cannot be converted: {exc}", "Không chuyển đổi được tệp ảnh",
                       code="conversion_failed") from exc
    return pdfa


def _ocr_images(src: Path, dst: Path, pages: int, workdir: Path, limits: Limits) -> None:
    """A searchable PDF (image + invisible text) per page with tesseract ``vie``, bounded per page."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    parts: list[Path] = []
    with Image.open(src) as im:
        for i in range(pages):
            im.seek(i)
            page_png = workdir / f"ocr-{i}.png"
            im.convert("RGB" if im.mode not in ("1", "L", "RGB") else im.mode).save(page_png)
            base = workdir / f"ocr-{i}"
            try:
                subprocess.run(["tesseract", str(page_png), str(base), "-l", "vie", "pdf"], env=env,
                               check=True, timeout=limits.ocr_page_seconds, capture_output=True)
            except subprocess.TimeoutExpired as exc:
                raise BadInput(f"OCR of page {i + 1} took longer than {limits.ocr_page_seconds:g} s",
                               f"Nhận dạng ký tự trang {i + 1} vượt quá {limits.ocr_page_seconds:g} giây",
                               code="ocr_timeout") from exc
            except (subprocess.CalledProcessError, FileNotFoundError) as exc:
                raise BadInput(f"OCR failed on page {i + 1}", f"Nhận dạng ký tự thất bại ở trang {i + 1}",
                               code="ocr_failed") from exc
            parts.append(base.with_suffix(".pdf"))
    with pikepdf.new() as out:
        for part in parts:
            with pikepdf.open(part) as p:
                out.pages.extend(p.pages)
        out.save(dst)


# ---------------------------------------------------------------------- entry
@dataclass
class NormalizedDocument:
    """The result of ``normalize_document``.

    ``pdf_path``: the PDF to store and sign (inside ``out_dir``). ``kind``: the sniffed input kind.
    ``pdfa``: the output claims PDF/A (XMP pdfaid + OutputIntent). ``unchanged``: the PDF is byte-identical
    to the input. ``removed``: active content taken out. ``normalizations``: ``{field, from, to}`` records."""

    pdf_path: Path
    kind: str
    pdfa: bool
    unchanged: bool = False
    pages: int = 0
    removed: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    normalizations: list[Normalization] = field(default_factory=list)

    def read_bytes(self) -> bytes:
        return self.pdf_path.read_bytes()


def _extension_kind(filename: str) -> str:
    ext = Path(filename).suffix.lower().lstrip(".")
    return {"jpg": "jpeg", "jpe": "jpeg", "tif": "tiff"}.get(ext, ext)


def normalize_document(
    source: Path | str | bytes | BinaryIO,
    filename: str,
    *,
    out_dir: Path | None = None,
    ocr: bool = False,
    pool: OfficePool | None = None,
    timeout: float | None = None,
    limits: Limits = LIMITS,
) -> NormalizedDocument:
    """Turn one incoming file into a clean PDF. The source is never modified.

    ``filename`` is only used for the record (the kind comes from the content). ``out_dir`` receives the PDF
    (a fresh temporary directory when omitted; the caller removes it). ``ocr`` adds a Vietnamese text layer to
    scans. ``timeout`` bounds an office conversion (the pool's default otherwise)."""
    out_dir = Path(tempfile.mkdtemp(prefix="docexchange-norm-")) if out_dir is None else out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = _safe_stem(filename)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=out_dir))
    try:
        src = _materialize(source, work / "input", limits)
        kind = sniff(src)
        notes: list[Normalization] = []
        claimed = _extension_kind(filename)
        if claimed and claimed != kind:
            notes.append(Normalization("file.type", claimed or "(none)", kind))
        dst = out_dir / f"{stem}.pdf"
        if kind == "pdf":
            rewritten, removed, repairs = clean_pdf(src, dst)
            with pikepdf.open(dst) as pdf:
                pages = len(pdf.pages)
            for item in removed:
                notes.append(Normalization("file.content", item, "(removed)"))
            if repairs:
                notes.append(Normalization("file.structure", "damaged cross-reference/structure", "repaired"))
            return NormalizedDocument(dst, kind, _claims_pdfa(dst), not rewritten, pages, removed, repairs,
                                      notes)
        if kind in IMPORT_FILTERS:
            if kind in ("docx", "odt"):
                check_zip_container(src, limits)
            office_src = work / f"input.{kind}"
            src.rename(office_src)
            (pool or get_office_pool()).convert(office_src, dst, kind, timeout=timeout)
            notes.append(Normalization("file.format", kind, "pdf/a-2b"))
        else:
            pages = _image_pages(src, limits)
            if ocr:
                _ocr_images(src, dst, pages, work, limits)
                notes.append(Normalization("file.format", kind, "pdf (ocr: vie)"))
            else:
                _image_to_pdf(src, dst)
                notes.append(Normalization("file.format", kind, "pdf/a-1b"))
        with pikepdf.open(dst) as pdf:
            pages = len(pdf.pages)
        return NormalizedDocument(dst, kind, _claims_pdfa(dst), False, pages, [], [], notes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _safe_stem(filename: str) -> str:
    """The output file's stem from an untrusted name: its last component, without NUL/control characters
    (``open`` refuses NUL) and short enough for any filesystem (255 bytes per name)."""
    name = "".join(c for c in filename.replace("\\", "/") if c >= " " and c != "\x7f")
    stem = Path(name).stem.strip()
    while len(stem.encode()) > 120:
        stem = stem[:-1]
    return stem if stem not in ("", ".", "..") else "document"


def _materialize(source: Path | str | bytes | BinaryIO, target: Path, limits: Limits) -> Path:
    """Copy the input into the private work dir (bounded), so the original cannot be touched."""
    if isinstance(source, bytes):
        stream: BinaryIO = io.BytesIO(source)
    elif isinstance(source, str | Path):
        stream = Path(source).open("rb")
    else:
        stream = source
    try:
        written = 0
        with target.open("wb") as out:
            while chunk := stream.read(1024 * 1024):
                written += len(chunk)
                if written > limits.max_input_bytes:
                    raise TooLarge(f"File larger than {limits.max_input_bytes} bytes",
                                   f"Tệp lớn hơn {limits.max_input_bytes} byte", code="too_large")
                out.write(chunk)
    finally:
        if isinstance(source, str | Path):
            stream.close()
    return target
