"""Seal and signature images are uploaded per agency/officer: transparent PNG only, ledgered, scoped."""

from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from docexchange.models import Agency, LedgerEntry, User
from tests.conftest import login


def _png(mode: str = "RGBA", fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (120, 120), (200, 0, 0, 128) if mode == "RGBA" else (200, 0, 0)).save(buf, format=fmt)
    return buf.getvalue()


def test_seal_and_signature_images(node) -> None:  # type: ignore[no-untyped-def]
    svc = node.extensions["docexchange"]
    pw = svc.secrets["demo_password"]
    c = node.test_client()
    admin, signer, clerk = login(c, "admin", pw, "admin"), login(c, "bnv.lanhdao", pw), login(c, "bnv.vanthu", pw)

    def put(path: str, headers: dict[str, str], data: bytes):  # type: ignore[no-untyped-def]
        return c.put(path, headers=headers, data={"image": (io.BytesIO(data), "x.png")},
                     content_type="multipart/form-data")

    for bad in (_png("RGB"), _png("RGB", "JPEG"), b"not an image"):
        r = put("/api/v1/agencies/seal-image", admin, bad)
        assert r.status_code == 400 and r.get_json()["code"] == "bad_image" and r.get_json()["detail_vi"]
    good = _png()
    r = put("/api/v1/agencies/seal-image", admin, good)
    assert r.status_code == 200, r.get_json()
    sha = r.get_json()["sha256"]
    assert put("/api/v1/agencies/seal-image", clerk, good).status_code == 403
    r = put("/api/v1/agencies/users/bnv.lanhdao/signature-image", signer, good)
    assert r.status_code == 200
    assert put("/api/v1/agencies/users/bnv.capho/signature-image", signer, good).status_code == 403  # not yours
    assert put("/api/v1/agencies/users/nghean.lanhdao/signature-image", admin, good).status_code == 404
    with svc.db.reading() as s:
        assert s.execute(sa.select(Agency.seal_image_sha256).where(Agency.code == "000.00.00.G09")).scalar() == sha
        assert s.execute(sa.select(User.signature_image_sha256).where(User.username == "bnv.lanhdao")).scalar() == sha
        actions = [a for (a,) in s.execute(sa.select(LedgerEntry.action))]
    assert actions.count("seal_image_set") == 1 and actions.count("signature_image_set") == 1
