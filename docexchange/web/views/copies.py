"""Certifier pages (Decree 23/2015, Circular 01/2020): certify a copy from its original in two steps, refuse on
one of the six grounds, the record with its page images, a printable receipt with the fee, annulment, and the
SCT/BS book by month (view + PDF).

Step 1 uploads the request and the scan (XHR with a progress bar, or a plain form post); the scan is checked with
the same rules as certification and kept in a private staging folder under the instance cache, tied to the
certifier. Step 2 shows the scanned pages as server-rendered images (pdftoppm) so the certifier compares them with
the paper original, then certifies with the PINs (the staging token is the idempotency key: a double submit
returns the same certificate) or refuses. Staging folders expire after two hours."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, cast

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ...auth import Principal
from ...copies import service
from ...copies.engine import deps_for
from ...copies.models import CERTIFYING_KINDS, REFUSAL_GROUNDS, CertifiedCopy
from ...copies.rules import fee_vnd
from ...db import utcnow
from ...errors import BadInput, DomainError
from ...models import Agency
from ..common import VN, error_text, flash_error, page, services, signed_in, web_blueprint
from ..nav import NavItem
from ..preview import PreviewError, page_png

bp = web_blueprint("web_copies", __name__)

NAV = [
    NavItem("certify", _l("Certify a copy"), "web_copies.new", frozenset({"certifier"}), 10),
    NavItem("cert_book", _l("Certification book"), "web_copies.book", frozenset({"certifier"}), 20),
]
STAGING_TTL = 2 * 3600
THUMB_DPI = 80  # as the document previews: enough to compare with the paper original
MAX_THUMBS = 30
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,40}$")
FIELDS = ("requester_name", "requester_id_number", "original_type", "original_issuer", "original_number",
          "original_issue_date", "page_count", "copies")


def _p() -> Principal:
    """The signed-in certifier, who must belong to a commune People's Committee or a notary organisation."""
    p = signed_in()
    with services().db.transaction() as s:
        agency = s.get(Agency, p.agency_id)
        if agency is None or agency.kind not in CERTIFYING_KINDS:
            abort(403)
    return p


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _money(v: int) -> str:
    return f"{v:,}".replace(",", ".")


def _request_from(data: dict[str, str], key: str | None = None) -> service.CopyRequest:
    def num(name: str, default: str) -> int:
        value = (data.get(name) or default).strip()
        if not value.isdigit():
            raise BadInput(f"{name} must be a whole number", "số trang và số bản phải là số nguyên dương",
                           code="bad_copy_request")
        return int(value)

    return service.validate_request(service.CopyRequest(
        requester_name=data.get("requester_name", ""), requester_id_number=data.get("requester_id_number", ""),
        original_type=data.get("original_type", ""), original_issuer=data.get("original_issuer", ""),
        original_number=data.get("original_number", ""), original_issue_date=data.get("original_issue_date", ""),
        page_count=num("page_count", "0"), copies=num("copies", "1"), idempotency_key=key))


# ---------------------------------------------------------------------------------------------- staging
def _staging_root() -> Path:
    return services().settings.instance_dir / "cache" / "copies-staging"


def _expire_staging(root: Path) -> None:
    if not root.is_dir():
        return
    cutoff = time.time() - STAGING_TTL
    for d in root.iterdir():
        try:
            if d.is_dir() and d.stat().st_mtime < cutoff:
                shutil.rmtree(d, ignore_errors=True)
        except FileNotFoundError:
            continue


def _staging(p: Principal, token: str) -> tuple[Path, dict[str, Any]]:
    """The staging folder of ``token`` if it is this certifier's (else 404: no leak between people)."""
    if not _TOKEN_RE.match(token):
        abort(404)
    d = _staging_root() / token
    try:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        abort(404)
    if meta.get("user_id") != p.user_id or meta.get("agency_id") != p.agency_id:
        abort(404)
    return d, meta


# ---------------------------------------------------------------------------------------------- step 1
@bp.get("/copies/certify")
@page("certifier")
def new() -> str:
    _p()
    return render_template("copies/new.html", form={})


@bp.post("/copies/certify")
@page("certifier")
def stage() -> Response | str | tuple[str, int] | tuple[Response, int]:
    p = _p()
    root = _staging_root()
    token = secrets.token_urlsafe(18)
    d = root / token
    try:
        req = _request_from(request.form)
        scans = [f for f in request.files.getlist("scan") if f.filename]
        if not scans:
            raise BadInput("choose the scan of the original", "hãy chọn tệp bản quét của bản chính",
                           code="scan_missing")
        _expire_staging(root)
        d.mkdir(parents=True)
        names: list[str] = []
        for i, f in enumerate(scans):
            name = f"scan-{i:04d}"
            f.save(d / name)
            names.append(name)
        with ExitStack() as stack:
            uploads = [service.Upload(n, cast(BinaryIO, stack.enter_context(open(d / n, "rb")))) for n in names]
            params = service.preview_scan(deps_for(services()), uploads, d / "scan.pdf")
        meta = {"user_id": p.user_id, "agency_id": p.agency_id, "created": time.time(), "files": names,
                "request": {k: getattr(req, k) for k in FIELDS}, "scan": params,
                "filenames": [f.filename for f in scans]}
        (d / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    except DomainError as exc:
        shutil.rmtree(d, ignore_errors=True)
        if _wants_json():
            return jsonify({"error": error_text(exc), "code": exc.code}), exc.status
        flash_error(exc)
        return render_template("copies/new.html", form=request.form), exc.status
    target = url_for("web_copies.review", token=token)
    if _wants_json():
        return jsonify({"redirect": target}), 201
    return redirect(target)


# ---------------------------------------------------------------------------------------------- step 2
@bp.get("/copies/review/<token>")
@page("certifier")
def review(token: str) -> tuple[str, int]:
    return _review_page(token)


def _review_page(token: str, status: int = 200) -> tuple[str, int]:
    p = _p()
    _d, meta = _staging(p, token)
    req = meta["request"]
    fee = fee_vnd(int(req["page_count"]), int(req["copies"]))
    pages = min(int(meta["scan"]["pages"]), MAX_THUMBS)
    return render_template("copies/review.html", token=token, req=req, scan=meta["scan"], pages=pages,
                           fee=_money(fee), grounds=REFUSAL_GROUNDS, filenames=meta.get("filenames", [])), status


@bp.get("/copies/review/<token>/pages/<int:page_no>.png")
@page("certifier")
def review_page_image(token: str, page_no: int) -> Response:
    p = _p()
    d, meta = _staging(p, token)
    if not 1 <= page_no <= int(meta["scan"]["pages"]):
        abort(404)
    try:
        png = page_png(d / "scan.pdf", token, page_no, d / "thumbs", dpi=THUMB_DPI)
    except PreviewError:
        abort(404)
    resp = send_file(png, mimetype="image/png")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.post("/copies/review/<token>/certify")
@page("certifier")
def certify(token: str) -> Response | tuple[str, int]:
    p = _p()
    d, meta = _staging(p, token)
    pin, seal_pin = request.form.get("pin", ""), request.form.get("seal_pin", "")
    svc = services()
    try:
        if not pin or not seal_pin:
            raise BadInput("enter both PINs", "hãy nhập cả hai mã PIN", code="pin_required")
        req = _request_from({k: str(v) for k, v in meta["request"].items()}, key=f"web-{token}")
        with ExitStack() as stack:
            uploads = [service.Upload(n, cast(BinaryIO, stack.enter_context(open(d / n, "rb"))))
                       for n in meta["files"]]
            row = service.certify(svc.db, deps_for(svc), p, req, uploads, pin=pin, seal_pin=seal_pin)
            public_id = row.public_id
    except DomainError as exc:
        flash_error(exc)
        return _review_page(token, exc.status)
    shutil.rmtree(d, ignore_errors=True)
    flash(_("Certified."), "success")
    return redirect(url_for("web_copies.detail", copy_id=public_id))


@bp.post("/copies/review/<token>/refuse")
@page("certifier")
def refuse(token: str) -> Response | tuple[str, int]:
    p = _p()
    d, meta = _staging(p, token)
    ground_text = request.form.get("ground", "")
    svc = services()
    try:
        req = _request_from({k: str(v) for k, v in meta["request"].items()}, key=f"web-{token}")
        row = service.refuse(svc.db, deps_for(svc), p, req,
                             ground=int(ground_text) if ground_text.isdigit() else None,
                             reason=request.form.get("reason", ""))
        public_id = row.public_id
    except DomainError as exc:
        flash_error(exc)
        return _review_page(token, exc.status)
    shutil.rmtree(d, ignore_errors=True)
    flash(_("Refusal recorded."), "success")
    return redirect(url_for("web_copies.detail", copy_id=public_id))


@bp.post("/copies/review/<token>/discard")
@page("certifier")
def discard(token: str) -> Response:
    p = _p()
    d, _meta = _staging(p, token)
    shutil.rmtree(d, ignore_errors=True)
    return redirect(url_for("web_copies.new"))


# ---------------------------------------------------------------------------------------------- records
def _load(p: Principal, copy_id: str) -> CertifiedCopy:
    with services().db.transaction() as s:
        row = service.get_copy(s, p, copy_id)
        s.expunge(row)
    return row


@bp.get("/copies/<copy_id>")
@page("certifier")
def detail(copy_id: str) -> str:
    p = _p()
    row = _load(p, copy_id)
    scan = json.loads(row.scan_params)
    pages = min(int(scan.get("pages", 0)) + 1, MAX_THUMBS) if row.pdf_sha256 else 0
    base = services().settings.public_url.rstrip("/")
    return render_template("copies/detail.html", r=row, pages=pages, fee=_money(row.fee_vnd), grounds=REFUSAL_GROUNDS,
                           verify_url=f"{base}/verify/copy/{row.code}")


@bp.get("/copies/<copy_id>/pages/<int:page_no>.png")
@page("certifier")
def page_image(copy_id: str, page_no: int) -> Response:
    p = _p()
    row = _load(p, copy_id)
    if row.pdf_sha256 is None or page_no < 1:
        abort(404)
    svc = services()
    try:
        png = page_png(svc.blobs.path_for(row.pdf_sha256), row.pdf_sha256, page_no,
                       svc.settings.instance_dir / "cache" / "previews")
    except PreviewError:
        abort(404)
    resp = send_file(png, mimetype="image/png", max_age=86400)
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp


@bp.get("/copies/<copy_id>/pdf")
@page("certifier")
def pdf(copy_id: str) -> Response:
    row = _load(_p(), copy_id)
    return _stored_pdf(row.pdf_sha256, f"ban-sao-{row.code}.pdf")


@bp.get("/copies/<copy_id>/refusal-note")
@page("certifier")
def refusal_note(copy_id: str) -> Response:
    row = _load(_p(), copy_id)
    return _stored_pdf(row.refusal_note_sha256, f"tu-choi-{row.code}.pdf")


def _stored_pdf(sha256: str | None, name: str) -> Response:
    """A PDF of the record from the blob store, or 404 when the record has none."""
    if sha256 is None:
        abort(404)
    return send_file(services().blobs.path_for(sha256), mimetype="application/pdf", download_name=name)


@bp.get("/copies/<copy_id>/receipt")
@page("certifier")
def receipt(copy_id: str) -> str:
    p = _p()
    row = _load(p, copy_id)
    if row.status == "refused":
        abort(404)
    with services().db.transaction() as s:
        agency = s.get(Agency, row.agency_id)
        agency_name = agency.name if agency else ""
    return render_template("copies/receipt.html", r=row, fee=_money(row.fee_vnd), agency_name=agency_name,
                           per_copy=_money(row.fee_vnd // max(row.copies, 1)))


@bp.post("/copies/<copy_id>/annul")
@page("certifier")
def annul(copy_id: str) -> Response:
    p = _p()
    svc = services()
    try:
        service.annul(svc.db, deps_for(svc), p, copy_id, request.form.get("reason", ""))
    except DomainError as exc:
        flash_error(exc)
    else:
        flash(_("The certified copy is annulled; the public page shows it at once."), "success")
    return redirect(url_for("web_copies.detail", copy_id=copy_id))


# ---------------------------------------------------------------------------------------------- the book
def _period() -> tuple[int, int]:
    today = utcnow().astimezone(VN)
    try:
        year = int(request.args.get("year") or today.year)
        month = int(request.args.get("month") or today.month)
    except ValueError:
        abort(400)
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        abort(400)
    return year, month


@bp.get("/copies/book")
@page("certifier")
def book() -> str:
    p = _p()
    year, month = _period()
    with services().db.transaction() as s:
        rows = service.book_rows(s, p.agency_id, year, month)
        lines = [(r.public_id, service.book_line(r)) for r in rows]
        refused = service.search(s, p, service.SearchQuery(
            status="refused", date_from=date(year, month, 1).isoformat(),
            date_to=date(year + month // 12, month % 12 + 1, 1).isoformat()))
        refused = [r for r in refused if r.local_date.startswith(f"{year:04d}-{month:02d}")]
        s.expunge_all()
    total = sum(r.fee_vnd for r in rows if r.status != "refused")
    return render_template("copies/book.html", year=year, month=month, lines=lines, columns=service.BOOK_COLUMNS,
                           refused=refused, total=_money(total), months=range(1, 13))


@bp.get("/copies/book.pdf")
@page("certifier")
def book_pdf() -> Response:
    p = _p()
    year, month = _period()
    with services().db.transaction() as s:
        rows = service.book_rows(s, p.agency_id, year, month)
        agency = s.get(Agency, p.agency_id)
        assert agency is not None
        data = service.book_pdf(agency, year, month, rows)
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="so-chung-thuc-{year}-{month:02d}.pdf"'})
