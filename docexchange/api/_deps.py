"""Request helpers shared by the blueprints: the services container and the authenticated caller."""

from __future__ import annotations

from flask import current_app, g, request, session

from ..auth import Principal, SessionPolicy, check_session, principal_for_token, principal_for_user
from ..errors import Forbidden, Unauthorized
from ..models import User
from ..services import Services


def services() -> Services:
    return current_app.extensions["docexchange"]  # type: ignore[no-any-return]


def current_principal() -> Principal:
    """From ``Authorization: Bearer`` (API) or the page session cookie. The cookie is accepted only for a live
    server-side session, and for a state-changing request only with the session's CSRF token
    (``X-CSRF-Token``): a page of another site cannot make the browser act through the API."""
    from ..web.csrf import SAFE_METHODS, token_ok

    cached = g.get("principal")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    header = request.headers.get("Authorization", "")
    svc = services()
    if header.startswith("Bearer "):
        with svc.db.reading() as s:
            principal = principal_for_token(s, header[7:].strip())
    elif "user_id" in session:
        with svc.db.transaction() as s:
            user = s.get(User, session["user_id"])
            live = user is not None and user.active and check_session(
                s, session.get("sid"), user.id, SessionPolicy.from_settings(svc.settings))
            if not live or user is None:
                raise Unauthorized("session expired", "phiên làm việc đã hết hạn", code="session_expired")
            if session.get("role") not in user.role_set:
                raise Unauthorized("session expired", "phiên làm việc đã hết hạn", code="session_expired")
            principal = principal_for_user(s, user, session["role"], session.get("agency_id"))
        if request.method not in SAFE_METHODS and not token_ok():
            raise Forbidden("a request authenticated by the session cookie needs the X-CSRF-Token header "
                            "(or use a bearer token)",
                            "yêu cầu xác thực bằng cookie phiên phải kèm tiêu đề X-CSRF-Token (hoặc dùng mã truy cập)",
                            code="csrf_required")
    else:
        raise Unauthorized("authentication required: send 'Authorization: Bearer <token>'",
                           "cần xác thực: gửi 'Authorization: Bearer <mã truy cập>'")
    g.principal = principal
    return principal


def require(*roles: str) -> Principal:
    p = current_principal()
    p.require(*roles)
    return p
