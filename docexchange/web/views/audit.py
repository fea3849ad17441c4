"""The auditor's pages: verify any uploaded PDF (signature panels, side-by-side page images of the signed
revision and the final file where the appearance changed, the report as a sealed PDF) and per-document evidence
(every ledger entry about one document: hops, statuses, their hashes; plus the ledger's own verification)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from ...auth import Principal
from ...documents.models import Document
from ...errors import BadInput, DomainError
from ...exchange.models import IncomingDocument
from ...ledger import verify_ledger
from ...models import Agency, LedgerEntry
from ...pki.responders import token_time_if_valid
from ...signing.validation import ValidationPolicy, VerificationReport, render_report_pdf, validate_pdf
from ...signing.validation.pdf_report import PageImages
from ...signing.validation.wording import signature_words
from .. import exchange_labels
from ..common import flash_error, page, services, signed_in, web_blueprint
from ..exchange_labels import revision_end
from ..nav import NavItem
from ..preview import PreviewError, outline_changes, page_png

bp = web_blueprint("web_audit", __name__)
bp.record_once(lambda state: exchange_labels.init_app(state.app))

NAV = [
    NavItem("verify", _l("Verify a signed PDF"), "web_audit.verify_form", frozenset({"auditor"}), 55),
    NavItem("evidence", _l("Document evidence"), "web_audit.evidence", frozenset({"auditor"}), 60),
]
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
EOF_RE = re.compile(rb"%%EOF\s*$")
MAX_PAGES = 200


def _policy() -> ValidationPolicy:
    svc = services()
    return ValidationPolicy(offline=svc.settings.offline_validation,
                            trust_anchors=svc.ca.anchors() if svc.ca.is_initialised() else None,
                            fetch_allow=svc.settings.fetch_allow_list())


def _ledger_verify(p: Principal, report: VerificationReport) -> None:
    svc = services()
    with svc.db.transaction() as s:
        svc.ledger.append(s, actor=p.username, action="verify", object_type="pdf", object_id=report.file.sha256,
                          object_sha256=report.file.sha256, agency_code=p.agency_code or "",
                          details={"indication": report.indication, "subindication": report.subindication,
                                   "signatures": len(report.signatures), "name": report.file.name, "via": "web"})


def _verified_sha(sha: str) -> str:
    """A file an auditor verified on this node (there is a ``verify`` ledger entry for it) and still stored;
    anything else is a 404, so these URLs cannot be used to read other blobs."""
    if not SHA_RE.match(sha):
        abort(404)
    with services().db.reading() as s:
        seen = s.execute(select(LedgerEntry.seq).where(LedgerEntry.action == "verify",
                                                       LedgerEntry.object_id == sha).limit(1)).first()
    if seen is None or not services().blobs.path_for(sha).is_file():
        abort(404)
    return sha


def _compare(report: dict[str, Any], with_index: bool = False) -> list[dict[str, Any]]:
    """For each signature with visual changes or covered content: its signed revision (end offset), the
    changed pages, the signer in words."""
    out = []
    for i, sig in enumerate(report.get("signatures", [])):
        end = revision_end(sig)
        pages = [int(v["page"]) for v in sig.get("visual_changes") or [] if "page" in v]
        pages += [int(c["page"]) for c in sig.get("changes") or []
                  if c.get("what") == "content_covered" and "page" in c and int(c["page"]) not in pages]
        if pages and end:
            out.append({"field": sig.get("field"), "end": end, "index": i, "who": signature_words(sig).signer,
                        "pages": pages[:10]})
    return out


@bp.get("/audit/verify")
@page("auditor")
def verify_form() -> str:
    return render_template("audit/verify.html", report=None)


@bp.post("/audit/verify")
@page("auditor")
def verify() -> str | tuple[str, int]:
    p = signed_in()
    svc = services()
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise BadInput("choose a PDF file to verify", "hãy chọn tệp PDF cần kiểm tra", code="file_missing")
        limit = min(svc.settings.max_blob_bytes, ValidationPolicy.max_file_bytes)
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise BadInput(f"file larger than {limit} bytes", f"tệp lớn hơn {limit} byte", code="file_too_large",
                           status=413)
        if not data:
            raise BadInput("the file is empty", "tệp rỗng", code="file_empty")
    except DomainError as exc:
        flash_error(exc)
        return render_template("audit/verify.html", report=None), exc.status
    report = validate_pdf(data, _policy(), name=upload.filename)
    svc.blobs.put_bytes(data)  # kept for the page comparison and the sealed report (content-addressed)
    _ledger_verify(p, report)
    d = report.to_dict()
    return render_template("audit/verify.html", report=d, compare=_compare(d))


@bp.get("/audit/verify/<sha>/pages/<int:page_no>.png")
@page("auditor")
def page_image(sha: str, page_no: int) -> Response:
    """Page of the verified file, or (``?upto=N``) of its signed revision: the file's first N bytes, accepted
    only where a revision ends (``%%EOF``)."""
    sha = _verified_sha(sha)
    if not 1 <= page_no <= MAX_PAGES:
        abort(404)
    svc = services()
    upto = request.args.get("upto", "")
    against = request.args.get("against", "")
    try:
        if against:  # the final page with the region that differs from the signed revision outlined
            png = _outlined(sha, page_no, _revision_sha(sha, against))
        else:
            target = _revision_sha(sha, upto) if upto else sha
            png = page_png(svc.blobs.path_for(target), target, page_no, _cache())
    except PreviewError:
        abort(404)
    resp = send_file(png, mimetype="image/png", max_age=3600)
    resp.headers["Cache-Control"] = "private, max-age=3600"
    return resp


def _cache() -> Path:
    return services().settings.instance_dir / "cache" / "previews"


def _revision_sha(sha: str, upto: str) -> str:
    """The stored blob of the file's first ``upto`` bytes, accepted only where a revision ends (``%%EOF``)."""
    svc = services()
    if not upto.isdigit():
        abort(404)
    data = svc.blobs.get_bytes(sha)
    end = int(upto)
    if not 0 < end <= len(data) or not EOF_RE.search(data[max(0, end - 40):end]):
        abort(404)
    return svc.blobs.put_bytes(data[:end])


def _outlined(sha: str, page_no: int, signed_sha: str) -> Path:
    svc = services()
    signed = page_png(svc.blobs.path_for(signed_sha), signed_sha, page_no, _cache())
    final = page_png(svc.blobs.path_for(sha), sha, page_no, _cache())
    return outline_changes(signed, final, _cache() / sha[:2] / f"{sha}-p{page_no}-vs-{signed_sha[:16]}.png")


def _report_images(sha: str, report: VerificationReport) -> list[PageImages]:
    """Page images of every visually changed page (as signed, now with the change outlined) for the PDF."""
    out: list[PageImages] = []
    for i, c in enumerate(_compare(report.to_dict(), with_index=True)):
        for n in c["pages"][:4]:
            try:
                signed_sha = _revision_sha(sha, str(c["end"]))
                signed = page_png(services().blobs.path_for(signed_sha), signed_sha, n, _cache())
                out.append(PageImages(signature=c["index"], page=n, signed_png=signed.read_bytes(),
                                      final_png=_outlined(sha, n, signed_sha).read_bytes()))
            except PreviewError:
                continue
        if i >= 4:
            break
    return out


@bp.post("/audit/verify/<sha>/report.pdf")
@page("auditor")
def sealed_report(sha: str) -> Response:
    """Validate the stored file again (the report states the time of this validation), render the report and
    seal it with the auditor's agency seal (profile ``attachment``: the text names the file's hash)."""
    from ...auth import PinPolicy, ensure_pin_allowed, pin_guard
    from ...node_signing import node_signing

    p = signed_in()
    sha = _verified_sha(sha)
    svc = services()
    pin = request.form.get("pin", "")
    try:
        if not pin:
            raise BadInput("enter the PIN of the agency seal", "hãy nhập mã PIN của con dấu cơ quan",
                           code="pin_required")
        ensure_pin_allowed(svc.db, p, ("seal",))
        with svc.db.reading() as s:
            agency = s.get(Agency, p.agency_id)
            assert agency is not None
            s.expunge_all()
        report = validate_pdf(svc.blobs.path_for(sha), _policy(), name=request.form.get("name", "")[:200] or sha)
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "report.pdf", Path(tmp) / "sealed.pdf"
            src.write_bytes(render_report_pdf(report, _report_images(sha, report)))
            with pin_guard(svc.db, svc.ledger, p, PinPolicy.from_settings(svc.settings), act="sealed_report",
                           keys=("seal",)):
                node_signing(svc).attachment(src, dst, agency=agency, pin=pin,
                                             number_text=f"Báo cáo xác minh {sha[:16]}")
            sealed = dst.read_bytes()
        sealed_sha = svc.blobs.put_bytes(sealed)
        with svc.db.transaction() as s:
            svc.ledger.append(s, actor=p.username, action="verify_report_sealed", object_type="pdf", object_id=sha,
                              object_sha256=sealed_sha, agency_code=p.agency_code or "",
                              details={"indication": report.indication, "report_sha256": sealed_sha})
    except DomainError as exc:
        flash_error(exc)
        return redirect(url_for("web_audit.verify_form"))
    return send_file(svc.blobs.path_for(sealed_sha), mimetype="application/pdf", as_attachment=True,
                     download_name=f"bao-cao-xac-minh-{sha[:12]}.pdf")


# ------------------------------------------------------------------------------------ evidence
@bp.get("/audit/evidence")
@page("auditor")
def evidence() -> str:
    """Everything the ledger holds about one document, found by our document id, an incoming document's id or
    the edXML DocumentId: the ids are expanded to every id the same document carries on this node."""
    q = request.args.get("document_id", "").strip()[:200]
    entries: list[LedgerEntry] = []
    docs: list[Document] = []
    incoming: list[IncomingDocument] = []
    result = None
    if q:
        svc = services()
        with svc.db.reading() as s:
            docs = list(s.execute(select(Document).where(
                or_(Document.public_id == q, Document.edxml_document_id == q))).scalars())
            ids = {q} | {d.public_id for d in docs} | {d.edxml_document_id for d in docs if d.edxml_document_id}
            incoming = list(s.execute(select(IncomingDocument).where(
                or_(IncomingDocument.public_id.in_(ids), IncomingDocument.edxml_document_id.in_(ids)))).scalars())
            ids |= {i.public_id for i in incoming} | {i.edxml_document_id for i in incoming}
            entries = list(s.execute(select(LedgerEntry).where(LedgerEntry.object_id.in_(ids))
                                     .order_by(LedgerEntry.seq)).scalars())
            if entries:
                tsa_cert = svc.tsa.cert
                result = verify_ledger(s, lambda tok, dg: token_time_if_valid(tok, dg, tsa_cert))
            s.expunge_all()
        if not entries:
            flash(_("No ledger entry mentions this document."), "error")
    return render_template("audit/evidence.html", q=q, entries=entries, docs=docs, incoming=incoming,
                           result=result)
