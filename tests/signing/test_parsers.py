"""Property tests for the small parsers: pkcs11: URIs and uploaded stamp images never fail other than with BadInput."""

from __future__ import annotations

import io
import urllib.parse

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from docexchange.errors import BadInput
from docexchange.signing import Pkcs11Uri, validate_stamp_image

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@given(token=names, obj=names, key_id=st.binary(min_size=1, max_size=8))
def test_pkcs11_uri_roundtrip(token: str, obj: str, key_id: bytes) -> None:
    q = urllib.parse.quote
    uri = f"pkcs11:token={q(token, safe='')};object={q(obj, safe='')};id={q(key_id, safe='')}?module-path=/x/y.so"
    parsed = Pkcs11Uri.parse(uri)
    assert (parsed.token, parsed.object, parsed.id, parsed.module) == (token, obj, key_id, "/x/y.so")


@given(st.text(max_size=80))
def test_pkcs11_uri_garbage_is_bad_input(text: str) -> None:
    try:
        Pkcs11Uri.parse(text)
    except BadInput as err:
        assert err.vi and err.en


def test_pkcs11_uri_refuses_pin_in_uri() -> None:
    import pytest

    with pytest.raises(BadInput):
        Pkcs11Uri.parse("pkcs11:token=t;object=o?pin-value=1234")


@settings(max_examples=60)
@given(st.binary(max_size=300))
def test_stamp_image_garbage_is_bad_input(data: bytes) -> None:
    try:
        validate_stamp_image(data)
    except BadInput as err:
        assert err.code == "bad_image"


@settings(max_examples=25)
@given(w=st.integers(8, 300), h=st.integers(8, 300), mode=st.sampled_from(["RGBA", "LA", "RGB", "L", "P"]))
def test_stamp_image_alpha_rule(w: int, h: int, mode: str) -> None:
    buf = io.BytesIO()
    Image.new(mode, (w, h)).save(buf, "PNG")
    if mode in ("RGBA", "LA"):
        assert validate_stamp_image(buf.getvalue()) == (w, h)
    else:
        try:
            validate_stamp_image(buf.getvalue())
            raise AssertionError("accepted a PNG without transparency")
        except BadInput as err:
            assert "trong suốt" in err.vi
