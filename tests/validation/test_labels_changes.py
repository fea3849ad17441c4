"""Issue 17 §3 and §4: what later revisions did is listed in ``changes`` (and ``visual_changes``), with the
verdict the difference analysis gives: metadata, document actions and JavaScript, attachments, font encodings,
layer visibility, added / removed pages; and a revision that only re-points a page's /Resources to an identical
copy is not a modification."""

from __future__ import annotations

from typing import Any

import pytest

from docexchange.signing.validation import validate_pdf
from tests.conftest import LiveNode
from tests.validation import helpers as h
from tests.validation import tamper as t
from tests.validation.test_generated import Kit


@pytest.fixture(scope="module")
def kit(live_node: LiveNode) -> Kit:
    return Kit(live_node)


@pytest.fixture(scope="module")
def ident(kit: Kit) -> Any:
    return kit.identity("person", cn="Lê Văn Thay Đổi", organization="UBND tỉnh Thử Nghiệm")


@pytest.fixture(scope="module")
def signed(kit: Kit, ident: Any) -> bytes:
    return h.sign(h.make_pdf(2), kit.signer(ident))


def _sig(kit: Kit, data: bytes) -> Any:
    r = validate_pdf(data, kit.online)
    assert len(r.signatures) == 1, r.to_json()
    return r.signatures[0]


def _whats(s: Any) -> list[str]:
    return [c["what"] for c in s.changes]


def test_info_metadata_change_is_listed(kit: Kit, signed: bytes) -> None:
    s = _sig(kit, t.set_info(signed, Title="Quyết định đã sửa", Author="Người khác"))
    meta = [c for c in s.changes if c["what"] == "metadata_changed"]
    assert meta and meta[0]["source"] == "info" and meta[0]["revision"] == 3, s.changes
    assert {"/Title", "/Author"} <= set(meta[0]["keys"])
    assert s.modifications in ("LTA_UPDATES", "OTHER")


def test_xmp_metadata_change_is_listed(kit: Kit, signed: bytes) -> None:
    once = t.set_xmp(signed, "Bản gốc")
    s = _sig(kit, t.set_xmp(once, "Bản đã sửa"))
    xmp = [c for c in s.changes if c["what"] == "metadata_changed" and c["source"] == "xmp"]
    assert [c["revision"] for c in xmp] == [3, 4], s.changes
    assert xmp[0]["keys"] == ["dc:title"] and xmp[1]["keys"] == ["dc:title"]


@pytest.mark.parametrize("attack,entry", [
    (t.add_open_action_js, {"key": "/OpenAction"}),
    (t.add_named_js, {"what": "javascript_added"}),
    (t.add_embedded_file, {"what": "embedded_file_added", "name": "hoa-don.exe"}),
], ids=["open-action", "named-javascript", "embedded-file"])
def test_actions_and_attachments_are_listed(kit: Kit, signed: bytes, attack: Any, entry: dict[str, Any]) -> None:
    s = _sig(kit, attack(signed))
    assert any(entry.items() <= c.items() and c["revision"] == 3 for c in s.changes), s.changes
    assert s.modifications == "OTHER" and s.indication == "TOTAL_FAILED"


def test_font_encoding_change_is_listed(kit: Kit, signed: bytes) -> None:
    s = _sig(kit, t.change_font_encoding(signed))
    fonts = [c for c in s.changes if c["what"] == "font_changed"]
    assert fonts and fonts[0]["page"] == 1 and fonts[0]["font"].startswith("/"), s.changes
    assert s.indication == "TOTAL_FAILED"


def test_layer_visibility_change_is_listed(kit: Kit, ident: Any) -> None:
    signed = h.sign(t.with_layer(h.make_pdf()), kit.signer(ident))
    assert _sig(kit, signed).indication == "TOTAL_PASSED"
    s = _sig(kit, t.hide_layer(signed))
    assert "optional_content_changed" in _whats(s), s.changes
    assert s.indication == "TOTAL_FAILED"


@pytest.mark.parametrize("attack,what,page", [(h.add_page, "page_added", 3), (h.remove_last_page, "page_removed", 2)])
def test_added_or_removed_page_in_visual_changes(kit: Kit, signed: bytes, attack: Any, what: str, page: int) -> None:
    s = _sig(kit, attack(signed))
    assert {"page": page, "changed_ratio": 1.0, "what": what} in s.visual_changes, s.visual_changes
    assert "visual_difference" in s.flags and s.indication == "TOTAL_FAILED"


def test_identical_resources_copy_is_not_a_modification(kit: Kit, signed: bytes) -> None:
    s = _sig(kit, t.repoint_resources(signed))
    assert s.modifications != "OTHER", (s.modifications, s.messages)
    # pyHanko's writer also refreshes /ModDate when the second has turned: that, and only that, may be listed
    assert all(c["what"] == "metadata_changed" and c["keys"] == ["/ModDate"] for c in s.changes), s.changes
    assert s.visual_changes == []
    assert s.indication == "TOTAL_PASSED", s.messages


def test_resources_copy_that_differs_stays_other(kit: Kit, signed: bytes) -> None:
    s = _sig(kit, t.repoint_resources(signed, swap_font=True))
    assert s.modifications == "OTHER" and s.indication == "TOTAL_FAILED", s.messages
    assert any(c["what"] in ("font_changed", "content_changed") and c["page"] == 1 for c in s.changes), s.changes


def test_visible_second_signature_is_not_an_action_change(kit: Kit, ident: Any, signed: bytes) -> None:
    """fpdf's /OpenAction names page 1; a later visible signature changes page 1 (its /Annots). That is not
    an action change (the issued-document workflow: person signature, then the seal)."""
    seal = kit.identity("seal", cn="Cơ quan Thử Hành Động")
    two = h.sign(signed, kit.signer(seal), field="Seal1", box=(350, 30, 550, 90))  # blank foot of page 1
    r = validate_pdf(two, kit.online)
    assert r.indication == "TOTAL_PASSED", r.to_json()
    # the change list itself (it runs whenever pyHanko sees more than signing, e.g. a form field filled too)
    from docexchange.signing.validation import changes

    found = changes.compare(changes.snapshot(signed), changes.snapshot(two), 3)
    assert not any(c["what"].startswith("action_") for c in found), found
    assert {"revision": 3, "what": "signature_added", "field": "Seal1"} in found
