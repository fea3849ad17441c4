"""The verification engine under hostile input: byte mutations of a real PAdES B-LT signed PDF (signed with
the dev PKI of the live node), crafted PDF bombs, piles of incremental updates. Guarantees: always a report
(never an exception), bounded time and memory, and never TOTAL_PASSED once a signed byte has changed."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docexchange.signing import SignOptions
from docexchange.signing.validation import ValidationPolicy, validate_pdf
from docexchange.signing.validation.report import INDETERMINATE, NO_SIGNATURE, TOTAL_FAILED, TOTAL_PASSED
from tests.signing.conftest import SigningEnv

from . import _corpus as C
from ._guard import bounded

SECONDS, RSS_MIB = 30.0, 400
VERDICTS = {TOTAL_PASSED, TOTAL_FAILED, INDETERMINATE, NO_SIGNATURE}


@pytest.fixture(scope="module")
def signed(signing_env: SigningEnv, tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, ValidationPolicy]:
    out = tmp_path_factory.mktemp("hostile-signed") / "signed.pdf"
    signing_env.engine.sign(signing_env.doc, out, signing_env.seal, "attachment", "B-LT",
                            SignOptions(text="15/QĐ-BNV"))
    policy = ValidationPolicy(offline=True, trust_anchors=signing_env.roots, visual_check=False)
    data = out.read_bytes()
    assert validate_pdf(data, policy).indication == TOTAL_PASSED  # the baseline every mutation starts from
    return data, policy


def byte_ranges(data: bytes) -> list[tuple[int, int]]:
    a, b, c, d = (int(x) for x in re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", data).groups())  # type: ignore[union-attr]
    return [(a, a + b), (c, c + d)]


def check(data: bytes, policy: ValidationPolicy, label: str) -> str:
    with bounded(label, SECONDS, RSS_MIB):
        report = validate_pdf(data, policy, name="fuzz.pdf")
    assert report.indication in VERDICTS
    json.loads(report.to_json())  # always a complete, serializable report
    return report.indication


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), where=st.floats(0, 1, exclude_max=True))
def test_changed_signed_byte_never_passes(signed: tuple[bytes, ValidationPolicy], seed: int, where: float) -> None:
    data, policy = signed
    (a0, a1), (b0, b1) = byte_ranges(data)
    covered = (a1 - a0) + (b1 - b0)
    k = int(where * covered)
    pos = a0 + k if k < a1 - a0 else b0 + (k - (a1 - a0))
    buf = bytearray(data)
    buf[pos] = (buf[pos] + 1 + random.Random(seed).randrange(255)) % 256
    assert check(bytes(buf), policy, "verify:signed-byte") != TOTAL_PASSED, pos


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_signed_pdf(signed: tuple[bytes, ValidationPolicy], seed: int) -> None:
    data, policy = signed
    mutated = C.mutate(data, seed)
    verdict = check(mutated, policy, "verify:mutated")
    end = byte_ranges(data)[1][1]
    if mutated[:end] != data[:end] and verdict == TOTAL_PASSED:
        # only an edit confined to the signature's /Contents hex gap may leave the verdict intact
        (a0, a1), (b0, b1) = byte_ranges(data)
        assert mutated[:a1] == data[:a1] and mutated[b0 - len(data) + len(mutated):] == data[b0:], seed


@pytest.mark.parametrize("name", ["deep_array_nesting", "deep_dict_nesting", "flate_bomb_512mb",
                                  "objstm_200k_objects", "revisions_3000", "xref_prev_loop", "page_tree_cycle",
                                  "zip_bomb_named_pdf", "truncated_pdf", "null_bytes", "empty"])
def test_crafted_pdf_bombs(name: str, signed: tuple[bytes, ValidationPolicy]) -> None:
    data, _ = C.pdf_cases()[name]()
    assert check(data, signed[1], f"verify:{name}") in (NO_SIGNATURE, INDETERMINATE, TOTAL_FAILED)


def test_signed_pdf_buried_under_revisions(signed: tuple[bytes, ValidationPolicy], tmp_path: Path) -> None:
    """300 empty incremental updates after the signature (more than max_revisions): refused, not walked."""
    data, policy = signed
    out = bytearray(data)
    prev = int(data[data.rindex(b"startxref") + 9:].split()[0])
    for _ in range(300):
        xref = len(out)
        out += b"xref\n0 0\ntrailer\n<< /Size 1 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (prev, xref)
        prev = xref
    assert check(bytes(out), policy, "verify:300-revisions") != TOTAL_PASSED
