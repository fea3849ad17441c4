"""Which received documents a person of an agency may see and act on: one rule, used by the API, the web pages
and the services (no Flask here).

An incoming document is *visible* to a principal when it belongs to the principal's agency, is not in one of the
states that took it out of the working views (recalled by its sender, a duplicate of one already received,
replaced by a later document) and is not itself an order (a recall or update order is handled by the node, it is
not work for a clerk). Anything else is "not found", the same answer as for an unknown id, so nothing tells
another agency's document from a missing one.

A document is *in force* for the sender's later orders (recall, update, replacement) when it is visible and was
not refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select
from sqlalchemy.orm import Session

from ..auth import Principal
from ..errors import NotFound
from .models import DeferredReceipt, IncomingDocument, IncomingRegisterEntry

# States that take a received document out of every working view (kept for the ledger and the register).
HIDDEN_INCOMING_STATES = ("recalled", "duplicate", "replaced")
# BussinessDocType of orders: 1 recall, 2 update. They act on an earlier document; nobody works on them.
ORDER_DOC_TYPES = (1, 2)
# Roles that may read the packages left on the hub until their signatures can be verified.
DEFERRED_VIEWERS = ("clerk", "auditor")


def _agency_id(who: Principal | int) -> int:
    return who.agency_id if isinstance(who, Principal) else int(who)


def incoming_visible_to(who: Principal | int) -> ColumnElement[bool]:
    """The visibility rule as a SQL condition (for callers that add filters, counts or paging)."""
    return and_(IncomingDocument.agency_id == _agency_id(who),
                IncomingDocument.status.not_in(HIDDEN_INCOMING_STATES),
                IncomingDocument.business_doc_type.not_in(ORDER_DOC_TYPES))


def is_incoming_visible(inc: IncomingDocument | None, who: Principal | int) -> bool:
    """The same rule for a row already loaded (must agree with ``incoming_visible_to``)."""
    return (inc is not None and inc.agency_id == _agency_id(who) and inc.status not in HIDDEN_INCOMING_STATES
            and (inc.business_doc_type or 0) not in ORDER_DOC_TYPES)


def visible_incoming_query(who: Principal | int) -> Select[IncomingDocument]:
    """``SELECT`` of the received documents the principal may see, without order or limit."""
    return select(IncomingDocument).where(incoming_visible_to(who))


def visible_incoming(session: Session, who: Principal | int, *, status: str | None = None,
                     limit: int = 500) -> list[IncomingDocument]:
    """The principal's received documents, newest first (``status`` narrows to one state)."""
    stmt = visible_incoming_query(who)
    if status:
        stmt = stmt.where(IncomingDocument.status == status)
    return list(session.execute(stmt.order_by(IncomingDocument.id.desc()).limit(limit)).scalars())


def get_visible_incoming(session: Session, who: Principal | int, public_id: str, *,
                         lock: bool = False) -> IncomingDocument:
    """One received document the principal may see and act on; ``NotFound`` otherwise (another agency's,
    recalled, duplicate, replaced, an order, unknown: all the same answer)."""
    stmt = select(IncomingDocument).where(IncomingDocument.public_id == public_id)
    if lock:
        stmt = stmt.with_for_update()
    inc = session.execute(stmt).scalar_one_or_none()
    if inc is None or not is_incoming_visible(inc, who):
        raise NotFound("incoming document not found", "không tìm thấy văn bản đến")
    return inc


def incoming_in_force(agency_id: int, sender_code: str, edxml_document_id: str,
                      **extra: Any) -> Select[IncomingDocument]:
    """The received documents that a later order of the same sender about ``edxml_document_id`` acts on:
    visible to the agency, and not refused. ``extra`` pins further columns (e.g. ``business_doc_type=0``)."""
    stmt = select(IncomingDocument).where(
        incoming_visible_to(agency_id), IncomingDocument.status != "rejected",
        IncomingDocument.sender_code == sender_code, IncomingDocument.edxml_document_id == edxml_document_id)
    for name, value in extra.items():
        stmt = stmt.where(getattr(IncomingDocument, name) == value)
    return stmt


def incoming_register_rows(session: Session, who: Principal | int, year: int) -> list[IncomingRegisterEntry]:
    """The agency's incoming register (sổ đến) of a year, by arrival number. Rows stay when a document is later
    recalled or replaced: the register is a record of what arrived."""
    return list(session.execute(select(IncomingRegisterEntry).where(
        IncomingRegisterEntry.agency_id == _agency_id(who), IncomingRegisterEntry.year == year)
        .order_by(IncomingRegisterEntry.arrival_number)).scalars())


def deferred_receipts(session: Session, who: Principal | int) -> list[DeferredReceipt]:
    """The packages of an agency left on the hub until their signatures can be verified, oldest first."""
    return list(session.execute(select(DeferredReceipt).where(DeferredReceipt.agency_id == _agency_id(who))
                                .order_by(DeferredReceipt.first_deferred_at, DeferredReceipt.id).limit(500)).scalars())
