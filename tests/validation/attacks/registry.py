"""The red-team registry: one case = one small function building the attacked (or honest) PDF from the test PKI,
plus what the validation report must say about it. ``test_attacks.py`` runs every registered case.

To add a case, write a function in any ``cases_*.py`` module of this package::

    @case("pki_self_signed", "PKI", indication="INDETERMINATE", subindication="NO_CERTIFICATE_CHAIN_FOUND")
    def _(kit: Kit) -> bytes:
        return kit.sign(base_pdf(), some_identity)

and list it under its class in docs/validation.md ("Attack classes"); a case that stops holding fails the suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# class key → title (docs/validation.md, "Attack classes", has one entry per key)
CLASSES = {
    "ISA": "Incremental saving attack",
    "SWA": "Signature wrapping attack",
    "USF": "Universal signature forgery",
    "SHADOW": "Shadow attacks (hide, replace, hide-and-replace, form-field overlays)",
    "EAA": "Evil annotation attack",
    "SSA": "Sneaky signature attack",
    "TRAILING": "Objects after the last %%EOF",
    "PKI": "PKI misuse",
    "BENIGN": "Honest changes that must keep passing",
}


@dataclass(frozen=True)
class Expect:
    """What the report must say. ``indication`` is the file's; the other keys concern signature ``signature``
    (report order): its indication (default: the file's), subindication (one value or any of a tuple), the
    ``what`` codes that must be among its ``changes``, flags, message codes and modification level."""

    indication: str
    signature: int = 0
    sig_indication: str | None = None
    subindication: str | tuple[str, ...] | None = None
    changes: frozenset[str] = field(default_factory=frozenset)
    flags: frozenset[str] = field(default_factory=frozenset)
    messages: frozenset[str] = field(default_factory=frozenset)
    modifications: str | tuple[str, ...] | None = None
    absent_messages: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Case:
    id: str
    attack_class: str
    build: Callable[[Any], bytes]
    expect: Expect


CASES: list[Case] = []


def case(case_id: str, attack_class: str, *, indication: str, signature: int = 0, sig_indication: str | None = None,
         subindication: str | tuple[str, ...] | None = None, changes: tuple[str, ...] = (),
         flags: tuple[str, ...] = (), messages: tuple[str, ...] = (),
         modifications: str | tuple[str, ...] | None = None,
         absent_messages: tuple[str, ...] = ()) -> Callable[[Callable[[Any], bytes]], Callable[[Any], bytes]]:
    if attack_class not in CLASSES:
        raise ValueError(f"unknown attack class {attack_class!r} (add it to CLASSES and the docs)")
    if any(c.id == case_id for c in CASES):
        raise ValueError(f"duplicate case id {case_id!r}")

    def register(build: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
        CASES.append(Case(case_id, attack_class, build, Expect(
            indication, signature, sig_indication, subindication, frozenset(changes), frozenset(flags),
            frozenset(messages), modifications, frozenset(absent_messages))))
        return build
    return register


def check(exp: Expect, report: Any) -> list[str]:
    """Differences between ``exp`` and a ``VerificationReport`` (empty: the case holds)."""
    problems = []
    if report.indication != exp.indication:
        problems.append(f"indication {report.indication} != {exp.indication}")
    if not report.signatures or exp.signature >= len(report.signatures):
        return problems + [f"no signature #{exp.signature} in the report"]
    sig = report.signatures[exp.signature]
    want = exp.sig_indication or exp.indication
    if sig.indication != want:
        problems.append(f"signature indication {sig.indication} != {want}")
    if exp.subindication is not None:
        allowed = exp.subindication if isinstance(exp.subindication, tuple) else (exp.subindication,)
        if sig.subindication not in allowed:
            problems.append(f"subindication {sig.subindication} not in {allowed}")
    whats = {c.get("what") for c in sig.changes}
    if not exp.changes <= whats:
        problems.append(f"changes {sorted(exp.changes - whats)} missing from {sorted(w for w in whats if w)}")
    if not exp.flags <= set(sig.flags):
        problems.append(f"flags {sorted(exp.flags - set(sig.flags))} missing from {sig.flags}")
    codes = {m.code for m in sig.messages}
    if not exp.messages <= codes:
        problems.append(f"messages {sorted(exp.messages - codes)} missing from {sorted(codes)}")
    if exp.absent_messages & codes:
        problems.append(f"unexpected messages {sorted(exp.absent_messages & codes)}")
    if exp.modifications is not None:
        allowed = exp.modifications if isinstance(exp.modifications, tuple) else (exp.modifications,)
        if sig.modifications not in allowed:
            problems.append(f"modifications {sig.modifications} not in {allowed}")
    return problems


def load_all() -> list[Case]:
    """Import every ``cases_*`` module of this package (registering their cases) and return the registry."""
    import importlib
    import pkgutil
    from pathlib import Path

    for mod in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda m: m.name):
        if mod.name.startswith("cases_"):
            importlib.import_module(f"{__package__}.{mod.name}")
    return CASES
