"""A Vietnamese-capable Type0 font for signature appearances, subset ONCE per process.

pyhanko's ``GlyphAccumulator`` subsets and shapes the TTF on every signature (~180 ms). Appearance texts here are
short Vietnamese lines (number/notation, copy form, agency name, ISO time), which need no shaping: NFC text maps
one code point to one glyph in Noto Serif. So we subset the font once to ASCII + the Vietnamese alphabet,
compress it once, and per signature only add the pre-encoded objects and a content stream of glyph ids."""

from __future__ import annotations

import io
import threading
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

NOTO_SERIF = Path("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf")

_VI_LOWER = ("àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ")
CHARSET = "".join(chr(c) for c in range(0x20, 0x7F)) + _VI_LOWER + _VI_LOWER.upper() + "–—“”‘’…°"


@dataclass(frozen=True)
class _FontData:
    font_file: bytes  # flate-compressed subset TTF
    font_file_len: int
    gid: dict[str, int]
    widths: dict[int, int]  # gid -> advance in 1/1000 em
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cap_height: int
    to_unicode: bytes  # flate-compressed CMap


class EmbeddedFont:
    """A prepared font; ``register(writer)`` adds it to one output PDF (cheap: pre-encoded streams)."""

    def __init__(self, path: Path = NOTO_SERIF) -> None:
        self.path = path
        self.data = _build(str(path))
        self.base_name = "DXAAAA+NotoSerif"

    def glyphs(self, text: str) -> list[int]:
        text = unicodedata.normalize("NFC", text)
        fallback = self.data.gid.get("?", 0)
        return [self.data.gid.get(ch, fallback) for ch in text]

    def width(self, text: str, size: float) -> float:
        return sum(self.data.widths.get(g, 500) for g in self.glyphs(text)) * size / 1000.0

    def show(self, text: str) -> bytes:
        """A hex string operand for ``Tj``."""
        return b"<" + b"".join(b"%04X" % g for g in self.glyphs(text)) + b">"

    def register(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        d = self.data
        font_file = writer.add_object(generic.StreamObject(
            {pdf_name("/Length1"): generic.NumberObject(d.font_file_len),
             pdf_name("/Filter"): pdf_name("/FlateDecode")}, encoded_data=d.font_file))
        to_unicode = writer.add_object(generic.StreamObject(
            {pdf_name("/Filter"): pdf_name("/FlateDecode")}, encoded_data=d.to_unicode))
        descriptor = writer.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/FontDescriptor"),
            pdf_name("/FontName"): pdf_name("/" + self.base_name),
            pdf_name("/Flags"): generic.NumberObject(6),  # serif, symbolic (CID font)
            pdf_name("/FontBBox"): generic.ArrayObject(generic.NumberObject(v) for v in d.bbox),
            pdf_name("/ItalicAngle"): generic.NumberObject(0),
            pdf_name("/Ascent"): generic.NumberObject(d.ascent),
            pdf_name("/Descent"): generic.NumberObject(d.descent),
            pdf_name("/CapHeight"): generic.NumberObject(d.cap_height),
            pdf_name("/StemV"): generic.NumberObject(80),
            pdf_name("/FontFile2"): font_file,
        }))
        w_array = generic.ArrayObject()
        for gid in sorted(d.widths):
            w_array.append(generic.NumberObject(gid))
            w_array.append(generic.ArrayObject([generic.NumberObject(d.widths[gid])]))
        cid_font = writer.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/CIDFontType2"),
            pdf_name("/BaseFont"): pdf_name("/" + self.base_name),
            pdf_name("/CIDSystemInfo"): generic.DictionaryObject({
                pdf_name("/Registry"): generic.TextStringObject("Adobe"),
                pdf_name("/Ordering"): generic.TextStringObject("Identity"),
                pdf_name("/Supplement"): generic.NumberObject(0)}),
            pdf_name("/FontDescriptor"): descriptor,
            pdf_name("/DW"): generic.NumberObject(500),
            pdf_name("/W"): w_array,
            pdf_name("/CIDToGIDMap"): pdf_name("/Identity"),
        }))
        return writer.add_object(generic.DictionaryObject({
            pdf_name("/Type"): pdf_name("/Font"),
            pdf_name("/Subtype"): pdf_name("/Type0"),
            pdf_name("/BaseFont"): pdf_name("/" + self.base_name),
            pdf_name("/Encoding"): pdf_name("/Identity-H"),
            pdf_name("/DescendantFonts"): generic.ArrayObject([cid_font]),
            pdf_name("/ToUnicode"): to_unicode,
        }))


_lock = threading.Lock()


@lru_cache(maxsize=4)
def _build(path: str) -> _FontData:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    with _lock:
        font = TTFont(path)
        if font["head"].unitsPerEm != 1000:
            raise ValueError(f"{path}: appearance fonts must have 1000 units per em")
        options = subset.Options()
        options.layout_features = []
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.drop_tables += ["FFTM", "GSUB", "GPOS", "GDEF"]
        sub = subset.Subsetter(options)
        sub.populate(text=CHARSET)
        sub.subset(font)
        buf = io.BytesIO()
        font.save(buf)
        raw = buf.getvalue()
        font = TTFont(io.BytesIO(raw))
        cmap = font.getBestCmap()
        order = {name: i for i, name in enumerate(font.getGlyphOrder())}
        gid = {chr(cp): order[name] for cp, name in cmap.items()}
        hmtx = font["hmtx"]
        widths = {order[name]: hmtx[name][0] for name in font.getGlyphOrder()}
        head = font["head"]
        os2 = font["OS/2"]
        cmap_lines = [f"<{g:04X}> <{ord(ch):04X}>" for ch, g in sorted(gid.items(), key=lambda kv: kv[1])]
        chunks = []
        for i in range(0, len(cmap_lines), 100):
            part = cmap_lines[i:i + 100]
            chunks.append(f"{len(part)} beginbfchar\n" + "\n".join(part) + "\nendbfchar")
        to_unicode = ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                      "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                      "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                      "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n" + "\n".join(chunks)
                      + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n").encode()
        return _FontData(
            font_file=zlib.compress(raw, 9), font_file_len=len(raw), gid=gid, widths=widths,
            bbox=(head.xMin, head.yMin, head.xMax, head.yMax), ascent=os2.sTypoAscender,
            descent=os2.sTypoDescender, cap_height=getattr(os2, "sCapHeight", 700) or 700,
            to_unicode=zlib.compress(to_unicode, 9))


@lru_cache(maxsize=4)
def default_font(path: str = str(NOTO_SERIF)) -> EmbeddedFont:
    return EmbeddedFont(Path(path))
