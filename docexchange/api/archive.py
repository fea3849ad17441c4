"""Long-term validity inventory, for auditors (all agencies) and admins (own agency)."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import DateTime, Integer, List, Nested, String

from ..archive.service import inventory
from ._deps import require, services

bp = APIBlueprint("archive", __name__, url_prefix="/api/v1/archive", tag="Archive")


class ItemOut(Schema):
    kind = String()
    id = Integer()
    public_id = String()
    agency_code = String()
    sha256 = String()
    level = String()
    verifiable_until = DateTime(allow_none=True)
    days_left = Integer(allow_none=True)
    limiting_certificate = String()
    versions = Integer()
    error = String()


class InventoryOut(Schema):
    items = List(Nested(ItemOut))


@bp.get("/inventory")
@bp.output(InventoryOut)
@bp.doc(summary="Stored signed PDFs with their 'verifiable until' date, soonest first "
                "(auditor: all agencies; admin: own agency)", security="BearerAuth")
def get_inventory() -> dict[str, object]:
    p = require("auditor", "admin")
    items = inventory(services(), agency_id=None if p.role == "auditor" else p.agency_id)
    return {"items": [i.__dict__ for i in items]}
