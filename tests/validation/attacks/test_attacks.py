"""Every case of the red-team registry (``registry.py``; cases in ``cases_*.py``) against the validation engine,
and the documentation of the attack classes kept in step with it (docs/validation.md, "Attack classes")."""

from __future__ import annotations

import re

import pytest

from docexchange.signing.validation import validate_pdf
from tests.conftest import REPO_ROOT
from tests.validation.attacks.kit import Kit
from tests.validation.attacks.registry import CLASSES, Case, check, load_all

CASES = load_all()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_attack_case(case: Case, attack_kit: Kit) -> None:
    data = attack_kit.memo(f"case:{case.id}", lambda: case.build(attack_kit))
    report = validate_pdf(data, attack_kit.policy, name=f"{case.id}.pdf")
    assert report.readable, report.to_json(indent=1)
    problems = check(case.expect, report)
    assert not problems, f"{case.id}: {problems}\n{report.to_json(indent=1)}"


def _docs_section() -> str:
    text = (REPO_ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    m = re.search(r"^## Attack classes\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m, "docs/validation.md has no '## Attack classes' section"
    return m.group(1)


def test_every_class_has_a_case_and_is_documented() -> None:
    section = _docs_section()
    for key in CLASSES:
        assert any(c.attack_class == key for c in CASES), f"no case for class {key}"
        assert f"`{key}`" in section, f"class {key} is not listed in docs/validation.md"
    undocumented = [c.id for c in CASES if f"`{c.id}`" not in section]
    assert not undocumented, f"cases not named in docs/validation.md (Attack classes): {undocumented}"
