"""Public verification of certified copies: ``/verify/copy/<code>`` (no login), server-rendered, phone-readable,
no scripts (the CSP forbids inline JS). Shows whether the code exists, the record (the requester's ID number
masked), valid/annulled, the validation engine's verdict on the stored PDF, and a form that checks whether an
uploaded PDF is byte-for-byte the certified file."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import date
from typing import Any

from apiflask import APIBlueprint
from flask import Response, render_template_string, request

from ..copies import service
from ..copies.rules import mask_id
from ..models import Agency
from ._deps import services

bp = APIBlueprint("public_verify", __name__, enable_openapi=False)

_VERDICT_TTL = 300.0
_verdicts: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def verdict_for(sha256: str) -> dict[str, Any]:
    """The validation engine's report on the stored PDF (cached 5 minutes per file); an engine failure is shown
    as INDETERMINATE, never as valid."""
    now = time.monotonic()
    with _lock:
        hit = _verdicts.get(sha256)
        if hit and now - hit[0] < _VERDICT_TTL:
            return hit[1]
    deps = _deps()
    try:
        report: dict[str, Any] = deps.validate(deps.blobs.path_for(sha256))
    except Exception:  # noqa: BLE001 - an engine failure must not break the public page
        report = {"indication": "INDETERMINATE", "signatures": [], "error": True}
    with _lock:
        _verdicts[sha256] = (now, report)
    return report


def _deps() -> service.Deps:
    from ..copies.engine import deps_for

    return deps_for(services())


INDICATION_VI = {
    "TOTAL_PASSED": ("hợp lệ", "valid", "ok"),
    "TOTAL_FAILED": ("không hợp lệ", "invalid", "bad"),
    "INDETERMINATE": ("chưa xác định được", "indeterminate", "warn"),
    "NO_SIGNATURE": ("không có chữ ký số", "no signature", "bad"),
}


def _context(code: str) -> tuple[dict[str, Any], int]:
    with services().db.transaction() as s:
        row = service.public_lookup(s, code)
        if row is None:
            return {"found": False, "code": code}, 404
        agency = s.get(Agency, row.agency_id)
        agency_name = agency.name if agency else ""
        d = date.fromisoformat(row.local_date)
        ctx = {
            "found": True, "code": row.code, "status": row.status, "agency": agency_name,
            "number": row.number_text, "book": row.book_text, "date": f"{d.day:02d}/{d.month:02d}/{d.year}",
            "requester": row.requester_name, "requester_id": mask_id(row.requester_id_number),
            "original_type": row.original_type, "original_issuer": row.original_issuer,
            "original_number": row.original_number, "original_issue_date": row.original_issue_date,
            "page_count": row.page_count, "certifier": f"{row.certifier_name}, {row.certifier_title}",
            "pdf_sha256": row.pdf_sha256,
            "annulled_at": row.annulled_at.astimezone(service.VN).strftime("%d/%m/%Y %H:%M") if row.annulled_at
            else None,
            "annul_reason": row.annul_reason,
        }
    report: dict[str, Any] = (verdict_for(row.pdf_sha256) if row.pdf_sha256
                              else {"indication": "NO_SIGNATURE", "signatures": []})
    vi, en, css = INDICATION_VI.get(str(report.get("indication")),
                                    ("chưa xác định được", "indeterminate", "warn"))
    ctx["verdict"] = {"indication": report.get("indication"), "vi": vi, "en": en, "css": css,
                      "signatures": [{"name": (sig.get("signer") or {}).get("common_name", ""),
                                      "org": (sig.get("signer") or {}).get("organization", ""),
                                      "seal": (sig.get("signer") or {}).get("is_organization_seal", False),
                                      "time": sig.get("signing_time", ""),
                                      "indication": sig.get("indication", "")}
                                     for sig in report.get("signatures", [])]}
    return ctx, 200


CSS = """body{font-family:"Liberation Serif","Times New Roman",serif;margin:0;background:#f4f4f1;color:#1b1b1b;
font-size:17px}
main{max-width:640px;margin:0 auto;padding:16px}
h1{font-size:1.25em;margin:.2em 0 .6em} .en{color:#555;font-size:.85em}
.box{background:#fff;border-radius:8px;padding:14px 16px;margin:12px 0;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.status{font-size:1.2em;font-weight:bold;padding:10px 14px;border-radius:8px}
.ok{background:#e3f4e5;color:#11561d}.bad{background:#fbe4e2;color:#8a1c10}.warn{background:#fff3d6;color:#6b4a00}
dl{margin:0;display:grid;grid-template-columns:minmax(110px,38%) 1fr;gap:6px 10px}dt{color:#555}dd{margin:0}
code{word-break:break-all;font-size:.85em}
input[type=file]{max-width:100%} button{font-size:1em;padding:8px 14px;margin-top:8px}
"""

PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kiểm tra bản sao chứng thực {{ c.code }}</title>
<link rel="stylesheet" href="/verify/copy.css"></head><body><main>
<h1>Kiểm tra bản sao điện tử được chứng thực<br><span class="en">Verify a certified electronic copy</span></h1>
{% if not c.found %}
<div class="status bad">Không tìm thấy mã kiểm tra {{ c.code }}<br>
<span class="en">No certified copy has this code.</span></div>
{% else %}
{% if c.status == "annulled" %}
<div class="status bad">ĐÃ HỦY BỎ ngày {{ c.annulled_at }} — <span class="en">ANNULLED</span><br>
Lý do / reason: {{ c.annul_reason }}</div>
{% else %}
<div class="status ok">Bản sao có hiệu lực — <span class="en">VALID certification record</span></div>
{% endif %}
<div class="box"><dl>
<dt>Mã kiểm tra</dt><dd>{{ c.code }}</dd>
<dt>Cơ quan chứng thực</dt><dd>{{ c.agency }}</dd>
<dt>Số chứng thực</dt><dd>{{ c.number }}, quyển số {{ c.book }}</dd>
<dt>Ngày chứng thực</dt><dd>{{ c.date }}</dd>
<dt>Người thực hiện</dt><dd>{{ c.certifier }}</dd>
<dt>Người yêu cầu</dt><dd>{{ c.requester }} ({{ c.requester_id }})</dd>
<dt>Bản chính</dt><dd>{{ c.original_type }}{% if c.original_number %}, số {{ c.original_number }}{% endif %},
 {{ c.original_issuer }}{% if c.original_issue_date %}, {{ c.original_issue_date }}{% endif %};
 {{ c.page_count }} trang</dd>
<dt>SHA-256 tệp</dt><dd><code>{{ c.pdf_sha256 }}</code></dd>
</dl></div>
<div class="box"><strong>Chữ ký số</strong> <span class="en">Digital signatures</span><br>
<div class="status {{ c.verdict.css }}">Kết quả: {{ c.verdict.vi }}
<span class="en">({{ c.verdict.indication }})</span></div>
<ul>{% for s in c.verdict.signatures %}<li>{{ "Con dấu" if s.seal else "Người ký" }}: {{ s.name }}{% if s.org %},
 {{ s.org }}{% endif %} — {{ s.time }} — {{ s.indication }}</li>{% endfor %}</ul>
</div>
{% if check %}
<div class="status {{ 'ok' if check.same else 'bad' }}">{% if check.same %}Tệp tải lên TRÙNG KHỚP với bản sao đã chứng
thực.<br><span class="en">The uploaded file is the certified file.</span>{% else %}Tệp tải lên KHÔNG trùng khớp
(đã bị thay đổi hoặc là tệp khác).<br><span class="en">The uploaded file is NOT the certified file.</span>{% endif %}
<br><code>{{ check.sha256 }}</code></div>
{% endif %}
<div class="box"><form method="post" enctype="multipart/form-data" action="">
<label>Kiểm tra tệp PDF bạn nhận được <span class="en">Check the PDF you received</span><br>
<input type="file" name="file" accept="application/pdf" required></label><br>
<button type="submit">Kiểm tra / Check</button></form></div>
{% endif %}
</main></body></html>"""


def _render(ctx: dict[str, Any], status: int, check: dict[str, Any] | None = None) -> Response:
    html = render_template_string(PAGE, c=ctx, check=check)
    return Response(html, status=status, mimetype="text/html",
                    headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@bp.get("/verify/copy.css")
def page_css() -> Response:
    """The page's stylesheet, served from this origin (the CSP forbids inline styles)."""
    return Response(CSS, mimetype="text/css", headers={"Cache-Control": "public, max-age=86400"})


@bp.get("/verify/copy/<code>")
def verify_page(code: str) -> Response:
    ctx, status = _context(code)
    if request.args.get("format") == "json":
        return Response(json.dumps(ctx, ensure_ascii=False), status=status, mimetype="application/json")
    return _render(ctx, status)


@bp.post("/verify/copy/<code>")
def verify_upload(code: str) -> Response:
    ctx, status = _context(code)
    if not ctx["found"]:
        return _render(ctx, status)
    f = request.files.get("file")
    if f is None:
        return _render(ctx, 400)
    h = hashlib.sha256()
    while chunk := f.stream.read(1 << 20):
        h.update(chunk)
    digest = h.hexdigest()
    check = {"sha256": digest, "same": digest == ctx["pdf_sha256"]}
    if request.args.get("format") == "json":
        return Response(json.dumps({**ctx, "check": check}, ensure_ascii=False), mimetype="application/json")
    return _render(ctx, 200, check)


