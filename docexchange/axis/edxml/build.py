"""Build edoc and status packages (QCVN 102:2016), signed with the sending agency's seal key.

Values are validated strictly before anything is produced (``MetadataError`` on bad input): agency codes in
the legacy or Decision 20/2020 format only (never the short form), canonical number/notation, Appendix VI
lengths. Dates are written ``YYYY/MM/DD``, timestamps ``YYYY/MM/DD HH:mm:ss`` (Vietnam time).
"""

from __future__ import annotations

import base64
import io
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO

from lxml import etree

from ...formats import metadata as md
from ...formats.text import normalize_text
from ...pki.ca import Identity
from .dsig import placeholder, sign_root
from .model import (
    BUSINESS_DOC_TYPE,
    NAMESPACE,
    STATUS_CODE,
    Attachment,
    EdocMessage,
    Limits,
    Organ,
    StaffInfo,
    StatusMessage,
    Trace,
)
from .safexml import read_xml

REASONS = {
    0: "Văn bản điện tử mới",
    1: "Thu hồi văn bản điện tử",
    2: "Cập nhật văn bản điện tử",
    3: "Văn bản thay thế",
}


def _q(local: str) -> str:
    return f"{{{NAMESPACE}}}{local}"


def _sub(parent: etree._Element, local: str, text: str | int | None = None) -> etree._Element:
    el = etree.SubElement(parent, _q(local))
    if text is not None:
        el.text = normalize_text(str(text)) if isinstance(text, str) else str(text)
    return el


def _opt(parent: etree._Element, local: str, value: str | int | None, path: str) -> None:
    if value is None:
        return
    if isinstance(value, str):
        md.check_length(path, normalize_text(value))
    _sub(parent, local, value)


def _organ(parent: etree._Element, local: str, o: Organ, path: str) -> None:
    el = _sub(parent, local)
    _sub(el, "OrganId", md.canonical_organ_id(o.organ_id, f"{path}.OrganId", lenient=False).value)
    for tag, value in (
        ("OrganizationInCharge", o.organization_in_charge),
        ("OrganName", o.organ_name),
        ("OrganAdd", o.address),
        ("Email", o.email),
        ("Telephone", o.telephone),
        ("Fax", o.fax),
        ("Website", o.website),
    ):
        _opt(el, tag, value, f"{path}.{tag}")


def _staff(parent: etree._Element, s: StaffInfo | None, path: str) -> None:
    if s is None:
        return
    el = _sub(parent, "StaffInfo")
    for tag, value in (
        ("Department", s.department),
        ("Staff", s.staff),
        ("Email", s.email),
        ("Mobile", s.mobile),
    ):
        _opt(el, tag, value, f"{path}.{tag}")


def _required(value: str | None, path: str) -> str:
    if value is None or not normalize_text(value):
        raise md.MetadataError(f"{path}: required", f"{path}: bắt buộc", code=f"N.{path}", field=path)
    return value


def _read(data: bytes | Path | object) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, Path):
        return data.read_bytes()
    stream = data
    stream.seek(0)  # type: ignore[attr-defined]
    out: bytes = stream.read()  # type: ignore[attr-defined]
    stream.seek(0)  # type: ignore[attr-defined]
    return out


def _zip(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    info = zipfile.ZipInfo(Path(name).name or "file", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, data)
    return buf.getvalue()


def _envelope() -> tuple[etree._Element, etree._Element, etree._Element]:
    root = etree.Element(_q("edXML"), nsmap={None: NAMESPACE})  # type: ignore[dict-item]
    env = etree.SubElement(root, _q("edXMLEnvelope"), nsmap={"edXML": NAMESPACE})
    header = etree.SubElement(env, _q("edXMLHeader"))
    return root, env, header


def _finish(root: etree._Element, header: etree._Element, seal: Identity | None) -> bytes:
    if seal is not None:
        header.append(placeholder())
    etree.indent(root, space="  ")
    if seal is not None:
        root = sign_root(root, seal.key, seal.cert, seal.chain)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def default_document_id(msg: EdocMessage) -> str:
    return (
        f"{msg.sender.organ_id.upper()},{md.edxml_date(msg.promulgation_date)},"
        f"{md.canonical_number(msg.code_number)}/{md.canonical_notation(msg.code_notation)}"
    )


def build_edoc(msg: EdocMessage, seal: Identity | None = None, *, now: datetime | None = None) -> bytes:
    """The package bytes of a document message. With ``seal`` (the sending agency's seal key and
    certificate chain) an enveloped XML-DSig (signxml, exclusive c14n, SHA-256) over the whole package is
    added. When ``msg.trace`` is empty one TraceHeader (sender, ``now``) is written.

    Memory: the whole package is built in memory (about four times the base64 size); for large attachments
    use ``write_edoc``, which streams."""
    root, header = _edoc_tree(msg, now, _inline_payload)
    return _finish(root, header, seal)


def _inline_payload(i: int, a: Attachment, el: etree._Element) -> None:
    data = _read(a.data)
    if a.zip_payload:
        data = _zip(a.name, data)
    el.text = base64.b64encode(data).decode("ascii")


def _edoc_tree(
    msg: EdocMessage, now: datetime | None, payload: Callable[[int, Attachment, etree._Element], None]
) -> tuple[etree._Element, etree._Element]:
    P = "MessageHeader"
    if not msg.recipients:
        raise md.MetadataError(
            "MessageHeader.To: at least one recipient",
            "MessageHeader.To: cần ít nhất một nơi nhận",
            code="N.MessageHeader.To",
            field="MessageHeader.To",
        )
    ids = [md.canonical_organ_id(r.organ_id, f"{P}.To.OrganId", lenient=False).value for r in msg.recipients]
    if len(set(ids)) != len(ids):
        raise md.MetadataError(
            "MessageHeader.To: duplicate recipient",
            "MessageHeader.To: nơi nhận bị lặp",
            code="R.MessageHeader.To.OrganId",
            field="MessageHeader.To.OrganId",
        )
    if not msg.attachments:
        raise md.MetadataError(
            "an edoc needs at least one attachment",
            "văn bản điện tử cần ít nhất một tệp đính kèm",
            code="N.Attachment",
            field="Attachment",
        )
    if msg.business.doc_type not in BUSINESS_DOC_TYPE:
        raise md.MetadataError(
            "BussinessDocType must be 0-3",
            "BussinessDocType phải từ 0 đến 3",
            code="R.TraceHeaderList.Bussiness.BussinessDocType",
            field="BussinessDocType",
        )
    number = md.canonical_number(msg.code_number, f"{P}.Code.CodeNumber")
    notation = md.canonical_notation(msg.code_notation, f"{P}.Code.CodeNotation")
    root, env, header = _envelope()
    mh = _sub(header, "MessageHeader")
    _organ(mh, "From", msg.sender, f"{P}.From")
    for r in msg.recipients:
        _organ(mh, "To", r, f"{P}.To")
    code = _sub(mh, "Code")
    _sub(code, "CodeNumber", number)
    _sub(code, "CodeNotation", notation)
    pi = _sub(mh, "PromulgationInfo")
    _opt(pi, "Place", msg.promulgation_place, f"{P}.PromulgationInfo.Place")
    _sub(pi, "PromulgationDate", md.edxml_date(msg.promulgation_date))
    dt = _sub(mh, "DocumentType")
    _sub(dt, "Type", msg.type_code)
    _opt(dt, "TypeDetail", msg.type_detail, "")
    _opt(dt, "TypeName", _required(msg.type_name, f"{P}.DocumentType.TypeName"), f"{P}.DocumentType.TypeName")
    _opt(mh, "Subject", _required(msg.subject, f"{P}.Subject"), f"{P}.Subject")
    _opt(mh, "Content", msg.content, f"{P}.Content")
    si = _sub(mh, "SignerInfo")
    _opt(si, "Competence", msg.signer_competence, f"{P}.SignerInfo.Competence")
    _opt(
        si, "Position", _required(msg.signer_position, f"{P}.SignerInfo.Position"), f"{P}.SignerInfo.Position"
    )
    _opt(
        si,
        "FullName",
        _required(msg.signer_full_name, f"{P}.SignerInfo.FullName"),
        f"{P}.SignerInfo.FullName",
    )
    if msg.due_date is not None:
        _sub(mh, "DueDate", md.edxml_date(msg.due_date))
    if msg.to_places:
        tp = _sub(mh, "ToPlaces")
        for place in msg.to_places:
            _opt(tp, "Place", place, f"{P}.ToPlaces.Place")
    other = etree.Element(_q("OtherInfo"))
    if msg.priority is not None:
        _sub(other, "Priority", md.canonical_priority(msg.priority))
    _opt(other, "SphereOfPromulgation", msg.sphere, f"{P}.OtherInfo.SphereOfPromulgation")
    _opt(other, "TyperNotation", msg.typer_notation, f"{P}.OtherInfo.TyperNotation")
    for tag, n in (("PromulgationAmount", msg.promulgation_amount), ("PageAmount", msg.page_amount)):
        if n is not None:
            md.check_non_negative(f"{P}.OtherInfo.{tag}", str(n))
            _sub(other, tag, n)
    if msg.direction is not None:
        _sub(other, "Direction", "true" if msg.direction else "false")
    if msg.appendixes:
        ap = _sub(other, "Appendixes")
        for a in msg.appendixes:
            _opt(ap, "Appendix", a, f"{P}.OtherInfo.Appendixes.Appendix")
    if len(other):
        mh.append(other)
    for rf in msg.response_for:
        el = _sub(mh, "ResponseFor")
        if rf.organ_id:
            _sub(el, "OrganId", md.canonical_organ_id(rf.organ_id, f"{P}.ResponseFor.OrganId").value)
        _opt(el, "Code", rf.code, f"{P}.ResponseFor.Code")
        if rf.promulgation_date:
            _sub(el, "PromulgationDate", md.edxml_date(rf.promulgation_date))
        _opt(el, "DocumentId", rf.document_id, f"{P}.ResponseFor.DocumentId")
    if msg.steering_type is not None:
        _sub(mh, "SteeringType", msg.steering_type)
    document_id = msg.document_id or default_document_id(msg)
    _opt(mh, "DocumentId", document_id, f"{P}.DocumentId")
    # TraceHeaderList + Bussiness
    thl = _sub(header, "TraceHeaderList")
    traces = msg.trace or [Trace(msg.sender.organ_id, now or datetime.now(md.VN_TZ))]
    for t in traces:
        th = _sub(thl, "TraceHeader")
        _sub(
            th,
            "OrganId",
            md.canonical_organ_id(t.organ_id, "TraceHeaderList.TraceHeader.OrganId", lenient=False).value,
        )
        _sub(th, "Timestamp", md.edxml_timestamp(t.timestamp))
    b = msg.business
    bn = _sub(thl, "Bussiness")
    _sub(bn, "BussinessDocType", b.doc_type)
    _opt(
        bn,
        "BussinessDocReason",
        b.reason or REASONS[b.doc_type],
        "TraceHeaderList.Bussiness.BussinessDocReason",
    )
    _opt(bn, "DocumentId", b.document_id or document_id, "TraceHeaderList.Bussiness.DocumentId")
    if b.paper is not None:
        _sub(bn, "Paper", b.paper)
    _staff(bn, b.staff, "TraceHeaderList.Bussiness.StaffInfo")
    if b.document_info is not None or b.document_receiver is not None or b.receivers:
        info = _sub(bn, "BussinessDocumentInfo")
        _opt(info, "DocumentInfo", b.document_info, "")
        _opt(info, "DocumentReceiver", b.document_receiver, "")
        if b.receivers:
            rl = _sub(info, "ReceiverList")
            for rc in b.receivers:
                r_el = _sub(rl, "Receiver")
                _sub(
                    r_el,
                    "OrganId",
                    md.canonical_organ_id(rc.organ_id, "ReceiverList.Receiver.OrganId", lenient=False).value,
                )
                _sub(r_el, "ReceiverType", rc.receiver_type)
    if b.replacements:
        rl = _sub(bn, "ReplacementInfoList")
        for rep in b.replacements:
            r_el = _sub(rl, "ReplacementInfo")
            _sub(r_el, "DocumentId", rep.document_id)
            ol = _sub(r_el, "OrganIdList")
            for oid in rep.organ_ids:
                _sub(
                    ol, "OrganId", md.canonical_organ_id(oid, "ReplacementInfo.OrganId", lenient=False).value
                )
    # manifest + attachments
    body = _sub(env, "edXMLBody")
    manifest = _sub(body, "edXMLManifest")
    manifest.set("version", "1.0")
    encoded = _sub(root, "AttachmentEncoded")
    for i, att in enumerate(msg.attachments):
        payload(i, att, _attachment(manifest, encoded, att, att.content_id or str(i + 1)))
    return root, header


def _attachment(manifest: etree._Element, encoded: etree._Element, a: Attachment, cid: str) -> etree._Element:
    md.check_length("Attachment.AttachmentName", a.name)
    # a zipped payload is labelled as what travels (readers such as EdXML102 unzip only application/zip)
    content_type = "application/zip" if a.zip_payload else a.content_type
    ref = _sub(manifest, "Reference")
    _sub(ref, "ContentId", f"cid:{cid}")
    _sub(ref, "ContentType", content_type)
    _opt(ref, "Description", a.description, "Attachment.Description")
    _sub(ref, "AttachmentName", a.name)
    att = _sub(encoded, "Attachment")
    _sub(att, "ContentId", f"cid:{cid}")
    _sub(att, "AttachmentName", a.name)
    _opt(att, "Description", a.description, "Attachment.Description")
    _sub(att, "ContentType", content_type)
    return _sub(att, "ContentTransferEncoded")


def build_status(msg: StatusMessage, seal: Identity | None = None) -> bytes:
    """The package bytes of a status (feedback) message; signed when ``seal`` is given."""
    P = "MessageHeader"
    if msg.status_code not in STATUS_CODE:
        raise md.MetadataError(
            f"StatusCode {msg.status_code!r} unknown",
            f"mã trạng thái {msg.status_code!r} không xác định",
            code=f"R.{P}.StatusCode",
            field=f"{P}.StatusCode",
        )
    rf = msg.response_for
    root, env, header = _envelope()
    mh = _sub(header, "MessageHeader")
    _organ(mh, "From", msg.sender, f"{P}.From")
    el = _sub(mh, "ResponseFor")
    if rf.organ_id:
        _sub(el, "OrganId", md.canonical_organ_id(rf.organ_id, f"{P}.ResponseFor.OrganId").value)
    _sub(el, "Code", _required(rf.code, f"{P}.ResponseFor.Code"))
    if rf.promulgation_date:
        _sub(el, "PromulgationDate", md.edxml_date(rf.promulgation_date))
    _sub(el, "DocumentId", _required(rf.document_id, f"{P}.ResponseFor.DocumentId"))
    _staff(mh, msg.staff, f"{P}.StaffInfo")
    _sub(mh, "StatusCode", msg.status_code)
    _opt(mh, "Description", msg.description, f"{P}.Description")
    _sub(mh, "Timestamp", md.edxml_timestamp(msg.timestamp))
    return _finish(root, header, seal)


# ---- streaming writer ----

_MARK = "\ue000ATTACHMENT-{}\ue001"  # private-use characters: checked absent from the header below
_B64_BLOCK = 3 * (1 << 16)
_HEADER_END = re.compile(rb"</([A-Za-z_][\w.-]*:)?edXMLHeader>")


def _zip_to_temp(a: Attachment) -> IO[bytes]:
    """Zip an attachment into a temporary file in blocks (fixed entry time: deterministic bytes)."""
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 - closed by write_edoc
    info = zipfile.ZipInfo(Path(a.name).name or "file", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(tmp, "w") as zf, zf.open(info, "w", force_zip64=True) as w:
        for block in _raw_blocks(a.data):
            w.write(block)
    return tmp


def _raw_blocks(data: bytes | Path | IO[bytes]) -> Iterator[bytes]:
    """Blocks of exactly ``_B64_BLOCK`` bytes (a multiple of 3) except the last, so that the base64 of
    consecutive blocks concatenates into the base64 of the whole."""
    if isinstance(data, bytes):
        for i in range(0, len(data), _B64_BLOCK):
            yield data[i : i + _B64_BLOCK]
        return
    f = data.open("rb") if isinstance(data, Path) else data
    try:
        if not isinstance(data, Path):
            f.seek(0)
        buf = b""
        while chunk := f.read(_B64_BLOCK):
            buf += chunk
            while len(buf) >= _B64_BLOCK:
                yield buf[:_B64_BLOCK]
                buf = buf[_B64_BLOCK:]
        if buf:
            yield buf
    finally:
        if isinstance(data, Path):
            f.close()


def write_edoc(
    msg: EdocMessage, out: IO[bytes], seal: Identity | None = None, *, now: datetime | None = None
) -> int:
    """Stream the package of ``msg`` to ``out``; returns the number of bytes written.

    Same content as ``build_edoc`` but attachments are read twice in blocks (once for the digest, once to
    write) and never held whole: memory stays at the header plus a few 192 KiB blocks whatever the
    attachment size. The enveloped signature is computed from the streamed exclusive c14n of the document
    (the same code the parser verifies with) and signed with the seal key directly."""
    if now is None and not msg.trace:
        now = datetime.now(md.VN_TZ)  # one instant for both passes
    root, header = _edoc_tree(msg, now, lambda i, a, el: setattr(el, "text", _MARK.format(i)))
    etree.indent(root, space="  ")
    skeleton = etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")
    pieces = re.split("\ue000ATTACHMENT-(\\d+)\ue001", skeleton)
    if len(pieces) != 2 * len(msg.attachments) + 1:
        raise md.MetadataError(
            "private-use characters U+E000/U+E001 in the header",
            "ký tự vùng riêng U+E000/U+E001 trong phần đầu gói tin",
            code="M.MessageHeader",
            field="MessageHeader",
        )

    zipped = {i: _zip_to_temp(a) for i, a in enumerate(msg.attachments) if a.zip_payload}

    def stream(sig: bytes = b"") -> Iterator[bytes]:
        for k, piece in enumerate(pieces):
            if k % 2:
                i = int(piece)
                src = zipped[i] if i in zipped else msg.attachments[i].data
                yield from (base64.b64encode(block) for block in _raw_blocks(src))
                continue
            data = piece.encode("utf-8")
            m = _HEADER_END.search(data) if sig else None
            if m:  # last child of edXMLHeader, no whitespace of its own: removing it gives the skeleton back
                data = data[: m.start()] + sig + data[m.start() :]
            yield data

    try:
        return _write_two_passes(stream, out, seal)
    finally:
        for tmp in zipped.values():
            tmp.close()


def _write_two_passes(stream: Callable[..., Iterator[bytes]], out: IO[bytes], seal: Identity | None) -> int:
    from .dsig import signature_element

    sig = b""
    if seal is not None:
        _root, digest = read_xml(
            stream(),
            Limits(max_package_bytes=1 << 62, max_attachment_bytes=1 << 62, max_header_chars=1 << 30),
            decode_payloads=False,
            hash_all=True,
        )
        sig = signature_element(digest.sha256, seal.key, seal.cert, seal.chain)
    written = 0
    for block in stream(sig):
        out.write(block)
        written += len(block)
    return written
