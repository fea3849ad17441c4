"""``POST /api/v1/verify``: upload a PDF (multipart field ``file``), get the verification report JSON."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, request

from ..errors import BadInput
from ..signing.validation import ValidationPolicy, validate_pdf
from ._deps import current_principal, services

bp = APIBlueprint("verify", __name__, url_prefix="/api/v1", tag="Verification")


@bp.post("/verify")
@bp.doc(summary="Validate the signatures of an uploaded PDF (report v1, interfaces.md)", security="BearerAuth")
def verify() -> Response:
    p = current_principal()  # any authenticated role may verify
    upload = request.files.get("file")
    if upload is None:
        raise BadInput("multipart field 'file' is required", "cần trường tệp 'file' (multipart)", code="file_missing")
    svc = services()
    limit = min(svc.settings.max_blob_bytes, ValidationPolicy.max_file_bytes)
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise BadInput(f"file larger than {limit} bytes", f"tệp lớn hơn {limit} byte", code="file_too_large",
                       status=413)
    offline = request.args.get("offline", "").lower() in ("1", "true", "yes")
    policy = ValidationPolicy(offline=offline, trust_anchors=svc.ca.anchors() if svc.ca.is_initialised() else None,
                              fetch_allow=svc.settings.fetch_allow_list())
    report = validate_pdf(data, policy, name=upload.filename or "upload.pdf")
    with svc.db.transaction() as s:
        svc.ledger.append(s, actor=p.username, action="verify", object_type="pdf", object_id=report.file.sha256,
                          object_sha256=report.file.sha256, agency_code=p.agency_code or "",
                          details={"indication": report.indication, "subindication": report.subindication,
                                   "signatures": len(report.signatures), "name": report.file.name})
    return Response(report.to_json(), mimetype="application/json")
