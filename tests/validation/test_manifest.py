"""Every public sample in ../shared/fixtures/pdf/MANIFEST.json, checked against what its source project asserts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from docexchange.signing.validation import ValidationPolicy, validate_pdf
from docexchange.signing.validation.report import MOD_LEVELS
from tests.conftest import SHARED_DIR

MANIFEST = SHARED_DIR / "fixtures" / "pdf" / "MANIFEST.json"
NEVER_VALID_FLAGS = {"no_cms", "visual_difference", "page_count_changed", "byterange_invalid",
                     "shared_appearance_object"}
# flags our report carries itself (on at least one signature of the file)
OWN_FLAGS = {"no_cms", "nonstandard_coverage", "visual_difference", "page_count_changed", "byterange_invalid",
             "annotation_changes"}
COVERAGE = {"ENTIRE_FILE": "ENTIRE_FILE", "ENTIRE_REVISION": "ENTIRE_REVISION"}


def _entries() -> list[dict[str, Any]]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))["files"] if MANIFEST.is_file() else []


@pytest.fixture(scope="module")
def policy() -> ValidationPolicy:
    # trust is out of the picture for these samples: no anchors of theirs are configured (README: never TRUSTED)
    return ValidationPolicy(trust_anchors=[], offline=True)


@pytest.mark.parametrize("entry", _entries(), ids=lambda e: e["path"])
def test_public_pdf(entry: dict[str, Any], shared_dir: Path, policy: ValidationPolicy) -> None:
    path = shared_dir / "fixtures" / "pdf" / entry["path"]
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    report = validate_pdf(data, policy, name=path.name)
    exp = entry["expected"]
    assert report.readable and report.file.sha256 == entry["sha256"]
    assert len(report.signatures) == entry["signatures"], report.to_json()
    if entry["signatures"] == 0:
        assert report.indication == "NO_SIGNATURE" and report.exit_code == 3
        return
    by_name = {s.field: s for s in report.signatures}
    assert sorted(by_name) == sorted(entry["signature_fields"])
    for i, name in enumerate(entry["signature_fields"]):
        sig = by_name[name]
        if exp["integrity"][i] is not None:
            assert sig.integrity is exp["integrity"][i], (name, sig.messages)
        want_mod = exp["modifications"][i]
        if want_mod is not None:  # a lower bound: we may be stricter, never laxer
            assert sig.modifications is not None
            assert MOD_LEVELS.index(sig.modifications) >= MOD_LEVELS.index(want_mod), (name, sig.modifications)
            if want_mod == "NONE":
                assert sig.coverage == "ENTIRE_FILE"
        for key, ours in (("indication", sig.indication), ("subindication", sig.subindication)):
            if exp.get(key) and exp[key][i] is not None:
                assert ours == exp[key][i], (name, key, ours)
        if exp.get("coverage") and exp["coverage"][i] is not None:
            assert sig.coverage == COVERAGE.get(exp["coverage"][i], "PARTIAL")
        if exp.get("trusted") and exp["trusted"][i] is False:
            assert sig.trusted is not True
        if exp.get("bottom_line") and exp["bottom_line"][i] is False:
            assert sig.indication != "TOTAL_PASSED"
        # README: these never end VALID
        bad = (sig.integrity is False or sig.coverage == "PARTIAL" or sig.modifications == "OTHER")
        if bad:
            assert sig.indication != "TOTAL_PASSED"
    flags = set(exp.get("flags", []))
    ours = {f for s in report.signatures for f in s.flags}
    assert (flags & OWN_FLAGS) <= ours, (flags, ours)
    if flags & NEVER_VALID_FLAGS or any(v is False for v in exp["integrity"]):
        assert report.indication != "TOTAL_PASSED"
    if "page_difference_pages" in exp:
        added = {c["page"] for s in report.signatures for c in s.changes if c["what"] == "page_added"}
        assert set(exp["page_difference_pages"]) <= added
    if "diff_mentions" in exp:
        first = by_name[entry["signature_fields"][0]]
        assert any(exp["diff_mentions"] in m.en for m in first.messages), first.messages
    if "signed_revision_bytes" in exp:
        sig = by_name[entry["signature_fields"][0]]
        assert sig.byte_range is not None
        end = sig.byte_range[2] + sig.byte_range[3]
        # DSS names the revision the signature was applied to (before the signature's own update)
        n = exp["signed_revision_bytes"]
        assert n <= end and hashlib.sha256(data[:n]).hexdigest() == exp["signed_revision_sha256"]
        assert data[n - 8:n].strip().endswith(b"%%EOF")
    if "docmdp_p" in exp:
        assert report.signatures[0].integrity is True
