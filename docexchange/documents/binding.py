"""Bind a document's number, notation and date of issue to its sealed PDF (issue 13 §2).

At issuance the clerk's numbering revision (the one that fills the number and date fields, before the agency
seal) also writes an XMP packet with the agency code, number, notation and date of issue in the ``docexchange``
namespace. The agency seal signs that revision, so a receiver can read what the sender actually issued from the
revision the sender's seal covers and compare it with the edXML header (a re-labelled header shows). For PDFs
from other systems the first page's text layer is read instead ("Số: 12/QĐ-BNV", "ngày 05 tháng 12 năm 2026"),
where it is found.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from pypdf import PdfWriter
from pypdf.generic import NameObject, StreamObject

XMP_NS = "https://docexchange.gov.vn/ns/issue/1.0/"
_FIELDS = ("agency", "number", "notation", "date")


@dataclass(frozen=True)
class IssueFacts:
    """What the PDF itself says about its number, notation and date of issue, and where that was read."""

    number: str | None
    notation: str | None
    date: str | None  # ISO yyyy-mm-dd
    agency: str | None = None
    source: str = ""  # "xmp" | "text"


def xmp_packet(agency: str, number: str, notation: str, issued: date) -> bytes:
    values = {"agency": agency, "number": number, "notation": notation, "date": issued.isoformat()}
    props = "".join(f"<dx:{k}>{escape(values[k])}</dx:{k}>" for k in _FIELDS)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:dx="{XMP_NS}">{props}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


def write_issue_xmp(writer: PdfWriter, agency: str, number: str, notation: str, issued: date) -> None:
    """Put the XMP packet into ``writer``'s catalog (in the revision being written)."""
    stream = StreamObject()
    stream.set_data(xmp_packet(agency, number, notation, issued))
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    writer._root_object[NameObject("/Metadata")] = writer._add_object(stream)


def facts_from_xmp(data: bytes) -> IssueFacts | None:
    """Our properties, as elements (as written) or as attributes (as pyHanko re-serializes the packet when it
    signs). Parsed with defusedxml: no DTDs, no entities."""
    if XMP_NS.encode() not in data:
        return None
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    start, end = data.find(b"<x:xmpmeta"), data.rfind(b"</x:xmpmeta>")
    if start < 0 or end < 0:
        return None
    try:
        root = fromstring(data[start:end + len(b"</x:xmpmeta>")])
    except (ParseError, DefusedXmlException, ValueError):
        return None
    found: dict[str, str] = {}
    for el in root.iter():
        for k in _FIELDS:
            value = el.get(f"{{{XMP_NS}}}{k}")
            if value is not None:
                found.setdefault(k, value.strip())
        if el.tag.startswith(f"{{{XMP_NS}}}") and el.tag[len(XMP_NS) + 2:] in _FIELDS:
            found.setdefault(el.tag[len(XMP_NS) + 2:], (el.text or "").strip())
    if not found:
        return None
    return IssueFacts(found.get("number"), found.get("notation"), found.get("date"), found.get("agency"), "xmp")


_NUMBER = re.compile(r"Số\s*:?\s*(\d{1,11})\s*/\s*([0-9A-Za-zĐđÀ-ỹ][0-9A-Za-zĐđÀ-ỹ.\-]{0,29})", re.UNICODE)
_DATE = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)


def facts_from_text(text: str) -> IssueFacts | None:
    text = unicodedata.normalize("NFC", text)
    n = _NUMBER.search(text)
    d = _DATE.search(text)
    iso = None
    if d:
        try:
            iso = date(int(d.group(3)), int(d.group(2)), int(d.group(1))).isoformat()
        except ValueError:
            iso = None
    if n is None and iso is None:
        return None
    return IssueFacts(n.group(1) if n else None, n.group(2).rstrip(".-") if n else None, iso, None, "text")


def issue_facts(pdf: Path, signed_revision: int | None = None) -> IssueFacts | None:
    """The number, notation and date the PDF carries: the docexchange XMP of ``signed_revision`` (the revision
    the sender's seal covers; the latest when None), else the first page's text. None when neither says."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        with open(pdf, "rb") as fh:
            reader = PdfFileReader(fh, strict=False)
            if signed_revision is None:
                signed_revision = reader.xrefs.total_revisions - 1
            root: Any = reader.get_historical_root(signed_revision)
            ref = root.raw_get("/Metadata")
            if ref is not None and hasattr(ref, "reference"):
                # the stream as it was in that revision (a later revision may have replaced it)
                meta = reader.get_object(ref.reference, revision=signed_revision)
                facts = facts_from_xmp(meta.data)
                if facts is not None:
                    return facts
    except Exception:  # noqa: BLE001 - a PDF we cannot read here has no facts; the validation engine judges it
        pass
    try:
        from pypdf import PdfReader

        text = PdfReader(str(pdf)).pages[0].extract_text() or ""
    except Exception:  # noqa: BLE001
        return None
    return facts_from_text(text)


def _num(value: str | None) -> str:
    return (value or "").strip().lstrip("0") or "0"


def mismatches(facts: IssueFacts, number: str | None, notation: str | None, issued: str | None) -> list[str]:
    """Which of number / notation / date of the header disagree with ``facts`` (only what the PDF states)."""
    out = []
    if facts.number is not None and _num(facts.number) != _num(number):
        out.append("number")
    if facts.notation is not None and unicodedata.normalize("NFC", facts.notation).upper() != \
            unicodedata.normalize("NFC", notation or "").strip().upper():
        out.append("notation")
    if facts.date is not None and facts.date != (issued or ""):
        out.append("date")
    return out


__all__ = ["XMP_NS", "IssueFacts", "facts_from_text", "facts_from_xmp", "issue_facts", "mismatches",
           "write_issue_xmp", "xmp_packet"]
