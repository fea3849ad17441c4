"""Exchange over the axis: the inbox (received documents, their verdicts, clerk actions), the sender's
per-recipient status timeline, the outbox, and the incoming register."""

from __future__ import annotations

import json

from apiflask import APIBlueprint, Schema
from apiflask.fields import DateTime, Integer, List, Nested, String
from apiflask.validators import Length, OneOf
from flask import Response, request
from sqlalchemy import select

from ..documents import service as documents
from ..errors import BadInput
from ..exchange.engine import exchange_deps_for
from ..exchange.models import (
    STATUS_LABELS,
    IncomingDocument,
    OutboxItem,
    RecipientStatus,
)
from ..exchange.register import INCOMING_COLUMNS, export_incoming
from ..exchange.service import incoming_action
from ..exchange.visibility import (
    DEFERRED_VIEWERS,
    deferred_receipts,
    get_visible_incoming,
    incoming_register_rows,
    visible_incoming,
)
from ..models import Agency
from ._deps import current_principal, require, services

bp = APIBlueprint("exchange", __name__, url_prefix="/api/v1", tag="Exchange")

class IncomingOut(Schema):
    id = String()
    status = String()
    sender_code = String()
    sender_name = String()
    document_id = String()
    number = String()
    type_name = String()
    subject = String()
    urgency = Integer()
    verdict = String()
    reason = String()
    trust_flags = List(String(), metadata={"description": "unsigned_package | header_mismatch | agency_copy: any of "
                                                          "the first two blocks automatic registration"})
    trust_note = String(metadata={"description": "what the flags mean for this document, in Vietnamese"})
    arrival_number = Integer(allow_none=True)
    received_at = DateTime()
    files = List(Nested(Schema.from_dict({"name": String(), "sha256": String(), "role": String(),
                                          "indication": String()})))


class IncomingList(Schema):
    items = List(Nested(IncomingOut))


class DeferredOut(Schema):
    hub_doc_id = String()
    document_id = String()
    sender_code = String()
    sender_name = String()
    subject = String()
    first_deferred_at = DateTime()
    last_attempt_at = DateTime()
    next_attempt_at = DateTime()
    attempts = Integer()
    last_indication = String()
    last_subindication = String()
    reason_vi = String()
    reason_en = String()


class DeferredList(Schema):
    items = List(Nested(DeferredOut))


class ActionIn(Schema):
    action = String(required=True, validate=OneOf(["register", "reject", "assigned", "processing", "completed"]))
    note = String(load_default="", validate=Length(0, 500))


class StatusOut(Schema):
    recipient_code = String()
    status_code = String()
    label_vi = String()
    label_en = String()
    description = String()
    status_time = DateTime(allow_none=True)
    received_at = DateTime()


class Timeline(Schema):
    document = String()
    outbox_state = String(allow_none=True)
    outbox_error = String(allow_none=True)
    statuses = List(Nested(StatusOut))


def _incoming(inc: IncomingDocument) -> dict[str, object]:
    return {"id": inc.public_id, "status": inc.status, "sender_code": inc.sender_code,
            "sender_name": inc.sender_name, "document_id": inc.edxml_document_id, "number": inc.number_notation,
            "type_name": inc.type_name, "subject": inc.subject, "urgency": inc.urgency, "verdict": inc.verdict,
            "reason": inc.reason, "trust_flags": [f for f in (inc.trust_flags or "").split(",") if f],
            "trust_note": inc.trust_note or "", "arrival_number": inc.arrival_number, "received_at": inc.received_at,
            "files": json.loads(inc.files)}


@bp.get("/inbox")
@bp.output(IncomingList)
@bp.doc(summary="Received documents of your agency (?status=); recalled, duplicate and replaced ones are hidden",
        security="BearerAuth")
def inbox() -> dict[str, object]:
    p = current_principal()
    with services().db.transaction() as s:
        rows = visible_incoming(s, p, status=request.args.get("status") or None)
        return {"items": [_incoming(r) for r in rows]}


@bp.get("/inbox/deferred")
@bp.output(DeferredList)
@bp.doc(summary="Documents waiting at the hub until their signatures can be verified (clerk, auditor)",
        description="A package whose verdict is INDETERMINATE (e.g. the revocation responder is unreachable) or "
                    "whose download failed stays unacknowledged on the hub and is checked again with a growing "
                    "delay (1 s doubling to 5 min); each row says why and when it is checked next.",
        security="BearerAuth")
def inbox_deferred() -> dict[str, object]:
    p = require(*DEFERRED_VIEWERS)
    with services().db.reading() as s:
        rows = deferred_receipts(s, p.agency_id)
        return {"items": [{
            "hub_doc_id": r.hub_doc_id, "document_id": r.edxml_document_id, "sender_code": r.sender_code,
            "sender_name": r.sender_name, "subject": r.subject, "first_deferred_at": r.first_deferred_at,
            "last_attempt_at": r.last_attempt_at, "next_attempt_at": r.next_attempt_at, "attempts": r.attempts,
            "last_indication": r.last_indication, "last_subindication": r.last_subindication,
            "reason_vi": r.last_reason_vi, "reason_en": r.last_reason_en} for r in rows]}


@bp.get("/inbox/<doc_id>")
@bp.output(IncomingOut)
@bp.doc(summary="One received document", security="BearerAuth")
def inbox_item(doc_id: str) -> dict[str, object]:
    p = current_principal()
    with services().db.transaction() as s:
        return _incoming(get_visible_incoming(s, p, doc_id))


@bp.get("/inbox/<doc_id>/verification")
@bp.doc(summary="The validation engine's reports for each received file", security="BearerAuth")
def inbox_verification(doc_id: str) -> dict[str, object]:
    p = current_principal()
    with services().db.transaction() as s:
        inc = get_visible_incoming(s, p, doc_id)
        return {"verdict": inc.verdict, "reports": json.loads(inc.verification)}


@bp.post("/inbox/<doc_id>/actions")
@bp.input(ActionIn)
@bp.output(IncomingOut)
@bp.doc(summary="Register, refuse (02, reason required), assign (04), processing (05), completed (06)",
        security="BearerAuth")
def inbox_action(doc_id: str, json_data: dict[str, str]) -> dict[str, object]:
    p = require("clerk")
    svc = services()
    with svc.db.transaction() as s:
        inc = incoming_action(s, exchange_deps_for(svc), p.agency_id, doc_id, json_data["action"], p.username,
                              json_data.get("note", ""))
        return _incoming(inc)


@bp.get("/documents/<doc_id>/timeline")
@bp.output(Timeline)
@bp.doc(summary="Per-recipient status timeline of an outgoing document (01…06, 13, 15, 16)", security="BearerAuth")
def timeline(doc_id: str) -> dict[str, object]:
    p = current_principal()
    with services().db.transaction() as s:
        doc = documents.get_document(s, p, doc_id)
        out = s.execute(select(OutboxItem).where(OutboxItem.document_id == doc.id, OutboxItem.kind == "edoc")
                        .order_by(OutboxItem.id.desc())).scalars().first()
        rows = s.execute(select(RecipientStatus).where(RecipientStatus.document_id == doc.id)
                         .order_by(RecipientStatus.status_time, RecipientStatus.id)).scalars()
        return {"document": doc.public_id, "outbox_state": out.state if out else None,
                "outbox_error": out.last_error if out else None,
                "statuses": [{"recipient_code": r.recipient_code, "status_code": r.status_code,
                              "label_vi": STATUS_LABELS.get(r.status_code, ("", ""))[0],
                              "label_en": STATUS_LABELS.get(r.status_code, ("", ""))[1],
                              "description": r.description, "status_time": r.status_time,
                              "received_at": r.received_at} for r in rows]}


@bp.get("/registers/incoming")
@bp.doc(summary="Incoming register of a year: ?year=2026&format=json|csv|pdf", security="BearerAuth")
def incoming_register() -> Response | dict[str, object]:
    p = require("clerk", "admin", "auditor", "signer")
    try:
        year = int(request.args.get("year", "0"))
    except ValueError as exc:
        raise BadInput("year must be a number", "năm không hợp lệ") from exc
    from ..db import utcnow

    year = year or utcnow().year
    fmt = request.args.get("format", "json")
    with services().db.transaction() as s:
        agency = s.get(Agency, p.agency_id)
        assert agency is not None
        if fmt in ("csv", "pdf"):
            out = export_incoming(s, p, agency.name, year, fmt)
            return Response(out.data, mimetype=out.mimetype,
                            headers={"Content-Disposition": f'attachment; filename="{out.filename}"'})
        rows = incoming_register_rows(s, p, year)
        return {"year": year, "items": [{c: getattr(r, c) for c, _, _ in INCOMING_COLUMNS} for r in rows]}
