"""The one strict edXML header reader: every security decision about a package reads its fields from here.

Who sent a package (``From/OrganId``), to whom (``To/OrganId``), which document it is (``DocumentId``), what it
does (``BussinessDocType``), and for statuses which document they answer (``ResponseFor``) must be read the same
way by the hub (which checks the sender against the authenticated agency and routes) and by the receiving node
(which records the sender and answers it). Two readers that resolve a repeated element differently (the hub the
last ``From``, the node the first) let one agency send as another (issue 13 §1). So:

- ``read_header(stream)`` (hub, VDXP face, ``edxml inspect``): streams the package with expat (DTDs and
  entities refused), builds a small tree of the header only and stops at the end of ``edXMLHeader``, so the
  size of the attachments does not matter;
- ``header_from_tree(root)`` (the codec, hence the node): the same rules on the tree the codec already parsed.

Both end in ``_extract``: one rule per question. Elements are matched by local name whatever their namespace
(as the codec does), so a foreign-namespace ``From`` next to the real one is a duplicate, not invisible. An
element that QCVN 102:2016 allows once (``ONCE``) occurring twice, a security field holding child elements, a
missing required field: ``HeaderError`` (a ``BadInput`` with code ``bad_package``; the hub answers 400, the node
refuses with status 02, ``edxml inspect`` lists it as an error).

Usage::

    from docexchange.axis.edxml.header import HeaderError, PackageHeader, read_header
    try:
        h = read_header(stream)          # h.from_organ, h.to_organs, h.document_id, h.kind, ...
    except HeaderError as e:
        e.edxml_code, e.en, e.vi
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO
from xml.parsers import expat

from ...errors import BadInput
from .model import NAMESPACE
from .safexml import _SEP, Node, _split

MAX_HEADER_ELEMENTS = 5000
MAX_DEPTH = 32
MAX_HEADER_BYTES = 4 << 20  # bytes read before the end of edXMLHeader must have been seen
CHUNK = 1 << 16

_ORGAN = frozenset(
    {"OrganId", "OrganName", "OrganizationInCharge", "OrganAdd", "Email", "Telephone", "Fax", "Website"}
)
ONCE: dict[str, frozenset[str]] = {
    "edXML": frozenset({"edXMLEnvelope", "AttachmentEncoded"}),
    "edXMLEnvelope": frozenset({"edXMLHeader", "edXMLBody"}),
    "edXMLHeader": frozenset({"MessageHeader", "TraceHeaderList", "Signature"}),
    "MessageHeader": frozenset(
        {
            "From", "Code", "PromulgationInfo", "DocumentType", "Subject", "Content", "SignerInfo", "DueDate",
            "ToPlaces", "OtherInfo", "SteeringType", "DocumentId", "StatusCode", "Description", "Timestamp",
            "StaffInfo",
        }
    ),
    "From": _ORGAN,
    "To": _ORGAN,
    "ResponseFor": frozenset({"OrganId", "Code", "PromulgationDate", "DocumentId"}),
    "Code": frozenset({"CodeNumber", "CodeNotation"}),
    "PromulgationInfo": frozenset({"Place", "PromulgationDate"}),
    "DocumentType": frozenset({"Type", "TypeDetail", "TypeName"}),
    "SignerInfo": frozenset({"Competence", "Position", "FullName"}),
    "OtherInfo": frozenset(
        {"Priority", "SphereOfPromulgation", "TyperNotation", "PromulgationAmount", "PageAmount", "Direction",
         "Appendixes"}
    ),
    "TraceHeaderList": frozenset({"Bussiness"}),
    "TraceHeader": frozenset({"OrganId", "Timestamp"}),
    "Bussiness": frozenset(
        {"BussinessDocType", "BussinessDocReason", "DocumentId", "Paper", "StaffInfo", "BussinessDocumentInfo",
         "ReplacementInfoList"}
    ),
    "StaffInfo": frozenset({"Department", "Staff", "Email", "Mobile"}),
}
"""Parent local name → children that may occur at most once (QCVN 102:2016 §1.3-1.6; ``Business`` counts as
``Bussiness``). In a status message ``ResponseFor`` also occurs once."""

_ALIASES = {"Business": "Bussiness", "DigitalSignature": "Signature"}
# Fields a security decision reads: plain text only (no child elements whose text a reader could drop or keep).
_LEAVES = frozenset(
    {"OrganId", "DocumentId", "StatusCode", "CodeNumber", "CodeNotation", "PromulgationDate", "Subject",
     "BussinessDocType", "Timestamp"}
)


class HeaderError(BadInput):
    """The header is not one unambiguous edXML header. ``edxml_code``: the edXML error code (N./R./M.)."""

    def __init__(self, edxml_code: str, en: str, vi: str) -> None:
        super().__init__(f"Malformed edXML package: {en}", f"Gói tin edXML không hợp lệ: {vi}", code="bad_package")
        self.edxml_code = edxml_code
        self.detail_en = en
        self.detail_vi = vi


@dataclass(frozen=True)
class ResponseRef:
    organ_id: str | None
    document_id: str | None
    code: str | None
    promulgation_date: str | None


@dataclass(frozen=True)
class PackageHeader:
    """Security-relevant header fields, as raw (whitespace-stripped) text.

    ``document_id``: for an edoc its ``MessageHeader/DocumentId``; for a status the ``ResponseFor/DocumentId`` it
    answers (the hub routes and deduplicates on it). ``to_organs``: the ``To`` list; for a status without ``To``
    the ``ResponseFor/OrganId``."""

    kind: str  # "edoc" | "status"
    from_organ: str
    to_organs: list[str]
    document_id: str
    business_doc_type: int | None = None
    code_number: str | None = None
    code_notation: str | None = None
    promulgation_date: str | None = None
    subject: str | None = None
    status_code: str | None = None
    status_timestamp: str | None = None
    response_for: list[ResponseRef] = field(default_factory=list)
    has_signature_element: bool = False

    @property
    def is_status(self) -> bool:
        return self.kind == "status"

    @property
    def message_type(self) -> str:
        return self.kind

    @property
    def response_for_organ(self) -> str | None:
        return self.response_for[0].organ_id if self.is_status and self.response_for else None


# ------------------------------------------------------------------------------------------------ the rules
def _text(node: Node | None, path: str) -> str | None:
    if node is None:
        return None
    if node.local in _LEAVES and node.children:
        raise HeaderError(
            f"M.{path}",
            f"{path} holds child elements (a security field must be plain text)",
            f"{path} chứa phần tử con (trường dùng để xác thực phải là văn bản thuần)",
        )
    value = node.text.strip()
    return value or None


def _check_once(node: Node, path: str) -> None:
    once = ONCE.get(_ALIASES.get(node.local, node.local), frozenset())
    seen: set[str] = set()
    for child in node.children:
        name = _ALIASES.get(child.local, child.local)
        if name in once:
            if name in seen:
                raise HeaderError(
                    f"R.{path}.{name}",
                    f"{path}/{name} occurs more than once (QCVN 102:2016 allows one)",
                    f"{path}/{name} xuất hiện nhiều lần (QCVN 102:2016 chỉ cho phép một)",
                )
            seen.add(name)
        if child.local in ("Signature", "DigitalSignature"):
            if node.local != "edXMLHeader":
                raise HeaderError(
                    f"M.{path}.{child.local}",
                    f"{child.local} inside {path} (the package signature belongs directly under edXMLHeader)",
                    f"{child.local} nằm trong {path} (chữ ký gói tin phải nằm ngay dưới edXMLHeader)",
                )
            continue
        _check_once(child, f"{path}.{child.local}")


def _one(node: Node | None, local: str) -> Node | None:
    return node.find(local) if node is not None else None


def _missing(path: str, vi: str) -> HeaderError:
    return HeaderError(f"N.{path}", f"no {path}", f"thiếu {vi}")


def _extract(root: Node) -> PackageHeader:
    """Apply every rule to the tree of one package (only the header part is looked at)."""
    if root.local != "edXML" or root.ns != NAMESPACE:
        raise HeaderError(
            "M.edXML",
            f"root element is {{{root.ns or ''}}}{root.local}, expected {{{NAMESPACE}}}edXML",
            f"phần tử gốc là {{{root.ns or ''}}}{root.local}, cần {{{NAMESPACE}}}edXML",
        )
    env = root.find("edXMLEnvelope")
    header = _one(env, "edXMLHeader")
    if header is None:
        raise _missing("edXMLHeader", "edXMLHeader")
    for node, path in ((root, "edXML"), (env, "edXMLEnvelope")):
        assert node is not None
        once = ONCE[node.local]
        names = [c.local for c in node.children if c.local in once]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise HeaderError(
                f"R.{path}.{dup}",
                f"{path}/{dup} occurs more than once (QCVN 102:2016 allows one)",
                f"{path}/{dup} xuất hiện nhiều lần (QCVN 102:2016 chỉ cho phép một)",
            )
    _check_once(header, "edXMLHeader")
    mh = header.find("MessageHeader")
    if mh is None:
        raise _missing("MessageHeader", "MessageHeader")
    P = "MessageHeader"
    from_node = mh.find("From")
    from_organ = _text(_one(from_node, "OrganId"), f"{P}.From.OrganId")
    if not from_organ:
        raise _missing(f"{P}.From.OrganId", "From/OrganId")
    to_organs = []
    for t in mh.findall("To"):
        oid = _text(t.find("OrganId"), f"{P}.To.OrganId")
        if not oid:
            raise _missing(f"{P}.To.OrganId", "To/OrganId")
        to_organs.append(oid)
    if len(set(to_organs)) != len(to_organs):
        raise HeaderError(f"R.{P}.To.OrganId", "duplicate To/OrganId", "To/OrganId bị trùng")
    responses = [
        ResponseRef(
            _text(r.find("OrganId"), f"{P}.ResponseFor.OrganId"),
            _text(r.find("DocumentId"), f"{P}.ResponseFor.DocumentId"),
            _code_text(r.find("Code"), f"{P}.ResponseFor.Code"),
            _text(r.find("PromulgationDate"), f"{P}.ResponseFor.PromulgationDate"),
        )
        for r in mh.findall("ResponseFor")
    ]
    code = mh.find("Code")
    subject = _text(mh.find("Subject"), f"{P}.Subject")
    code_number = _text(_one(code, "CodeNumber"), f"{P}.Code.CodeNumber")
    code_notation = _text(_one(code, "CodeNotation"), f"{P}.Code.CodeNotation")
    pdate = _text(_one(mh.find("PromulgationInfo"), "PromulgationDate"), f"{P}.PromulgationInfo.PromulgationDate")
    has_sig = any(c.local in ("Signature", "DigitalSignature") for c in header.children)
    status_node = mh.find("StatusCode")
    if status_node is not None:
        status_code = _text(status_node, f"{P}.StatusCode")
        if not status_code:
            raise _missing(f"{P}.StatusCode", "StatusCode")
        if len(responses) != 1:
            raise HeaderError(
                f"R.{P}.ResponseFor",
                f"a status message answers exactly one document ({len(responses)} ResponseFor)",
                f"gói trạng thái phải trả lời đúng một văn bản (có {len(responses)} ResponseFor)",
            )
        rf = responses[0]
        to = to_organs or ([rf.organ_id] if rf.organ_id else [])
        if not to:
            raise _missing(f"{P}.ResponseFor.OrganId", "ResponseFor/OrganId trong gói trạng thái")
        if not rf.document_id:
            raise _missing(f"{P}.ResponseFor.DocumentId", "ResponseFor/DocumentId trong gói trạng thái")
        if to_organs and rf.organ_id and rf.organ_id not in to_organs:
            raise HeaderError(
                f"R.{P}.ResponseFor.OrganId",
                "a status message addressed to someone other than the agency it answers",
                "gói trạng thái gửi tới cơ quan khác với cơ quan được trả lời (ResponseFor/OrganId)",
            )
        return PackageHeader(
            "status", from_organ, to, rf.document_id, status_code=status_code,
            status_timestamp=_text(mh.find("Timestamp"), f"{P}.Timestamp"), response_for=responses,
            has_signature_element=has_sig,
        )
    if not to_organs:
        raise _missing(f"{P}.To.OrganId", "To/OrganId")
    document_id = _text(mh.find("DocumentId"), f"{P}.DocumentId")
    if not document_id:
        raise _missing(f"{P}.DocumentId", "DocumentId")
    bdt = None
    business = _one(header.find("TraceHeaderList"), "Bussiness") or _one(header.find("TraceHeaderList"), "Business")
    raw_bdt = _text(_one(business, "BussinessDocType"), "TraceHeaderList.Bussiness.BussinessDocType")
    if raw_bdt is not None:
        if not raw_bdt.isascii() or not raw_bdt.isdigit() or int(raw_bdt) > 3:
            raise HeaderError(
                "R.TraceHeaderList.Bussiness.BussinessDocType",
                f"BussinessDocType {raw_bdt!r} is not 0-3",
                f"BussinessDocType {raw_bdt!r} không thuộc 0-3",
            )
        bdt = int(raw_bdt)
    return PackageHeader(
        "edoc", from_organ, to_organs, document_id, business_doc_type=bdt, code_number=code_number,
        code_notation=code_notation, promulgation_date=pdate, subject=subject, response_for=responses,
        has_signature_element=has_sig,
    )


def _code_text(node: Node | None, path: str) -> str | None:
    """``ResponseFor/Code``: one text value, or ``CodeNumber`` + ``CodeNotation`` children."""
    if node is None:
        return None
    if node.find("CodeNumber") is not None or node.find("CodeNotation") is not None:
        num = _text(node.find("CodeNumber"), f"{path}.CodeNumber")
        nota = _text(node.find("CodeNotation"), f"{path}.CodeNotation")
        return f"{num}/{nota}" if num and nota else None
    return node.text.strip() or None


# ------------------------------------------------------------------------------------------------ the feeders
def header_from_tree(root: Node) -> PackageHeader:
    """The strict header of a package the codec already parsed (``safexml.read_xml``)."""
    return _extract(root)


class _Done(Exception):
    pass


class _Builder:
    """Builds ``Node``s for the header part exactly as ``safexml`` does (direct character data joined, comments
    and processing instructions ignored), then stops after ``edXMLHeader``."""

    def __init__(self) -> None:
        self.root: Node | None = None
        self.stack: list[Node] = []
        self.count = 0
        self.header_done = False
        self.in_header = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        ns, local, prefix = _split(name)
        if local in ("AttachmentEncoded", "ContentTransferEncoded"):
            raise _Done  # the attachments begin: the header is complete (they may be gigabytes)
        self.count += 1
        if self.count > MAX_HEADER_ELEMENTS or len(self.stack) >= MAX_DEPTH:
            raise HeaderError("R.Header-Size", "header too large or too deep", "phần đầu quá lớn hoặc lồng quá sâu")
        node = Node(ns, local, prefix, {})
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
            if local != "edXML" or ns != NAMESPACE:
                _extract(node)  # raises the root error
        self.stack.append(node)

    def end(self, name: str) -> None:
        self.stack.pop()
        if len(self.stack) == 1:  # the end of edXMLEnvelope (header and manifest): nothing after it counts
            raise _Done

    def chars(self, data: str) -> None:
        if self.stack:
            self.stack[-1].text_parts.append(data)


def _forbid(*_: object) -> None:
    raise HeaderError("M.XML-DTD", "DTDs and entities are not allowed", "không cho phép DTD và thực thể XML")


def read_header(stream: BinaryIO | Iterable[bytes]) -> PackageHeader:
    """Read the strict header from the start of ``stream`` (a binary file object or byte chunks), reading no
    further than the end of ``edXMLHeader``. Raises ``HeaderError`` (a ``BadInput``, code ``bad_package``)."""
    b = _Builder()
    p = expat.ParserCreate(namespace_separator=_SEP)
    p.namespace_prefixes = True
    p.buffer_text = True
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartElementHandler = b.start
    p.EndElementHandler = b.end
    p.CharacterDataHandler = b.chars
    p.StartDoctypeDeclHandler = _forbid
    p.EntityDeclHandler = _forbid
    p.ExternalEntityRefHandler = _forbid  # type: ignore[assignment]
    p.SkippedEntityHandler = _forbid  # type: ignore[assignment]
    chunks: Iterable[bytes]
    if hasattr(stream, "read"):
        reader = stream

        def gen() -> Iterable[bytes]:
            while block := reader.read(CHUNK):  # type: ignore[union-attr]
                yield block

        chunks = gen()
    else:
        chunks = stream  # type: ignore[assignment]
    total = 0
    try:
        for chunk in chunks:
            total += len(chunk)
            if total > MAX_HEADER_BYTES + CHUNK:
                raise HeaderError("R.Header-Size", "header too large", "phần đầu gói tin quá lớn")
            p.Parse(chunk, False)
        p.Parse(b"", True)
    except _Done:
        pass
    except expat.ExpatError as exc:
        msg = expat.errors.messages[exc.code] if exc.code else str(exc)
        raise HeaderError("M.XML", f"not well-formed XML ({msg})", f"XML sai cú pháp ({msg})") from None
    except RecursionError:
        raise HeaderError("M.XML-Depth", "XML nested too deeply", "XML lồng quá sâu") from None
    if b.root is None:
        raise HeaderError("M.XML", "empty document", "tài liệu rỗng")
    return _extract(b.root)


__all__ = ["ONCE", "HeaderError", "PackageHeader", "ResponseRef", "header_from_tree", "read_header"]
