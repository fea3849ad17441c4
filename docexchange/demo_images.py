"""Plausible demo signature (blue, transparent) and seal (red, round) PNG images, generated with Pillow."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = ("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
                   "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                   "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def signature_png(name: str, seed: int = 0) -> bytes:
    """A blue hand-drawn-looking stroke with a transparent background (600x240 px)."""
    rng = random.Random(f"{name}{seed}")
    img = Image.new("RGBA", (600, 240), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    pts = []
    for i in range(60):
        x = 40 + i * 8.5
        y = 120 + 55 * math.sin(i / 4.0 + rng.random()) * (1 - i / 90) + rng.uniform(-8, 8)
        pts.append((x, y))
    d.line(pts, fill=(20, 40, 170, 255), width=6, joint="curve")
    d.line([(60, 180), (540, 150)], fill=(20, 40, 170, 255), width=4)
    return _png(img)


def seal_png(agency_name: str, place: str = "") -> bytes:
    """A red round seal (600x600 px, transparent outside the rings) with the agency name around it."""
    size = 600
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    red = (210, 20, 30, 255)
    d.ellipse((10, 10, size - 10, size - 10), outline=red, width=16)
    d.ellipse((70, 70, size - 70, size - 70), outline=red, width=6)
    d.ellipse((185, 185, size - 185, size - 185), outline=red, width=5)
    # the national emblem's star in the centre
    cx = cy = size / 2
    star = []
    for k in range(10):
        r = 95 if k % 2 == 0 else 38
        a = -math.pi / 2 + k * math.pi / 5
        star.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    d.polygon(star, fill=red)
    text = agency_name.upper()
    font = _font(34)
    n = len(text)
    for i, ch in enumerate(text):
        angle = math.pi + (i + 0.5) / max(n, 1) * math.pi * 1.6 - 0.3 * math.pi
        x = cx + 230 * math.cos(angle)
        y = cy + 230 * math.sin(angle)
        glyph = Image.new("RGBA", (48, 48), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((24, 24), ch, font=font, fill=red, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        img.alpha_composite(glyph, (int(x - 24), int(y - 24)))
    if place:
        d.text((cx, cy + 150), place.upper(), font=_font(30), fill=red, anchor="mm")
    return _png(img)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
