"""Signature appearances built from pre-encoded parts (image streams, subset font) so that a visible signature
costs about as much as an invisible one. Both styles plug into pyhanko's ``PdfSigner(stamp_style=...)``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.content import AppearanceContent, ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.stamp import TextStampStyle

from .fonts import EmbeddedFont, default_font
from .images import StampImage
from .timeutil import iso_vn

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"


@dataclass(frozen=True)
class ImageStampStyle(TextStampStyle):
    """Image only, scaled to fit the widget box, centred, aspect ratio kept (signature / seal)."""

    image: StampImage | None = None
    border_width: int = 0
    timestamp_format: str = _TS_FORMAT

    def create_stamp(self, writer: BasePdfFileWriter, box: layout.BoxConstraints,
                     text_params: dict[str, Any]) -> Any:
        assert self.image is not None
        return _ImageStamp(writer, box, self.image)


@dataclass(frozen=True)
class TextLinesStampStyle(TextStampStyle):
    """Right-aligned lines of text (black, ``font_size`` pt). ``{time}`` in a line becomes the signing time in
    ISO 8601 with the Vietnam offset (+07:00)."""

    lines: tuple[str, ...] = ()
    font_size: float = 10.0
    font: EmbeddedFont = field(default_factory=default_font)
    border_width: int = 0
    timestamp_format: str = _TS_FORMAT
    padding: float = 2.0

    def render_lines(self, when: datetime) -> list[str]:
        stamp = iso_vn(when)
        return [line.replace("{time}", stamp) for line in self.lines]

    def natural_size(self, sample_time: datetime) -> tuple[float, float]:
        lines = self.render_lines(sample_time)
        width = max(self.font.width(line, self.font_size) for line in lines) + 2 * self.padding
        return width, len(lines) * self.font_size * 1.25 + 2 * self.padding

    def create_stamp(self, writer: BasePdfFileWriter, box: layout.BoxConstraints,
                     text_params: dict[str, Any]) -> Any:
        ts = text_params.get("ts")
        when = datetime.strptime(ts, _TS_FORMAT) if isinstance(ts, str) else datetime.now().astimezone()
        return _TextStamp(writer, box, self, self.render_lines(when))


class _ImageStamp(AppearanceContent):
    def __init__(self, writer: BasePdfFileWriter, box: layout.BoxConstraints, image: StampImage) -> None:
        super().__init__(writer=writer, box=box)
        self.image = image

    def render(self) -> bytes:
        ref = self.image.register(self._ensure_writer)
        self.set_resource(ResourceType.XOBJECT, pdf_name("/Im0"), ref)
        bw, bh = float(self.box.width), float(self.box.height)
        scale = min(bw / self.image.width_px, bh / self.image.height_px)
        w, h = self.image.width_px * scale, self.image.height_px * scale
        return b"q %.3f 0 0 %.3f %.3f %.3f cm /Im0 Do Q" % (w, h, (bw - w) / 2, (bh - h) / 2)


class _TextStamp(AppearanceContent):
    def __init__(self, writer: BasePdfFileWriter, box: layout.BoxConstraints, style: TextLinesStampStyle,
                 lines: list[str]) -> None:
        super().__init__(writer=writer, box=box)
        self.style = style
        self.lines = lines

    def render(self) -> bytes:
        st = self.style
        ref = st.font.register(self._ensure_writer)
        self.set_resource(ResourceType.FONT, pdf_name("/F0"), ref)
        bw, bh = float(self.box.width), float(self.box.height)
        leading = st.font_size * 1.25
        out = [b"q 0 g BT /F0 %.2f Tf" % st.font_size]
        y = bh - st.padding - st.font_size
        for line in self.lines:
            x = bw - st.padding - st.font.width(line, st.font_size)
            out.append(b"1 0 0 1 %.2f %.2f Tm %s Tj" % (max(x, 0.0), y, st.font.show(line)))
            y -= leading
        out.append(b"ET Q")
        return b"\n".join(out)
