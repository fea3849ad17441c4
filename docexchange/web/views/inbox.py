"""The receive side for clerks: the inbox of received documents (filters, urgency, the verification verdict),
a document's page (files, previews, per-signature summary, the clerk's actions, the statuses sent back) and the
incoming register (sổ đến) with CSV/PDF export. What a clerk may see is ``exchange.visibility``'s rule, the same
as the API's: recalled, duplicate and replaced documents never appear here."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response

from ...auth import Principal
from ...db import utcnow
from ...errors import DomainError, NotFound
from ...exchange.engine import exchange_deps_for
from ...exchange.models import IncomingDocument, IncomingRegisterEntry, OutboxItem
from ...exchange.register import export_incoming
from ...exchange.service import incoming_action
from ...exchange.visibility import (
    DEFERRED_VIEWERS,
    deferred_receipts,
    get_visible_incoming,
    incoming_register_rows,
    visible_incoming_query,
)
from ...models import Agency
from .. import exchange_labels
from ..common import VN, flash_error, page, parse_date, services, signed_in, web_blueprint
from ..exchange_labels import INCOMING_STATUSES
from ..i18n import current_lang
from ..nav import NavItem
from ..preview import PreviewError, page_png

bp = web_blueprint("web_inbox", __name__)
bp.record_once(lambda state: exchange_labels.init_app(state.app))

VIEWERS = ("clerk", "admin", "auditor")
NAV = [
    NavItem("inbox", _l("Incoming documents"), "web_inbox.inbox", frozenset({"clerk", "admin"}), 30),
    NavItem("register_in", _l("Incoming register"), "web_inbox.register", frozenset({"clerk", "admin"}), 45),
]
ACTIONS = ("register", "reject", "assigned", "processing", "completed")
PAGE_SIZE = 50
MAX_PREVIEW_PAGES = 30


@bp.get("/inbox")
@page(*VIEWERS)
def inbox() -> str:
    p = signed_in()
    args = {k: request.args.get(k, "").strip() for k in ("status", "urgency", "sender", "from", "to", "page")}
    stmt = visible_incoming_query(p)
    if args["status"] in INCOMING_STATUSES:
        stmt = stmt.where(IncomingDocument.status == args["status"])
    if args["urgency"].isdigit():
        stmt = stmt.where(IncomingDocument.urgency == int(args["urgency"]))
    if args["sender"]:
        like = f"%{args['sender']}%"
        stmt = stmt.where(or_(IncomingDocument.sender_code.ilike(like), IncomingDocument.sender_name.ilike(like)))
    start, end = parse_date(args["from"]), parse_date(args["to"])
    if start:
        stmt = stmt.where(IncomingDocument.received_at >= datetime.combine(start, time(), VN))
    if end:
        stmt = stmt.where(IncomingDocument.received_at < datetime.combine(end + timedelta(days=1), time(), VN))
    pg = max(1, int(args["page"])) if args["page"].isdigit() else 1
    with services().db.transaction() as s:
        total = int(s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
        rows = list(s.execute(stmt.order_by(IncomingDocument.id.desc()).offset((pg - 1) * PAGE_SIZE)
                              .limit(PAGE_SIZE)).scalars())
        s.expunge_all()
    waiting = _waiting(p)
    return render_template("inbox/list.html", rows=rows, total=total, args=args, statuses=INCOMING_STATUSES,
                           urgencies=range(5), page_no=pg, pages=max(1, -(-total // PAGE_SIZE)), waiting=waiting)


def _waiting(p: Principal) -> list[dict[str, Any]]:
    """Packages left on the hub until their signatures can be verified (D18), with the reason in the page's
    language; shown to the roles that may read them through the API."""
    if p.role not in DEFERRED_VIEWERS:
        return []
    en = current_lang() == "en"
    with services().db.reading() as s:
        return [{"sender": r.sender_name or r.sender_code or "—", "sender_code": r.sender_code,
                 "subject": r.subject, "document_id": r.edxml_document_id or r.hub_doc_id,
                 "since": r.first_deferred_at, "attempts": r.attempts,
                 "next": r.next_attempt_at.astimezone(VN).strftime("%d/%m/%Y %H:%M:%S"),
                 "reason": (r.last_reason_en if en else r.last_reason_vi) or r.last_reason_vi}
                for r in deferred_receipts(s, p.agency_id)]


def _load(p: Principal, doc_id: str) -> IncomingDocument:
    """The incoming document of the current agency; anything else (another agency's, recalled, duplicate,
    replaced, unknown) is a 404 that does not tell which."""
    with services().db.transaction() as s:
        try:
            inc = get_visible_incoming(s, p, doc_id)
        except NotFound:
            abort(404)
        s.expunge(inc)
    return inc


def _files(inc: IncomingDocument) -> list[dict[str, Any]]:
    """The received files with their stored verification reports (keyed by the file's SHA-256)."""
    reports = json.loads(inc.verification or "{}")
    out = []
    for f in json.loads(inc.files or "[]"):
        report = reports.get(f.get("sha256"), {})
        pages = (report.get("file") or {}).get("pages") or 0
        out.append(dict(f, report=report, pages=min(int(pages), MAX_PREVIEW_PAGES), total_pages=pages))
    return out


@bp.get("/inbox/<doc_id>")
@page(*VIEWERS)
def detail(doc_id: str) -> str:
    p = signed_in()
    inc = _load(p, doc_id)
    with services().db.transaction() as s:
        sent = list(s.execute(select(OutboxItem).where(OutboxItem.incoming_id == inc.id, OutboxItem.kind == "status")
                              .order_by(OutboxItem.id)).scalars())
        s.expunge_all()
    return render_template("inbox/detail.html", inc=inc, files=_files(inc), sent=sent,
                           can_act=p.role == "clerk")


def _file_sha(inc: IncomingDocument, sha: str) -> str:
    if sha not in {f.get("sha256") for f in json.loads(inc.files or "[]")}:
        abort(404)
    if not services().blobs.path_for(sha).is_file():
        abort(404)
    return sha


@bp.get("/inbox/<doc_id>/files/<sha>")
@page(*VIEWERS)
def file(doc_id: str, sha: str) -> Response:
    inc = _load(signed_in(), doc_id)
    sha = _file_sha(inc, sha)
    name = next((f.get("name") for f in json.loads(inc.files) if f.get("sha256") == sha), None) or f"{sha[:12]}.pdf"
    return send_file(services().blobs.path_for(sha), mimetype="application/pdf",
                     as_attachment=request.args.get("download") == "1", download_name=name)


@bp.get("/inbox/<doc_id>/files/<sha>/pages/<int:page_no>.png")
@page(*VIEWERS)
def page_image(doc_id: str, sha: str, page_no: int) -> Response:
    inc = _load(signed_in(), doc_id)
    sha = _file_sha(inc, sha)
    if not 1 <= page_no <= MAX_PREVIEW_PAGES:
        abort(404)
    svc = services()
    try:
        png = page_png(svc.blobs.path_for(sha), sha, page_no, svc.settings.instance_dir / "cache" / "previews")
    except PreviewError:
        abort(404)
    resp = send_file(png, mimetype="image/png", max_age=86400)
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp


DONE = {"register": _l("Registered in the incoming register; status 03 is being sent back."),
        "reject": _l("Refused; status 02 with the reason is being sent back."),
        "assigned": _l("Assigned; status 04 is being sent back."),
        "processing": _l("Marked as being processed; status 05 is being sent back."),
        "completed": _l("Marked as completed; status 06 is being sent back.")}


@bp.post("/inbox/<doc_id>/action")
@page("clerk")
def action(doc_id: str) -> Response:
    p = signed_in()
    _load(p, doc_id)  # 404 before anything else for documents that are not ours
    act = request.form.get("action", "")
    if act not in ACTIONS:
        abort(400)
    note = request.form.get("note", "").strip()[:500]
    svc = services()
    try:
        with svc.db.transaction() as s:
            incoming_action(s, exchange_deps_for(svc), p.agency_id, doc_id, act, p.username, note)
    except DomainError as exc:
        flash_error(exc)
    else:
        flash(str(DONE[act]), "success")
    return redirect(url_for("web_inbox.detail", doc_id=doc_id))


# ------------------------------------------------------------------------------------------ sổ đến
def _year() -> int:
    y = request.args.get("year", "")
    return int(y) if y.isdigit() and 2000 <= int(y) <= 2100 else utcnow().astimezone(VN).year


@bp.get("/registers/incoming")
@page("clerk", "admin")
def register() -> str:
    year = _year()
    with services().db.transaction() as s:
        rows: list[IncomingRegisterEntry] = incoming_register_rows(s, signed_in(), year)
        s.expunge_all()
    return render_template("inbox/register.html", rows=rows, year=year, title=_("Incoming register"))


@bp.get("/registers/incoming.<fmt>")
@page("clerk", "admin")
def register_export(fmt: str) -> Response:
    if fmt not in ("csv", "pdf"):
        abort(404)
    year = _year()
    p = signed_in()
    with services().db.reading() as s:
        agency = s.get(Agency, p.agency_id)
        out = export_incoming(s, p, agency.name if agency else "", year, fmt)
    return Response(out.data, mimetype=out.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{out.filename}"'})
