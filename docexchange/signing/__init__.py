"""PAdES signing engine (Decree 30 profiles): see docs/signing.md. Domain code: no Flask imports.

The names below load on first use (PEP 562): importing a sub-package (``docexchange.signing.validation``, as the
``docexchange verify`` command does) must not pay for pyHanko's signers, aiohttp and fontTools."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import (
        AUTHORITY_MARKERS,
        COPY_FORMS,
        FieldPlan,
        InProcessTimeStamper,
        Level,
        Profile,
        SigningEngine,
        SignOptions,
        SignResult,
        WaitingTimeStamper,
        http_timestamper,
    )
    from .errors import CertificateRefused, RevocationUnavailable, SigningFailed, TsaUnavailable, WrongPin
    from .images import StampImage, prepare_stamp_image, validate_stamp_image
    from .keys import KeyHandle, KeyResolver, Pkcs11Uri, load_pkcs12_key, open_pkcs11_key
    from .layout import DEFAULT_SEAL_MM, person_box, seal_box, top_right_box

_WHERE = {
    **dict.fromkeys(["AUTHORITY_MARKERS", "COPY_FORMS", "FieldPlan", "InProcessTimeStamper", "Level", "Profile",
                     "SigningEngine", "SignOptions", "SignResult", "WaitingTimeStamper", "http_timestamper"], "engine"),
    **dict.fromkeys(["CertificateRefused", "RevocationUnavailable", "SigningFailed", "TsaUnavailable", "WrongPin"],
                    "errors"),
    **dict.fromkeys(["StampImage", "prepare_stamp_image", "validate_stamp_image"], "images"),
    **dict.fromkeys(["KeyHandle", "KeyResolver", "Pkcs11Uri", "load_pkcs12_key", "open_pkcs11_key"], "keys"),
    **dict.fromkeys(["DEFAULT_SEAL_MM", "person_box", "seal_box", "top_right_box"], "layout"),
}

__all__ = [
    "AUTHORITY_MARKERS", "COPY_FORMS", "DEFAULT_SEAL_MM", "CertificateRefused", "FieldPlan", "InProcessTimeStamper",
    "KeyHandle", "KeyResolver", "Level", "Pkcs11Uri", "Profile", "RevocationUnavailable", "SignOptions",
    "SignResult", "SigningEngine", "SigningFailed", "StampImage", "TsaUnavailable", "WaitingTimeStamper", "WrongPin",
    "http_timestamper",
    "load_pkcs12_key", "open_pkcs11_key", "person_box", "prepare_stamp_image", "seal_box", "top_right_box",
    "validate_stamp_image",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
