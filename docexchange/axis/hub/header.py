"""A tiny, safe edXML header reader for routing: From/OrganId, To/OrganId list, DocumentId, message type.

Not the edXML codec (``docexchange.axis.edxml``): the hub only needs routing fields. It streams with
defusedxml's expat iterparse (DTDs and entities forbidden) and stops at the end of ``edXMLHeader``, so the
size of the attachments after the header does not matter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from docexchange.errors import BadInput

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
MAX_HEADER_ELEMENTS = 5000
MAX_DEPTH = 32


@dataclass
class PackageHeader:
    from_organ: str
    to_organs: list[str]
    document_id: str
    is_status: bool
    status_code: str | None = None
    status_timestamp: str | None = None
    response_for_organ: str | None = None
    business_doc_type: int | None = None
    code_number: str | None = None
    code_notation: str | None = None
    subject: str | None = None

    @property
    def message_type(self) -> str:
        return "status" if self.is_status else "edoc"


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _bad(en: str, vi: str) -> BadInput:
    return BadInput(f"Malformed edXML package: {en}", f"Gói tin edXML không hợp lệ: {vi}", code="bad_package")


def read_header(stream: BinaryIO) -> PackageHeader:
    """Read routing fields from the start of ``stream``; raises ``BadInput`` (code ``bad_package``)."""
    path: list[str] = []
    from_organ: str | None = None
    to_organs: list[str] = []
    document_id: str | None = None
    rf_document_id: str | None = None
    rf_organ: str | None = None
    status_code: str | None = None
    timestamp: str | None = None
    bdt: int | None = None
    subject: str | None = None
    code_number: str | None = None
    code_notation: str | None = None
    seen_header = False
    count = 0
    try:
        for event, elem in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            ns, name = _local(elem.tag)
            if ns not in ("", NS):
                if event == "start":
                    path.append(name)
                else:
                    path.pop()
                continue
            if event == "start":
                path.append(name)
                count += 1
                if count > MAX_HEADER_ELEMENTS or len(path) > MAX_DEPTH:
                    raise _bad("header too large or too deep", "phần đầu quá lớn hoặc lồng quá sâu")
                if len(path) == 1 and name != "edXML":
                    raise _bad(f"root element is {name}, expected edXML", f"phần tử gốc là {name}, cần edXML")
                continue
            text = (elem.text or "").strip()
            if name == "OrganId" and len(path) >= 2 and "MessageHeader" in path:
                parent = path[-2]
                if parent == "From" and path[-3] == "MessageHeader":
                    from_organ = text
                elif parent == "To" and path[-3] == "MessageHeader":
                    to_organs.append(text)
                elif parent == "ResponseFor":
                    rf_organ = text
            elif name == "DocumentId" and path[-2:] == ["MessageHeader", "DocumentId"]:
                document_id = text
            elif name == "DocumentId" and len(path) >= 2 and path[-2] == "ResponseFor":
                rf_document_id = text
            elif name == "Subject" and path[-2] == "MessageHeader":
                subject = text
            elif name in ("CodeNumber", "CodeNotation") and path[-3:-1] == ["MessageHeader", "Code"]:
                if name == "CodeNumber":
                    code_number = text
                else:
                    code_notation = text
            elif name == "StatusCode" and path[-2] == "MessageHeader":
                status_code = text
            elif name == "Timestamp" and path[-2] == "MessageHeader":
                timestamp = text
            elif name == "BussinessDocType" and path[-2] == "Bussiness":
                try:
                    bdt = int(text)
                except ValueError as exc:
                    raise _bad("BussinessDocType is not a number", "BussinessDocType không phải số") from exc
            path.pop()
            if name == "edXMLHeader":
                seen_header = True
                break
            if name in ("MessageHeader", "TraceHeaderList"):
                elem.clear()
    except ParseError as exc:
        raise _bad(f"not well-formed XML ({exc})", f"XML sai cú pháp ({exc})") from exc
    except DefusedXmlException as exc:
        raise _bad("DTDs and entities are not allowed", "không cho phép DTD và thực thể XML") from exc
    if not seen_header:
        raise _bad("no edXMLHeader", "thiếu edXMLHeader")
    if not from_organ:
        raise _bad("no From/OrganId", "thiếu From/OrganId")
    if status_code is not None:
        to = to_organs or ([rf_organ] if rf_organ else [])
        if not to:
            raise _bad(
                "status package without ResponseFor/OrganId", "gói trạng thái thiếu ResponseFor/OrganId"
            )
        if not rf_document_id:
            raise _bad(
                "status package without ResponseFor/DocumentId", "gói trạng thái thiếu ResponseFor/DocumentId"
            )
        return PackageHeader(
            from_organ,
            to,
            rf_document_id,
            True,
            status_code=status_code,
            status_timestamp=timestamp,
            response_for_organ=rf_organ,
        )
    if not to_organs:
        raise _bad("no To/OrganId", "thiếu To/OrganId")
    if not document_id:
        raise _bad("no DocumentId", "thiếu DocumentId")
    if len(set(to_organs)) != len(to_organs):
        raise _bad("duplicate To/OrganId", "To/OrganId bị trùng")
    return PackageHeader(from_organ, to_organs, document_id, False, business_doc_type=bdt,
                         code_number=code_number, code_notation=code_notation, subject=subject)
