"""Signature and seal images: validation of uploads and one-time encoding into PDF image streams."""

from __future__ import annotations

import hashlib
import io
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from ..errors import BadInput

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class StampImage:
    """A validated PNG with an alpha channel, encoded once as an RGB image + /SMask (both flate)."""

    sha256: str
    width_px: int
    height_px: int
    rgb: bytes  # flate-compressed 8-bit RGB samples
    alpha: bytes  # flate-compressed 8-bit alpha samples
    dpi: tuple[float, float] | None

    @property
    def aspect(self) -> float:
        return self.width_px / self.height_px

    def register(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        common = {pdf_name("/Type"): pdf_name("/XObject"), pdf_name("/Subtype"): pdf_name("/Image"),
                  pdf_name("/Width"): generic.NumberObject(self.width_px),
                  pdf_name("/Height"): generic.NumberObject(self.height_px),
                  pdf_name("/BitsPerComponent"): generic.NumberObject(8),
                  pdf_name("/Filter"): pdf_name("/FlateDecode")}
        smask = writer.add_object(generic.StreamObject(
            {**common, pdf_name("/ColorSpace"): pdf_name("/DeviceGray")}, encoded_data=self.alpha))
        return writer.add_object(generic.StreamObject(
            {**common, pdf_name("/ColorSpace"): pdf_name("/DeviceRGB"), pdf_name("/SMask"): smask},
            encoded_data=self.rgb))


def validate_stamp_image(data: bytes) -> tuple[int, int]:
    """Check that ``data`` is a PNG with transparency (alpha channel or tRNS); returns (width, height) in px.

    Raises ``BadInput`` (code ``bad_image``) with a Vietnamese + English message otherwise."""
    if len(data) > MAX_IMAGE_BYTES:
        raise BadInput(f"Image too large ({len(data)} bytes, max {MAX_IMAGE_BYTES})",
                       f"Ảnh quá lớn ({len(data)} byte, tối đa {MAX_IMAGE_BYTES})", code="bad_image")
    if not data.startswith(PNG_MAGIC):
        raise BadInput("The signature/seal image must be a PNG file with a transparent background",
                       "Ảnh chữ ký/con dấu phải là tệp PNG có nền trong suốt", code="bad_image")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            mode, size, info = img.mode, img.size, dict(img.info)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInput(f"The PNG image is damaged: {exc}", f"Ảnh PNG bị hỏng: {exc}", code="bad_image") from exc
    if size[0] * size[1] > MAX_IMAGE_PIXELS or min(size) < 8:
        raise BadInput(f"Unsupported image size {size[0]}x{size[1]} px",
                       f"Kích thước ảnh không hợp lệ {size[0]}x{size[1]} px", code="bad_image")
    has_alpha = mode in ("RGBA", "LA", "PA") or "transparency" in info
    if not has_alpha:
        raise BadInput("The PNG image has no transparency (alpha channel); upload a transparent PNG",
                       "Ảnh PNG không có nền trong suốt (kênh alpha); hãy tải lên ảnh PNG nền trong suốt",
                       code="bad_image")
    return size


_cache: OrderedDict[str, StampImage] = OrderedDict()
_cache_lock = threading.Lock()


def prepare_stamp_image(data: bytes) -> StampImage:
    """Validate and encode once; cached by SHA-256 (LRU, 64 entries) so each signer's image is encoded once."""
    digest = hashlib.sha256(data).hexdigest()
    with _cache_lock:
        hit = _cache.get(digest)
        if hit is not None:
            _cache.move_to_end(digest)
            return hit
    validate_stamp_image(data)
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        rgba = img.convert("RGBA")
        dpi = img.info.get("dpi")
    rgb = rgba.convert("RGB").tobytes()
    alpha = rgba.getchannel("A").tobytes()
    prepared = StampImage(sha256=digest, width_px=rgba.width, height_px=rgba.height,
                          rgb=zlib.compress(rgb, 6), alpha=zlib.compress(alpha, 6),
                          dpi=(float(dpi[0]), float(dpi[1])) if dpi else None)
    with _cache_lock:
        _cache[digest] = prepared
        while len(_cache) > 64:
            _cache.popitem(last=False)
    return prepared
