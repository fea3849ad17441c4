"""Vietnamese text normalization (NFC, legacy TCVN3/VNI detection). Placeholder: NFC only, final signature."""

from __future__ import annotations

import unicodedata


def normalize_text(value: str) -> str:
    """Return ``value`` as clean Unicode NFC (legacy encodings converted, whitespace tidied)."""
    return " ".join(unicodedata.normalize("NFC", value).split())
