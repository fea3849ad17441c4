"""Vietnamese text normalization: TCVN3/VNI tables letter by letter, detection, mixed fields, properties."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docexchange.formats import text as t
from docexchange.formats.text import (
    VIETNAMESE_LETTERS,
    decode_bytes,
    detect_encoding,
    encode_tcvn3,
    encode_vni,
    from_tcvn3,
    from_vni,
    normalize_field,
    normalize_text,
)

NON_ASCII_LETTERS = sorted(ch for ch in VIETNAMESE_LETTERS if not ch.isascii())
LOWER = [ch for ch in NON_ASCII_LETTERS if ch.islower()]
UPPER = [ch for ch in NON_ASCII_LETTERS if ch.isupper()]
SENTENCE = ("Cộng hòa xã hội chủ nghĩa Việt Nam. Độc lập - Tự do - Hạnh phúc. "
            "QUYẾT ĐỊNH Về việc ban hành quy chế")


def test_alphabet_size() -> None:
    # 12 vowels x 5 tones + 5 toneless non-ASCII vowels (ă â ê ô ơ ư is 6) + đ, in each case = 67 x 2
    assert len(LOWER) == 67 and len(UPPER) == 67
    assert all(unicodedata.is_normalized("NFC", ch) for ch in NON_ASCII_LETTERS)


@pytest.mark.parametrize("letter", LOWER + ["Ă", "Â", "Ê", "Ô", "Ơ", "Ư", "Đ"])
def test_tcvn3_round_trip_every_letter(letter: str) -> None:
    encoded = encode_tcvn3(letter)
    assert len(encoded) == 1 and 0xA1 <= ord(encoded) <= 0xFE
    assert from_tcvn3(encoded) == letter
    # The byte form decodes the same way (raw bytes from a legacy system).
    assert from_tcvn3(decode_bytes(encoded.encode("latin-1"))) == letter


@pytest.mark.parametrize("letter", [u for u in UPPER if u not in "ĂÂÊÔƠƯĐ"])
def test_tcvn3_upper_case_toned_letters_use_lower_case_code(letter: str) -> None:
    # TCVN3 (VN3) has no code for these: ABC used the lower-case code in an upper-case font.
    assert encode_tcvn3(letter) == encode_tcvn3(letter.lower())
    assert from_tcvn3(encode_tcvn3(letter)) == letter.lower()
    # ... and inside an all-caps word the case is restored (when the word is recognizably TCVN3: a few codes,
    # e.g. 0xCC for "è", are also Vietnamese Unicode letters and a lone such word stays as it is).
    word = encode_tcvn3(f"NH{letter}NG")
    if t._TCVN3_MARKER_RE.search(word):
        assert normalize_text(word) == f"NH{letter}NG"
    else:
        assert normalize_text(word) == word


def test_tcvn3_codes_are_unique() -> None:
    codes = [encode_tcvn3(ch) for ch in LOWER + ["Ă", "Â", "Ê", "Ô", "Ơ", "Ư", "Đ"]]
    assert len(set(codes)) == len(codes) == 74


@pytest.mark.parametrize("letter", NON_ASCII_LETTERS)
def test_vni_round_trip_every_letter(letter: str) -> None:
    encoded = encode_vni(letter)
    assert encoded != letter or letter in "íìÍÌ"  # í ì happen to share their VNI code point
    assert all(ord(c) <= 0xFF for c in encoded)
    assert from_vni(encoded) == letter
    assert from_vni(decode_bytes(encoded.encode("cp1252"))) == letter
    # In context (a phrase), the detector finds VNI and decodes the letter.
    phrase = "Cộng hòa Việt Nam nh" + letter + "ng"
    assert normalize_text(encode_vni(phrase)) == phrase


def test_known_legacy_strings() -> None:
    assert normalize_text("Céng hßa x· héi chñ nghÜa ViÖt Nam") == "Cộng hòa xã hội chủ nghĩa Việt Nam"
    assert normalize_text("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam") == "Cộng hòa xã hội chủ nghĩa Việt Nam"
    assert detect_encoding("Céng hßa x· héi chñ nghÜa ViÖt Nam") == "tcvn3"
    assert detect_encoding("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam") == "vni"


@pytest.mark.parametrize("encode,kind", [(encode_tcvn3, "tcvn3"), (encode_vni, "vni")])
def test_sentence_round_trip(encode, kind) -> None:  # type: ignore[no-untyped-def]
    legacy = encode(SENTENCE)
    assert legacy != SENTENCE
    result = normalize_field(legacy)
    assert result.value == SENTENCE
    assert result.encoding == kind
    assert f"legacy:{kind}" in result.steps
    assert result.normalization("subject").as_dict() == {"field": "subject", "from": legacy, "to": SENTENCE}


@pytest.mark.parametrize("encode,kind", [(encode_tcvn3, "tcvn3"), (encode_vni, "vni")])
def test_mixed_legacy_and_unicode_in_one_field(encode, kind) -> None:  # type: ignore[no-untyped-def]
    for mixed in (
        "Cộng hòa " + encode("xã hội chủ nghĩa") + " Việt Nam",
        encode("Cộng hòa xã hội") + " chủ nghĩa Việt Nam",
        "Số: 05/QĐ-UBND " + encode("về việc tăng cường quản lý"),
    ):
        result = normalize_field(mixed)
        expected = mixed.replace(encode("xã hội chủ nghĩa"), "xã hội chủ nghĩa").replace(
            encode("Cộng hòa xã hội"), "Cộng hòa xã hội").replace(
            encode("về việc tăng cường quản lý"), "về việc tăng cường quản lý")
        assert result.value == expected
        assert result.encoding == f"mixed-{kind}"


def test_unicode_and_ascii_untouched() -> None:
    for value in (SENTENCE, "Quyết định số 15/QĐ-BNV", "Hello, world", "Ủy ban nhân dân tỉnh Ninh Bình",
                  "Naïve café über straße"):
        r = normalize_field(value)
        assert r.value == value and not r.changed and r.steps == ()
    assert detect_encoding("plain ascii") == "ascii"
    assert detect_encoding(SENTENCE) == "unicode"


def test_nfc_and_whitespace() -> None:
    nfd = unicodedata.normalize("NFD", SENTENCE)
    r = normalize_field("  " + nfd + "\u200b\t\n")
    assert r.value == SENTENCE and r.steps == ("nfc", "whitespace")
    assert normalize_text("Số :  05/QĐ-UBND ( bản chính ) ,tr. 2") == "Số: 05/QĐ-UBND (bản chính),tr. 2"
    assert normalize_text("Dòng 1  \r\n\r\n\r\n  Dòng   2", multiline=True) == "Dòng 1\n\nDòng 2"


def test_bytes_input() -> None:
    assert normalize_field(SENTENCE.encode("utf-8")).value == SENTENCE
    assert normalize_field(encode_tcvn3(SENTENCE).encode("latin-1")).value == SENTENCE
    assert normalize_field(encode_vni(SENTENCE).encode("cp1252")).value == SENTENCE


vn_text = st.text(alphabet=st.sampled_from(sorted(VIETNAMESE_LETTERS) + list("0123456789 .,-/:()")),
                  max_size=80)


@settings(max_examples=400, deadline=None)
@given(vn_text)
def test_property_real_unicode_never_mangled(value: str) -> None:
    r = normalize_field(value)
    assert r.encoding in ("ascii", "unicode")
    assert r.value == t._tidy(value, False)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80))
def test_property_ascii_only_whitespace(value: str) -> None:
    r = normalize_field(value)
    assert r.encoding == "ascii"
    assert r.value == t._tidy(value, False)
    assert r.value.replace(" ", "") == value.replace(" ", "")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(LOWER + list("bcdghklmnpqrstvx")), min_size=1, max_size=7),
                min_size=1, max_size=8))
def test_property_vni_round_trip_words(words: list[str]) -> None:
    value = " ".join(words)
    encoded = encode_vni(value)
    assert from_vni(encoded) == value


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_property_idempotent_and_nfc(value: str) -> None:
    once = normalize_text(value)
    assert unicodedata.is_normalized("NFC", once)
    assert normalize_text(once) == once
