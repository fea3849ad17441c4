"""Login (with the lockout message), logout, role and agency switching, language switching, the home page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from ...auth import LoginPolicy, SessionPolicy, authenticate, end_session, start_session
from ...errors import DomainError
from ...models import Agency, User
from .. import STATIC
from ..common import error_text, page, services, web_blueprint, web_principal
from ..csrf import rotate
from ..nav import nav_for

bp = web_blueprint("web_auth", __name__, static_folder=str(STATIC), static_url_path="/assets")



def _safe_next(target: str | None) -> str | None:
    """Only local paths, so the login page cannot be used to send people elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_url(role: str) -> str:
    """A role's home is its first navigation entry, so a new flow's page becomes home without edits here."""
    items = nav_for(current_app.extensions["docexchange_web"]["nav"], role)
    if not items:
        return url_for("web_auth.login")
    values: dict[str, Any] = dict(items[0].values)
    return url_for(items[0].endpoint, **values)


@bp.get("/")
def index() -> Response:
    p = web_principal()
    if p is None:
        return redirect(url_for("web_auth.login"))
    return redirect(home_url(p.role))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("login.html", next=_safe_next(request.args.get("next")))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    svc = services()
    try:
        user_id = authenticate(svc.db, svc.ledger, username, password, address=request.remote_addr or "",
                               policy=LoginPolicy.from_settings(svc.settings))
    except DomainError as failure:
        status = failure.status if failure.status in (401, 429) else 401
        return render_template("login.html", error=error_text(failure), error_code=failure.code,
                               username=username, next=_safe_next(request.form.get("next"))), status
    with svc.db.transaction() as s:
        user = s.get(User, user_id)
        assert user is not None
        role, agency_id = sorted(user.role_set)[0], user.agency_id
        sid = start_session(s, user_id, SessionPolicy.from_settings(svc.settings))
    end_session_cookie()
    session.clear()
    session["user_id"], session["role"], session["agency_id"], session["sid"] = user_id, role, agency_id, sid
    rotate()
    return redirect(_safe_next(request.form.get("next")) or home_url(role))


def end_session_cookie() -> None:
    """End the server-side session the cookie names (if any)."""
    sid = session.get("sid")
    if sid:
        with services().db.transaction() as s:
            end_session(s, sid)


@bp.post("/logout")
def logout() -> Response:
    end_session_cookie()
    session.clear()
    return redirect(url_for("web_auth.login"))


@bp.post("/switch/role")
@page()
def switch_role() -> Response:
    p = web_principal()
    assert p is not None
    role = request.form.get("role", "")
    with services().db.transaction() as s:
        user = s.get(User, p.user_id)
        if user is None or role not in user.role_set:
            flash(_("You do not have that role."), "error")
            return redirect(home_url(p.role))
        home_agency = user.agency_id
    session["role"] = role
    if role != "admin":
        session["agency_id"] = home_agency  # only administrators act for other agencies
    return redirect(home_url(role))


def hosted_agencies() -> list[Agency]:
    """Agencies served by this node: those with at least one user here (the rest are directory entries)."""
    with services().db.transaction() as s:
        rows = s.execute(select(Agency).where(Agency.id.in_(select(User.agency_id))).order_by(Agency.name))
        agencies = list(rows.scalars())
        s.expunge_all()
        return agencies


@bp.post("/switch/agency")
@page("admin")
def switch_agency() -> Response:
    try:
        agency_id = int(request.form.get("agency_id", ""))
    except ValueError:
        agency_id = 0
    if agency_id not in {a.id for a in hosted_agencies()}:
        flash(_("This agency is not served by this node."), "error")
    else:
        session["agency_id"] = agency_id
    return redirect(home_url("admin"))
