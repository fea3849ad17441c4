"""API tokens (issue, list, revoke) and the caller's identity."""

from __future__ import annotations

from datetime import timedelta

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, DateTime, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import request

from ..auth import (
    LoginPolicy,
    authenticate,
    change_password,
    issue_token,
    list_tokens,
    revoke_token,
    token_id_for,
)
from ..models import ROLES, ApiToken, User
from ._deps import current_principal, services

bp = APIBlueprint("auth", __name__, url_prefix="/api/v1/auth", tag="Authentication")


class TokenIn(Schema):
    username = String(required=True, validate=Length(1, 64))
    password = String(required=True, validate=Length(1, 200))
    role = String(load_default=None, validate=OneOf(ROLES))
    ttl_days = Integer(load_default=None, validate=Range(1, 3650),
                       metadata={"description": "lifetime in days (default 30, at most DOCEXCHANGE_TOKEN_MAX_DAYS)"})
    name = String(load_default="", validate=Length(0, 100), metadata={"description": "a label for the token list"})


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


class TokenInfo(Schema):
    id = Integer()
    name = String()
    role = String()
    created_at = DateTime()
    expires_at = DateTime()
    revoked = Boolean()
    current = Boolean(metadata={"description": "the token this request was made with"})


class TokenList(Schema):
    items = List(Nested(TokenInfo))


@bp.post("/token")
@bp.input(TokenIn)
@bp.output(TokenOut, status_code=201)
@bp.doc(summary="Exchange a user name and password for a bearer token scoped to one agency and role")
def token(json_data: dict[str, object]) -> dict[str, object]:
    svc = services()
    max_days = svc.settings.token_max_days
    ttl = int(json_data["ttl_days"] or min(30, max_days))  # type: ignore[call-overload]
    user_id = authenticate(svc.db, svc.ledger, str(json_data["username"]), str(json_data["password"]),
                           address=request.remote_addr or "", policy=LoginPolicy.from_settings(svc.settings))
    with svc.db.transaction() as s:
        user = s.get(User, user_id)
        assert user is not None
        tok = issue_token(s, user, json_data.get("role"), ttl=timedelta(days=ttl),  # type: ignore[arg-type]
                          name=str(json_data.get("name") or ""), max_ttl=timedelta(days=max_days))
        role = json_data.get("role") or sorted(user.role_set)[0]
        return {"token": tok, "role": role, "agency_code": user.agency.code, "expires_in_days": ttl}


@bp.get("/me")
@bp.output(MeOut)
@bp.doc(summary="Who am I", security="BearerAuth")
def me() -> dict[str, object]:
    p = current_principal()
    return {"username": p.username, "full_name": p.full_name, "role": p.role, "agency_code": p.agency_code}


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else ""


def _info(row: ApiToken, current_id: int | None) -> dict[str, object]:
    return {"id": row.id, "name": row.name, "role": row.role, "created_at": row.created_at,
            "expires_at": row.expires_at, "revoked": row.revoked, "current": row.id == current_id}


@bp.get("/tokens")
@bp.output(TokenList)
@bp.doc(summary="Your API tokens (never the token values: only their labels, roles and dates)",
        security="BearerAuth")
def tokens() -> dict[str, object]:
    p = current_principal()
    svc = services()
    with svc.db.reading() as s:
        current = token_id_for(s, _bearer()) if _bearer() else None
        return {"items": [_info(r, current) for r in list_tokens(s, p.user_id)]}


@bp.delete("/tokens/<int:token_id>")
@bp.output(TokenInfo)
@bp.doc(summary="Revoke one of your API tokens (it stops working at once)", security="BearerAuth")
def revoke(token_id: int) -> dict[str, object]:
    p = current_principal()
    svc = services()
    with svc.db.transaction() as s:
        row = revoke_token(s, svc.ledger, token_id, actor=p.username, user_id=p.user_id)
        current = token_id_for(s, _bearer()) if _bearer() else None
        return _info(row, current)


class PasswordIn(Schema):
    current_password = String(required=True, validate=Length(1, 200))
    new_password = String(required=True, validate=Length(1, 200))


@bp.post("/password")
@bp.input(PasswordIn)
@bp.output({}, status_code=204)
@bp.doc(summary="Change your password (the current one is checked like a login); all your page sessions end",
        security="BearerAuth")
def password(json_data: dict[str, str]) -> tuple[str, int]:
    p = current_principal()
    svc = services()
    authenticate(svc.db, svc.ledger, p.username, json_data["current_password"], address=request.remote_addr or "",
                 policy=LoginPolicy.from_settings(svc.settings))
    with svc.db.transaction() as s:
        user = s.get(User, p.user_id)
        assert user is not None
        change_password(s, svc.ledger, user, json_data["new_password"], actor=p.username)
    return "", 204
