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
    fonts: dict[str, str] = field(default_factory=dict)  # resource name → digest of the whole font dictionary


@dataclass
class Snapshot:
    pages: list[PageSnap]
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (FT, value digest)
    sig_widgets: dict[int, list[tuple[tuple[int, int], tuple[float, float, float, float]]]] = field(
        default_factory=dict)  # page index → [(objgen, rect)]
    field_widgets: dict[int, list[tuple[str, tuple[float, float, float, float]]]] = field(
        default_factory=dict)  # page index → [(field name, rect)] of non-signature form fields
    actions: dict[str, str] = field(default_factory=dict)  # catalog /OpenAction, /AA → digest
    javascript: dict[str, str] = field(default_factory=dict)  # /Names /JavaScript name → digest
    embedded_files: dict[str, str] = field(default_factory=dict)  # /Names /EmbeddedFiles name → digest
    optional_content: str = ""  # digest of /OCProperties (layers and their visibility)


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


def _deep(obj: Any, h: Any, depth: int = 0, seen: set[tuple[int, int]] | None = None) -> None:
    """Feed a structural digest of ``obj`` (dictionaries by sorted key, streams by decoded data) into ``h``."""
    import pikepdf  # only ever called on a snapshot's objects: already imported by then
    seen = set() if seen is None else seen
    if depth > 32:
        h.update(b"<deep>")
        return
    if getattr(obj, "is_indirect", False):
        if obj.objgen in seen:
            h.update(b"<ref>")
            return
        if depth > 0 and isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") in ("/Page", "/Pages"):
            # a destination or an action naming a page: the page is identified, not hashed (page changes are
            # compared on their own; hashing them here would report every page edit as an action change)
            h.update(b"<page %d %d>" % obj.objgen)
            return
        seen = seen | {obj.objgen}
    if isinstance(obj, pikepdf.Stream):
        h.update(b"stream<<")
        for k in sorted(obj.keys()):
            if k not in ("/Length", "/Filter", "/DecodeParms"):  # encoding details: the decoded data counts
                h.update(k.encode())
                _deep(obj.get(k), h, depth + 1, seen)
        h.update(b">>")
        h.update(hashlib.sha256(_stream_bytes(obj)).digest())
    elif isinstance(obj, pikepdf.Dictionary):
        h.update(b"<<")
        for k in sorted(obj.keys()):
            h.update(k.encode())
            _deep(obj.get(k), h, depth + 1, seen)
        h.update(b">>")
    elif isinstance(obj, pikepdf.Array):
        h.update(b"[")
        for x in obj:
            _deep(x, h, depth + 1, seen)
        h.update(b"]")
    else:
        h.update(repr(obj).encode())


def digest_of(obj: Any) -> str:
    h = hashlib.sha256()
    _deep(obj, h)
    return h.hexdigest()


def _name_tree(node: Any, out: dict[str, str], depth: int = 0) -> None:
    """Leaves of a PDF name tree: name → digest of the value."""
    if node is None or depth > 32:
        return
    names = node.get("/Names")
    if names is not None:
        for i in range(0, len(names) - 1, 2):
            out[str(names[i])] = digest_of(names[i + 1])
    for kid in node.get("/Kids") or []:
        _name_tree(kid, out, depth + 1)


def _fonts(page: Any) -> dict[str, str]:
    res = page.obj.get("/Resources")
    fonts = res.get("/Font") if res is not None else None
    return {str(k): digest_of(fonts[k]) for k in sorted(fonts.keys())} if fonts is not None else {}


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
            pages.append(PageSnap(_page_digest(page), annots, (mb[0], mb[1], mb[2], mb[3]), _fonts(page)))
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
        root = pdf.Root
        actions = {k: digest_of(root[k]) for k in ("/OpenAction", "/AA") if k in root}
        javascript: dict[str, str] = {}
        embedded: dict[str, str] = {}
        names = root.get("/Names")
        if names is not None:
            _name_tree(names.get("/JavaScript"), javascript)
            _name_tree(names.get("/EmbeddedFiles"), embedded)
        oc = digest_of(root["/OCProperties"]) if "/OCProperties" in root else ""
        return Snapshot(pages, fields, widgets, field_widgets, actions, javascript, embedded, oc)


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
        for font in sorted(set(a.fonts) | set(b.fonts)):
            if a.fonts.get(font) != b.fonts.get(font):
                out.append({"revision": revision, "what": "font_changed", "page": p + 1, "font": font})
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
    for action in sorted(set(old.actions) | set(new.actions)):
        was, now = old.actions.get(action), new.actions.get(action)
        if was != now:
            what = "action_added" if was is None else "action_removed" if now is None else "action_changed"
            out.append({"revision": revision, "what": what, "key": action})
    for kind, a_map, b_map in (("javascript", old.javascript, new.javascript),
                               ("embedded_file", old.embedded_files, new.embedded_files)):
        for name in sorted(set(a_map) | set(b_map)):
            was, now = a_map.get(name), b_map.get(name)
            if was != now:
                what = "added" if was is None else "removed" if now is None else "changed"
                out.append({"revision": revision, "what": f"{kind}_{what}", "name": name})
    if old.optional_content != new.optional_content:
        out.append({"revision": revision, "what": "optional_content_changed"})
    return out


# ---- document metadata (trailer /Info, catalog /Metadata XMP), read through pyHanko's revisions -----------
_XMP_PREFIX = {"http://purl.org/dc/elements/1.1/": "dc", "http://ns.adobe.com/xap/1.0/": "xmp",
               "http://ns.adobe.com/pdf/1.3/": "pdf", "http://ns.adobe.com/xap/1.0/mm/": "xmpMM",
               "http://www.aiim.org/pdfa/ns/id/": "pdfaid", "http://ns.adobe.com/photoshop/1.0/": "photoshop"}
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def _qname(tag: str) -> str:
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return f"{_XMP_PREFIX.get(uri, uri)}:{local}"
    return tag


def xmp_properties(data: bytes) -> dict[str, str]:
    """XMP properties (``dc:title`` …) → their text, from the children and attributes of rdf:Description.
    Unparsable XMP → {"XMP": digest} (a change is still seen, just not itemised)."""
    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(data)
    except Exception:
        return {"XMP": hashlib.sha256(data).hexdigest()}
    props: dict[str, str] = {}
    for desc in root.iter(f"{_RDF}Description"):
        for k, v in desc.attrib.items():
            if not k.startswith(_RDF):
                props[_qname(k)] = v
        for child in desc:
            props[_qname(child.tag)] = " ".join(t.strip() for t in child.itertext() if t.strip())
    return props


def _meta_at(reader: Any, revision: int) -> tuple[dict[str, str], dict[str, str] | None]:
    """(/Info entries → repr, XMP properties or None) as of ``revision`` (0-based)."""
    from pyhanko.pdf_utils import generic

    hist = reader.get_historical_resolver(revision)
    info: dict[str, str] = {}
    raw = hist.trailer_view.get("/Info")
    if isinstance(raw, generic.IndirectObject):
        raw = hist.get_object(raw.reference)
    if isinstance(raw, generic.DictionaryObject):
        info = {str(k): repr(v) for k, v in raw.items()}
    xmp = None
    md = hist.root.get("/Metadata")
    if isinstance(md, generic.IndirectObject):
        md = hist.get_object(md.reference)
    if isinstance(md, generic.StreamObject):
        xmp = xmp_properties(md.data)
    return info, xmp


def metadata_changes(reader: Any, signed_revision: int) -> list[dict[str, Any]]:
    """``metadata_changed`` entries for every revision after ``signed_revision`` (0-based) that changed the
    document information dictionary or the XMP metadata, with the keys that changed."""
    out: list[dict[str, Any]] = []
    prev = _meta_at(reader, signed_revision)
    for rev in range(signed_revision + 1, reader.xrefs.total_revisions):
        cur = _meta_at(reader, rev)
        for source, a, b in (("info", prev[0], cur[0]), ("xmp", prev[1] or {}, cur[1] or {})):
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            if source == "xmp" and not keys and (prev[1] is None) != (cur[1] is None):
                keys = ["XMP"]
            if keys:
                out.append({"revision": rev + 1, "what": "metadata_changed", "source": source, "keys": keys})
        prev = cur
    return out


LEVEL_OF = {"page_added": "OTHER", "page_removed": "OTHER", "content_changed": "OTHER",
            "annotation_removed": "OTHER", "field_removed": "OTHER", "annotation_added": "ANNOTATIONS",
            "field_filled": "FORM_FILLING", "field_added": "FORM_FILLING", "signature_added": "FORM_FILLING",
            "font_changed": "OTHER", "optional_content_changed": "OTHER",
            "action_added": "OTHER", "action_changed": "OTHER", "action_removed": "OTHER",
            "javascript_added": "OTHER", "javascript_changed": "OTHER", "javascript_removed": "OTHER",
            "embedded_file_added": "OTHER", "embedded_file_changed": "OTHER", "embedded_file_removed": "OTHER",
            # pyHanko's own class for metadata updates; listed so that an auditor sees them
            "metadata_changed": "LTA_UPDATES"}
