"""Outgoing documents: the clerk's outbox with filters, the new-document form, the document page with its
history and actions (sign, approve the seal, issue), the signer's queue, page previews, the outgoing register."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import BinaryIO, cast

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from ...auth import PinPolicy, Principal
from ...db import utcnow
from ...documents import engine, service
from ...documents.models import AUTHORITY_MARKERS, STATUSES, URGENCY, Document, DocumentEvent
from ...documents.register import export_outgoing, outgoing_rows
from ...errors import BadInput, DomainError
from ...exchange.models import OutboxItem, RecipientStatus
from ...models import Agency, User
from .. import exchange_labels
from ..common import VN, error_text, flash_error, page, parse_date, services, signed_in, web_blueprint
from ..doctypes import DOC_TYPES, abbreviation_for
from ..labels import AUTHORITY_LABELS
from ..nav import NavItem
from ..preview import PreviewError, mark_box, page_png

bp = web_blueprint("web_docs", __name__)
bp.record_once(lambda state: exchange_labels.init_app(state.app))

ALL = frozenset({"clerk", "signer", "certifier", "auditor", "admin"})
NAV = [
    NavItem("outbox", _l("Outgoing documents"), "web_docs.outbox", frozenset({"clerk", "admin"}), 10),
    NavItem("new", _l("New document"), "web_docs.new", frozenset({"clerk"}), 20),
    NavItem("waiting", _l("Waiting for my signature"), "web_docs.waiting", frozenset({"signer"}), 10),
    NavItem("my_docs", _l("Documents I sign"), "web_docs.outbox", frozenset({"signer"}), 15),
    NavItem("register_out", _l("Outgoing register"), "web_docs.register", frozenset({"clerk", "admin"}), 40),
]
PAGE_SIZE = 50
MAX_PREVIEW_PAGES = 30


def _filtered(p: Principal, args: dict[str, str]) -> tuple[list[Document], int]:
    """Documents of the current agency (signers: only those they are to sign), filtered and paged."""
    stmt = service.visible_documents_query(p)
    if args.get("status") in STATUSES:
        stmt = stmt.where(Document.status == args["status"])
    if (args.get("urgency") or "").isdigit() and int(args["urgency"]) in URGENCY:
        stmt = stmt.where(Document.urgency == int(args["urgency"]))
    recipient = (args.get("recipient") or "").strip().upper()
    if recipient:  # recipients are stored as a JSON list of agency codes
        stmt = stmt.where(Document.recipients.contains(f'"{recipient}'))
    start, end = parse_date(args.get("from")), parse_date(args.get("to"))
    if start:
        stmt = stmt.where(Document.created_at >= datetime.combine(start, time(), VN))
    if end:
        stmt = stmt.where(Document.created_at < datetime.combine(end + timedelta(days=1), time(), VN))
    pg = max(1, int(args["page"])) if (args.get("page") or "").isdigit() else 1
    with services().db.transaction() as s:
        total = s.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
        rows = list(s.execute(stmt.order_by(Document.id.desc()).offset((pg - 1) * PAGE_SIZE)
                              .limit(PAGE_SIZE)).scalars())
        s.expunge_all()
    return rows, int(total)


@bp.get("/documents")
@page("clerk", "admin", "signer")
def outbox() -> str:
    p = signed_in()
    args = {k: request.args.get(k, "") for k in ("status", "urgency", "recipient", "from", "to", "page")}
    rows, total = _filtered(p, args)
    pg = int(args["page"]) if args["page"].isdigit() and int(args["page"]) > 0 else 1
    return render_template("documents/list.html", rows=rows, total=total, args=args, statuses=STATUSES,
                           urgencies=sorted(URGENCY), page_no=pg, pages=max(1, -(-total // PAGE_SIZE)),
                           title=_("Documents I sign") if p.role == "signer" else _("Outgoing documents"))


@bp.get("/waiting")
@page("signer")
def waiting() -> str:
    p = signed_in()
    rows, total = _filtered(p, {"status": "draft"})
    with services().db.transaction() as s:
        agency = s.get(Agency, p.agency_id)
        approvals: list[Document] = []
        if agency is not None and agency.seal_requires_approval:
            approvals = list(s.execute(select(Document).where(
                Document.agency_id == p.agency_id, Document.status == "signed",
                Document.signer_user_id != p.user_id).order_by(Document.id)).scalars())
        s.expunge_all()
    return render_template("documents/waiting.html", rows=rows, total=total, approvals=approvals)


def _form_context(p: Principal) -> dict[str, object]:
    with services().db.transaction() as s:
        signers = [u for u in s.execute(select(User).where(User.agency_id == p.agency_id, User.active)
                                        .order_by(User.full_name)).scalars() if "signer" in u.role_set]
        agencies = list(s.execute(select(Agency).where(Agency.id != p.agency_id).order_by(Agency.name)).scalars())
        s.expunge_all()
    can_convert = engine.deps_for(services()).normalize is not None
    return {"signers": signers, "agencies": agencies, "can_convert": can_convert,
            "accept": ".pdf,.docx,.doc,.odt,.rtf,.jpg,.jpeg,.png,.tif,.tiff" if can_convert
            else ".pdf,application/pdf", "doc_types": DOC_TYPES, "markers": AUTHORITY_MARKERS,
            "marker_labels": AUTHORITY_LABELS, "urgencies": sorted(URGENCY)}


@bp.get("/documents/new")
@page("clerk")
def new() -> str:
    return render_template("documents/new.html", form={}, **_form_context(signed_in()))


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


@bp.post("/documents/new")
@page("clerk")
def create() -> Response | str | tuple[str, int] | tuple[Response, int]:
    p = signed_in()
    form = request.form
    upload = request.files.get("file")
    try:
        type_name = form.get("type_name", "")
        abbr = abbreviation_for(type_name)
        if abbr is None:
            raise BadInput("choose a document type from the list", "hãy chọn loại văn bản trong danh sách",
                           code="bad_type")
        if upload is None or not upload.filename:
            raise BadInput("choose the document file to upload", "hãy chọn tệp văn bản để tải lên", code="no_file")
        urgency = int(form.get("urgency", "0")) if form.get("urgency", "0").isdigit() else -1
        meta = service.DraftInput(
            type_name=type_name, type_abbr=abbr, subject=form.get("subject", ""),
            recipients=sorted(set(form.getlist("recipients"))), signer_username=form.get("signer", ""),
            authority_marker=form.get("authority_marker", ""), signer_position=form.get("signer_position", "")[:100],
            urgency=urgency, notation_suffix=form.get("notation_suffix", "").strip(),
            attachments=[(a.filename or f"attachment-{i + 1}.pdf", cast(BinaryIO, a.stream))
                         for i, a in enumerate(request.files.getlist("attachments")) if a.filename])
        svc = services()
        with svc.db.transaction() as s:
            doc = service.create_draft(s, engine.deps_for(svc), p, cast(BinaryIO, upload.stream),
                                       upload.filename, meta)
            public_id = doc.public_id
    except DomainError as exc:
        if _wants_json():
            return jsonify({"error": error_text(exc), "code": exc.code}), exc.status
        flash_error(exc)
        return render_template("documents/new.html", form=form, **_form_context(p)), exc.status
    target = url_for("web_docs.detail", doc_id=public_id)
    flash(_("Draft created."), "success")
    if _wants_json():
        return jsonify({"redirect": target}), 201
    return redirect(target)


def _load(p: Principal, doc_id: str) -> tuple[Document, list[DocumentEvent], dict[str, str], str, bool]:
    with services().db.transaction() as s:
        doc = service.get_document(s, p, doc_id)
        if p.role == "signer" and doc.signer_user_id != p.user_id:
            abort(404)
        events = list(s.execute(select(DocumentEvent).where(DocumentEvent.document_id == doc.id)
                                .order_by(DocumentEvent.id)).scalars())
        codes = json.loads(doc.recipients)
        names = dict(s.execute(select(Agency.code, Agency.name).where(Agency.code.in_(codes))).all())
        signer = s.get(User, doc.signer_user_id) if doc.signer_user_id else None
        signer_name = signer.full_name if signer else ""
        agency = s.get(Agency, doc.agency_id)
        needs_approval = bool(agency and agency.seal_requires_approval)
        doc.attachments  # noqa: B018 - load before the session closes
        s.expunge_all()
    return doc, events, {c: names.get(c, c) for c in codes}, signer_name, needs_approval


def _latest_sha(doc: Document, version: str | None = None) -> tuple[str, str]:
    versions = {"issued": doc.issued_sha256, "signed": doc.signed_sha256, "draft": doc.draft_sha256}
    if version in versions and versions[version]:
        return version, versions[version]  # type: ignore[return-value]
    if version:
        abort(404)
    name = next(v for v in ("issued", "signed", "draft") if versions[v])
    return name, versions[name]  # type: ignore[return-value]


@bp.get("/documents/<doc_id>")
@page("clerk", "admin", "signer")
def detail(doc_id: str) -> str:
    p = signed_in()
    doc, events, recipients, signer_name, needs_approval = _load(p, doc_id)
    version, _sha = _latest_sha(doc)
    pages = min(doc.page_count, MAX_PREVIEW_PAGES)
    outbox, timeline = _exchange_state(doc)
    placement = _signature_placement(doc) if doc.status == "draft" else None
    return render_template("documents/detail.html", doc=doc, events=events, recipients=recipients,
                           signer_name=signer_name, needs_approval=needs_approval, version=version,
                           pages=pages, signing_ready=engine.deps_for(services()).signing is not None,
                           outbox=outbox, timeline=timeline,
                           place_page=placement[0] if placement else None,
                           name_missing=doc.status == "draft" and placement is None)


def _signature_placement(doc: Document) -> tuple[int, tuple[float, float, float, float], float] | None:
    """Where the ``person`` profile will put the signature on the draft: (page, box in points, page height), or
    None when the signer's name is not on the last page (the page then says so before anyone tries to sign)."""
    from ...node_signing import node_signing

    svc = services()
    with svc.db.reading() as s:
        signer = s.get(User, doc.signer_user_id) if doc.signer_user_id else None
        name, image_sha = (signer.full_name, signer.signature_image_sha256) if signer else ("", None)
    if not name or not image_sha:
        return None
    path = svc.blobs.path_for(doc.draft_sha256)
    try:
        page_no, box = node_signing(svc).engine.locate_person_box(path, name, svc.blobs.get_bytes(image_sha))
        from pypdf import PdfReader

        height = float(PdfReader(str(path)).pages[page_no - 1].mediabox.height)
    except DomainError:
        return None
    return page_no, box, height


def _exchange_state(doc: Document) -> tuple[OutboxItem | None, dict[str, list[RecipientStatus]]]:
    """The latest outgoing package of the document (pending/sent/failed) and the statuses each recipient sent
    back, in time order, keyed by recipient code (every addressed recipient has a key, even with no status)."""
    with services().db.transaction() as s:
        out = s.execute(select(OutboxItem).where(OutboxItem.document_id == doc.id, OutboxItem.kind == "edoc")
                        .order_by(OutboxItem.id.desc())).scalars().first()
        rows = list(s.execute(select(RecipientStatus).where(RecipientStatus.document_id == doc.id)
                              .order_by(RecipientStatus.status_time, RecipientStatus.id)).scalars())
        s.expunge_all()
    timeline: dict[str, list[RecipientStatus]] = {c: [] for c in json.loads(doc.recipients)}
    for r in rows:
        timeline.setdefault(r.recipient_code, []).append(r)
    return out, timeline


@bp.get("/documents/<doc_id>/pages/<int:page_no>.png")
@page("clerk", "admin", "signer")
def page_image(doc_id: str, page_no: int) -> Response:
    p = signed_in()
    doc, *_rest = _load(p, doc_id)
    _version, sha = _latest_sha(doc, request.args.get("v"))
    if not 1 <= page_no <= doc.page_count:
        abort(404)
    svc = services()
    cache = svc.settings.instance_dir / "cache" / "previews"
    try:
        png = page_png(svc.blobs.path_for(sha), sha, page_no, cache)
    except PreviewError:
        abort(404)
    placement = _signature_placement(doc) if request.args.get("place") and doc.status == "draft" else None
    if placement is not None and placement[0] == page_no:
        png = mark_box(png, cache / sha[:2] / f"{sha}-p{page_no}-place.png", placement[1], placement[2])
    resp = send_file(png, mimetype="image/png", max_age=86400)
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp


@bp.get("/documents/<doc_id>/pdf")
@page("clerk", "admin", "signer")
def pdf(doc_id: str) -> Response:
    p = signed_in()
    doc, *_rest = _load(p, doc_id)
    version, sha = _latest_sha(doc, request.args.get("v"))
    return send_file(services().blobs.path_for(sha), mimetype="application/pdf", as_attachment=False,
                     download_name=f"{doc_id}-{version}.pdf")


def _act(doc_id: str, action: str) -> Response:
    p = signed_in()
    svc = services()
    deps = engine.deps_for(svc)
    pin = request.form.get("pin", "")
    try:
        if action in ("sign", "issue") and not pin:
            raise BadInput("enter the PIN", "hãy nhập mã PIN", code="pin_required")
        service.perform(svc.db, deps, p, doc_id, action, pin, pin_policy=PinPolicy.from_settings(svc.settings))
    except DomainError as exc:
        flash_error(exc)
    else:
        flash({"sign": _("Signed."), "approve": _("Use of the seal approved."),
               "issue": _("Issued: numbered, sealed and entered in the outgoing register.")}[action], "success")
    return redirect(url_for("web_docs.detail", doc_id=doc_id))


@bp.post("/documents/<doc_id>/sign")
@page("signer")
def sign(doc_id: str) -> Response:
    return _act(doc_id, "sign")


@bp.post("/documents/<doc_id>/approve")
@page("signer", "admin")
def approve(doc_id: str) -> Response:
    return _act(doc_id, "approve")


@bp.post("/documents/<doc_id>/issue")
@page("clerk")
def issue(doc_id: str) -> Response:
    return _act(doc_id, "issue")


def _year() -> int:
    y = request.args.get("year", "")
    return int(y) if y.isdigit() and 2000 <= int(y) <= 2100 else utcnow().astimezone(VN).year


@bp.get("/registers/outgoing")
@page("clerk", "admin")
def register() -> str:
    p = signed_in()
    year = _year()
    with services().db.transaction() as s:
        rows = outgoing_rows(s, p.agency_id, year)
        s.expunge_all()
    return render_template("registers/outgoing.html", rows=rows, year=year)


@bp.get("/registers/outgoing.<fmt>")
@page("clerk", "admin")
def register_export(fmt: str) -> Response:
    p = signed_in()
    year = _year()
    if fmt not in ("csv", "pdf"):
        abort(404)
    with services().db.reading() as s:
        agency = s.get(Agency, p.agency_id)
        assert agency is not None
        out = export_outgoing(s, p.agency_id, agency.name, year, fmt)
    return Response(out.data, mimetype=out.mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{out.filename}"'})
