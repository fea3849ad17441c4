"""Decree 30 geometry: the signature sits between the position line and the name; the red seal, at actual size,
covers about the left third of the signature image. Checked from the PDF's widget rectangles and the rendering."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

from docexchange.signing import SignOptions
from docexchange.signing.layout import MM, text_lines
from tests.signing.conftest import HEAD_NAME, SigningEnv

DPI = 144
S = DPI / 72.0


def _rects(path: Path) -> dict[str, tuple[float, float, float, float]]:
    with open(path, "rb") as fh:
        r = PdfFileReader(fh)
        out = {}
        for name, _value, ref in enumerate_sig_fields(r):
            rect = [float(v) for v in ref.get_object()["/Rect"]]
            out[name] = (rect[0], rect[1], rect[2], rect[3])
        return out


def _count(img: Image.Image, box: tuple[float, float, float, float], page_h: float, pred) -> int:  # type: ignore[no-untyped-def]
    x1, y1, x2, y2 = box
    crop = img.crop((int(x1 * S), int((page_h - y2) * S), int(x2 * S), int((page_h - y1) * S)))
    data = crop.tobytes()
    return sum(1 for i in range(0, len(data), 3) if pred(tuple(data[i:i + 3])))


def red(px: tuple[int, int, int]) -> bool:
    return px[0] > 150 and px[1] < 100 and px[2] < 100


def blue(px: tuple[int, int, int]) -> bool:
    return px[2] > 120 and px[0] < 110 and px[2] > px[0] + 60


def test_person_and_seal_geometry_and_rendering(signing_env: SigningEnv, tmp_path: Path, artifacts_dir: Path) -> None:
    env = signing_env
    p = tmp_path / "p.pdf"
    env.engine.sign(env.doc, p, env.person, "person", "B-B", SignOptions(image=env.signature_png))
    out = tmp_path / "ps.pdf"
    res = env.engine.sign(p, out, env.seal, "seal", "B-B", SignOptions(image=env.seal_png))
    rects = _rects(out)
    px1, py1, px2, py2 = rects["Person1"]
    sx1, sy1, sx2, sy2 = rects["Seal1"]
    pw = px2 - px1
    # signature between the position line and the name (last page text layer)
    lines, _, page_h = text_lines(out, 1)
    name = next(ln for ln in lines if HEAD_NAME in ln.text)
    position = next(ln for ln in lines if ln.text.strip() == "BỘ TRƯỞNG")
    assert name.box[3] <= py1 and py2 <= position.box[1]
    assert abs((px1 + px2) / 2 - (name.box[0] + name.box[2]) / 2) < 1.0  # centred on the name
    # seal: actual size 36 mm, right edge one third into the signature, same vertical centre
    assert abs((sx2 - sx1) - 36 * MM) < 0.5 and abs((sy2 - sy1) - 36 * MM) < 0.5
    overlap = min(sx2, px2) - max(sx1, px1)
    assert abs(overlap / pw - 1 / 3) < 0.02, overlap / pw
    assert abs((sy1 + sy2) / 2 - (py1 + py2) / 2) < 0.5
    assert res.box is not None and abs(res.box[2] - sx2) < 0.01
    # rendering: red seal pixels (also inside the overlap, the seal is on top), blue signature pixels on the right
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", str(out), str(tmp_path / "page")], check=True)
    png = tmp_path / "page.png"
    shutil.copy(png, artifacts_dir / "signing-person-seal.png")
    img = Image.open(png).convert("RGB")
    seal_only = (sx1, sy1, px1, sy2)
    overlap_box = (px1, max(sy1, py1), sx2, min(sy2, py2))
    sig_only = (sx2 + 2, py1, px2, py2)
    area = lambda b: (b[2] - b[0]) * (b[3] - b[1]) * S * S  # noqa: E731
    assert _count(img, seal_only, page_h, red) > 0.03 * area(seal_only)
    assert _count(img, overlap_box, page_h, red) > 0.01 * area(overlap_box)
    assert _count(img, sig_only, page_h, blue) > 0.005 * area(sig_only)
    assert _count(img, sig_only, page_h, red) == 0
    # nothing red outside the seal box
    assert _count(img, (0, 0, sx1 - 2, page_h), page_h, red) == 0


def test_seal_size_is_configurable(signing_env: SigningEnv, tmp_path: Path) -> None:
    env = signing_env
    p = tmp_path / "p.pdf"
    env.engine.sign(env.doc, p, env.person, "person", "B-B", SignOptions(image=env.signature_png))
    out = tmp_path / "ps.pdf"
    env.engine.sign(p, out, env.seal, "seal", "B-B", SignOptions(image=env.seal_png, seal_mm=42))
    sx1, _, sx2, _ = _rects(out)["Seal1"]
    assert abs((sx2 - sx1) - 42 * MM) < 0.5


def test_explicit_box_keeps_image_aspect(signing_env: SigningEnv, tmp_path: Path) -> None:
    env = signing_env
    out = tmp_path / "p.pdf"
    r = env.engine.sign(env.doc, out, env.person, "person", "B-B",
                        SignOptions(image=env.signature_png, page=1, box=(100, 100, 400, 200)))
    x1, y1, x2, y2 = _rects(out)["Person1"]
    assert r.page == 1
    assert abs((x2 - x1) / (y2 - y1) - 600 / 240) < 0.01  # demo signature PNG is 600x240
    assert abs((x1 + x2) / 2 - 250) < 0.01 and abs((y1 + y2) / 2 - 150) < 0.01
