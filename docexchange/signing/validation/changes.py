"""Concrete list of what each later revision changed, by comparing pikepdf snapshots of consecutive revisions."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from typing import Any

# pikepdf is imported where a snapshot is taken: most files (nothing, or only signatures and LTA updates, after
# signing) never need it, and `docexchange verify` should not pay for it (docs/benchmarks.md, cli.verify_cold_s)


@dataclass
class PageSnap:
    digest: str
    annots: dict[tuple[int, int], str]  # objgen → subtype
    box: tuple[float, float, float, float]


@dataclass
class Snapshot:
    pages: list[PageSnap]
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (FT, value digest)
    sig_widgets: dict[int, list[tuple[tuple[int, int], tuple[float, float, float, float]]]] = field(
        default_factory=dict)  # page index → [(objgen, rect)]
    field_widgets: dict[int, list[tuple[str, tuple[float, float, float, float]]]] = field(
        default_factory=dict)  # page index → [(field name, rect)] of non-signature form fields


def _stream_bytes(obj: Any) -> bytes:
    try:
        return bytes(obj.read_bytes())
    except Exception:
        try:
            return bytes(obj.read_raw_bytes())
        except Exception:
            return repr(obj).encode()


def _page_digest(page: Any) -> str:
    import pikepdf

    h = hashlib.sha256()
    contents = page.obj.get("/Contents")
    if contents is not None:
        for s in (contents if isinstance(contents, pikepdf.Array) else [contents]):
            h.update(_stream_bytes(s))
    res = page.obj.get("/Resources")
    if res is not None:
        xo = res.get("/XObject")
        if xo is not None:
            for k in sorted(xo.keys()):
                h.update(k.encode())
                h.update(_stream_bytes(xo[k]))
        fonts = res.get("/Font")
        if fonts is not None:
            for k in sorted(fonts.keys()):
                h.update(k.encode())
                h.update(repr(fonts[k].get("/BaseFont")).encode())
    h.update(repr(page.obj.get("/MediaBox")).encode())
    return h.hexdigest()


def _rect(obj: Any) -> tuple[float, float, float, float]:
    try:
        r = [float(x) for x in obj.get("/Rect")]
        return (min(r[0], r[2]), min(r[1], r[3]), max(r[0], r[2]), max(r[1], r[3]))
    except Exception:
        return (0.0, 0.0, 0.0, 0.0)


def _field_type(obj: Any) -> str:
    for _ in range(32):
        ft = obj.get("/FT")
        if ft is not None:
            return str(ft)
        parent = obj.get("/Parent")
        if parent is None:
            return ""
        obj = parent
    return ""


def _field_name(obj: Any) -> str:
    parts = []
    for _ in range(32):
        t = obj.get("/T")
        if t is not None:
            parts.append(str(t))
        obj = obj.get("/Parent")
        if obj is None:
            break
    return ".".join(reversed(parts))


def snapshot(data: bytes) -> Snapshot:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        pages = []
        widgets: dict[int, list[tuple[tuple[int, int], tuple[float, float, float, float]]]] = {}
        field_widgets: dict[int, list[tuple[str, tuple[float, float, float, float]]]] = {}
        for i, page in enumerate(pdf.pages):
            annots: dict[tuple[int, int], str] = {}
            for a in page.obj.get("/Annots") or []:
                key = a.objgen if a.is_indirect else (0, len(annots))
                sub = str(a.get("/Subtype", ""))
                if sub == "/Widget" and _field_type(a) == "/Sig":
                    sub = "/Widget/Sig"
                    widgets.setdefault(i, []).append((key, _rect(a)))
                elif sub == "/Widget":
                    field_widgets.setdefault(i, []).append((_field_name(a), _rect(a)))
                annots[key] = sub
            mb = [float(x) for x in page.mediabox]
            pages.append(PageSnap(_page_digest(page), annots, (mb[0], mb[1], mb[2], mb[3])))
        fields: dict[str, tuple[str, str]] = {}
        acro = pdf.Root.get("/AcroForm")
        stack = list(acro.get("/Fields") or []) if acro is not None else []
        seen = 0
        while stack and seen < 10000:
            f = stack.pop()
            seen += 1
            kids = f.get("/Kids")
            if kids is not None and any("/T" in k for k in kids):
                stack.extend(kids)
                continue
            v = f.get("/V")
            digest = "" if v is None else hashlib.sha256(
                _stream_bytes(v) if isinstance(v, pikepdf.Stream) else repr(v).encode()).hexdigest()
            fields[_field_name(f)] = (_field_type(f), digest)
        return Snapshot(pages, fields, widgets, field_widgets)


def compare(old: Snapshot, new: Snapshot, revision: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    n_old, n_new = len(old.pages), len(new.pages)
    for p in range(n_old, n_new):
        out.append({"revision": revision, "what": "page_added", "page": p + 1})
    for p in range(n_new, n_old):
        out.append({"revision": revision, "what": "page_removed", "page": p + 1})
    for p in range(min(n_old, n_new)):
        a, b = old.pages[p], new.pages[p]
        if a.digest != b.digest:
            out.append({"revision": revision, "what": "content_changed", "page": p + 1})
        for key, sub in b.annots.items():
            if key not in a.annots and sub != "/Widget/Sig":
                out.append({"revision": revision, "what": "annotation_added", "page": p + 1, "subtype": sub})
        for key, sub in a.annots.items():
            if key not in b.annots:
                out.append({"revision": revision, "what": "annotation_removed", "page": p + 1, "subtype": sub})
    for name, (ft, val) in new.fields.items():
        before = old.fields.get(name)
        if before is not None and before[1] == val:
            continue
        if ft == "/Sig":
            if val:
                out.append({"revision": revision, "what": "signature_added", "field": name})
            elif before is None:
                out.append({"revision": revision, "what": "field_added", "field": name})
        elif before is None:
            out.append({"revision": revision, "what": "field_added", "field": name})
        else:
            out.append({"revision": revision, "what": "field_filled", "field": name})
    for name in old.fields.keys() - new.fields.keys():
        out.append({"revision": revision, "what": "field_removed", "field": name})
    return out


LEVEL_OF = {"page_added": "OTHER", "page_removed": "OTHER", "content_changed": "OTHER",
            "annotation_removed": "OTHER", "field_removed": "OTHER", "annotation_added": "ANNOTATIONS",
            "field_filled": "FORM_FILLING", "field_added": "FORM_FILLING", "signature_added": "FORM_FILLING"}
