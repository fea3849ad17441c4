"""Fixtures for the copies tests: scan generators and the signing stand-in.

``UnsignedForNow`` stands in for the signing engine, which is not on this branch: it copies the file unchanged
and records each call (profile, page, box, who), so tests can check what the workflow asks of the engine. It
never claims a signature exists; no test asserts a signature verdict computed by it."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw


@dataclass
class UnsignedForNow:
    calls: list[dict[str, Any]] = field(default_factory=list)

    def person(self, src: Path, dst: Path, *, user: Any, pin: str, page: int, box: tuple[float, ...]) -> None:
        shutil.copyfile(src, dst)
        self.calls.append({"profile": "person", "user": user.username, "page": page, "box": box, "pin": pin})

    def seal(self, src: Path, dst: Path, *, agency: Any, pin: str, page: int, box: tuple[float, ...]) -> None:
        shutil.copyfile(src, dst)
        self.calls.append({"profile": "seal", "agency": agency.code, "page": page, "box": box, "pin": pin})

    def copy(self, src: Path, dst: Path, *, agency: Any, pin: str, form: str) -> None:
        shutil.copyfile(src, dst)
        self.calls.append({"profile": "copy", "agency": agency.code, "form": form, "pin": pin})


def page_image(size: tuple[int, int] = (600, 800), mode: str = "RGB", seed: int = 0) -> Image.Image:
    """A small 'document': text lines and a red seal circle (colour content)."""
    im = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(im)
    for i in range(8):
        d.line((40, 60 + i * 40 + seed % 7, size[0] - 40, 60 + i * 40), fill=(20, 20, 20), width=3)
    d.ellipse((size[0] - 220, size[1] - 220, size[0] - 40, size[1] - 40), outline=(210, 20, 20), width=8)
    return im.convert(mode) if mode != "RGB" else im


def jpeg(dpi: int | None = 200, mode: str = "RGB", size: tuple[int, int] = (600, 800), seed: int = 0,
         quality: int = 85) -> bytes:
    buf = io.BytesIO()
    kw: dict[str, Any] = {"quality": quality}
    if dpi:
        kw["dpi"] = (dpi, dpi)
    page_image(size, mode, seed).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def png(dpi: int | None = 200, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    page_image(mode=mode).save(buf, format="PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return buf.getvalue()


def tiff(pages: int = 3, dpi: int = 200) -> bytes:
    buf = io.BytesIO()
    frames = [page_image(seed=i) for i in range(pages)]
    frames[0].save(buf, format="TIFF", save_all=True, append_images=frames[1:], dpi=(dpi, dpi),
                   compression="tiff_lzw")
    return buf.getvalue()


@pytest.fixture
def signing(monkeypatch: pytest.MonkeyPatch) -> UnsignedForNow:
    """Bind the stand-in as the node's signing engine for this test."""
    stand_in = UnsignedForNow()
    import docexchange.copies.engine as engine

    monkeypatch.setattr(engine, "signing_for", lambda svc: stand_in)
    return stand_in


@pytest.fixture
def svc(node):  # type: ignore[no-untyped-def]
    return node.extensions["docexchange"]


@pytest.fixture
def certifier(node, svc):  # type: ignore[no-untyped-def]
    from tests.conftest import login

    return login(node.test_client(), "nghiphu.chungthuc", svc.secrets["demo_password"])


REQUEST = {"requester_name": "Nguyễn Thị Hoa", "requester_id_number": "040190001234",
           "original_type": "Giấy khai sinh", "original_issuer": "Ủy ban nhân dân xã Nghi Phú",
           "original_number": "125/2001", "original_issue_date": "2001-05-04", "page_count": 3}


def certify_form(scans: list[bytes] | None = None, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {**REQUEST, **over}
    files = scans if scans is not None else [jpeg()]
    data["scan"] = [(io.BytesIO(b), f"scan{i}.jpg") for i, b in enumerate(files)]
    data.setdefault("pin", "1234")
    data.setdefault("seal_pin", "5678")
    return data
