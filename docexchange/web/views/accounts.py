"""The administrator's lockouts page: who is locked out (wrong PINs, failed logins), for how long, and a button
to lift one (a ledger entry). Administrators see their agency's people; the rule lives in ``auth``."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ...auth import active_locks, duration_words, unlock
from ...errors import DomainError
from ..common import flash_error, page, services, signed_in, web_blueprint
from ..i18n import current_lang
from ..nav import NavItem

bp = web_blueprint("web_accounts", __name__)
NAV = [NavItem("accounts", _l("Locked accounts"), "web_accounts.locks", frozenset({"admin"}), 70)]
SCOPE_LABELS = {"pin_user": _l("Signing locked (wrong PINs)"), "pin_key": _l("Key locked (wrong PINs)"),
                "login_pair": _l("Login slowed down from one address"), "login_name": _l("Login slowed down"),
                "login_addr": _l("Logins from an address slowed down")}


@bp.get("/admin/locks")
@page("admin")
def locks() -> str:
    p = signed_in()
    with services().db.reading() as s:
        rows = [{"id": lk.id, "kind": str(SCOPE_LABELS.get(lk.scope, lk.scope)),
                 "who": (f"{lk.user.full_name} ({lk.user.username})" if lk.user else lk.subject),
                 "wait": duration_words(lk.wait_seconds)[0 if current_lang() == "vi" else 1]}
                for lk in active_locks(s, p.agency_id)]
    return render_template("admin/locks.html", rows=rows)


@bp.post("/admin/locks/<int:lock_id>/unlock")
@page("admin")
def unlock_one(lock_id: int) -> Response:
    p = signed_in()
    svc = services()
    try:
        with svc.db.transaction() as s:
            unlock(s, svc.ledger, lock_id, actor=p.username, agency_code=p.agency_code or "",
                   agency_id=p.agency_id)
    except DomainError as exc:
        flash_error(exc)
        return redirect(url_for("web_accounts.locks"))
    flash(_("The account is unlocked."), "success")
    return redirect(url_for("web_accounts.locks"))
