"""The agency directory as this node knows it (recipients are picked from here)."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, File, List, Nested, String
from sqlalchemy import or_, select

from ..errors import BadInput, NotFound
from ..models import Agency, User
from ._deps import current_principal, require, services

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


class ImageIn(Schema):
    image = File(required=True, metadata={"description": "PNG with a transparent background"})


class ImageOut(Schema):
    sha256 = String()
    width = String()
    height = String()


def _store_image(upload: object) -> tuple[str, tuple[int, int]]:
    from ..signing import validate_stamp_image

    data = upload.read(8 * 1024 * 1024 + 1)  # type: ignore[attr-defined]
    size = validate_stamp_image(data)  # PNG with alpha, sane size; clear vi/en error otherwise
    return services().blobs.put_bytes(data), size


@bp.put("/seal-image")
@bp.input(ImageIn, location="files")
@bp.output(ImageOut)
@bp.doc(summary="Replace your agency's seal image (red, transparent PNG, real size); admin", security="BearerAuth")
def put_seal_image(files_data: dict[str, object]) -> dict[str, object]:
    p = require("admin")
    sha, (w, h) = _store_image(files_data["image"])
    svc = services()
    with svc.db.transaction() as s:
        agency = s.get(Agency, p.agency_id)
        assert agency is not None
        agency.seal_image_sha256 = sha
        svc.ledger.append(s, actor=p.username, agency_code=p.agency_code, action="seal_image_set",
                          object_type="agency", object_id=agency.code, object_sha256=sha)
    return {"sha256": sha, "width": str(w), "height": str(h)}


@bp.put("/users/<username>/signature-image")
@bp.input(ImageIn, location="files")
@bp.output(ImageOut)
@bp.doc(summary="Replace a signer's signature image (blue, transparent PNG); the signer or an admin of the agency",
        security="BearerAuth")
def put_signature_image(username: str, files_data: dict[str, object]) -> dict[str, object]:
    p = current_principal()
    if not (p.role == "admin" or (p.role in ("signer", "certifier") and p.username == username)):
        require("admin")
    sha, (w, h) = _store_image(files_data["image"])
    svc = services()
    with svc.db.transaction() as s:
        user = s.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or user.agency_id != p.agency_id:
            raise NotFound("user not found", "không tìm thấy người dùng")
        if not user.key_ref:
            raise BadInput("this user has no signing key", "người dùng này không có khóa ký số", code="no_signing_key")
        user.signature_image_sha256 = sha
        svc.ledger.append(s, actor=p.username, agency_code=p.agency_code, action="signature_image_set",
                          object_type="user", object_id=username, object_sha256=sha)
    return {"sha256": sha, "width": str(w), "height": str(h)}
