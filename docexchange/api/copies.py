"""Certified copies (SCT/BS book) and Decree 30 agency copies: thin HTTP layer over docexchange.copies.service."""

from __future__ import annotations

import json
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, File, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range
from flask import Response, request, send_file

from ..copies import service
from ..copies.models import REFUSAL_GROUNDS, AgencyCopy, CertifiedCopy
from ..copies.rules import fee_vnd
from ..errors import BadInput, NotFound
from ..models import Agency
from ._deps import require, services

bp = APIBlueprint("copies", __name__, url_prefix="/api/v1", tag="Certified copies")

READ_ROLES = ("certifier", "admin", "auditor")


class RequestFields(Schema):
    requester_name = String(required=True, validate=Length(1, 100))
    requester_id_number = String(required=True, validate=Length(6, 30))
    original_type = String(required=True, validate=Length(1, 200))
    original_issuer = String(required=True, validate=Length(1, 250))
    original_number = String(load_default="", validate=Length(0, 60))
    original_issue_date = String(load_default="", metadata={"description": "YYYY-MM-DD"})
    page_count = Integer(required=True, validate=Range(1, 1000),
                         metadata={"description": "pages of the original (fee basis)"})
    copies = Integer(load_default=1, validate=Range(1, 50))
    agency_code = String(load_default=None, metadata={"description": "the book to write in (default: yours)"})
    idempotency_key = String(load_default=None, validate=Length(1, 100),
                             metadata={"description": "or the Idempotency-Key header"})


class CertifyIn(RequestFields):
    scan = File(metadata={"description": "the scan: JPEG, PNG, TIFF (multi-page) or PDF; repeat for more files"})
    pin = String(load_default="", metadata={"description": "PIN of the certifier's signing key"})
    seal_pin = String(load_default="", metadata={"description": "PIN of the agency seal key"})


class RefuseIn(RequestFields):
    ground = Integer(load_default=None, metadata={"description": "Decree 23/2015 Art. 22 ground, 1..6"})
    reason = String(load_default="", validate=Length(0, 2000))


class AnnulIn(Schema):
    reason = String(required=True, validate=Length(5, 2000))


class CopyOut(Schema):
    id = String()
    code = String()
    status = String()
    verify_url = String()
    number = String(allow_none=True)
    book = String(allow_none=True)
    year = Integer()
    date = String()
    decided_at = String()
    requester_name = String()
    requester_id_number = String()
    original = Dict()
    page_count = Integer()
    copies = Integer()
    fee_vnd = Integer()
    certifier = Dict()
    statement = String()
    scan = Dict()
    pdf_sha256 = String(allow_none=True)
    refusal = Dict(allow_none=True)
    annulment = Dict(allow_none=True)


class CopyList(Schema):
    items = List(Nested(CopyOut))


class SearchQuery(Schema):
    year = Integer(load_default=None)
    number = Integer(load_default=None)
    requester_id = String(load_default=None)
    date_from = String(load_default=None)
    date_to = String(load_default=None)
    status = String(load_default=None, validate=OneOf(["certified", "refused", "annulled"]))


class AgencyCopyIn(Schema):
    form = String(required=True, validate=OneOf(["SAO Y", "SAO LỤC", "TRÍCH SAO"]))
    document_id = String(load_default=None)
    copy_id = String(load_default=None)
    pages = String(load_default="", validate=Length(0, 200))
    description = String(load_default="", validate=Length(0, 500))
    pin = String(load_default="", metadata={"description": "PIN of the agency seal key"})
    scan = File(metadata={"description": "paper -> electronic SAO Y: the scan (repeatable)"})


class AgencyCopyOut(Schema):
    id = String()
    number = String()
    form = String()
    year = Integer()
    source = String()
    source_sha256 = String()
    pages = String()
    description = String()
    pdf_sha256 = String()
    created_at = String()


class AgencyCopyList(Schema):
    items = List(Nested(AgencyCopyOut))


def _deps() -> service.Deps:
    from ..copies.engine import deps_for

    return deps_for(services())


def out(r: CertifiedCopy, deps_url: str | None = None) -> dict[str, Any]:
    url = deps_url or services().settings.public_url
    return {
        "id": r.public_id, "code": r.code, "status": r.status,
        "verify_url": f"{url.rstrip('/')}/verify/copy/{r.code}" if r.status != "refused" else "",
        "number": r.number_text, "book": r.book_text, "year": r.year, "date": r.local_date,
        "decided_at": r.decided_at.isoformat(), "requester_name": r.requester_name,
        "requester_id_number": r.requester_id_number,
        "original": {"type": r.original_type, "issuer": r.original_issuer, "number": r.original_number,
                     "issue_date": r.original_issue_date or None},
        "page_count": r.page_count, "copies": r.copies, "fee_vnd": r.fee_vnd,
        "certifier": {"name": r.certifier_name, "title": r.certifier_title}, "statement": r.statement,
        "scan": json.loads(r.scan_params), "pdf_sha256": r.pdf_sha256,
        "refusal": None if r.refusal_ground is None else {
            "ground": r.refusal_ground, "ground_vi": REFUSAL_GROUNDS[r.refusal_ground][0],
            "ground_en": REFUSAL_GROUNDS[r.refusal_ground][1], "reason": r.refusal_reason},
        "annulment": None if r.annulled_at is None else {"at": r.annulled_at.isoformat(), "reason": r.annul_reason},
    }


def _request(data: dict[str, Any]) -> service.CopyRequest:
    return service.CopyRequest(
        requester_name=data["requester_name"], requester_id_number=data["requester_id_number"],
        original_type=data["original_type"], original_issuer=data["original_issuer"],
        original_number=data["original_number"], original_issue_date=data["original_issue_date"],
        page_count=data["page_count"], copies=data["copies"], agency_code=data["agency_code"],
        idempotency_key=data["idempotency_key"] or request.headers.get("Idempotency-Key") or None)


def _uploads() -> list[service.Upload]:
    return [service.Upload(f.filename or f"scan-{i + 1}", f.stream)  # type: ignore[arg-type]
            for i, f in enumerate(request.files.getlist("scan"))]


@bp.get("/copies/grounds")
@bp.doc(summary="The six refusal grounds of Decree 23/2015 Art. 22", security="BearerAuth")
def grounds() -> dict[str, Any]:
    return {"items": [{"ground": k, "vi": vi, "en": en} for k, (vi, en) in REFUSAL_GROUNDS.items()]}


@bp.get("/copies/fee")
@bp.doc(summary="Fee for ?pages=N&copies=M (2,000 VND/page for pages 1-2, 1,000 from page 3, cap 200,000/copy)")
def fee() -> dict[str, Any]:
    try:
        pages, copies = int(request.args.get("pages", "1")), int(request.args.get("copies", "1"))
        return {"pages": pages, "copies": copies, "fee_vnd": fee_vnd(pages, copies)}
    except ValueError as exc:
        raise BadInput("pages and copies must be positive integers", "số trang và số bản phải là số nguyên dương",
                       code="bad_fee_query") from exc


@bp.post("/copies/certify")
@bp.input(CertifyIn, location="form_and_files")
@bp.output(CopyOut, status_code=201)
@bp.doc(summary="Certify a scan as a true copy of the original (certifier). Idempotency-Key recommended",
        security="BearerAuth")
def certify(form_and_files_data: dict[str, Any]) -> dict[str, Any]:
    p = require("certifier")
    deps = _deps()
    row = service.certify(services().db, deps, p, _request(form_and_files_data), _uploads(),
                          pin=form_and_files_data["pin"], seal_pin=form_and_files_data["seal_pin"])
    return out(row, deps.public_url)


@bp.post("/copies/refuse")
@bp.input(RefuseIn, location="form_and_files")
@bp.output(CopyOut, status_code=201)
@bp.doc(summary="Refuse on one of the six grounds (certifier); the note is at /copies/<id>/refusal-note",
        security="BearerAuth")
def refuse(form_and_files_data: dict[str, Any]) -> dict[str, Any]:
    p = require("certifier")
    deps = _deps()
    row = service.refuse(services().db, deps, p, _request(form_and_files_data),
                         ground=form_and_files_data["ground"], reason=form_and_files_data["reason"])
    return out(row, deps.public_url)


@bp.get("/copies")
@bp.input(SearchQuery, location="query")
@bp.output(CopyList)
@bp.doc(summary="Search the agency's certifications by year, number, requester ID number, date range, status",
        security="BearerAuth")
def search(query_data: dict[str, Any]) -> dict[str, Any]:
    p = require(*READ_ROLES)
    with services().db.transaction() as s:
        rows = service.search(s, p, service.SearchQuery(**query_data))
        return {"items": [out(r) for r in rows]}


@bp.get("/copies/book")
@bp.doc(summary="The SCT/BS book of a month: ?year=2026&month=11&format=json|pdf (all columns)",
        security="BearerAuth")
def book() -> Response | dict[str, Any]:
    p = require(*READ_ROLES)
    from ..copies.service import VN
    from ..db import utcnow

    today = utcnow().astimezone(VN)
    try:
        year = int(request.args.get("year", today.year))
        month = int(request.args.get("month", today.month))
        if not 1 <= month <= 12:
            raise ValueError
    except ValueError as exc:
        raise BadInput("year and month must be numbers (month 1..12)", "năm và tháng không hợp lệ",
                       code="bad_period") from exc
    with services().db.transaction() as s:
        rows = service.book_rows(s, p.agency_id, year, month)
        agency = s.get(Agency, p.agency_id)
        assert agency is not None
        if request.args.get("format") == "pdf":
            return Response(service.book_pdf(agency, year, month, rows), mimetype="application/pdf",
                            headers={"Content-Disposition": f'inline; filename="so-chung-thuc-{year}-{month:02d}.pdf"'})
        lines = [service.book_line(r) for r in rows]
        return {"year": year, "month": month, "book_type": "SCT/BS",
                "columns": [{"key": k, "title": t} for k, t, _ in service.BOOK_COLUMNS],
                "items": [{k: getattr(line, k) for k, _, _ in service.BOOK_COLUMNS} for line in lines]}


@bp.get("/copies/<copy_id>")
@bp.output(CopyOut)
@bp.doc(summary="One certification record (by id or verification code)", security="BearerAuth")
def get_copy(copy_id: str) -> dict[str, Any]:
    p = require(*READ_ROLES)
    with services().db.transaction() as s:
        return out(service.get_copy(s, p, copy_id))


@bp.get("/copies/<copy_id>/pdf")
@bp.doc(summary="The certified copy PDF", security="BearerAuth")
def get_pdf(copy_id: str) -> Response:
    p = require(*READ_ROLES)
    svc = services()
    with svc.db.transaction() as s:
        r = service.get_copy(s, p, copy_id)
        sha = r.pdf_sha256
    if sha is None:
        raise NotFound("this request was refused; there is no certified copy", "yêu cầu đã bị từ chối, không có "
                       "bản sao chứng thực", code="no_pdf")
    return send_file(svc.blobs.path_for(sha), mimetype="application/pdf", download_name=f"ban-sao-{r.code}.pdf",
                     etag=sha, conditional=True)


@bp.get("/copies/<copy_id>/refusal-note")
@bp.doc(summary="The printable refusal note (PDF)", security="BearerAuth")
def refusal_note(copy_id: str) -> Response:
    p = require(*READ_ROLES)
    svc = services()
    with svc.db.transaction() as s:
        r = service.get_copy(s, p, copy_id)
        sha = r.refusal_note_sha256
    if sha is None:
        raise NotFound("this request was not refused", "yêu cầu này không bị từ chối", code="no_refusal")
    return Response(svc.blobs.get_bytes(sha), mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="tu-choi-{r.code}.pdf"'})


@bp.post("/copies/<copy_id>/annul")
@bp.input(AnnulIn)
@bp.output(CopyOut)
@bp.doc(summary="Annul a wrongly certified copy (certifier/admin of the certifying agency; reason required)",
        security="BearerAuth")
def annul(copy_id: str, json_data: dict[str, str]) -> dict[str, Any]:
    p = require("certifier", "admin")
    row = service.annul(services().db, _deps(), p, copy_id, json_data["reason"])
    return out(row)


def agency_copy_out(r: AgencyCopy) -> dict[str, Any]:
    return {"id": r.public_id, "number": r.number_text, "form": r.form, "year": r.year, "source": r.source_kind,
            "source_sha256": r.source_sha256, "pages": r.pages, "description": r.description,
            "pdf_sha256": r.pdf_sha256, "created_at": r.created_at.isoformat()}


@bp.post("/agency-copies")
@bp.input(AgencyCopyIn, location="form_and_files")
@bp.output(AgencyCopyOut, status_code=201)
@bp.doc(summary="SAO Y / SAO LỤC / TRÍCH SAO of an issued document, a SAO Y, or a paper scan (clerk)",
        tags=["Agency copies"], security="BearerAuth")
def make_agency_copy(form_and_files_data: dict[str, Any]) -> dict[str, Any]:
    p = require("clerk")
    d = form_and_files_data
    req = service.AgencyCopyRequest(form=d["form"], document_id=d["document_id"], copy_id=d["copy_id"],
                                    pages=d["pages"], description=d["description"])
    row = service.make_agency_copy(services().db, _deps(), p, req, _uploads(), pin=d["pin"])
    return agency_copy_out(row)


@bp.get("/agency-copies")
@bp.output(AgencyCopyList)
@bp.doc(summary="The agency's copies (?year=)", tags=["Agency copies"], security="BearerAuth")
def list_agency_copies() -> dict[str, Any]:
    p = require("clerk", "admin", "auditor", "signer")
    year = request.args.get("year")
    with services().db.transaction() as s:
        rows = service.list_agency_copies(s, p, int(year) if year and year.isdigit() else None)
        return {"items": [agency_copy_out(r) for r in rows]}


@bp.get("/agency-copies/<copy_id>")
@bp.output(AgencyCopyOut)
@bp.doc(summary="One agency copy", tags=["Agency copies"], security="BearerAuth")
def get_agency_copy(copy_id: str) -> dict[str, Any]:
    p = require("clerk", "admin", "auditor", "signer")
    with services().db.transaction() as s:
        return agency_copy_out(service.get_agency_copy(s, p, copy_id))


@bp.get("/agency-copies/<copy_id>/pdf")
@bp.doc(summary="The agency copy PDF", tags=["Agency copies"], security="BearerAuth")
def agency_copy_pdf(copy_id: str) -> Response:
    p = require("clerk", "admin", "auditor", "signer")
    svc = services()
    with svc.db.transaction() as s:
        r = service.get_agency_copy(s, p, copy_id)
    return send_file(svc.blobs.path_for(r.pdf_sha256), mimetype="application/pdf", etag=r.pdf_sha256,
                     download_name=f"{r.year}-{r.number_text.replace('/', '-')}.pdf", conditional=True)
