"""PAdES signing engine (Decree 30 profiles): see docs/signing.md. Domain code: no Flask imports."""

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

__all__ = [
    "AUTHORITY_MARKERS", "COPY_FORMS", "DEFAULT_SEAL_MM", "CertificateRefused", "FieldPlan", "InProcessTimeStamper",
    "KeyHandle", "KeyResolver", "Level", "Pkcs11Uri", "Profile", "RevocationUnavailable", "SignOptions",
    "SignResult", "SigningEngine", "SigningFailed", "StampImage", "TsaUnavailable", "WaitingTimeStamper", "WrongPin",
    "http_timestamper",
    "load_pkcs12_key", "open_pkcs11_key", "person_box", "prepare_stamp_image", "seal_box", "top_right_box",
    "validate_stamp_image",
]
