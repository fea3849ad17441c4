"""Decree 30/2020 appearance checks, advisory only (they never change an indication): where the competent
person's signature and the agency's seal stand on the page (domain-vn.md §3.3, §3.4)."""

from __future__ import annotations

from typing import Any

from .report import SignatureReport

Rect = tuple[float, float, float, float]


def _pages(reader: Any) -> tuple[dict[int, int], list[tuple[float, float]]]:
    """Page object number → 0-based index, and each page's (width, height) (MediaBox, inherited; A4 if absent)."""
    index: dict[int, int] = {}
    sizes: list[tuple[float, float]] = []
    stack: list[tuple[Any, Any]] = [(reader.root["/Pages"], None)]
    while stack and len(sizes) < 100_000:
        node, inherited = stack.pop()
        obj = node.get_object()
        box = obj.get("/MediaBox", inherited)
        kids = obj.get("/Kids")
        if kids is not None:
            stack.extend((k, box) for k in reversed(list(kids)))
            continue
        if hasattr(node, "idnum"):
            index[node.idnum] = len(sizes)
        try:
            b = [float(x) for x in box]
            sizes.append((b[2] - b[0], b[3] - b[1]))
        except Exception:
            sizes.append((595.0, 842.0))
    return index, sizes


def widget_of(emb: Any, pages: dict[int, int]) -> tuple[int | None, Rect | None]:
    """(0-based page, rect) of a signature's widget; rect None when it has none or it is empty."""
    try:
        field = emb.sig_field
        widget = field if "/Rect" in field else field["/Kids"][0].get_object()
        r = [float(x) for x in widget["/Rect"]]
        rect = (min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3]))
        page_ref = widget.raw_get("/P") if "/P" in widget else None
        page = pages.get(page_ref.idnum) if page_ref is not None and hasattr(page_ref, "idnum") else None
    except Exception:
        return None, None
    if rect[2] - rect[0] < 1 or rect[3] - rect[1] < 1:
        return page, None
    return page, rect


def advise(reader: Any, signed: list[tuple[Any, SignatureReport]]) -> None:
    pages, sizes = _pages(reader)
    placed = [(emb, sr, *widget_of(emb, pages)) for emb, sr in signed if sr.kind == "signature" and sr.signer]
    persons = [(page, rect) for _, sr, page, rect in placed if rect is not None and not sr.signer.is_organization_seal]  # type: ignore[union-attr]
    for _, sr, page, rect in placed:
        assert sr.signer is not None
        if not sr.signer.is_organization_seal:
            if rect is None:
                sr.add("DECREE30_PERSON_NO_IMAGE",
                       "Chữ ký của người có thẩm quyền không có hình ảnh chữ ký (Nghị định 30 yêu cầu hình ảnh chữ "
                       "ký màu xanh giữa chức vụ và họ tên).",
                       "The competent person's signature has no visible signature image (Decree 30 expects the blue "
                       "signature image between the position line and the full name).", "warning")
            continue
        if rect is None:
            sr.add("DECREE30_SEAL_NO_APPEARANCE", "Chữ ký số của cơ quan không hiển thị trên văn bản.",
                   "The agency signature has no visible appearance on the document.", "warning")
            continue
        width, height = sizes[page] if page is not None and page < len(sizes) else (595.0, 842.0)
        if page == 0 and rect[0] >= width * 0.45 and rect[3] >= height * 0.8:
            sr.add("DECREE30_TOP_RIGHT", "Chữ ký số của cơ quan ở góc trên bên phải trang đầu (tệp đính kèm hoặc "
                   "bản sao theo Nghị định 30).",
                   "Agency signature at the top right of page 1 (attachment or copy form, Decree 30).")
            continue
        overlaps = [p_rect for p_page, p_rect in persons if p_page == page and
                    min(rect[2], p_rect[2]) > max(rect[0], p_rect[0]) and
                    min(rect[3], p_rect[3]) > max(rect[1], p_rect[1])]
        if overlaps:
            p_rect = overlaps[0]
            share = (min(rect[2], p_rect[2]) - max(rect[0], p_rect[0])) / max(p_rect[2] - p_rect[0], 1.0)
            sr.add("DECREE30_SEAL_OVER_SIGNATURE",
                   f"Hình con dấu trùm lên khoảng {share:.0%} hình chữ ký của người có thẩm quyền.",
                   f"The seal image overlaps about {share:.0%} of the competent person's signature image.")
        else:
            sr.add("DECREE30_SEAL_NOT_OVER_SIGNATURE",
                   "Hình con dấu không trùm lên chữ ký của người có thẩm quyền (Nghị định 30: trùm khoảng 1/3 "
                   "hình chữ ký về phía bên trái).",
                   "The seal image does not overlap the competent person's signature (Decree 30: it covers about "
                   "a third of the signature image, on its left).", "warning")
