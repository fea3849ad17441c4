"""The issue facts written into the sealed PDF's XMP and read back on receipt (issue 13 §2): parsers."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from docexchange.documents.binding import IssueFacts, facts_from_text, facts_from_xmp, mismatches, xmp_packet

notations = st.text(st.sampled_from("ABCDĐQUNVHTX-0123456789ĐƯỞ<&>\"'"), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(number=st.integers(1, 10**6), notation=notations, day=st.dates(date(2000, 1, 1), date(2100, 12, 31)))
def test_xmp_round_trip(number: int, notation: str, day: date) -> None:
    facts = facts_from_xmp(xmp_packet("000.00.00.G09", f"{number:02d}", notation, day))
    assert facts == IssueFacts(f"{number:02d}", notation.strip(), day.isoformat(), "000.00.00.G09", "xmp")
    assert mismatches(facts, str(number), notation, day.isoformat()) == []


def test_xmp_as_pyhanko_rewrites_it_as_attributes() -> None:
    packet = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
              b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
              b'xmlns:ns0="https://docexchange.gov.vn/ns/issue/1.0/" ns0:agency="000.00.00.G09" ns0:number="01" '
              b'ns0:notation="Q\xc4\x90-BNV" ns0:date="2026-12-05"/></rdf:RDF></x:xmpmeta><?xpacket end="r"?>')
    assert facts_from_xmp(packet) == IssueFacts("01", "QĐ-BNV", "2026-12-05", "000.00.00.G09", "xmp")
    hostile = packet.replace(b"<x:xmpmeta", b'<!DOCTYPE x [<!ENTITY e "e">]><x:xmpmeta')
    assert facts_from_xmp(hostile) is None or facts_from_xmp(hostile) == facts_from_xmp(packet)
    assert facts_from_xmp(b"<x:xmpmeta>no namespace</x:xmpmeta>") is None


def test_text_layer_and_mismatches() -> None:
    facts = facts_from_text("BỘ NỘI VỤ\nSố: 12/QĐ-BNV\nHà Nội, ngày 5 tháng 12 năm 2026\nQUYẾT ĐỊNH")
    assert facts == IssueFacts("12", "QĐ-BNV", "2026-12-05", None, "text")
    assert mismatches(facts, "012", "qđ-bnv", "2026-12-05") == []
    assert mismatches(facts, "99", "QĐ-BNV", "2026-12-01") == ["number", "date"]
    assert facts_from_text("Số:      /QĐ-BNV, ngày    tháng    năm") is None  # an unnumbered draft says nothing
    assert facts_from_text("ngày 31 tháng 02 năm 2026") is None  # an impossible date is not a fact


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_text_parser_never_raises(text: str) -> None:
    facts = facts_from_text(text)
    assert facts is None or facts.source == "text"
