"""CSRF protection for the pages: a random token kept in the signed session, sent back by every form
(``csrf_token`` field) or by scripts (``X-CSRF-Token`` header). Only requests handled by the web blueprints
are checked; the JSON API under /api/ (bearer tokens) is not affected."""

from __future__ import annotations

import hmac
import secrets

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


def _check() -> None:
    if request.method in SAFE_METHODS:
        return
    blueprints = current_app.extensions["docexchange_web"]["blueprints"]
    if request.blueprint not in blueprints:
        return
    expected = session.get("csrf")
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not expected or not hmac.compare_digest(str(expected), sent):
        raise CSRFError()


def init_app(app: Flask) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = csrf_token
