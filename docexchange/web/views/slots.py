"""Placeholders for flows whose pages are built elsewhere (inbox, certification, PDF verification). A views
module that adds a ``NavItem`` with the same ``key`` replaces the placeholder in the navigation."""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import lazy_gettext as _l

from ..common import page, web_blueprint
from ..nav import NavItem

bp = web_blueprint("web_slots", __name__)

SLOTS = {
    "inbox": (_l("Incoming documents"), frozenset({"clerk", "admin"}), 30),
    "register_in": (_l("Incoming register"), frozenset({"clerk", "admin"}), 45),
    "verify": (_l("Verify a signed PDF"), frozenset({"auditor"}), 55),
}
NAV = [NavItem(key, label, "web_slots.slot", roles, order, slot=True, values={"key": key})
       for key, (label, roles, order) in SLOTS.items()]


@bp.get("/soon/<key>")
@page()
def slot(key: str) -> str:
    if key not in SLOTS:
        abort(404)
    label, _roles, _order = SLOTS[key]
    return render_template("slot.html", title=label)
