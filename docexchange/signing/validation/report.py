"""The verification report (interfaces.md, ``report_version`` "1") as dataclasses."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from dataclasses import field as _field
from typing import Any

# Indications, worst last (the overall indication is the worst of the signatures').
TOTAL_PASSED = "TOTAL_PASSED"
INDETERMINATE = "INDETERMINATE"
TOTAL_FAILED = "TOTAL_FAILED"
NO_SIGNATURE = "NO_SIGNATURE"
_RANK = {TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2}

MOD_LEVELS = ("NONE", "LTA_UPDATES", "FORM_FILLING", "ANNOTATIONS", "OTHER")

EXIT_CODES = {TOTAL_PASSED: 0, TOTAL_FAILED: 1, INDETERMINATE: 2, NO_SIGNATURE: 3}
EXIT_UNREADABLE = 4


def worst(indications: list[str]) -> str:
    return max(indications, key=lambda i: _RANK[i]) if indications else NO_SIGNATURE


def max_mod(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if MOD_LEVELS.index(a) >= MOD_LEVELS.index(b) else b


@dataclass
class Message:
    code: str
    vi: str
    en: str
    severity: str = "info"  # info | warning | error (extra key)


@dataclass
class SignerInfo:
    common_name: str = ""
    organization: str = ""
    subject: str = ""
    issuer: str = ""
    serial: str = ""
    is_organization_seal: bool = False
    certificate_sha256: str = ""
    organization_identifier: str = ""  # subject 2.5.4.97 (e.g. the agency code), when the CA puts it there


@dataclass
class TimestampInfo:
    time: str | None
    tsa: str
    valid: bool


@dataclass
class SignatureReport:
    field: str
    kind: str = "signature"  # signature | document_timestamp
    revision: int | None = None
    signer: SignerInfo | None = None
    signing_time: str | None = None
    timestamp: TimestampInfo | None = None
    level: str = "unknown"
    indication: str = INDETERMINATE
    subindication: str | None = None
    integrity: bool | None = None
    coverage: str | None = None
    modifications: str | None = None
    changes: list[dict[str, Any]] = _field(default_factory=list)
    visual_changes: list[dict[str, Any]] = _field(default_factory=list)
    messages: list[Message] = _field(default_factory=list)
    # extras (allowed by interfaces.md)
    byte_range: list[int] | None = None
    digest_algorithm: str | None = None
    trusted: bool | None = None
    revoked: bool | None = None
    flags: list[str] = _field(default_factory=list)
    changed_form_fields: list[str] = _field(default_factory=list)
    chain: list[str] = _field(default_factory=list)

    def add(self, code: str, vi: str, en: str, severity: str = "info") -> None:
        self.messages.append(Message(code, vi, en, severity))

    def flag(self, name: str) -> None:
        if name not in self.flags:
            self.flags.append(name)

    def fail(self, indication: str, sub: str | None) -> None:
        """Lower the verdict to ``indication`` / ``sub`` unless it is already as bad or worse."""
        if _RANK[indication] > _RANK[self.indication] or (
                indication == self.indication and self.subindication is None):
            self.indication, self.subindication = indication, sub


@dataclass
class FileInfo:
    name: str = ""
    sha256: str = ""
    size: int = 0
    pages: int | None = None
    revisions: int | None = None


@dataclass
class PolicyInfo:
    id: str = "docexchange-default"
    version: str = "1"
    trust_anchors: list[str] = _field(default_factory=list)
    offline: bool = False


@dataclass
class VerificationReport:
    file: FileInfo
    validation_time: str
    policy: PolicyInfo
    indication: str = NO_SIGNATURE
    signatures: list[SignatureReport] = _field(default_factory=list)
    report_version: str = "1"
    # extras
    subindication: str | None = None
    messages: list[Message] = _field(default_factory=list)
    readable: bool = True
    elapsed_ms: float | None = None

    @property
    def exit_code(self) -> int:
        """Exit status of ``docexchange verify`` (interfaces.md)."""
        if not self.readable:
            return EXIT_UNREADABLE
        return EXIT_CODES[self.indication]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        order = ["report_version", "file", "validation_time", "policy", "indication", "subindication", "signatures",
                 "messages", "readable", "elapsed_ms"]
        return {k: d[k] for k in order}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)
