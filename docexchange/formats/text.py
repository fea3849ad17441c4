"""Vietnamese text normalization: Unicode NFC, legacy TCVN3 (ABC) and VNI-Windows conversion, tidy whitespace.

Legacy text reaches us as Unicode strings whose code points are the legacy bytes read as Windows-1252/Latin-1
(e.g. ``"Céng hßa"`` for TCVN3, ``"Coäng hoøa"`` for VNI), or as raw bytes. Conversion is decided per field:
a field is treated as legacy only when it contains a *marker* (a character the legacy encoding uses that never
occurs in Vietnamese Unicode text), so real Unicode and plain ASCII are never touched. Within such a field
each word is decided on its own, so a field mixing Unicode and TCVN3 words comes out entirely Unicode.

TCVN3 (VN3, the ABC fonts) has no code for upper-case letters with a tone mark: ABC wrote them with the
lower-case code in an upper-case font (".VnTimeH"). Those letters therefore decode to lower case; every other
letter (all lower case, Ă Â Ê Ô Ơ Ư Đ and ASCII) round-trips exactly. VNI-Windows covers both cases fully.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "Normalization",
    "TextResult",
    "VIETNAMESE_LETTERS",
    "decode_bytes",
    "detect_encoding",
    "encode_tcvn3",
    "encode_vni",
    "from_tcvn3",
    "from_vni",
    "normalize_field",
    "normalize_text",
]

# ---------------------------------------------------------------------------------------------------------
# The alphabet
_TONES = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")  # none, grave, hook, tilde, acute, dot below
_VOWELS = "aăâeêioôơuưy"


def _compose(base: str, tone: str) -> str:
    return unicodedata.normalize("NFC", base + tone)


#: (letter) -> (toneless base letter, tone index 0..5) for all Vietnamese vowels with tones, both cases.
_LETTER_INFO: dict[str, tuple[str, int]] = {}
for _v in _VOWELS:
    for _case in (_v, _v.upper()):
        for _i, _t in enumerate(_TONES):
            _LETTER_INFO[_compose(_case, _t)] = (_case, _i)

#: The Vietnamese alphabet in both cases: ASCII a-z A-Z, the vowels with every tone, đ, Đ.
VIETNAMESE_LETTERS: frozenset[str] = frozenset(
    set(_LETTER_INFO) | {"đ", "Đ"} | set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
)

# ---------------------------------------------------------------------------------------------------------
# TCVN3 (ABC, TCVN 5712:1993 VN3): byte -> letter. Tone order in each row: grave, hook, tilde, acute, dot.
_TCVN3_ROWS: dict[str, tuple[int | None, tuple[int, int, int, int, int]]] = {
    "a": (None, (0xB5, 0xB6, 0xB7, 0xB8, 0xB9)),
    "ă": (0xA8, (0xBB, 0xBC, 0xBD, 0xBE, 0xC6)),
    "â": (0xA9, (0xC7, 0xC8, 0xC9, 0xCA, 0xCB)),
    "e": (None, (0xCC, 0xCE, 0xCF, 0xD0, 0xD1)),
    "ê": (0xAA, (0xD2, 0xD3, 0xD4, 0xD5, 0xD6)),
    "i": (None, (0xD7, 0xD8, 0xDC, 0xDD, 0xDE)),
    "o": (None, (0xDF, 0xE1, 0xE2, 0xE3, 0xE4)),
    "ô": (0xAB, (0xE5, 0xE6, 0xE7, 0xE8, 0xE9)),
    "ơ": (0xAC, (0xEA, 0xEB, 0xEC, 0xED, 0xEE)),
    "u": (None, (0xEF, 0xF1, 0xF2, 0xF3, 0xF4)),
    "ư": (0xAD, (0xF5, 0xF6, 0xF7, 0xF8, 0xF9)),
    "y": (None, (0xFA, 0xFB, 0xFC, 0xFD, 0xFE)),
}
_TCVN3_DECODE: dict[str, str] = {"\xae": "đ", "\xa7": "Đ", "\xa1": "Ă", "\xa2": "Â", "\xa3": "Ê", "\xa4": "Ô",
                                 "\xa5": "Ơ", "\xa6": "Ư"}
for _base, (_plain, _toned) in _TCVN3_ROWS.items():
    if _plain is not None:
        _TCVN3_DECODE[chr(_plain)] = _base
    for _i, _code in enumerate(_toned, start=1):
        _TCVN3_DECODE[chr(_code)] = _compose(_base, _TONES[_i])
_TCVN3_ENCODE: dict[str, str] = {v: k for k, v in _TCVN3_DECODE.items()}
# Upper-case toned letters: the lower-case code (ABC rendered them with an upper-case font).
for _letter, (_b, _i) in _LETTER_INFO.items():
    if _letter not in _TCVN3_ENCODE and _letter.isupper() and _i:
        _TCVN3_ENCODE[_letter] = _TCVN3_ENCODE[_letter.lower()]
_TCVN3_TABLE = str.maketrans(_TCVN3_DECODE)

# ---------------------------------------------------------------------------------------------------------
# VNI-Windows: letter = ASCII base (or a single code for ơ ư đ and some i/y forms) + mark characters.
_VNI_TONE_MARKS = ("", "ø", "û", "õ", "ù", "ï")  # grave, hook, tilde, acute, dot (upper case: .upper())
_VNI_CIRC_MARKS = ("â", "à", "å", "ã", "á", "ä")  # â ê ô with none/grave/hook/tilde/acute/dot
_VNI_BREVE_MARKS = ("ê", "è", "ú", "ü", "é", "ë")  # ă with none/grave/hook/tilde/acute/dot
_VNI_I = ("i", "ì", "æ", "ó", "í", "ò")
_VNI_ENCODE: dict[str, str] = {"đ": "ñ", "Đ": "Ñ"}


def _vni_add(base: str, tone: int, code: str) -> None:
    _VNI_ENCODE[_compose(base, _TONES[tone])] = code
    _VNI_ENCODE[_compose(base.upper(), _TONES[tone])] = code.upper()


for _i in range(6):
    for _b in "aeouy":
        if not (_b == "y" and _i == 5):
            _vni_add(_b, _i, _b + _VNI_TONE_MARKS[_i])
    for _b, _ascii in (("â", "a"), ("ê", "e"), ("ô", "o")):
        _vni_add(_b, _i, _ascii + _VNI_CIRC_MARKS[_i])
    _vni_add("ă", _i, "a" + _VNI_BREVE_MARKS[_i])
    _vni_add("ơ", _i, "ô" + _VNI_TONE_MARKS[_i])
    _vni_add("ư", _i, "ö" + _VNI_TONE_MARKS[_i])
    _vni_add("i", _i, _VNI_I[_i])
_vni_add("y", 5, "î")
_VNI_DECODE: dict[str, str] = {v: k for k, v in _VNI_ENCODE.items() if v != k}
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(_VNI_DECODE, key=len, reverse=True)))

# ---------------------------------------------------------------------------------------------------------
# Markers: characters each legacy encoding uses that never appear in Vietnamese Unicode text.
_TCVN3_MARKERS = frozenset(_TCVN3_DECODE) - VIETNAMESE_LETTERS
_VNI_MARKERS = frozenset("".join(_VNI_DECODE)) - VIETNAMESE_LETTERS
_TCVN3_MARKER_RE = re.compile("[" + re.escape("".join(sorted(_TCVN3_MARKERS))) + "]")
_VNI_MARKER_RE = re.compile("[" + re.escape("".join(sorted(_VNI_MARKERS))) + "]")
_HIGH_LATIN1_RE = re.compile("[\u0080-\u00ff]")
_BEYOND_LATIN1_RE = re.compile("[^\u0000-\u00ff]")
_WORD_RE = re.compile(r"\S+")
# "vÒ": a capital right after a small letter is not Unicode prose (TCVN3 "về").
_ODD_CASE_RE = re.compile(r"[a-z][\u00c0-\u00de]")
_LETTERS_RE = re.compile(r"[^\W\d_]+")

_NUCLEI = (
    "a ă â e ê i o ô ơ u ư y ai ao au ay âu ây eo êu ia iê iu oa oă oe oi ôi ơi oo ua uâ uê ui uô uơ uy "
    "ưa ưi ươ ưu yê iêu yêu oai oay oeo uây uôi ươi ươu uya uyê uyu"
).split()
_SYLLABLE_RE = re.compile(
    r"(ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdđghklmnpqrstvx])?("
    + "|".join(sorted(_NUCLEI, key=len, reverse=True))
    + r")(ch|ng|nh|[cmnpt])?"
)


# Nuclei on whose last vowel a tone mark never sits (falling diphthongs, triphthongs, ia/ua/ưa).
_NO_FINAL_TONE = frozenset(n for n in _NUCLEI if len(n) >= 2 and n not in ("uy", "oo", "oa", "oă", "oe", "uâ",
                                                                          "uê", "uô", "uơ", "iê", "yê", "ươ"))


@lru_cache(maxsize=65536)
def _is_syllable(word: str) -> bool:
    """True when ``word`` (letters only) is shaped like a Vietnamese syllable with at most one tone,
    placed where Vietnamese can place it."""
    tones = 0
    tone_at = -1
    bases = []
    for pos, ch in enumerate(word.lower()):
        info = _LETTER_INFO.get(ch)
        if info is None:
            bases.append(ch)
        else:
            bases.append(info[0])
            if info[1]:
                tones += 1
                tone_at = pos
    if tones > 1:
        return False
    m = _SYLLABLE_RE.fullmatch("".join(bases))
    if m is None:
        return False
    initial, first = m.group(1), m.group(2)[0]
    if initial in ("ngh", "gh", "k") and first not in "ieêy" or initial in ("ng", "c") and first in "ieê":
        return False  # Vietnamese spelling: ngh/gh/k only before i e ê (y), ng/c never before them
    return not (tone_at == m.end(2) - 1 and m.group(2) in _NO_FINAL_TONE)


@lru_cache(maxsize=65536)
def _all_syllables(text: str) -> bool:
    parts = _LETTERS_RE.findall(text)
    return bool(parts) and all(_is_syllable(p) for p in parts)


# ---------------------------------------------------------------------------------------------------------
def from_tcvn3(value: str) -> str:
    """Decode a whole string as TCVN3 (code points = legacy bytes); no detection."""
    return value.translate(_TCVN3_TABLE)


def from_vni(value: str) -> str:
    """Decode a whole string as VNI-Windows (code points = legacy bytes); no detection."""
    return _VNI_RE.sub(lambda m: _VNI_DECODE[m.group(0)], value)


def encode_tcvn3(value: str) -> str:
    """Unicode -> TCVN3 code points (upper-case toned letters become their lower-case codes)."""
    value = unicodedata.normalize("NFC", value)
    return "".join(_TCVN3_ENCODE.get(ch, ch) for ch in value)


def encode_vni(value: str) -> str:
    """Unicode -> VNI-Windows code points."""
    value = unicodedata.normalize("NFC", value)
    return "".join(_VNI_ENCODE.get(ch, ch) for ch in value)


def decode_bytes(data: bytes) -> str:
    """Raw bytes from a legacy system: UTF-8 if valid, otherwise Windows-1252 (Latin-1 for its holes).

    The result still needs ``normalize_text``/``normalize_field`` to turn legacy TCVN3/VNI into Unicode."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _cp1252(data)


def _cp1252(data: bytes) -> str:
    out = data.decode("latin-1")
    # Re-map the 0x80-0x9F range the way Windows does where it defines a character.
    return out.translate(_CP1252_FIX)


_CP1252_FIX = {
    b: bytes([b]).decode("cp1252") for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}


# ---------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=262144)
def _word(word: str, kind: str) -> tuple[str, str, bool, bool, int]:
    """Per-word facts, cached (Vietnamese text is made of a few thousand distinct syllables):
    (class, decoded, decoded reads as Vietnamese, plausible as Unicode, caps). Classes: A ASCII, U real
    Unicode (beyond Latin-1), L carries a marker of ``kind``, ? ambiguous (letters valid in Unicode too,
    e.g. "héi" = TCVN3 "hội"). caps: -1 if any lower-case ASCII letter, else the count of upper-case ones."""
    caps = 0
    for ch in word:
        if "a" <= ch <= "z":
            caps = -1
            break
        caps += "A" <= ch <= "Z"
    if word.isascii():
        return "A", word, False, True, caps
    if _BEYOND_LATIN1_RE.search(word):
        return "U", word, False, True, caps
    markers = _TCVN3_MARKER_RE if kind == "tcvn3" else _VNI_MARKER_RE
    decoded = from_tcvn3(word) if kind == "tcvn3" else from_vni(word)
    cls = "L" if markers.search(word) else "?"
    plausible = _all_syllables(word) and not _ODD_CASE_RE.search(word)
    return cls, decoded, _all_syllables(decoded), plausible, caps


def _legacy_kind(value: str) -> str | None:
    """Which legacy encoding the field shows evidence of (markers), or None."""
    t = _TCVN3_MARKER_RE.search(value) is not None
    v = _VNI_MARKER_RE.search(value) is not None
    if not (t or v):
        return None
    # Score each candidate by how many of its marked words decode to Vietnamese syllables; a field counts as
    # legacy only if at least half of them do (so "Müller" or "straße" in Unicode text is left alone).
    best: str | None = None
    best_score = 0
    words = value.split()
    for kind, seen in (("tcvn3", t), ("vni", v)):
        if not seen:
            continue
        marked = good = 0
        for w in words:
            cls, _, ok, _, _ = _word(w, kind)
            if cls == "L":
                marked += 1
                good += ok
        if marked and 2 * good >= marked and good > best_score:
            best, best_score = kind, good
    return best


def _convert_legacy(value: str, kind: str) -> tuple[str, bool]:
    """Convert the legacy words of ``value``; returns (text, whether any Unicode word was kept).

    In a field without Unicode words every ambiguous (?) word is legacy; in a mixed field a ? word is
    converted when its nearest non-ASCII neighbours are all legacy and it then reads as Vietnamese
    syllables, or when it is not Vietnamese as Unicode but is once decoded."""
    words = value.split(" ")
    info = [_word(w, kind) for w in words]
    classes = [i[0] for i in info]
    mixed = "U" in classes
    if mixed:
        for i, c in enumerate(classes):
            if c != "?":
                continue
            near = [x for x in classes[i + 1:] if x in "UL"][:1]
            near += [x for x in reversed(classes[:i]) if x in "UL"][:1]
            _, _, ok, plausible, _ = info[i]
            if ok and ((near and set(near) == {"L"}) or not plausible):
                classes[i] = "L"
    out = []
    last = len(words) - 1
    for i, c in enumerate(classes):
        if c == "A" or c == "U" or (c == "?" and mixed):
            out.append(words[i])
            continue
        decoded = info[i][1]
        caps = info[i][4]
        if kind == "tcvn3" and caps > 0:
            # ABC typed capitals with lower-case codes in an upper-case font: restore all-caps words.
            neighbours = [info[j][4] for j in (i - 1, i + 1) if 0 <= j <= last]
            if caps >= 2 or (neighbours and all(n >= 2 for n in neighbours)):
                decoded = decoded.upper()
        out.append(decoded)
    return " ".join(out), mixed


# Invisible junk: C0 controls other than tab/newline/CR, DEL, zero-width characters and the BOM.
_INVISIBLE_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_SPACE_BEFORE_RE = re.compile(r" +([,;:!?)\]}])")
_SPACE_AFTER_RE = re.compile(r"([(\[{]) +")
_INLINE_WS_RE = re.compile(r"[^\S\n]+")


def _tidy(value: str, multiline: bool) -> str:
    value = _INVISIBLE_RE.sub("", value)
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        lines = [_INLINE_WS_RE.sub(" ", line).strip() for line in value.split("\n")]
        value = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    else:
        value = " ".join(value.split())
    value = _SPACE_BEFORE_RE.sub(r"\1", value)
    return _SPACE_AFTER_RE.sub(r"\1", value)


@dataclass(frozen=True)
class Normalization:
    """One recorded change to an incoming value (serialized as ``{"field", "from", "to"}``)."""

    field: str
    from_: str
    to: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "from": self.from_, "to": self.to}


@dataclass(frozen=True)
class TextResult:
    """A normalized value and what was done to it.

    ``encoding`` is what the input was: ascii | unicode | tcvn3 | vni | mixed-tcvn3 | mixed-vni.
    ``steps`` names the changes applied, in order: ``legacy:<kind>``, ``nfc``, ``whitespace``."""

    value: str
    original: str
    encoding: str
    steps: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.value != self.original

    def normalization(self, field: str) -> Normalization | None:
        return Normalization(field, self.original, self.value) if self.changed else None


def _normalize(value: str, multiline: bool) -> TextResult:
    steps: list[str] = []
    if value.isascii():
        text = _tidy(value, multiline)
        if text != value:
            steps.append("whitespace")
        return TextResult(text, value, "ascii", tuple(steps))
    text = _INVISIBLE_RE.sub("", value)  # invisible junk first: it would split words
    cleaned = text != value
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text:
        steps.append("nfc")
    text = nfc
    encoding = "unicode"
    kind = _legacy_kind(text)
    if kind is not None:
        # Split on any whitespace run first so word decisions see clean words.
        converted, mixed = _convert_legacy(" ".join(text.split()) if not multiline else text, kind)
        converted = unicodedata.normalize("NFC", converted)
        encoding = f"mixed-{kind}" if mixed else kind
        if converted != text:
            steps.append(f"legacy:{kind}")
        text = converted
    tidy = _tidy(text, multiline)
    if tidy != text or cleaned:
        steps.append("whitespace")
    return TextResult(tidy, value, encoding, tuple(steps))


def normalize_field(value: str | bytes, *, multiline: bool = False) -> TextResult:
    """Normalize one metadata/edXML text value and report what changed.

    ``bytes`` are decoded with ``decode_bytes`` first. ``multiline`` keeps line breaks (body text)."""
    if isinstance(value, bytes):
        value = decode_bytes(value)
    return _normalize(value, multiline)


def normalize_text(value: str, *, multiline: bool = False) -> str:
    """Return ``value`` as clean Unicode NFC (legacy encodings converted, whitespace tidied)."""
    return _normalize(value, multiline).value


def detect_encoding(value: str | bytes) -> str:
    """ascii | unicode | tcvn3 | vni | mixed-tcvn3 | mixed-vni (see ``TextResult.encoding``)."""
    return normalize_field(value).encoding
