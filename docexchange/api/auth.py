"""API tokens and the caller's identity."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Integer, String
from apiflask.validators import Length, OneOf

from ..auth import authenticate, issue_token
from ..models import ROLES
from ._deps import current_principal, services

bp = APIBlueprint("auth", __name__, url_prefix="/api/v1/auth", tag="Authentication")


class TokenIn(Schema):
    username = String(required=True, validate=Length(1, 64))
    password = String(required=True, validate=Length(1, 200))
    role = String(load_default=None, validate=OneOf(ROLES))
    ttl_days = Integer(load_default=30)


class TokenOut(Schema):
    token = String()
    role = String()
    agency_code = String()
    expires_in_days = Integer()


class MeOut(Schema):
    username = String()
    full_name = String()
    role = String()
    agency_code = String()


@bp.post("/token")
@bp.input(TokenIn)
@bp.output(TokenOut, status_code=201)
@bp.doc(summary="Exchange a user name and password for a bearer token scoped to one agency and role")
def token(json_data: dict[str, object]) -> dict[str, object]:
    svc = services()
    from datetime import timedelta

    ttl = max(1, min(int(json_data["ttl_days"]), 365))  # type: ignore[call-overload]
    # Failures must be recorded even though the request fails: count them in their own transaction.
    from ..errors import Unauthorized

    failure: Unauthorized | None = None
    with svc.db.transaction() as s:
        try:
            user = authenticate(s, svc.ledger, str(json_data["username"]), str(json_data["password"]),
                                max_failures=svc.settings.login_max_failures,
                                lockout_seconds=svc.settings.login_lockout_seconds)
        except Unauthorized as exc:
            failure = exc
        else:
            tok = issue_token(s, user, json_data.get("role"), ttl=timedelta(days=ttl))  # type: ignore[arg-type]
            role = json_data.get("role") or sorted(user.role_set)[0]
            return {"token": tok, "role": role, "agency_code": user.agency.code, "expires_in_days": ttl}
    assert failure is not None
    raise failure


@bp.get("/me")
@bp.output(MeOut)
@bp.doc(summary="Who am I", security="BearerAuth")
def me() -> dict[str, object]:
    p = current_principal()
    return {"username": p.username, "full_name": p.full_name, "role": p.role, "agency_code": p.agency_code}
