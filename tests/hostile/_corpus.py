"""Hostile inputs, shared by tests/hostile and bench/fuzz.py: named crafted cases plus byte-level mutators."""

from __future__ import annotations

import base64
import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable

import pikepdf

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
MARK = "hostile-7f3a"  # unique part of every traversal name: searched for on disk afterwards

TRAVERSAL_NAMES = [
    f"../../{MARK}-rel",
    f"/tmp/{MARK}-abs",
    f"..\\..\\{MARK}-win",
    f"C:\\Windows\\{MARK}-drive",
    f"a/../../../{MARK}-mid",
    f"{MARK}-nul\x00.pdf",
    f"~/{MARK}-home",
    "",
    "." * 300,
]


def small_pdf(pages: int = 1, text: str = "Hostile input") -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        page = pdf.add_blank_page(page_size=(200, 200))
        page.Contents = pdf.make_stream(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
    buf = io.BytesIO()
    pdf.save(buf, min_version="1.7")
    return buf.getvalue()


def edoc(*, prolog: str = "", subject: str = "V/v thử", name: str = "bc.pdf", payload: bytes | None = None,
         zipped: bool = False, extra_header: str = "", attachments: int = 1, b64: bytes | None = None) -> bytes:
    """A well-formed edXML document package with knobs for the hostile parts."""
    from xml.sax.saxutils import escape

    body = small_pdf() if payload is None else payload
    ctype = "application/zip" if zipped else "application/pdf"
    enc = base64.b64encode(body) if b64 is None else b64
    refs = "".join(f"<Reference><ContentId>cid:{i}</ContentId><ContentType>{ctype}</ContentType>"
                   f"<AttachmentName>{escape(name)}</AttachmentName></Reference>" for i in range(attachments))
    atts = "".join(f"<Attachment><ContentId>{i}</ContentId><AttachmentName>{escape(name)}</AttachmentName>"
                   f"<ContentType>{ctype}</ContentType><ContentTransferEncoded>"
                   for i in range(attachments))
    head = f"""<?xml version="1.0" encoding="UTF-8"?>{prolog}
<edXML xmlns="{NS}"><edXMLEnvelope><edXMLHeader><MessageHeader>
<From><OrganId>000.00.00.G09</OrganId><OrganName>Bộ Nội vụ</OrganName></From>
<To><OrganId>000.00.00.H41</OrganId><OrganName>UBND tỉnh Nghệ An</OrganName></To>
<Subject>{subject}</Subject>
<DocumentId>000.00.00.G09,2026/11/20,15/QĐ-BNV</DocumentId>
<Code><CodeNumber>15</CodeNumber><CodeNotation>QĐ-BNV</CodeNotation></Code>
<PromulgationInfo><PromulgationDate>2026-11-20</PromulgationDate><Place>Hà Nội</Place></PromulgationInfo>
<DocumentType><Type>2</Type><TypeName>Quyết định</TypeName></DocumentType>
<SignerInfo><Position>Bộ trưởng</Position><FullName>Nguyễn Văn A</FullName></SignerInfo>
</MessageHeader><TraceHeaderList><Bussiness><BussinessDocType>0</BussinessDocType></Bussiness></TraceHeaderList>
{extra_header}</edXMLHeader><edXMLBody><edXMLManifest version="1.0">{refs}</edXMLManifest></edXMLBody>
</edXMLEnvelope><AttachmentEncoded>""".encode()
    parts = [head]
    for a in atts.split("<Attachment>")[1:]:
        parts += [b"<Attachment>" + a.encode(), enc, b"</ContentTransferEncoded></Attachment>"]
    parts.append(b"</AttachmentEncoded></edXML>")
    return b"".join(parts)


def _deflated(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = 1  # type: ignore[attr-defined]  # fast to build (Python 3.11 name)
    return info


def zip_bomb(size: int = 64 << 20, name: str = "word/document.xml") -> bytes:
    """One entry of ``size`` zero bytes (deflates ~1000:1)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open(_deflated(name), "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)
    return buf.getvalue()


def lying_zip(declared: int = 1 << 30, name: str = "bc.pdf") -> bytes:
    """A small zip whose headers declare ``declared`` uncompressed bytes (the local and central sizes lie)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, small_pdf())
    data = bytearray(buf.getvalue())
    # local header: uncompressed size at offset 22; central directory header: at +24 of the "PK\1\2" record
    struct.pack_into("<I", data, 22, min(declared, 0xFFFFFFFF))
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, min(declared, 0xFFFFFFFF))
    return bytes(data)


def docx_bomb(size: int = 64 << 20) -> bytes:
    """A zip that looks like DOCX ([Content_Types].xml + word/document.xml) with a zero-filled bomb entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/'
                   'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        with z.open(_deflated("word/document.xml"), "w", force_zip64=True) as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)
    return buf.getvalue()


def many_entries_zip(n: int = 6000) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        for i in range(n):
            z.writestr(f"word/e{i}.xml", b"")
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ edXML bombs
BILLION_LAUGHS = (
    '<!DOCTYPE edXML [<!ENTITY l0 "ha">'
    + "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    + "]>"
)
XXE_FILE = '<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
XXE_HTTP = '<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/evil.dtd">'
XXE_PARAM = '<!DOCTYPE edXML [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
QUADRATIC = '<!DOCTYPE edXML [<!ENTITY a "' + "x" * 50_000 + '">]>'


def edxml_cases() -> dict[str, Callable[[], bytes]]:
    """Named hostile edXML packages, built on demand (each must be refused or parsed within the limits, never crash)."""
    cases = {
        "billion_laughs": lambda: edoc(prolog=BILLION_LAUGHS, subject="&l9;"),
        "xxe_file": lambda: edoc(prolog=XXE_FILE, subject="&xxe;"),
        "xxe_external_dtd": lambda: edoc(prolog=XXE_HTTP),
        "xxe_parameter_entity": lambda: edoc(prolog=XXE_PARAM),
        "quadratic_blowup": lambda: edoc(prolog=QUADRATIC, subject="&a;" * 2000),
        "deep_nesting": lambda: edoc(extra_header="<a>" * 100_000 + "</a>" * 100_000),
        "giant_attribute": lambda: edoc(extra_header=f'<X a="{"A" * (8 << 20)}"/>'),
        "giant_comment": lambda: edoc(extra_header="<!--" + "C" * (8 << 20) + "-->"),
        "giant_tag_name": lambda: edoc(extra_header="<" + "T" * (8 << 20) + "/>"),
        "many_attributes": lambda: edoc(extra_header="<X " + " ".join(f'a{i}="1"' for i in range(50_000)) + "/>"),
        "giant_text": lambda: edoc(subject="B" * (6 << 20)),
        "many_elements": lambda: edoc(extra_header="<e/>" * 150_000),
        "invalid_utf8": lambda: edoc().replace("V/v thử".encode(), b"V/v \xff\xfe\xc3\x28 \xed\xa0\x80"),
        "null_bytes": lambda: edoc().replace("V/v thử".encode(), b"V/v\x00th\x00"),
        "null_in_tag": lambda: edoc().replace(b"<Subject>", b"<Sub\x00ject>"),
        "utf16_declared_utf8": lambda: edoc().decode().encode("utf-16"),
        "truncated": lambda: edoc()[:700],
        "empty": lambda: b"",
        "only_bom": lambda: b"\xef\xbb\xbf",
        "not_xml": lambda: b"%PDF-1.7\n" + b"\x00" * 100,
        "cdata_in_base64": lambda: edoc(b64=b"<![CDATA[" + base64.b64encode(small_pdf()) + b"]]>"),
        "base64_garbage": lambda: edoc(b64=b"!!!!====" * 1000),
        "base64_huge_padding": lambda: edoc(b64=b"=" * (2 << 20)),
        "zip_bomb_attachment": lambda: edoc(zipped=True, payload=zip_bomb(600 << 20, "bc.pdf")),
        "zip_declares_1gb": lambda: edoc(zipped=True, payload=lying_zip(1 << 30)),
        "zip_declares_4gb_zip64": lambda: edoc(zipped=True, payload=lying_zip(0xFFFFFFFF)),
        "zip_many_entries": lambda: edoc(zipped=True, payload=many_entries_zip(2000)),
        "too_many_attachments": lambda: edoc(attachments=1100, payload=b"%PDF-1.4 x"),
        "processing_instruction": lambda: edoc(prolog='<?xml-stylesheet href="file:///etc/passwd"?>'),
        "xinclude": lambda: edoc(extra_header='<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                                      'href="file:///etc/passwd" parse="text"/>'),
    }
    for i, name in enumerate(TRAVERSAL_NAMES):
        cases[f"attachment_name_{i}"] = lambda n=name: edoc(name=n.replace("\x00", "&#0;"))
        cases[f"zip_entry_name_{i}"] = lambda n=name: edoc(zipped=True, payload=_zip_named(n or "x"))
    cases["plain"] = edoc
    return cases


def _zip_named(name: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo(name.replace("\x00", "_")), small_pdf())
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ PDF bombs
def pdf_deep_nesting(depth: int = 100_000) -> bytes:
    obj = b"[" * depth + b"]" * depth
    return _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R /X " + obj + b" >>",
                     b"<< /Type /Pages /Kids [] /Count 0 >>"])


def pdf_deep_dicts(depth: int = 50_000) -> bytes:
    obj = b"<< /A " * depth + b"1" + b" >>" * depth
    return _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R /X " + obj + b" >>",
                     b"<< /Type /Pages /Kids [] /Count 0 >>"])


def pdf_flate_bomb(size: int = 512 << 20) -> bytes:
    """A content stream that inflates to ``size`` bytes (compressed ~1000:1)."""
    comp = zlib.compressobj(1)
    chunk = b"\0" * (1 << 20)
    data = b"".join(comp.compress(chunk) for _ in range(size >> 20)) + comp.flush()
    return _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
    ])


def pdf_objstm_bomb(n: int = 200_000) -> bytes:
    """An object stream declaring ``n`` objects with nonsense offsets."""
    header = b" ".join(b"%d %d" % (i + 5, i * 3) for i in range(n))
    body = header + b" " + b"1 " * n
    data = zlib.compress(body)
    return _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
        b"<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\nstream\n"
        % (n, len(header) + 1, len(data)) + data + b"\nendstream",
    ])


def pdf_many_revisions(n: int = 3000) -> bytes:
    """``n`` incremental updates appended to a small PDF, each a new xref section with /Prev."""
    base = small_pdf()
    out = bytearray(base)
    prev = int(base[base.rindex(b"startxref") + 9:].split()[0])
    for i in range(n):
        off = len(out)
        out += b"%d 0 obj\n(rev %d)\nendobj\n" % (1000 + i, i)
        xref = len(out)
        out += b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
            1000 + i, off, 1001 + i, prev, xref)
        prev = xref
    return bytes(out)


def pdf_xref_loop() -> bytes:
    """Trailer /Prev pointing at itself."""
    base = small_pdf()
    out = bytearray(base)
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        xref, xref)
    return bytes(out)


def pdf_reference_cycle() -> bytes:
    return _raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                     b"<< /Type /Pages /Kids [2 0 R] /Count 1 /Parent 2 0 R >>"])


def _raw_pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG whose header declares width × height pixels (3.6 gigapixels) over a few hundred bytes of data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = zlib.compress(b"\0" * (width + 1) * 4)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def pdf_cases() -> dict[str, Callable[[], tuple[bytes, str]]]:
    """Named hostile document uploads: (bytes, claimed file name)."""
    return {
        "deep_array_nesting": lambda: (pdf_deep_nesting(), "a.pdf"),
        "deep_dict_nesting": lambda: (pdf_deep_dicts(), "a.pdf"),
        "flate_bomb_512mb": lambda: (pdf_flate_bomb(), "a.pdf"),
        "objstm_200k_objects": lambda: (pdf_objstm_bomb(), "a.pdf"),
        "revisions_3000": lambda: (pdf_many_revisions(), "a.pdf"),
        "xref_prev_loop": lambda: (pdf_xref_loop(), "a.pdf"),
        "page_tree_cycle": lambda: (pdf_reference_cycle(), "a.pdf"),
        "pdf_named_docx": lambda: (small_pdf(), "van-ban.docx"),
        "zip_bomb_as_docx": lambda: (docx_bomb(), "van-ban.docx"),
        "zip_bomb_named_pdf": lambda: (docx_bomb(), "van-ban.pdf"),
        "zip_6000_entries": lambda: (many_entries_zip(), "a.docx"),
        "zip_declares_1gb": lambda: (lying_zip(1 << 30, "word/document.xml"), "a.docx"),
        "png_pixel_bomb": lambda: (png_bomb(), "scan.png"),
        "png_bomb_named_pdf": lambda: (png_bomb(), "scan.pdf"),
        "header_only": lambda: (b"%PDF-1.7\n", "a.pdf"),
        "empty": lambda: (b"", "a.pdf"),
        "exe_named_pdf": lambda: (b"MZ\x90\x00" + b"\x00" * 4000, "a.pdf"),
        "html_named_pdf": lambda: (b"<html><script>alert(1)</script></html>", "a.pdf"),
        "null_bytes": lambda: (b"\x00" * 10_000, "a.pdf"),
        "truncated_pdf": lambda: (small_pdf()[:200], "a.pdf"),
        "traversal_name": lambda: (small_pdf(), f"../../{MARK}-upload.pdf"),
        "absolute_name": lambda: (small_pdf(), f"/tmp/{MARK}-upload.pdf"),
        "nul_name": lambda: (small_pdf(), f"{MARK}\x00.pdf"),
        "long_name": lambda: (small_pdf(), "Quyết định " * 40 + ".pdf"),
        "backslash_name": lambda: (small_pdf(), f"..\\..\\{MARK}-win.pdf"),
    }


# ------------------------------------------------------------------------------------------ mutation
TOKENS = [b"\x00", b"\xff", b"\xc3\x28", b"<", b">", b"&", b"&l9;", b"]]>", b"<![CDATA[", b"<!DOCTYPE x [",
          b"<a>" * 200, b"obj", b"endobj", b"stream", b"endstream", b"xref", b"trailer", b"startxref", b"/Prev 0",
          b"<<", b">>", b"[[[[", b"R", b"%%EOF", b"99999999999", b"-1", b"/Length 1073741824", b"=", b"\r\n"]


def mutate(data: bytes, seed: int, rounds: int = 4) -> bytes:
    """Deterministic byte-level mutation: flips, hostile-token inserts, deletions, slice duplication."""
    rng = random.Random(seed)
    buf = bytearray(data)
    for _ in range(rng.randint(1, rounds)):
        if not buf:
            buf += rng.choice(TOKENS)
            continue
        pos = rng.randrange(len(buf))
        op = rng.randrange(5)
        if op == 0:
            buf[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 2:
            del buf[pos:pos + rng.randint(1, 64)]
        elif op == 3:
            end = min(len(buf), pos + rng.randint(1, 256))
            buf[pos:pos] = buf[pos:end] * rng.randint(1, 8)
        else:
            buf[pos] = rng.randrange(256)
    return bytes(buf)
