"""The audit ledger, for auditors (read-only) and admins."""

from __future__ import annotations

import json

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, DateTime, Integer, List, Nested, String
from sqlalchemy import select

from ..ledger import verify_ledger
from ..models import LedgerEntry
from ..pki.responders import token_time_if_valid
from ._deps import require, services

bp = APIBlueprint("ledger", __name__, url_prefix="/api/v1/ledger", tag="Ledger")


class EntryOut(Schema):
    seq = Integer()
    at = DateTime()
    actor = String()
    agency_code = String()
    action = String()
    object_type = String()
    object_id = String()
    object_sha256 = String()
    details = String()
    entry_hash = String()


class EntryList(Schema):
    items = List(Nested(EntryOut))


class EntryQuery(Schema):
    after = Integer(load_default=0)
    limit = Integer(load_default=100)
    object_id = String(load_default=None)


class VerifyOut(Schema):
    intact = Boolean()
    entries = Integer()
    anchors = Integer()
    first_bad_seq = Integer(allow_none=True)
    problem = String()


@bp.get("/entries")
@bp.input(EntryQuery, location="query")
@bp.output(EntryList)
@bp.doc(summary="Ledger entries (auditor: all agencies; admin: own agency)", security="BearerAuth")
def entries(query_data: dict[str, object]) -> dict[str, object]:
    p = require("auditor", "admin")
    stmt = select(LedgerEntry).where(LedgerEntry.seq > int(query_data["after"]))  # type: ignore[call-overload]
    if p.role != "auditor":
        stmt = stmt.where(LedgerEntry.agency_code == p.agency_code)
    if query_data.get("object_id"):
        stmt = stmt.where(LedgerEntry.object_id == query_data["object_id"])
    limit = max(1, min(int(query_data["limit"]), 1000))  # type: ignore[call-overload]
    with services().db.transaction() as s:
        rows = s.execute(stmt.order_by(LedgerEntry.seq).limit(limit)).scalars().all()
        return {"items": [{c: getattr(r, c) for c in EntryOut().fields} for r in rows]}


@bp.get("/verify")
@bp.output(VerifyOut)
@bp.doc(summary="Re-check the whole hash chain and its time-stamps", security="BearerAuth")
def verify() -> dict[str, object]:
    require("auditor", "admin")
    svc = services()
    tsa_cert = svc.tsa.cert
    with svc.db.transaction() as s:
        result = verify_ledger(s, lambda tok, dg: token_time_if_valid(tok, dg, tsa_cert))
    return json.loads(json.dumps(result.__dict__))
