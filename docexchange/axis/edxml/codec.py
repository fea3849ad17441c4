"""Parse and normalize edXML packages (QCVN 102:2016): edoc and status messages.

``parse_package`` never raises for bad input: every problem becomes an ``Issue`` with an edXML error code
(``N.`` missing, ``R.`` out of range, ``M.`` malformed) and a severity; the normalized dict follows the
"Normalized edXML package" JSON of interfaces.md.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from cryptography import x509

from ...formats import metadata as md
from ...formats.text import normalize_text
from .dsig import check_signature
from .header import HeaderError, header_from_tree
from .model import (
    BUSINESS_DOC_TYPE,
    NAMESPACE,
    STATUS_CODE,
    WRONG_NAMESPACE,
    Attachment,
    Business,
    EdocMessage,
    Issue,
    Limits,
    Organ,
    ParsedAttachment,
    ParsedPackage,
    Receiver,
    Replacement,
    ResponseFor,
    SignatureCheck,
    SinkFactory,
    StaffInfo,
    StatusMessage,
    Trace,
)
from .safexml import CHUNK, SPOOL_MAX, Node, Payload, XmlRejected, read_xml

Source = bytes | bytearray | memoryview | str | Path | IO[bytes]

KNOWN_CONTENT_TYPES = {
    "application/pdf",
    "application/zip",
    "application/x-zip-compressed",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "application/rtf",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "application/octet-stream",
    "text/xml",
    "application/xml",
    "text/plain",
}
_DOCID = re.compile(r"^([^,]+),([^,]+),([^/]+)/(.+)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PDF = re.compile(rb"^%PDF-(\d)\.(\d)")


# ---- input ----


def _chunks(source: Source, verify_limit: int) -> tuple[Iterator[bytes], Callable[[], bytes | None]]:
    """Byte chunks of the source, plus ``load_raw``: the whole package again for an in-memory XML-DSig check
    (bytes as given; a path or seekable stream re-read when at most ``verify_limit`` bytes; else None).
    ``load_raw`` is only called for signatures the streamed check does not cover."""
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)

        def blocks() -> Iterator[bytes]:
            for i in range(0, max(len(view), 1), CHUNK):
                yield bytes(view[i : i + CHUNK])

        return blocks(), lambda: bytes(view)
    if isinstance(source, str | Path):
        path = Path(source)

        def gen() -> Iterator[bytes]:
            with path.open("rb") as f:
                while block := f.read(CHUNK):
                    yield block

        def reread() -> bytes | None:
            return path.read_bytes() if path.stat().st_size <= verify_limit else None

        return gen(), reread
    stream = source
    start = stream.tell() if stream.seekable() else None

    def read() -> Iterator[bytes]:
        while block := stream.read(CHUNK):
            yield block

    def rewind() -> bytes | None:
        if start is None:
            return None
        end = stream.tell()
        if end - start > verify_limit:
            return None
        stream.seek(start)
        try:
            return stream.read(end - start)
        finally:
            stream.seek(end)

    return read(), rewind


# ---- the normalizing walker ----


class _Ctx:
    def __init__(self, lenient: bool) -> None:
        self.issues: list[Issue] = []
        self.norms: list[dict[str, Any]] = []
        self.lenient = lenient

    def issue(self, code: str, en: str, vi: str, severity: str = "error") -> None:
        self.issues.append(Issue(code, en, vi, severity))

    def from_error(self, e: md.MetadataError, severity: str = "error") -> None:
        self.issue(e.code, e.en, e.vi, severity)

    def norm(self, field: str, raw: Any, canon: Any) -> None:
        if raw != canon:
            self.norms.append({"field": field, "from": raw, "to": canon})

    def text(
        self, node: Node | None, path: str, field: str | None = None, required: bool = False
    ) -> str | None:
        """Leaf text → normalize_text (recorded when changed) → length check. Empty → None."""
        if node is None or not node.text.strip():
            if required:
                self.issue(f"N.{path}", f"{path} is missing", f"thiếu {path}")
            return None
        raw = node.text
        value = normalize_text(raw)
        if raw.strip() != value:  # surrounding indentation is XML layout, not a change of value
            self.norm(field or path, raw, value)
        try:
            md.check_length(path, value)
        except md.MetadataError as e:
            self.from_error(e)
        return value or None

    def integer(
        self, node: Node | None, path: str, required: bool = False, non_negative: bool = False
    ) -> int | None:
        raw = self.text(node, path, required=required)
        if raw is None:
            return None
        try:
            return md.check_non_negative(path, raw) if non_negative else int(raw)
        except md.MetadataError as e:
            self.from_error(e)
        except ValueError:
            self.issue(
                f"M.{path}", f"{path}: {raw!r} is not an integer", f"{path}: {raw!r} không phải số nguyên"
            )
        return None

    def day(self, node: Node | None, path: str, field: str, required: bool = False) -> date | None:
        raw = self.text(node, path, field, required=required)
        if raw is None:
            return None
        try:
            value = md.parse_date(raw, path)
        except md.MetadataError as e:
            self.from_error(e)
            return None
        d = value.date() if isinstance(value, datetime) else value
        if raw != md.edxml_date(d):  # the standard edXML form is not a change, only other forms are
            self.norm(field, raw, d.isoformat())
        return d

    def timestamp(self, node: Node | None, path: str, field: str, required: bool = False) -> datetime | None:
        raw = self.text(node, path, field, required=required)
        if raw is None:
            return None
        try:
            value = md.parse_date(raw, path)
        except md.MetadataError as e:
            self.from_error(e)
            return None
        if not isinstance(value, datetime):
            value = datetime.combine(value, datetime.min.time(), md.VN_TZ)
        if raw != md.edxml_timestamp(value):
            self.norm(field, raw, md.iso(value))
        return value

    def organ_id(self, node: Node | None, path: str, field: str, required: bool = True) -> str | None:
        raw = self.text(node, path, field, required=required)
        if raw is None:
            return None
        try:
            oid = md.canonical_organ_id(raw, path, lenient=self.lenient)
        except md.MetadataError as e:
            self.from_error(e)
            return raw
        self.norm(field, raw, oid.value)
        if oid.warning:
            self.issue(
                f"M.{path}",
                f"{path}: {oid.value}: {oid.warning}",
                f"{path}: {oid.value}: mã định danh rút gọn, không theo QCVN 102 hay QĐ 20/2020",
                "warning",
            )
        return oid.value


def _child(node: Node | None, *path: str) -> Node | None:
    for local in path:
        if node is None:
            return None
        node = node.find(local)
    return node


def _kids(node: Node | None, *path: str) -> list[Node]:
    """Children named ``path[-1]`` of the element at ``path[:-1]`` (empty when any step is absent)."""
    parent = _child(node, *path[:-1])
    return parent.findall(path[-1]) if parent is not None else []


def _organ(ctx: _Ctx, node: Node, path: str, field: str) -> Organ:
    def t(local: str) -> str | None:
        return ctx.text(node.find(local), f"{path}.{local}", f"{field}.{local}")

    email = t("Email")
    if email is not None and not _EMAIL.match(email):
        ctx.issue(
            f"M.{path}.Email",
            f"{path}.Email: {email!r} is not an e-mail address",
            f"{path}.Email: {email!r} không phải địa chỉ thư điện tử",
            "warning",
        )
    return Organ(
        organ_id=ctx.organ_id(node.find("OrganId"), f"{path}.OrganId", f"{field}.organ_id") or "",
        organ_name=t("OrganName"),
        organization_in_charge=t("OrganizationInCharge"),
        address=t("OrganAdd"),
        email=email,
        telephone=t("Telephone"),
        fax=t("Fax"),
        website=t("Website"),
    )


def _staff(ctx: _Ctx, node: Node | None, path: str) -> StaffInfo | None:
    if node is None:
        return None
    return StaffInfo(
        *(ctx.text(node.find(k), f"{path}.{k}") for k in ("Department", "Staff", "Email", "Mobile"))
    )


def _check_document_id(ctx: _Ctx, value: str | None, path: str) -> None:
    """DocumentId may be any non-empty string (UUIDs occur); in the VPCP shape its date must exist."""
    if value is None:
        return
    m = _DOCID.match(value)
    if m:
        try:
            md.parse_date(m.group(2), path)
        except md.MetadataError as e:
            ctx.issue(
                e.code, f"{e.en} inside DocumentId {value!r}", f"{e.vi} trong DocumentId {value!r}", "warning"
            )


def _response_for(ctx: _Ctx, node: Node, path: str) -> ResponseFor | None:
    if not any(c.text.strip() for c in node.iter() if c is not node):
        return None
    rf = ResponseFor(
        organ_id=ctx.organ_id(node.find("OrganId"), f"{path}.OrganId", f"{path}.OrganId", required=False),
        code=ctx.text(node.find("Code"), f"{path}.Code"),
        promulgation_date=ctx.day(
            node.find("PromulgationDate"), f"{path}.PromulgationDate", f"{path}.PromulgationDate"
        ),
        document_id=ctx.text(node.find("DocumentId"), f"{path}.DocumentId"),
    )
    code = node.find("Code")
    if code is not None and code.find("CodeNumber") is not None:
        num = ctx.text(code.find("CodeNumber"), f"{path}.Code.CodeNumber")
        nota = ctx.text(code.find("CodeNotation"), f"{path}.Code.CodeNotation")
        rf.code = f"{num}/{nota}" if num and nota else None
    _check_document_id(ctx, rf.document_id, f"{path}.DocumentId")
    return rf


def _edoc(ctx: _Ctx, mh: Node, thl: Node | None) -> tuple[EdocMessage, dict[str, Any]]:
    P = "MessageHeader"
    fnode = mh.find("From")
    if fnode is None:
        ctx.issue(f"N.{P}.From", "From is missing", "thiếu nơi gửi (From)")
        fnode = Node(None, "From", None, {})
    sender = _organ(ctx, fnode, f"{P}.From", "from")
    recipients = [_organ(ctx, n, f"{P}.To", f"to[{i}]") for i, n in enumerate(mh.findall("To"))]
    if not recipients:
        ctx.issue(f"N.{P}.To", "no recipient (To)", "không có nơi nhận (To)")
    seen: set[str] = set()
    for r in recipients:
        if r.organ_id and r.organ_id in seen:
            ctx.issue(
                f"R.{P}.To.OrganId", f"recipient {r.organ_id} listed twice", f"nơi nhận {r.organ_id} bị lặp"
            )
        seen.add(r.organ_id)
    code = mh.find("Code")
    raw_num = ctx.text(_child(code, "CodeNumber"), f"{P}.Code.CodeNumber", "code.number", required=True)
    raw_not = ctx.text(_child(code, "CodeNotation"), f"{P}.Code.CodeNotation", "code.notation", required=True)
    number, notation = raw_num, raw_not
    if raw_num is not None:
        try:
            number = md.canonical_number(raw_num, f"{P}.Code.CodeNumber")
            ctx.norm("code.number", raw_num, number)
        except md.MetadataError as e:
            ctx.from_error(e)
    if raw_not is not None:
        try:
            notation = md.canonical_notation(raw_not, f"{P}.Code.CodeNotation")
            ctx.norm("code.notation", raw_not, notation)
        except md.MetadataError as e:
            ctx.from_error(e)
    pinfo = mh.find("PromulgationInfo")
    place = ctx.text(_child(pinfo, "Place"), f"{P}.PromulgationInfo.Place", "promulgation.place")
    pdate = ctx.day(
        _child(pinfo, "PromulgationDate"),
        f"{P}.PromulgationInfo.PromulgationDate",
        "promulgation.date",
        required=True,
    )
    dt = mh.find("DocumentType")
    type_code = ctx.integer(_child(dt, "Type"), f"{P}.DocumentType.Type", required=True)
    type_detail = ctx.integer(_child(dt, "TypeDetail"), f"{P}.DocumentType.TypeDetail")
    type_name = ctx.text(_child(dt, "TypeName"), f"{P}.DocumentType.TypeName", "document_type.type_name")
    if type_name and type_code is not None:
        known = md.lookup_document_type(type_name)
        if known is not None and known.code != type_code:
            ctx.issue(
                f"R.{P}.DocumentType.Type",
                f"Type {type_code} does not match TypeName {type_name!r} (Decree 30 code {known.code})",
                f"Type {type_code} không khớp TypeName {type_name!r} (mã theo NĐ 30: {known.code})",
                "warning",
            )
    subject = ctx.text(mh.find("Subject"), f"{P}.Subject", "subject", required=True)
    content = ctx.text(mh.find("Content"), f"{P}.Content", "content")
    si = mh.find("SignerInfo")
    competence = ctx.text(_child(si, "Competence"), f"{P}.SignerInfo.Competence")
    position = ctx.text(_child(si, "Position"), f"{P}.SignerInfo.Position", required=True)
    full_name = ctx.text(_child(si, "FullName"), f"{P}.SignerInfo.FullName", required=True)
    due = ctx.day(mh.find("DueDate"), f"{P}.DueDate", "due_date")
    to_places = [p for p in (ctx.text(n, f"{P}.ToPlaces.Place") for n in _kids(mh, "ToPlaces", "Place")) if p]
    oi = mh.find("OtherInfo")
    priority = None
    raw_prio = ctx.text(_child(oi, "Priority"), f"{P}.OtherInfo.Priority")
    if raw_prio is not None:
        try:
            priority = md.canonical_priority(raw_prio, f"{P}.OtherInfo.Priority")
        except md.MetadataError as e:
            ctx.from_error(e)
    sphere = ctx.text(_child(oi, "SphereOfPromulgation"), f"{P}.OtherInfo.SphereOfPromulgation")
    typer = ctx.text(_child(oi, "TyperNotation"), f"{P}.OtherInfo.TyperNotation")
    pamount = ctx.integer(
        _child(oi, "PromulgationAmount"), f"{P}.OtherInfo.PromulgationAmount", non_negative=True
    )
    pages = ctx.integer(_child(oi, "PageAmount"), f"{P}.OtherInfo.PageAmount", non_negative=True)
    raw_dir = ctx.text(_child(oi, "Direction"), f"{P}.OtherInfo.Direction")
    direction = None
    if raw_dir is not None:
        if raw_dir.lower() in ("true", "1", "false", "0"):
            direction = raw_dir.lower() in ("true", "1")
        else:
            ctx.issue(
                f"M.{P}.OtherInfo.Direction",
                f"Direction {raw_dir!r} is not a boolean",
                f"Direction {raw_dir!r} không phải giá trị đúng/sai",
            )
    appendixes = [
        a
        for a in (
            ctx.text(n, f"{P}.OtherInfo.Appendixes.Appendix") for n in _kids(oi, "Appendixes", "Appendix")
        )
        if a
    ]
    responses = [
        r for r in (_response_for(ctx, n, f"{P}.ResponseFor") for n in mh.findall("ResponseFor")) if r
    ]
    steering = ctx.integer(mh.find("SteeringType"), f"{P}.SteeringType")
    document_id = ctx.text(mh.find("DocumentId"), f"{P}.DocumentId", "document_id")
    if document_id is None:
        ctx.issue(f"N.{P}.DocumentId", "DocumentId is missing", "thiếu DocumentId", "warning")
    _check_document_id(ctx, document_id, f"{P}.DocumentId")
    if document_id and (m := _DOCID.match(document_id)):
        mismatches = []
        if sender.organ_id and m.group(1).upper() != sender.organ_id:
            mismatches.append("sender")
        try:
            if pdate is not None and md.parse_date(m.group(2)) != pdate:
                mismatches.append("date")
        except md.MetadataError:
            pass
        if number and notation and (m.group(3), m.group(4)) not in ((raw_num, raw_not), (number, notation)):
            mismatches.append("number/notation")
        if mismatches:
            ctx.issue(
                f"R.{P}.DocumentId",
                f"DocumentId disagrees with the header ({', '.join(mismatches)})",
                "DocumentId không khớp với thông tin văn bản ("
                + ", ".join(
                    {"sender": "nơi gửi", "date": "ngày ban hành", "number/notation": "số, ký hiệu"}[x]
                    for x in mismatches
                )
                + ")",
                "warning",
            )
    if due is not None and pdate is not None and due < pdate:
        ctx.issue(
            f"R.{P}.DueDate",
            f"DueDate {due} precedes the promulgation date {pdate}",
            f"hạn xử lý {due} trước ngày ban hành {pdate}",
            "warning",
        )
    # ---- TraceHeaderList / Bussiness
    traces: list[Trace] = []
    business = None
    B = "TraceHeaderList.Bussiness"
    if thl is not None:
        for th in thl.findall("TraceHeader"):
            oid = ctx.organ_id(
                th.find("OrganId"),
                "TraceHeaderList.TraceHeader.OrganId",
                "TraceHeaderList.TraceHeader.OrganId",
            )
            ts = ctx.timestamp(
                th.find("Timestamp"),
                "TraceHeaderList.TraceHeader.Timestamp",
                "TraceHeaderList.TraceHeader.Timestamp",
            )
            if oid and ts:
                traces.append(Trace(oid, ts))
        bn = thl.find("Bussiness") or thl.find("Business")
        if bn is not None:
            bt = ctx.integer(bn.find("BussinessDocType"), f"{B}.BussinessDocType", required=True)
            if bt is not None and bt not in BUSINESS_DOC_TYPE:
                ctx.issue(
                    f"R.{B}.BussinessDocType",
                    f"BussinessDocType {bt} outside 0-3",
                    f"BussinessDocType {bt} ngoài khoảng 0-3",
                )
                bt = None
            bdoc = ctx.text(bn.find("DocumentId"), f"{B}.DocumentId")
            _check_document_id(ctx, bdoc, f"{B}.DocumentId")
            info = bn.find("BussinessDocumentInfo")
            receivers = []
            for rn in _kids(info, "ReceiverList", "Receiver"):
                rid = ctx.organ_id(
                    rn.find("OrganId"),
                    f"{B}.BussinessDocumentInfo.ReceiverList.Receiver.OrganId",
                    f"{B}.ReceiverList.OrganId",
                )
                rtype = ctx.integer(
                    rn.find("ReceiverType"), f"{B}.BussinessDocumentInfo.ReceiverList.Receiver.ReceiverType"
                )
                if rid:
                    receivers.append(Receiver(rid, rtype or 0))
            replacements = []
            for rep in _kids(bn, "ReplacementInfoList", "ReplacementInfo"):
                rdoc = ctx.text(rep.find("DocumentId"), f"{B}.ReplacementInfoList.ReplacementInfo.DocumentId")
                oids = [
                    o
                    for o in (
                        ctx.organ_id(
                            n, f"{B}.ReplacementInfo.OrganIdList.OrganId", f"{B}.ReplacementInfo.OrganId"
                        )
                        for n in _kids(rep, "OrganIdList", "OrganId")
                    )
                    if o
                ]
                if rdoc:
                    replacements.append(Replacement(rdoc, oids))
            business = Business(
                doc_type=bt if bt is not None else 0,
                reason=ctx.text(bn.find("BussinessDocReason"), f"{B}.BussinessDocReason"),
                document_id=bdoc,
                paper=ctx.integer(bn.find("Paper"), f"{B}.Paper"),
                staff=_staff(ctx, bn.find("StaffInfo"), f"{B}.StaffInfo"),
                document_info=ctx.integer(
                    _child(info, "DocumentInfo"), f"{B}.BussinessDocumentInfo.DocumentInfo"
                ),
                document_receiver=ctx.integer(
                    _child(info, "DocumentReceiver"), f"{B}.BussinessDocumentInfo.DocumentReceiver"
                ),
                receivers=receivers,
                replacements=replacements,
            )
            if bt is None:
                business = None
    if business is None and not any(
        i.code.startswith(f"R.{B}") or i.code.startswith(f"N.{B}") for i in ctx.issues
    ):
        ctx.issue(
            f"N.{B}",
            "TraceHeaderList/Bussiness is missing (taken as a new document)",
            "thiếu TraceHeaderList/Bussiness (coi là văn bản mới)",
            "warning",
        )
    msg = EdocMessage(
        sender=sender,
        recipients=recipients,
        code_number=number or "",
        code_notation=notation or "",
        promulgation_date=pdate or date(1970, 1, 1),
        subject=subject or "",
        type_code=type_code or 0,
        type_name=type_name or "",
        signer_position=position or "",
        signer_full_name=full_name or "",
        promulgation_place=place,
        type_detail=type_detail,
        content=content,
        signer_competence=competence,
        due_date=due,
        to_places=to_places,
        priority=priority,
        sphere=sphere,
        typer_notation=typer,
        promulgation_amount=pamount,
        page_amount=pages,
        direction=direction,
        appendixes=appendixes,
        steering_type=steering,
        response_for=responses,
        document_id=document_id,
        business=business or Business(),
        trace=traces,
    )
    norm: dict[str, Any] = {
        "document_id": document_id,
        "from": {"organ_id": sender.organ_id or None, "organ_name": sender.organ_name},
        "to": [{"organ_id": r.organ_id or None, "organ_name": r.organ_name} for r in recipients],
        "code": {"number": number, "notation": notation} if (number or notation) else None,
        "promulgation": {"place": place, "date": pdate.isoformat() if pdate else None}
        if (place or pdate)
        else None,
        "document_type": {"type": type_code, "type_name": type_name}
        if (type_code is not None or type_name)
        else None,
        "subject": subject,
        "business": {"doc_type": business.doc_type, "doc_type_name": BUSINESS_DOC_TYPE[business.doc_type]}
        if business
        else None,
        "status": None,
    }
    return msg, norm


def _status(ctx: _Ctx, mh: Node) -> tuple[StatusMessage, dict[str, Any]]:
    P = "MessageHeader"
    fnode = mh.find("From")
    if fnode is None:
        ctx.issue(f"N.{P}.From", "From is missing", "thiếu đơn vị báo trạng thái (From)")
        fnode = Node(None, "From", None, {})
    sender = _organ(ctx, fnode, f"{P}.From", "from")
    rnode = mh.find("ResponseFor")
    rf = _response_for(ctx, rnode, f"{P}.ResponseFor") if rnode is not None else None
    if rf is None or not rf.document_id:
        ctx.issue(
            f"N.{P}.ResponseFor.DocumentId",
            "ResponseFor/DocumentId is missing",
            "thiếu ResponseFor/DocumentId",
        )
    if rf is None or not rf.code:
        ctx.issue(f"N.{P}.ResponseFor.Code", "ResponseFor/Code is missing", "thiếu ResponseFor/Code")
    rf = rf or ResponseFor()
    code = ctx.text(mh.find("StatusCode"), f"{P}.StatusCode", "status.code", required=True)
    if code is not None and code.isdigit() and len(code) == 1:
        ctx.norm("status.code", code, code.zfill(2))
        code = code.zfill(2)
    if code is not None and code not in STATUS_CODE:
        ctx.issue(
            f"R.{P}.StatusCode", f"unknown StatusCode {code!r}", f"mã trạng thái không xác định {code!r}"
        )
    ts = ctx.timestamp(mh.find("Timestamp"), f"{P}.Timestamp", "status.timestamp", required=True)
    if ts is not None and rf.promulgation_date is not None and ts.date() < rf.promulgation_date:
        ctx.issue(
            f"R.{P}.Timestamp",
            f"status time {ts.date()} precedes the document date {rf.promulgation_date}",
            f"thời điểm trạng thái {ts.date()} trước ngày văn bản {rf.promulgation_date}",
            "warning",
        )
    description = ctx.text(mh.find("Description"), f"{P}.Description", "status.description")
    staff = _staff(ctx, mh.find("StaffInfo"), f"{P}.StaffInfo")
    msg = StatusMessage(
        sender=sender,
        response_for=rf,
        status_code=code or "",
        timestamp=ts or datetime(1970, 1, 1, tzinfo=md.VN_TZ),
        description=description,
        staff=staff,
    )
    norm: dict[str, Any] = {
        "document_id": None,
        "from": {"organ_id": sender.organ_id or None, "organ_name": sender.organ_name},
        "to": None,
        "code": None,
        "promulgation": None,
        "document_type": None,
        "subject": None,
        "business": None,
        "status": {
            "code": code,
            "meaning": STATUS_CODE.get(code or ""),
            "description": description,
            "response_for": {
                "document_id": rf.document_id,
                "organ_id": rf.organ_id,
                "code": rf.code,
                "promulgation_date": rf.promulgation_date.isoformat() if rf.promulgation_date else None,
            },
            "timestamp": md.iso(ts) if ts else None,
        },
    }
    return msg, norm


# ---- attachments ----


def _leaf(node: Node, local: str) -> str | None:
    child = node.find(local)
    return child.text if child is not None else None


def _strip_cid(value: str | None) -> str:
    v = (value or "").strip()
    return v[4:].strip() if v.lower().startswith("cid:") else v


class _HashingWriter:
    def __init__(self, out: IO[bytes], limit: int) -> None:
        self.out, self.limit, self.size, self.h = out, limit, 0, hashlib.sha256()
        self.head = b""

    def write(self, b: bytes) -> None:
        self.size += len(b)
        if self.size > self.limit:
            raise XmlRejected(
                "R.Attachment-Size",
                f"unzipped attachment larger than {self.limit} bytes",
                f"tệp đính kèm sau giải nén lớn hơn {self.limit} byte",
            )
        if len(self.head) < 8:
            self.head = (self.head + b[:8])[:8]
        self.h.update(b)
        self.out.write(b)


def _unzip_one(spool: IO[bytes], packed: int, out: _HashingWriter, limits: Limits) -> str:
    """Extract the single (first regular) entry of a zip, bounded by size and ratio. Returns its name.
    Entry names are never used as paths, so ``../../x`` is harmless; it is still reported by the caller."""
    with zipfile.ZipFile(spool) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(zf.infolist()) > limits.max_zip_entries:
            raise XmlRejected(
                "R.Attachment-Zip",
                f"zip holds {len(zf.infolist())} entries",
                f"tệp zip chứa {len(zf.infolist())} mục",
            )
        if len(infos) != 1:
            raise XmlRejected(
                "M.Attachment-Zip",
                f"zip must hold exactly one file, holds {len(infos)}",
                f"tệp zip phải chứa đúng một tệp, đang chứa {len(infos)}",
            )
        info = infos[0]
        cap = min(limits.max_attachment_bytes, max(packed, 1) * limits.max_zip_ratio)
        if info.file_size > cap:
            raise XmlRejected(
                "R.Attachment-Zip",
                f"zip entry declares {info.file_size} bytes (limit {cap})",
                f"mục trong zip khai báo {info.file_size} byte (giới hạn {cap})",
            )
        out.limit = min(out.limit, cap)
        with zf.open(info) as f:
            while block := f.read(CHUNK):
                out.write(block)
        return info.filename


def _finish_attachment(
    ctx: _Ctx,
    node: Node,
    payload: Payload,
    sink: SinkFactory | None,
    limits: Limits,
    nested_ok: bool,
    anchors: Sequence[x509.Certificate] | None,
    lenient: bool,
) -> ParsedAttachment:
    cid = _strip_cid(_leaf(node, "ContentId"))
    path = "Attachment"
    name = ctx.text(node.find("AttachmentName"), f"{path}.AttachmentName")
    ctype = ctx.text(node.find("ContentType"), f"{path}.ContentType")
    ctype_l = (ctype or "").lower()
    if ctype and ctype_l not in KNOWN_CONTENT_TYPES:
        ctx.issue(
            "M.Attachment-Type",
            f"attachment {name!r}: unsupported content type {ctype!r}",
            f"tệp {name!r}: kiểu nội dung không hỗ trợ {ctype!r}",
        )
    zipped = payload.head.startswith(b"PK\x03\x04")
    own: IO[bytes] | None = None
    out: IO[bytes]
    if payload.error:
        ctx.issue(
            "M.Attachment-Encoding",
            f"attachment {name!r}: {payload.error}",
            f"tệp {name!r}: dữ liệu base64 không hợp lệ ({payload.error})",
        )
        return ParsedAttachment(cid, name, ctype, 0, "", False, False, None)
    stream: IO[bytes] | None
    if payload.direct:  # already streamed into the caller's sink while parsing
        stream, size, sha, head = None, payload.size, payload.sha256, payload.head
    elif not zipped and sink is None:
        stream = payload.spool  # no copy: the spool is the attachment
        size, sha, head = payload.size, payload.sha256, payload.head
    else:
        if sink is None:
            own = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)  # noqa: SIM115
            out = own
        else:
            out = sink(cid, name or "")
        w = _HashingWriter(out, limits.max_attachment_bytes)
        try:
            if zipped:
                entry = _unzip_one(payload.spool, payload.size, w, limits)
                if ".." in entry.replace("\\", "/").split("/") or entry.startswith(("/", "\\")):
                    ctx.issue(
                        "M.Attachment-Zip",
                        f"zip entry name {entry!r} tries to leave its folder (ignored, never used as a path)",
                        f"tên mục zip {entry!r} trỏ ra ngoài thư mục (bỏ qua)",
                        "warning",
                    )
            else:
                payload.spool.seek(0)
                shutil.copyfileobj(payload.spool, w, CHUNK)  # type: ignore[misc]
        except XmlRejected as e:
            ctx.issue(e.code, f"attachment {name!r}: {e.en}", f"tệp {name!r}: {e.vi}")
            return ParsedAttachment(cid, name, ctype, 0, "", zipped, False, None)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError, ValueError,
                zlib.error) as e:  # ValueError: a header offset pointing before the file; zlib: bad deflate data
            ctx.issue(
                "M.Attachment-Zip",
                f"attachment {name!r}: broken zip ({e})",
                f"tệp {name!r}: tệp zip bị hỏng ({e})",
            )
            return ParsedAttachment(cid, name, ctype, 0, "", zipped, False, None)
        finally:
            payload.spool.close() if zipped or sink is not None else None
        size, sha, head = w.size, w.h.hexdigest(), w.head
        stream = own
    if stream is not None:
        stream.seek(0)
    pdf = _PDF.match(head)
    att = ParsedAttachment(cid, name, ctype, size, sha, zipped, bool(pdf), stream)
    if pdf and (int(pdf.group(1)), int(pdf.group(2))) < (1, 4):
        ctx.issue(
            "R.Attachment-PDF-Version",
            f"attachment {name!r}: PDF older than 1.4",
            f"tệp {name!r}: PDF cũ hơn phiên bản 1.4",
            "warning",
        )
    if (
        nested_ok
        and stream is not None
        and head.lstrip().startswith((b"<?xml", b"<edXML", b"<"))
        and size <= limits.max_nested_package_bytes
    ):
        stream.seek(0)
        att.nested = parse_package(stream, limits=limits, anchors=anchors, lenient=lenient, _nested=True)
        stream.seek(0)
        if not att.nested.readable:
            ctx.issue(
                "M.Attachment-Nested",
                f"attachment {name!r} holds an edXML package that does not parse (see nested errors)",
                f"tệp {name!r} chứa gói edXML lồng không đọc được",
                "warning",
            )
    return att


# ---- entry point ----


def _empty_norm() -> dict[str, Any]:
    return {
        "kind": None,
        "namespace": None,
        "document_id": None,
        "from": None,
        "to": None,
        "code": None,
        "promulgation": None,
        "document_type": None,
        "subject": None,
        "business": None,
        "status": None,
        "attachments": [],
        "package_signature": {"present": False, "valid": False, "note": "absent"},
        "errors": [],
        "normalizations": [],
    }


def _sig_json(s: SignatureCheck) -> dict[str, Any]:
    return {
        "present": s.present,
        "valid": s.valid,
        "note": s.note,
        "reason": s.reason,
        "algorithm": s.algorithm,
        "signer": s.signer_subject,
        "signer_cert_sha256": s.signer_cert_sha256,
        "trusted": s.trusted,
    }


def _att_json(a: ParsedAttachment) -> dict[str, Any]:
    return {
        "name": a.name,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256 or None,
        "content_id": a.content_id,
        "zipped": a.zipped,
        "is_pdf": a.is_pdf,
        "nested": a.nested.normalized if a.nested is not None else None,
    }


DEFAULT_LIMITS = Limits()


def parse_package(
    source: Source,
    *,
    sink: SinkFactory | None = None,
    limits: Limits = DEFAULT_LIMITS,
    anchors: Sequence[x509.Certificate] | None = None,
    lenient: bool = True,
    _nested: bool = False,
) -> ParsedPackage:
    """Parse, validate and normalize one edXML package. Never raises for bad input.

    ``source``: bytes, a path, or a binary stream. ``sink``: where decoded (and unzipped) attachment bytes
    go; default: spooled temporary files readable through ``ParsedAttachment.read()``. ``anchors``: trusted
    roots for the package signature's certificate (``SignatureCheck.trusted``). ``lenient``: accept short
    agency codes with a warning. A zip holding an edXML package is parsed one level deep, never more.
    """
    ctx = _Ctx(lenient)
    norm = _empty_norm()
    chunks, load_raw = _chunks(source, limits.max_verify_bytes)
    try:
        root, digest = read_xml(chunks, limits, sink=sink)
    except XmlRejected as e:
        ctx.issue(e.code, e.en, e.vi)
        return _result(norm, ctx, None, [], SignatureCheck(False, False, "absent"), readable=False)
    except OSError as e:
        ctx.issue("M.IO", f"cannot read the package: {e}", f"không đọc được gói tin: {e}")
        return _result(norm, ctx, None, [], SignatureCheck(False, False, "absent"), readable=False)
    if root.local != "edXML" or root.ns != NAMESPACE:
        if root.ns == WRONG_NAMESPACE:
            en, vi = (
                f"non-standard namespace http://www.go.vn/eDoc (QCVN 102:2016 requires {NAMESPACE})",
                f"namespace không chuẩn http://www.go.vn/eDoc (QCVN 102:2016 yêu cầu {NAMESPACE})",
            )
        else:
            en = f"root element {{{root.ns}}}{root.local} is not an edXML package"
            vi = f"phần tử gốc {{{root.ns}}}{root.local} không phải gói edXML"
        ctx.issue("M.edXML", en, vi)
        _close_payloads(root)
        return _result(norm, ctx, None, [], SignatureCheck(False, False, "absent"), readable=False)
    norm["namespace"] = root.ns
    try:
        strict = header_from_tree(root)
    except HeaderError as e:
        strict = None
        ctx.issue(e.edxml_code, e.detail_en, e.detail_vi)
    env = root.find("edXMLEnvelope")
    header = _child(env, "edXMLHeader")
    mh = _child(header, "MessageHeader")
    if mh is None:
        if not any(i.code == "N.MessageHeader" for i in ctx.issues):  # the strict reader may have said so
            ctx.issue("N.MessageHeader", "MessageHeader is missing", "thiếu MessageHeader")
        _close_payloads(root)
        return _result(norm, ctx, None, [], SignatureCheck(False, False, "absent"), readable=True)
    kind = "status" if mh.find("StatusCode") is not None else "edoc"
    norm["kind"] = kind
    message: EdocMessage | StatusMessage
    if kind == "status":
        message, part = _status(ctx, mh)
    else:
        message, part = _edoc(ctx, mh, _child(header, "TraceHeaderList"))
    norm.update(part)

    # signature
    sig = check_signature(header, load_raw, anchors, digest)
    if sig.note in ("dummy", "invalid", "unverified"):
        ctx.issue(
            "M.Signature" if sig.note != "unverified" else "R.Signature",
            f"package XML signature {sig.note}: {sig.reason} (not trusted; the PDF signatures decide)",
            f"chữ ký XML của gói tin {_SIG_VI[sig.note]}: {sig.reason} (không tin cậy; chữ ký trên PDF "
            "quyết định)",
            "warning",
        )
    # attachments
    attachments: list[ParsedAttachment] = []
    manifest = {
        _strip_cid(_leaf(r, "ContentId")): r for r in _kids(env, "edXMLBody", "edXMLManifest", "Reference")
    }
    att_nodes = [n for n in root.iter() if n.local == "Attachment" and n.find("ContentTransferEncoded")]
    for n in att_nodes:
        cte = n.find("ContentTransferEncoded")
        assert cte is not None
        if cte.payload is None:
            continue
        attachments.append(
            _finish_attachment(ctx, n, cte.payload, sink, limits, not _nested, anchors, lenient)
        )
    cids = {a.content_id for a in attachments}
    for cid in manifest:
        if cid not in cids:
            ctx.issue(
                "N.Attachment",
                f"manifest reference cid:{cid} has no attachment",
                f"tham chiếu cid:{cid} trong manifest không có tệp đính kèm",
            )
    for a in attachments:
        if manifest and a.content_id not in manifest:
            ctx.issue(
                "M.Attachment-Reference",
                f"attachment cid:{a.content_id} is not in the manifest",
                f"tệp cid:{a.content_id} không có trong manifest",
            )
    if kind == "edoc":
        if not attachments:
            ctx.issue(
                "N.Attachment",
                "an edoc message needs at least one attachment",
                "văn bản điện tử phải có ít nhất một tệp đính kèm",
            )
        elif attachments[0].size and not attachments[0].is_pdf:
            ctx.issue(
                "M.Attachment-Type",
                f"the main document {attachments[0].name!r} is not a PDF"
                + (" (it is a nested edXML package)" if attachments[0].nested is not None else ""),
                f"văn bản chính {attachments[0].name!r} không phải tệp PDF",
            )
    if isinstance(message, EdocMessage):
        message.attachments = [
            Attachment(
                a.name or a.content_id,
                a.content_type or "application/octet-stream",
                a.stream if a.stream is not None else b"",
                content_id=a.content_id,
                zip_payload=a.zipped,
            )
            for a in attachments
            if a.sha256
        ]
    norm["attachments"] = [_att_json(a) for a in attachments]
    result = _result(norm, ctx, message, attachments, sig, readable=True)
    result.header = strict
    return result


_SIG_VI = {"dummy": "là chữ ký giả/mẫu", "invalid": "không hợp lệ", "unverified": "chưa được kiểm tra"}


def _close_payloads(root: Node) -> None:
    for n in root.iter():
        if n.payload is not None and not n.payload.direct:  # never close a caller's sink
            n.payload.spool.close()


def _result(
    norm: dict[str, Any],
    ctx: _Ctx,
    message: EdocMessage | StatusMessage | None,
    attachments: list[ParsedAttachment],
    sig: SignatureCheck,
    readable: bool,
) -> ParsedPackage:
    norm["package_signature"] = _sig_json(sig)
    norm["errors"] = [
        {"code": i.code, "message": i.message, "message_vi": i.message_vi, "severity": i.severity}
        for i in ctx.issues
    ]
    norm["normalizations"] = ctx.norms
    if not readable:
        message = None
    return ParsedPackage(
        normalized=norm,
        message=message,
        attachments=attachments,
        signature=sig,
        issues=ctx.issues,
        readable=readable,
    )
