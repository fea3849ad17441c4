"""The auditor's ledger browser (newest first, paged, filtered by date, actor, action and object), its CSV
export (cells neutralised by ``documents.register.to_csv``) and the ``ledger verify`` result on demand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ...documents.register import to_csv
from ...ledger import verify_ledger
from ...models import Agency, LedgerEntry, User
from ...pki.responders import token_time_if_valid
from ..common import VN, fmt_time, page, services, web_blueprint, web_principal
from ..ledger_labels import ACTION_LABELS, action_label, entry_summary
from ..nav import NavItem

bp = web_blueprint("web_ledger", __name__)
NAV = [NavItem("ledger", _l("Audit ledger"), "web_ledger.ledger", frozenset({"auditor", "admin"}), 50)]
PAGE_SIZE = 50
CSV_LIMIT = 50_000
FILTERS = ("from", "to", "actor", "action", "object")


@dataclass
class Row:
    seq: int
    at: str
    actor: str
    agency: str
    action: str
    action_code: str
    object: str
    summary: str
    entry_hash: str


def _day(value: str) -> date | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _filtered(args: Any) -> tuple[Any, dict[str, str]]:
    p = web_principal()
    assert p is not None
    f = {k: str(args.get(k, "")).strip()[:100] for k in FILTERS}
    stmt = select(LedgerEntry)
    if p.role != "auditor":  # same rule as the API: auditors see every agency, administrators their own
        stmt = stmt.where(LedgerEntry.agency_code == p.agency_code)
    start, end = _day(f["from"]), _day(f["to"])
    if start:
        stmt = stmt.where(LedgerEntry.at >= datetime.combine(start, time(), VN))
    if end:
        stmt = stmt.where(LedgerEntry.at < datetime.combine(end + timedelta(days=1), time(), VN))
    if f["actor"]:
        like = f"%{f['actor'].lower()}%"
        names = select(User.username).where(or_(func.lower(User.username).like(like),
                                                func.lower(User.full_name).like(like)))
        stmt = stmt.where(or_(func.lower(LedgerEntry.actor).like(like), LedgerEntry.actor.in_(names)))
    if f["action"]:
        stmt = stmt.where(LedgerEntry.action == f["action"])
    if f["object"]:
        like = f"%{f['object'].lower()}%"
        stmt = stmt.where(or_(func.lower(LedgerEntry.object_id).like(like),
                              func.lower(LedgerEntry.object_type).like(like),
                              LedgerEntry.object_sha256 == f["object"].lower()))
    return stmt, f


def _rows(entries: list[LedgerEntry], people: dict[str, str], agencies: dict[str, str]) -> list[Row]:
    out = []
    for e in entries:
        actor = people.get(e.actor) or (_("System") if e.actor in ("-", "", "system") else e.actor)
        out.append(Row(seq=e.seq, at=fmt_time(e.at), actor=actor,
                       agency=agencies.get(e.agency_code, e.agency_code), action=action_label(e.action),
                       action_code=e.action, object=f"{e.object_type} {e.object_id}".strip(),
                       summary=entry_summary(e.action, e.details), entry_hash=e.entry_hash))
    return out


def _names(s: Any, entries: list[LedgerEntry]) -> tuple[dict[str, str], dict[str, str]]:
    actors = {e.actor for e in entries}
    people = {u.username: u.full_name or u.username
              for u in s.execute(select(User).where(User.username.in_(actors))).scalars()} if actors else {}
    agencies = {a.code: a.name for a in s.execute(select(Agency)).scalars()}
    return people, agencies


@bp.get("/ledger")
@page("auditor", "admin")
def ledger() -> str:
    pg = int(request.args["page"]) if request.args.get("page", "").isdigit() else 1
    pg = max(1, pg)
    svc = services()
    stmt, f = _filtered(request.args)
    result = None
    with svc.db.transaction() as s:
        total = int(s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
        entries = list(s.execute(stmt.order_by(LedgerEntry.seq.desc()).offset((pg - 1) * PAGE_SIZE)
                                 .limit(PAGE_SIZE)).scalars())
        rows = _rows(entries, *_names(s, entries))
        actions = sorted({a for (a,) in s.execute(select(LedgerEntry.action).distinct())} | set(ACTION_LABELS))
        if request.args.get("verify") == "1":
            tsa_cert = svc.tsa.cert
            result = verify_ledger(s, lambda tok, dg: token_time_if_valid(tok, dg, tsa_cert))
    return render_template("ledger.html", rows=rows, total=total, page_no=pg, filters=f,
                           actions=sorted(((a, action_label(a)) for a in actions), key=lambda x: x[1].lower()),
                           query={k: v for k, v in f.items() if v},
                           pages=max(1, -(-total // PAGE_SIZE)), result=result)


@bp.get("/ledger.csv")
@page("auditor", "admin")
def ledger_csv() -> Response:
    stmt, _f = _filtered(request.args)
    with services().db.reading() as s:
        entries = list(s.execute(stmt.order_by(LedgerEntry.seq.desc()).limit(CSV_LIMIT)).scalars())
        rows = _rows(entries, *_names(s, entries))
    columns = (("seq", "STT", 1), ("at", "Thời gian (GMT+7)", 1), ("actor", "Người thực hiện", 1),
               ("agency", "Cơ quan", 1), ("action", "Hành động", 1), ("action_code", "Mã hành động", 1),
               ("object", "Đối tượng", 1), ("summary", "Tệp và kết quả", 1), ("entry_hash", "Mã băm", 1))
    body = to_csv(list(rows), columns)
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="nhat-ky-kiem-toan.csv"'})
