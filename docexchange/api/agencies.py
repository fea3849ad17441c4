"""The agency directory as this node knows it (recipients are picked from here)."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, List, Nested, String
from sqlalchemy import or_, select

from ..models import Agency
from ._deps import current_principal, services

bp = APIBlueprint("agencies", __name__, url_prefix="/api/v1/agencies", tag="Directory")


class AgencyOut(Schema):
    code = String()
    name = String()
    kind = String()
    abbreviation = String()
    has_seal = Boolean()


class AgencyList(Schema):
    items = List(Nested(AgencyOut))


class AgencyQuery(Schema):
    q = String(load_default="")


@bp.get("")
@bp.input(AgencyQuery, location="query")
@bp.output(AgencyList)
@bp.doc(summary="Search agencies by name or code", security="BearerAuth")
def list_agencies(query_data: dict[str, str]) -> dict[str, object]:
    current_principal()
    q = query_data.get("q", "").strip()
    stmt = select(Agency).order_by(Agency.code)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Agency.name.ilike(like), Agency.code.ilike(like)))
    with services().db.transaction() as s:
        rows = s.execute(stmt.limit(200)).scalars().all()
        return {"items": [{"code": a.code, "name": a.name, "kind": a.kind, "abbreviation": a.abbreviation,
                           "has_seal": a.seal_cert_serial is not None} for a in rows]}
