"""Fixtures for the copies tests: scan generators, a certifier's token, the request form. Certification signs
with the node's real engine (``NodeSigning``, B-LT with in-process OCSP/CRL/TSA for the node's certificates), so
the Flask test client's node needs no HTTP server; only pdfsig (NSS) needs the live node."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image, ImageDraw


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
def svc(node):  # type: ignore[no-untyped-def]
    return node.extensions["docexchange"]


@pytest.fixture
def certifier(node, svc):  # type: ignore[no-untyped-def]
    from tests.conftest import login

    return login(node.test_client(), "nghiphu.chungthuc", svc.secrets["demo_password"])


REQUEST = {"requester_name": "Nguyễn Thị Hoa", "requester_id_number": "040190001234",
           "original_type": "Giấy khai sinh", "original_issuer": "Ủy ban nhân dân xã Nghi Phú",
           "original_number": "125/2001", "original_issue_date": "2001-05-04", "page_count": 3}


def certify_form(scans: list[bytes] | None = None, *, pin: str, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {**REQUEST, **over}
    files = scans if scans is not None else [jpeg()]
    data["scan"] = [(io.BytesIO(b), f"scan{i}.jpg") for i, b in enumerate(files)]
    data.setdefault("pin", pin)
    data.setdefault("seal_pin", pin)
    return data


@pytest.fixture
def pin(svc) -> str:  # type: ignore[no-untyped-def]
    """The demo PIN of every demo key (certifiers' and seals')."""
    return str(svc.secrets["demo_pin"])


@pytest.fixture
def form(pin: str) -> Callable[..., dict[str, Any]]:
    """``certify_form`` with the node's demo PIN for both keys."""
    return functools.partial(certify_form, pin=pin)


def add_notary(svc, username: str = "vinh.congchung", password: str = "matkhau-congchung") -> None:  # type: ignore[no-untyped-def]
    """A notary organisation with a seal key and one certifier with a personal key, issued by the node's dev CA
    the way ``init_node`` issues the demo keys (same demo PIN)."""
    from docexchange.models import Agency, User
    from docexchange.pki.keys import write_pkcs12
    from docexchange.security import hash_password
    from docexchange.seed import seal_png, signature_png

    pin = svc.secrets["demo_pin"].encode()
    keys = svc.settings.certs_dir / "keys"
    name = "Văn phòng công chứng Vinh"
    with svc.db.transaction() as s:
        notary = Agency(code="000.30.01.H41", name=name, kind="notary", abbreviation="VPCC", place="Vinh")
        s.add(notary)
        s.flush()
        seal = svc.ca.issue(s, kind="seal", issuer="gov-int", common_name=name, locality="Vinh",
                            key_ref="keys/vpcc-vinh-seal.p12")
        write_pkcs12(keys / "vpcc-vinh-seal.p12", seal.key, seal.cert, list(seal.chain), pin, name)
        notary.seal_key_ref, notary.seal_cert_serial = "keys/vpcc-vinh-seal.p12", seal.serial_hex
        notary.seal_image_sha256 = svc.blobs.put_bytes(seal_png(name, "Vinh"))
        person = svc.ca.issue(s, kind="person", issuer="gov-int", common_name="Lê Văn Công", organization=name,
                              title="Công chứng viên", key_ref=f"keys/{username}.p12")
        write_pkcs12(keys / f"{username}.p12", person.key, person.cert, list(person.chain), pin, "Lê Văn Công")
        s.add(User(agency_id=notary.id, username=username, full_name="Lê Văn Công", position="Công chứng viên",
                   roles="certifier", password_hash=hash_password(password), key_ref=f"keys/{username}.p12",
                   cert_serial=person.serial_hex,
                   signature_image_sha256=svc.blobs.put_bytes(signature_png("Lê Văn Công"))))
