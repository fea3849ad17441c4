"""Cross-site request protection.

* CSRF token for the pages: a random token kept in the signed session, sent back by every form
  (``csrf_token`` field) or by scripts (``X-CSRF-Token`` header). Checked for every state-changing request
  handled by the web blueprints, and by the JSON API when the caller is authenticated by the session cookie
  instead of a bearer token (``api._deps``).
* Origin check for every state-changing request to the node (pages and API): a browser's ``Origin`` that is
  not the node's own (``DOCEXCHANGE_PUBLIC_URL``, or the host the request was sent to), or
  ``Sec-Fetch-Site: cross-site``, is refused with 403 before any view runs. Clients that send neither (curl,
  other servers, OCSP/TSA clients) are not affected."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Flask, current_app, request, session
from werkzeug.exceptions import BadRequest

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CSRFError(BadRequest):
    description = "csrf"


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


def rotate() -> None:
    session["csrf"] = secrets.token_urlsafe(32)


def token_ok() -> bool:
    """Whether the request carries the session's CSRF token (form field or ``X-CSRF-Token`` header)."""
    expected = session.get("csrf")
    sent = request.headers.get("X-CSRF-Token") or ""
    if not sent and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = request.form.get("csrf_token") or ""
    return bool(expected) and hmac.compare_digest(str(expected), sent)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def foreign_origin() -> bool:
    """A state-changing request sent by a browser from another site."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    own = {_origin(current_app.extensions["docexchange"].settings.public_url), _origin(request.host_url)}
    return origin.strip().lower() not in own


def _check() -> None:
    if request.method in SAFE_METHODS:
        return
    if foreign_origin():
        from ..errors import Forbidden

        raise Forbidden("cross-site request refused: the Origin is not this node",
                        "từ chối yêu cầu từ trang web khác: nguồn gửi (Origin) không phải máy chủ này",
                        code="foreign_origin")
    blueprints = current_app.extensions["docexchange_web"]["blueprints"]
    if request.blueprint not in blueprints:
        return
    if not token_ok():
        raise CSRFError()


def init_app(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
