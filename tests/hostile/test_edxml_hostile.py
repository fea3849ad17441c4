"""edXML parser under hostile input: bombs, external entities, traversal names, mutations. Guarantees: a
``ParsedPackage`` is always returned (never an exception), bounded time and memory, no file written anywhere
by attachment name, no local file content leaked into the result."""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docexchange.axis.edxml import parse_package
from docexchange.axis.edxml.model import ParsedPackage

from . import _corpus as C
from ._guard import bounded, snapshot, top_level_hits, traversal_hits

_BUILDERS = C.edxml_cases()


@functools.cache
def case(name: str) -> bytes:
    return _BUILDERS[name]()
PASSWD_MARK = "root:x:0:0"
SECONDS, RSS_MIB = 10.0, 300


def check(data: bytes, label: str = "edxml") -> ParsedPackage:
    with bounded(label, SECONDS, RSS_MIB):
        pkg = parse_package(data)
    assert isinstance(pkg, ParsedPackage)
    text = json.dumps(pkg.normalized, ensure_ascii=False)  # always JSON-serializable
    assert PASSWD_MARK not in text
    for issue in pkg.issues:
        assert issue.code and issue.message and issue.message_vi
    if not pkg.readable:
        assert pkg.errors, "unreadable package without an error"
    return pkg


# The cases that must be refused outright (not readable) and the code family they get.
REFUSED = ["billion_laughs", "xxe_file", "xxe_external_dtd", "xxe_parameter_entity", "quadratic_blowup",
           "deep_nesting", "giant_attribute", "giant_comment", "giant_tag_name", "giant_text", "many_elements",
           "truncated", "empty", "only_bom", "not_xml", "null_bytes", "null_in_tag", "invalid_utf8"]


@pytest.mark.parametrize("name", sorted(_BUILDERS))
def test_crafted_package(name: str, canary: Path) -> None:
    before = snapshot(canary)
    pkg = check(case(name), f"edxml:{name}")
    assert snapshot(canary) == before
    assert traversal_hits(C.MARK, canary) == [] and top_level_hits(C.MARK) == []
    if name in REFUSED:
        assert not pkg.ok and pkg.errors, name
        assert not pkg.attachments
    codes = {i.code for i in pkg.errors}
    if name in ("zip_bomb_attachment", "zip_declares_1gb", "zip_declares_4gb_zip64"):
        assert "R.Attachment-Zip" in codes, pkg.issues  # refused from the declared size, before inflating
        assert all(a.size < 1 << 20 for a in pkg.attachments)
    if name.startswith("zip_entry_name_") and "../" in C.TRAVERSAL_NAMES[int(name.rsplit("_", 1)[1])]:
        assert "M.Attachment-Zip" in {i.code for i in pkg.issues}, pkg.issues
    if name in ("giant_attribute", "giant_comment", "giant_tag_name", "giant_text"):
        assert codes == {"R.Header-Size"}, pkg.issues  # bounded before the token is kept in memory
    if name == "plain":
        assert pkg.ok, pkg.issues  # the template itself is clean: every refusal above is due to the hostile part
    if name == "cdata_in_base64":  # legal XML: the same characters, so the same decoded bytes
        assert pkg.ok and pkg.attachments[0].read() == C.small_pdf()
    if name in ("base64_garbage", "base64_huge_padding"):
        # a broken attachment is an error on that attachment; nothing decoded into a file of its own
        assert not pkg.ok
    if name == "too_many_attachments":
        assert not pkg.ok and len(pkg.attachments) <= 1000


def test_attachment_names_are_records_not_paths(canary: Path) -> None:
    """A traversal name comes back verbatim as data (for the human) and is never used to write a file."""
    pkg = check(case("attachment_name_0"))
    assert [a.name for a in pkg.attachments] == [C.TRAVERSAL_NAMES[0]]
    assert pkg.attachments[0].read()[:5] == b"%PDF-"
    assert not (canary / f"{C.MARK}-rel").exists()


def test_zip_bomb_refused_without_inflating() -> None:
    pkg = check(case("zip_bomb_attachment"))
    assert any(i.code == "M.Attachment-Encoding" or "zip" in i.message.lower() for i in pkg.errors), pkg.issues
    for att in pkg.attachments:
        if att.stream is not None:
            att.stream.seek(0, 2)
            assert att.stream.tell() < 1 << 20


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), base=st.sampled_from(["plain", "billion_laughs", "zip_declares_1gb",
                                                           "attachment_name_1", "deep_nesting"]))
def test_mutated_packages(seed: int, base: str) -> None:
    check(C.mutate(case(base), seed), "edxml:mutated")


@settings(max_examples=40, deadline=None)
@given(name=st.text(min_size=0, max_size=80), subject=st.text(max_size=200))
def test_generated_names_and_text(name: str, subject: str) -> None:
    """Arbitrary Unicode (surrogates excluded by XML itself) in attachment names and header text."""
    from xml.sax.saxutils import escape

    data = C.edoc(name=C.MARK + name, subject=escape(subject), payload=b"%PDF-1.4 tiny")
    with tempfile.TemporaryDirectory() as d:
        before = snapshot(Path(d))
        check(data, "edxml:generated")
        assert snapshot(Path(d)) == before
    assert top_level_hits(C.MARK) == []

