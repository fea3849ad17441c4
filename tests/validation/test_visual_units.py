"""Units of the covering check and the trailing-bytes scan (the attack corpus exercises them end to end)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from docexchange.signing.validation import visual
from docexchange.signing.validation.rawchecks import trailing_bytes

A4 = (0.0, 0.0, 595.0, 842.0)


def test_trailing_bytes() -> None:
    base = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer<<>>\n%%EOF"
    assert trailing_bytes(base) == (0, False)
    assert trailing_bytes(base + b"\r\n\0\0  \n") == (0, False)
    assert trailing_bytes(base + b"\n% a comment\n") == (11, False)
    assert trailing_bytes(base + b"\n7 0 obj\n(x)\nendobj\n") == (18, True)
    assert trailing_bytes(b"no marker at all") == (0, False)


@given(st.binary(max_size=200))
def test_trailing_bytes_never_raises_and_counts_the_tail(tail: bytes) -> None:
    base = b"%PDF-1.7\n%%EOF\n"
    count, objects = trailing_bytes(base + tail)
    assert 0 <= count <= len(tail) + 1
    if objects:
        assert b"obj" in tail


def test_to_pixels_follows_page_rotation() -> None:
    r = (100.0, 700.0, 200.0, 742.0)
    assert visual.to_pixels(r, A4, 0, 72) == (100.0, 100.0, 200.0, 142.0)
    # rotated 90° clockwise: the page's bottom-left corner is the image's top-left
    assert visual.to_pixels(r, A4, 90, 72) == (700.0, 100.0, 742.0, 200.0)
    assert visual.to_pixels(r, A4, 180, 72) == (395.0, 700.0, 495.0, 742.0)
    assert visual.to_pixels(r, A4, 270, 72) == (100.0, 395.0, 142.0, 495.0)


def _page(*boxes: tuple[int, int, int, int], fill: int = 0) -> Image.Image:
    im = Image.new("L", (595, 842), 255)
    d = ImageDraw.Draw(im)
    for b in boxes:
        d.rectangle(b, fill=fill)
    return im


def test_covered_counts_only_document_content_that_changed() -> None:
    rect = (100.0, 700.0, 300.0, 742.0)  # pixels x 100..300, y 100..142
    signed = _page((120, 110, 160, 130))                    # document text inside the widget
    assert visual.covered(signed, signed, None, rect, A4, 0, 72)[0] == 0
    hidden, ink = visual.covered(signed, _page(), None, rect, A4, 0, 72)  # white box drawn over it
    assert hidden == ink > 0
    # drawing into the blank part of the widget hides nothing
    assert visual.covered(signed, _page((120, 110, 160, 130), (200, 110, 280, 130)), None, rect, A4, 0, 72)[0] == 0
    # an earlier signature's stamp (absent from the content rendering) may be overdrawn
    stamp = _page((200, 110, 280, 130))
    assert visual.covered(stamp, _page(), _page(), rect, A4, 0, 72)[0] == 0


def test_auditor_comparison_shows_pages_with_covered_content() -> None:
    from docexchange.web.views.audit import _compare

    sig = {"field": "Sig1", "byte_range": [0, 10, 30, 70], "visual_changes": [],
           "changes": [{"what": "field_filled", "field": "SoTien"},
                       {"what": "content_covered", "page": 2, "box": [60, 640, 360, 664], "field": "SoTien"}]}
    [entry] = _compare({"signatures": [sig]})
    assert (entry["field"], entry["end"], entry["pages"]) == ("Sig1", 100, [2])
    assert _compare({"signatures": [{**sig, "changes": []}]}) == []
