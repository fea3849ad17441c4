"""Helpers shared by the page blueprints: the signed-in principal, role checks, errors as pages, filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import Forbidden as HTTPForbidden

from ..auth import Principal, SessionPolicy, check_session, principal_for_user
from ..errors import DomainError
from ..models import Agency, User
from ..services import Services
from . import TEMPLATES, i18n, labels
from .csrf import CSRFError
from .nav import nav_for

VN = ZoneInfo("Asia/Ho_Chi_Minh")
F = TypeVar("F", bound=Callable[..., Any])
SESSION_KEYS = ("user_id", "role", "agency_id", "sid")
CSRF_MESSAGE = _l("The form has expired or was not sent from this site. Reload the page and try again.")


class NotSignedIn(Exception):
    pass


def services() -> Services:
    return current_app.extensions["docexchange"]  # type: ignore[no-any-return]


def signed_in() -> Principal:
    """The signed-in person, in a view behind ``login_required`` (so never None there)."""
    p = web_principal()
    assert p is not None
    return p


def parse_date(value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` filter value; None when empty or malformed (a bad filter is ignored, not an error)."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def web_principal() -> Principal | None:
    """The signed-in person from the session (keys ``user_id``, ``role``, ``agency_id``, ``sid``), re-checked
    against the database on every request: a session ended on the server (logout, password change, disabled
    account) or lapsed (idle, absolute lifetime), a role taken away or an agency a non-admin may not see ends
    it."""
    if "principal" in g:
        return g.principal  # type: ignore[no-any-return]
    if "user_id" not in session:
        return None
    svc = services()
    with svc.db.transaction() as s:
        user = s.get(User, session["user_id"])
        role = session.get("role")
        agency_id = session.get("agency_id")
        ok = (user is not None and user.active and role in user.role_set
              and (agency_id == user.agency_id or (role == "admin" and s.get(Agency, agency_id) is not None))
              and check_session(s, session.get("sid"), user.id, SessionPolicy.from_settings(svc.settings)))
        if not ok or user is None:
            session.clear()
            return None
        principal = principal_for_user(s, user, str(role), agency_id)
        g.web_user_roles = sorted(user.role_set)
        g.web_agency_name = s.get(Agency, principal.agency_id).name  # type: ignore[union-attr]
    g.principal = principal
    return principal


def page(*roles: str) -> Callable[[F], F]:
    """Require a signed-in person (else the login page) with one of ``roles`` (else a 403 page)."""

    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            p = web_principal()
            if p is None:
                return redirect(url_for("web_auth.login", next=request.full_path.rstrip("?")))
            if roles and p.role not in roles:
                raise HTTPForbidden()
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return deco


def error_text(exc: DomainError) -> str:
    return exc.vi if i18n.current_lang() == "vi" else exc.en


def flash_error(exc: DomainError) -> None:
    flash(error_text(exc), "error")


def fmt_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(VN).strftime("%d/%m/%Y %H:%M")


def render_error(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status


def _admin_agencies(p: Principal | None) -> list[Agency]:
    if p is None or p.role != "admin":
        return []
    from .views.auth import hosted_agencies

    return hosted_agencies()


def web_blueprint(name: str, import_name: str, **kwargs: Any) -> Blueprint:
    """A page blueprint: templates from web/templates, and errors in its views rendered as pages (the JSON API
    keeps its problem+json handlers)."""
    bp = Blueprint(name, import_name, template_folder=str(TEMPLATES), **kwargs)
    bp.register_error_handler(DomainError, lambda e: render_error(e.status, error_text(e)))
    bp.register_error_handler(403, lambda e: render_error(403, _("You do not have access to this page.")))
    bp.register_error_handler(404, lambda e: render_error(404, _("Page not found.")))
    bp.register_error_handler(CSRFError, lambda e: render_error(400, str(CSRF_MESSAGE)))
    bp.register_error_handler(413, lambda e: render_error(413, _("The file is too large.")))
    return bp


def init_app(app: Flask) -> None:
    web = app.extensions["docexchange_web"]

    @app.context_processor
    def _globals() -> dict[str, Any]:
        if request.path.startswith("/api/"):
            return {}
        p = g.get("principal")
        return {
            "principal": p,
            "nav": nav_for(web["nav"], p.role) if p else [],
            "user_roles": g.get("web_user_roles", []),
            "agency_name": g.get("web_agency_name", ""),
            "admin_agencies": _admin_agencies(p),
            "lang": i18n.current_lang(),
            "langs": i18n.LANGS,
            "lang_names": i18n.LANG_NAMES,
            "URGENCY_LABELS": labels.URGENCY_LABELS,
            "STATUS_LABELS": labels.STATUS_LABELS,
            "ROLE_LABELS": labels.ROLE_LABELS,
            "EVENT_LABELS": labels.EVENT_LABELS,
        }

    app.jinja_env.filters["vntime"] = fmt_time
    app.jinja_env.filters["label"] = labels.label

    def _web_request() -> bool:
        return request.blueprint in web["blueprints"]

    app.extensions["docexchange_web"]["is_web_request"] = _web_request
