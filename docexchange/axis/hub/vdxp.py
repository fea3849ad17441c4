"""The hub's VDXP face: the operations of the VNPT/VPCP Java SDK, unmodified (domain-vn.md §6.2, docs/hub.md).

Reached at ``{DOCEXCHANGE_HUB_VDXP_BASE_PATH}/<operation>`` (default ``/XrdAdapter/adapter``, as real endpoints
look) and at ``/<operation>`` when the request carries ``XroadVnpt-*`` headers; ``dispatch`` rewrites both to an
internal prefix. A thin layer: authentication and every rule live in ``HubService`` (the same mailboxes, dedup
and sender check as the signed ``dxhub1`` face); this module maps the SDK's parameters and answers."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO

from flask import Blueprint, Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from docexchange.axis.hub.service import Caller, HubService
from docexchange.axis.hub.settings import HubSettings
from docexchange.axis.protocol import vdxp as proto
from docexchange.errors import BadInput, DomainError, Forbidden, TooLarge, Unauthorized

INTERNAL = "/_vdxp"
ENVIRON_FLAG = "docexchange.hub.vdxp"
REFUSED_OPS = ("registerAgency", "deleteAgency")  # the directory is the operator's (Bearer token)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 1024 * 1024


def dispatch(wsgi_app: Callable[..., Any], base_path: str) -> Callable[..., Any]:
    """WSGI middleware: ``{base}/<op>``, and ``/<op>`` with ``XroadVnpt-*`` headers, go to the VDXP face."""
    base = "/" + base_path.strip("/") if base_path.strip("/") else ""
    ops = set(proto.OPERATIONS) | set(REFUSED_OPS)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path: str = environ.get("PATH_INFO", "")
        op = None
        if base and path.startswith(base + "/"):
            op = path[len(base) + 1 :]
        elif path[1:] in ops and any(k.startswith("HTTP_XROADVNPT_") for k in environ):
            op = path[1:]
        if op is not None:
            environ["PATH_INFO"] = f"{INTERNAL}/{op}"
            environ[ENVIRON_FLAG] = op
        elif path.startswith(INTERNAL + "/"):
            environ["PATH_INFO"] = "/_not_found"  # only reachable through the rewrite
        return wsgi_app(environ, start_response)

    return app


def is_vdxp_request() -> bool:
    return bool(request.environ.get(ENVIRON_FLAG))


def error_response(exc: DomainError) -> Response:
    """Every VDXP answer carries string status/ErrorCode/ErrorDesc, and the field the SDK reads whatever the
    outcome (``DocId`` for sendEdoc, ``data`` otherwise), so it reports the error instead of throwing."""
    op = str(request.environ.get(ENVIRON_FLAG) or "")
    extra: dict[str, Any] = {"DocId": ""} if op == "sendEdoc" else {"data": "" if op == "getEdoc" else []}
    fields = {k: v for k, v in exc.extra.items() if k not in ("status", "ErrorCode", "ErrorDesc", "code")}
    fields.update(extra, code=exc.code)
    body = proto.error(str(exc.status), f"{exc.vi} / {exc.en}", **fields)
    return _json(body, exc.status)


def http_error(exc: HTTPException) -> DomainError:
    code = exc.code or 500
    if code == 413:
        return TooLarge("Request too large", "Yêu cầu quá lớn", code="too_large")
    if code == 404:
        return DomainError("Unknown VDXP operation", "Không có thao tác VDXP này", code="unknown_operation",
                           status=404)
    return DomainError(exc.description or exc.name, exc.name, code=exc.name.lower().replace(" ", "_"), status=code)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def _spool(stream: IO[bytes], limit: int) -> tuple[BinaryIO, int, bytes, bytes | None]:
    """The raw body into a temporary file: (file, size, SHA-256 of all, SHA-256 without a trailing CRLF)."""
    out: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - returned to the caller, who closes it
    whole = hashlib.sha256()
    lagged = hashlib.sha256()  # everything but the last two bytes seen so far
    tail = b""
    size = 0
    try:
        while block := stream.read(CHUNK):
            size += len(block)
            if size > limit:
                raise TooLarge(
                    f"Package larger than {limit} bytes", f"Gói tin lớn hơn {limit} byte", code="too_large"
                )
            out.write(block)
            whole.update(block)
            joined = tail + block
            lagged.update(joined[:-2])
            tail = joined[-2:]
    except BaseException:
        out.close()
        raise
    out.flush()
    return out, size, whole.digest(), lagged.digest() if tail == b"\r\n" else None


def _agency_row(a: dict[str, Any], hs: HubSettings, full: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": a["id"],
        "code": a["code"],
        "name": a["name"],
        "mail": "",
        "pid": a.get("parentCode") or "",
    }
    if full:
        updated = datetime.fromisoformat(a["updatedTime"]) if a.get("updatedTime") else _EPOCH
        row.update(
            version=int(updated.timestamp()),
            centerCode=hs.center_code,
            deleted=not a["active"],
            modifyDate=a.get("updatedTime") or "",
            isAgency=True,
        )
    return row


def create_vdxp_blueprint(service: HubService, hs: HubSettings) -> Blueprint:
    bp = Blueprint("vdxp", __name__, url_prefix=INTERNAL)

    @bp.before_request
    def _authenticate() -> None:
        op = request.environ.get(ENVIRON_FLAG)
        if op in REFUSED_OPS:
            raise Forbidden(
                "The directory is kept by the axis operator", "Danh bạ do người vận hành trục quản lý",
                code="operator_only",
            )
        g.vdxp_caller, g.vdxp_params = service.authenticate_vdxp(
            request.headers.get("XroadVnpt-systemid", ""),
            request.headers.get(proto.H_SIGN_HEADER, ""),
            request.headers.get(proto.H_HASH_HEADER, ""),
        )

    def caller() -> Caller:
        return g.vdxp_caller  # type: ignore[no-any-return]

    def p(*names: str) -> str:
        return proto.param(g.vdxp_params, *names)

    @bp.post("/getAgenciesList")
    def agencies() -> Response:
        return _json(proto.ok(data=[_agency_row(a, hs, False) for a in service.list_agencies()]))

    @bp.post("/getSynchronizeUnit")
    def sync_units() -> Response:
        return _json(proto.ok(data=[_agency_row(a, hs, True) for a in service.list_agencies(_EPOCH)]))

    @bp.post("/sendEdoc")
    def send_edoc() -> Response:
        me = caller()
        declared_from = p("from")
        if declared_from and declared_from != me.agency_code:
            raise Forbidden(
                f"XroadVnpt-from {declared_from} is not your agency {me.agency_code}",
                f"XroadVnpt-from {declared_from} không phải cơ quan của bạn {me.agency_code}",
                code="sender_mismatch",
            )
        declared_hash = p("hash-file")
        if not declared_hash:
            raise Unauthorized("XroadVnpt-hash-file is required", "Thiếu XroadVnpt-hash-file",
                               code="auth_missing")
        body, size, whole, without_crlf = _spool(request.stream, hs.max_package_bytes + 2)
        with body:
            if without_crlf is not None and proto.hash_file_matches(declared_hash, without_crlf):
                body.truncate(size - 2)  # the SDK writes CRLF after the file; the package is the file
            elif not proto.hash_file_matches(declared_hash, whole):
                raise Unauthorized(
                    "Request body does not match XroadVnpt-hash-file",
                    "Nội dung gói tin không khớp với XroadVnpt-hash-file",
                    code="body_hash_mismatch",
                )
            if size == 0:
                raise BadInput("Empty package", "Gói tin rỗng", code="bad_package")
            body.seek(0)
            declared = p("messagetype").lower() or None
            if declared is not None and declared not in proto.MESSAGE_TYPES:
                raise BadInput("Unknown messagetype", "messagetype không hợp lệ", code="bad_message_type")
            if declared in proto.EDOC_KINDS:
                declared = "edoc"
            result = service.send(me, body, declared)
        return _json(proto.ok(DocId=result.doc_id, duplicate=result.duplicate, recipients=result.recipients))

    @bp.post("/getReceivedEdocList")
    def received_list() -> Response:
        kind = p("messagetype", "messageType").lower() or "edoc"
        rows = service.received_list(caller(), kind)
        data = [
            {
                "docId": r["docId"],
                "serviceType": proto.SERVICE_TYPE,
                "messageType": kind if kind in proto.EDOC_KINDS else r["messageType"],
                "created_time": r["created_time"],
                "updated_time": r["updated_time"],
                "from": r["from"],
                "to": r["to"],
                "status": r["status"],
                "status_desc": r["status_desc"],
                "documentId": r["documentId"],
                "contentSha256": r["contentSha256"],
                "contentLength": r["contentLength"],
            }
            for r in rows
        ]
        return _json(proto.ok(data=data))

    @bp.post("/getEdoc")
    def get_edoc() -> Response:
        doc_id = p("docId", "docid")
        if not doc_id:
            raise BadInput("docId is required", "Thiếu docId", code="no_doc_id")
        f = service.open_edoc(caller(), doc_id)
        head = proto.ok(docId=f.doc_id, contentSha256=f.sha256, contentLength=f.length)
        length, chunks = proto.base64_json_stream(open(f.path, "rb"), head)  # noqa: SIM115 - closed by the stream
        resp = Response(chunks, mimetype="application/json")
        resp.headers["Content-Length"] = str(length)
        return resp

    @bp.post("/updateStatus")
    def update_status() -> Response:
        doc_id = p("docid", "docId")
        if not doc_id:
            raise BadInput("docid is required", "Thiếu docid", code="no_doc_id")
        ack = service.update_status(caller(), doc_id, p("status").lower(), p("desc", "statusDesc") or None)
        return _json(proto.ok(docId=doc_id, ack=ack))

    @bp.post("/getSentEdocList")
    def sent_list() -> Response:
        rows = service.sent_list(caller(), newest_first=True)
        data = [
            {
                "serviceType": proto.SERVICE_TYPE,
                "senderDocId": r["senderDocId"],
                "receiverDocId": r["receiverDocId"],
                "fromCode": r["fromCode"],
                "toCode": r["toCode"],
                "messageType": r["messageType"],
                "title": r["title"],
                "notation": r["notation"],
                "sentTime": r["sentTime"],
                "receivedTime": r["receivedTime"],
                "sendStatus": r["sendStatus"],
                "sendStatusDesc": r["sendStatusDesc"],
                "receiveStatus": r["receiveStatus"],
                "receiveStatusDesc": r["receiveStatusDesc"],
                "documentId": r["documentId"],
            }
            for r in rows
        ]
        return _json(proto.ok(data=data))

    @bp.route("/<path:other>", methods=["GET", "POST", "PUT", "DELETE"])
    def unknown(other: str) -> Response:
        raise DomainError(f"Unknown VDXP operation {other[:60]}", f"Không có thao tác VDXP {other[:60]}",
                          code="unknown_operation", status=404)

    return bp


def install(app: Flask, service: HubService, hs: HubSettings) -> None:
    app.register_blueprint(create_vdxp_blueprint(service, hs))
    app.wsgi_app = dispatch(app.wsgi_app, hs.vdxp_base_path)  # type: ignore[method-assign]
