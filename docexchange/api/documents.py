"""Outgoing documents: draft, sign, approve the seal, issue; and the outgoing register."""

from __future__ import annotations

import json

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, DateTime, File, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Response, request

from ..auth import PinPolicy, Principal, pin_guard
from ..documents import service
from ..documents.models import Document
from ..documents.register import export_outgoing, outgoing_rows
from ..errors import BadInput, NotFound
from ..models import Agency
from ._deps import current_principal, require, services

bp = APIBlueprint("documents", __name__, url_prefix="/api/v1", tag="Outgoing documents")


class DraftIn(Schema):
    file = File(required=True)
    type_name = String(required=True, validate=Length(1, 100))
    type_abbr = String(load_default="", validate=Length(0, 10))
    subject = String(required=True, validate=Length(1, 500))
    recipients = String(load_default="", metadata={"description": "agency codes, comma separated"})
    signer = String(required=True, metadata={"description": "user name of the competent person"})
    authority_marker = String(load_default="", validate=OneOf(["", "TM.", "KT.", "TL.", "TUQ.", "Q."]))
    signer_position = String(load_default="", validate=Length(0, 100))
    urgency = Integer(load_default=0, validate=Range(0, 4))
    notation_suffix = String(load_default="", validate=Length(0, 20))
    series = String(load_default="main", validate=Length(1, 40))
    replaces = String(load_default=None, metadata={"description": "id of an issued document this one replaces"})


class PinIn(Schema):
    pin = String(required=True, validate=Length(1, 200))


class AttachmentOut(Schema):
    position = Integer()
    name = String()
    sealed = Boolean()


class DocumentOut(Schema):
    id = String()
    status = String()
    type_name = String()
    type_abbr = String()
    subject = String()
    urgency = Integer()
    recipients = List(String())
    number = String(allow_none=True)
    issued_at = DateTime(allow_none=True)
    page_count = Integer()
    draft_sha256 = String()
    signed_sha256 = String(allow_none=True)
    issued_sha256 = String(allow_none=True)
    normalizations = List(Nested(Schema.from_dict({"field": String(), "from": String(), "to": String()})))
    attachments = List(Nested(AttachmentOut))


class DocumentList(Schema):
    items = List(Nested(DocumentOut))


class ListQuery(Schema):
    status = String(load_default=None)


def _out(doc: Document) -> dict[str, object]:
    return {"id": doc.public_id, "status": doc.status, "type_name": doc.type_name, "type_abbr": doc.type_abbr,
            "subject": doc.subject, "urgency": doc.urgency, "recipients": json.loads(doc.recipients),
            "number": doc.number_text, "issued_at": doc.issued_at, "page_count": doc.page_count,
            "draft_sha256": doc.draft_sha256, "signed_sha256": doc.signed_sha256,
            "issued_sha256": doc.issued_sha256, "normalizations": json.loads(doc.normalizations),
            "attachments": [{"position": a.position, "name": a.name, "sealed": a.sealed_sha256 is not None}
                            for a in doc.attachments]}


def _deps() -> service.Deps:
    from ..documents.engine import deps_for

    return deps_for(services())


@bp.post("/documents")
@bp.input(DraftIn, location="form_and_files")
@bp.output(DocumentOut, status_code=201)
@bp.doc(summary="Create a draft from an uploaded document (clerk)", security="BearerAuth")
def create_draft(form_and_files_data: dict[str, object]) -> dict[str, object]:
    p = require("clerk")
    f = form_and_files_data["file"]
    meta = service.DraftInput(
        type_name=str(form_and_files_data["type_name"]), type_abbr=str(form_and_files_data["type_abbr"]),
        subject=str(form_and_files_data["subject"]),
        recipients=[c.strip().upper() for c in str(form_and_files_data["recipients"]).split(",") if c.strip()],
        signer_username=str(form_and_files_data["signer"]),
        authority_marker=str(form_and_files_data["authority_marker"]),
        signer_position=str(form_and_files_data["signer_position"]), urgency=int(form_and_files_data["urgency"]),  # type: ignore[call-overload]
        notation_suffix=str(form_and_files_data["notation_suffix"]), series=str(form_and_files_data["series"]),
        replaces=form_and_files_data.get("replaces") or None,  # type: ignore[arg-type]
        attachments=[(a.filename or f"attachment-{i + 1}.pdf", a.stream)
                     for i, a in enumerate(request.files.getlist("attachments"))])
    svc = services()
    with svc.db.transaction() as s:
        doc = service.create_draft(s, _deps(), p, f.stream, f.filename or "document", meta)  # type: ignore[attr-defined]
        return _out(doc)


@bp.get("/documents")
@bp.input(ListQuery, location="query")
@bp.output(DocumentList)
@bp.doc(summary="Documents of your agency (signers see those waiting for them)", security="BearerAuth")
def list_documents(query_data: dict[str, object]) -> dict[str, object]:
    p = current_principal()
    with services().db.transaction() as s:
        return {"items": [_out(d) for d in service.list_documents(s, p, query_data.get("status"))]}  # type: ignore[arg-type]


@bp.get("/documents/<doc_id>")
@bp.output(DocumentOut)
@bp.doc(summary="One document", security="BearerAuth")
def get_document(doc_id: str) -> dict[str, object]:
    p = current_principal()
    with services().db.transaction() as s:
        return _out(service.get_document(s, p, doc_id))


@bp.get("/documents/<doc_id>/pdf")
@bp.doc(summary="The PDF: ?version=issued|signed|draft|original (default: the latest)", security="BearerAuth")
def get_pdf(doc_id: str) -> Response:
    p = current_principal()
    svc = services()
    with svc.db.transaction() as s:
        doc = service.get_document(s, p, doc_id)
        versions = {"original": doc.original_sha256, "draft": doc.draft_sha256, "signed": doc.signed_sha256,
                    "issued": doc.issued_sha256}
        wanted = request.args.get("version") or next(v for v in ("issued", "signed", "draft")
                                                     if versions[v] is not None)
        sha = versions.get(wanted)
    if sha is None:
        raise NotFound(f"no {wanted} version", "không có phiên bản này")
    return Response(svc.blobs.get_bytes(sha), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{doc_id}-{wanted}.pdf"'})


def _act(doc_id: str, fn: str, p: Principal, pin: str | None) -> dict[str, object]:
    svc = services()
    doc = service.perform(svc.db, _deps(), p, doc_id, fn, pin or "",
                          pin_policy=PinPolicy.from_settings(svc.settings))
    with svc.db.reading() as s:
        return _out(s.merge(doc, load=True))


@bp.post("/documents/<doc_id>/sign")
@bp.input(PinIn)
@bp.output(DocumentOut)
@bp.doc(summary="Sign as the competent person (signer; PIN of your key)", security="BearerAuth")
def sign(doc_id: str, json_data: dict[str, str]) -> dict[str, object]:
    return _act(doc_id, "sign", require("signer"), json_data["pin"])


@bp.post("/documents/<doc_id>/approve-seal")
@bp.output(DocumentOut)
@bp.doc(summary="Second-person approval to use the agency seal (dual control)", security="BearerAuth")
def approve(doc_id: str) -> dict[str, object]:
    return _act(doc_id, "approve", require("signer", "admin"), None)


@bp.post("/documents/<doc_id>/issue")
@bp.input(PinIn)
@bp.output(DocumentOut)
@bp.doc(summary="Number, date, seal and register (clerk; PIN of the agency seal key)", security="BearerAuth")
def issue(doc_id: str, json_data: dict[str, str]) -> dict[str, object]:
    return _act(doc_id, "issue", require("clerk"), json_data["pin"])


def _require_issued(doc: Document) -> None:
    """Checked before the seal key is opened, so a wrong state is reported as such (not as a PIN problem)."""
    from ..errors import Conflict

    if doc.status != "issued":
        raise Conflict(f"a {doc.status} document cannot be recalled or updated",
                       "chỉ thu hồi hoặc cập nhật được văn bản đã ban hành", code="not_issued")


class RecallIn(Schema):
    pin = String(required=True, validate=Length(1, 200))
    reason = String(required=True, validate=Length(1, 500))


@bp.post("/documents/<doc_id>/recall")
@bp.input(RecallIn)
@bp.output(DocumentOut)
@bp.doc(summary="Recall an issued document (BussinessDocType 1; recipients answer 15/16); clerk, seal PIN",
        security="BearerAuth")
def recall(doc_id: str, json_data: dict[str, str]) -> dict[str, object]:
    return _send_order(doc_id, json_data, "recall")


def _send_order(doc_id: str, json_data: dict[str, str], order: str) -> dict[str, object]:
    """Recall or update order for an issued document: checked, signed with the seal and queued in one
    transaction."""
    from ..exchange.engine import exchange_deps_for
    from ..exchange.service import queue_recall, queue_update
    from ..node_signing import node_signing

    p = require("clerk")
    svc = services()
    with svc.db.reading() as s:
        _require_issued(service.get_document(s, p, doc_id))  # a wrong state is not a PIN problem
    with pin_guard(svc.db, svc.ledger, p, PinPolicy.from_settings(svc.settings), act=f"document_{order}",
                   keys=("seal",)), svc.db.transaction() as s:
        doc = service.get_document(s, p, doc_id, lock=True)
        agency = s.get(Agency, doc.agency_id)
        assert agency is not None
        _require_issued(doc)
        seal = node_signing(svc).seal_identity(agency, json_data["pin"])
        if order == "recall":
            queue_recall(s, exchange_deps_for(svc), doc, seal, p.username, json_data["reason"])
        else:
            queue_update(s, exchange_deps_for(svc), doc, seal, p.username, json_data["reason"],
                         json_data.get("subject"))
        return _out(doc)


class UpdateIn(Schema):
    pin = String(required=True, validate=Length(1, 200))
    reason = String(required=True, validate=Length(1, 500))
    subject = String(load_default=None, validate=Length(1, 500))


@bp.post("/documents/<doc_id>/send-update")
@bp.input(UpdateIn)
@bp.output(DocumentOut)
@bp.doc(summary="Send corrected metadata to the recipients (BussinessDocType 2; they answer 15/16); clerk, seal PIN",
        security="BearerAuth")
def send_update(doc_id: str, json_data: dict[str, str]) -> dict[str, object]:
    return _send_order(doc_id, json_data, "update")


@bp.get("/registers/outgoing")
@bp.doc(summary="Outgoing register of a year: ?year=2026&format=json|csv|pdf", security="BearerAuth")
def outgoing_register() -> Response | dict[str, object]:
    p = require("clerk", "admin", "auditor", "signer")
    try:
        year = int(request.args.get("year", "0")) or None
    except ValueError as exc:
        raise BadInput("year must be a number", "năm không hợp lệ") from exc
    fmt = request.args.get("format", "json")
    from ..db import utcnow

    year = year or utcnow().year
    svc = services()
    with svc.db.reading() as s:
        agency = s.get(Agency, p.agency_id)
        assert agency is not None
        if fmt in ("csv", "pdf"):
            out = export_outgoing(s, p.agency_id, agency.name, year, fmt)
            return Response(out.data, mimetype=out.mimetype,
                            headers={"Content-Disposition": f'attachment; filename="{out.filename}"'})
        rows = outgoing_rows(s, p.agency_id, year)
        from ..documents.register import OUTGOING_COLUMNS

        return {"year": year, "items": [{c: getattr(r, c) for c, _, _ in OUTGOING_COLUMNS} for r in rows]}
