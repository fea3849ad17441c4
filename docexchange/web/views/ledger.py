"""The auditor's ledger browser (newest first, paged) and the ``ledger verify`` result on demand."""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ...ledger import verify_ledger
from ...models import LedgerEntry
from ...pki.responders import token_time_if_valid
from ..common import page, services, web_blueprint, web_principal
from ..nav import NavItem

bp = web_blueprint("web_ledger", __name__)
NAV = [NavItem("ledger", _l("Audit ledger"), "web_ledger.ledger", frozenset({"auditor", "admin"}), 50)]
PAGE_SIZE = 50


@bp.get("/ledger")
@page("auditor", "admin")
def ledger() -> str:
    p = web_principal()
    assert p is not None
    pg = int(request.args["page"]) if request.args.get("page", "").isdigit() else 1
    pg = max(1, pg)
    svc = services()
    stmt = select(LedgerEntry)
    if p.role != "auditor":  # same rule as the API: auditors see every agency, administrators their own
        stmt = stmt.where(LedgerEntry.agency_code == p.agency_code)
    result = None
    with svc.db.transaction() as s:
        total = int(s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
        rows = list(s.execute(stmt.order_by(LedgerEntry.seq.desc()).offset((pg - 1) * PAGE_SIZE)
                              .limit(PAGE_SIZE)).scalars())
        if request.args.get("verify") == "1":
            tsa_cert = svc.tsa.cert
            result = verify_ledger(s, lambda tok, dg: token_time_if_valid(tok, dg, tsa_cert))
        s.expunge_all()
    return render_template("ledger.html", rows=rows, total=total, page_no=pg,
                           pages=max(1, -(-total // PAGE_SIZE)), result=result)
