"""Request helpers shared by the blueprints: the services container and the authenticated caller."""

from __future__ import annotations

from flask import current_app, g, request, session

from ..auth import Principal, principal_for_token, principal_for_user
from ..errors import Unauthorized
from ..models import User
from ..services import Services


def services() -> Services:
    return current_app.extensions["docexchange"]  # type: ignore[no-any-return]


def current_principal() -> Principal:
    """From ``Authorization: Bearer`` (API) or the signed session cookie (pages)."""
    cached = g.get("principal")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    svc = services()
    if header.startswith("Bearer "):
        with svc.db.reading() as s:
            principal = principal_for_token(s, header[7:].strip())
    elif "user_id" in session:
        with svc.db.reading() as s:
            user = s.get(User, session["user_id"])
            if user is None or not user.active:
                raise Unauthorized("session expired", "phiên làm việc đã hết hạn", code="session_expired")
            principal = principal_for_user(s, user, session["role"], session.get("agency_id"))
    else:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'",
                           "cần xác thực: gửi 'Authorization: Bearer <mã truy cập>'")
    g.principal = principal
    return principal


def require(*roles: str) -> Principal:
    p = current_principal()
    p.require(*roles)
    return p
