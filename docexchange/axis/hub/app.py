"""The hub's Flask app: VDXP-style JSON-over-HTTP operations on top of ``HubService``."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from docexchange.axis.hub import signing, vdxp
from docexchange.axis.hub.db import migrate
from docexchange.axis.hub.service import Caller, HubService, parse_time
from docexchange.axis.hub.settings import HubSettings
from docexchange.blobstore import BlobStore
from docexchange.config import Settings
from docexchange.db import Database
from docexchange.errors import BadInput, DomainError, Forbidden
from docexchange.flaskjson import BoundedJSONProvider
from docexchange.jsonlimits import loads as bounded_loads

log = logging.getLogger("docexchange.axis.hub")
PROBLEM = "application/problem+json"
OPEN_PATHS = {"/healthz"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FORM_OVERHEAD = 1024 * 1024  # multipart boundaries and part headers on top of the package itself


class _HashingInput:
    """Wraps ``wsgi.input`` so the SHA-256 of the raw body is known once it has been read (one pass)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.raw.read(size) if size is not None and size >= 0 else self.raw.read()
        self.digest.update(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data: bytes = self.raw.readline(size)
        self.digest.update(data)
        return data

    def __iter__(self) -> Iterable[bytes]:  # pragma: no cover - werkzeug reads with read()
        return iter(self.readline, b"")


def _wrap_input(wsgi_app: Callable[..., Any]) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        hashing = _HashingInput(environ["wsgi.input"])
        environ["wsgi.input"] = hashing
        environ["docexchange.hub.body"] = hashing
        return wsgi_app(environ, start_response)

    return app


def _problem(exc: DomainError) -> Response:
    if vdxp.is_vdxp_request():  # the SDK's face answers in its own JSON, errors included
        return vdxp.error_response(exc)
    body = exc.problem()
    body.setdefault("ErrorDesc", exc.en)
    resp = Response(json.dumps(body, ensure_ascii=False), status=exc.status, mimetype=PROBLEM)
    return resp


def _hub_settings(settings: HubSettings | Settings | None) -> HubSettings:
    if isinstance(settings, HubSettings):
        return settings
    return HubSettings.from_env(settings)


def create_hub_app(settings: HubSettings | Settings | None = None, *, run_migrations: bool = True) -> Flask:
    """The hub WSGI app, with its own database (migrated to head unless told not to) and blob store."""
    hs = _hub_settings(settings)
    db = Database(hs.database_url)
    if run_migrations:
        migrate(db)
    blobs = BlobStore(hs.blob_dir, max_bytes=hs.max_package_bytes)
    service = HubService(db, blobs, hs)

    app = Flask("docexchange.axis.hub")
    app.json = BoundedJSONProvider(app)  # get_json(): too deep is bad JSON, not a RecursionError
    app.config["MAX_CONTENT_LENGTH"] = hs.max_package_bytes + FORM_OVERHEAD
    app.extensions["hub_service"] = service
    app.wsgi_app = _wrap_input(app.wsgi_app)  # type: ignore[method-assign]

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        return _problem(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        if vdxp.is_vdxp_request():
            return vdxp.error_response(vdxp.http_error(exc))
        code = exc.code or 500
        err = DomainError(
            exc.description or exc.name, exc.name, code=exc.name.lower().replace(" ", "_"), status=code
        )
        err.title = exc.name
        if code == 413:
            err = DomainError(
                f"Request larger than {hs.max_package_bytes} bytes",
                f"Yêu cầu lớn hơn {hs.max_package_bytes} byte",
                code="too_large",
                status=413,
            )
        return _problem(err)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        from sqlalchemy.exc import InterfaceError, OperationalError

        if isinstance(exc, OperationalError | InterfaceError):  # the hub database restarts: clients retry
            log.warning("hub database unavailable: %s", str(getattr(exc, "orig", exc)).strip().splitlines()[:1])
            resp = _problem(DomainError("Hub database temporarily unavailable; retry shortly",
                                        "Cơ sở dữ liệu của trục tạm thời không khả dụng; vui lòng thử lại",
                                        code="database_unavailable", status=503))
            resp.headers["Retry-After"] = "5"
            return resp
        log.exception("hub error")
        return _problem(DomainError("Internal hub error", "Lỗi nội bộ của trục", code="internal", status=500))

    @app.after_request
    def _date_header(resp: Response) -> Response:
        # The hub's clock on every answer (clients correct their HMAC timestamps from it, see client.py).
        resp.headers["Date"] = format_datetime(service.clock().astimezone(UTC), usegmt=True)
        return resp

    @app.before_request
    def _authenticate() -> None:
        if request.path in OPEN_PATHS or vdxp.is_vdxp_request():
            return  # the VDXP face authenticates in its blueprint
        if request.path.startswith("/admin/") or request.path in ("/registerAgency", "/deleteAgency"):
            token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hs.admin_token or not hmac.compare_digest(token.encode(), hs.admin_token.encode()):
                raise Forbidden(
                    "Operator token required", "Cần mã xác thực của người vận hành trục", code="operator_only"
                )
            return
        headers = {k.lower(): v for k, v in request.headers.items()}
        g.caller = service.authenticate(
            method=request.method,
            path=request.path,
            query=request.query_string.decode("latin-1"),
            headers={
                name: headers.get(name.lower(), "")
                for name in (
                    signing.H_SYSTEM,
                    signing.H_TIMESTAMP,
                    signing.H_NONCE,
                    signing.H_CONTENT_SHA256,
                    signing.H_SIGNATURE,
                )
            },
        )

    def _check_body_hash() -> None:
        while request.stream.read(1024 * 1024):  # drain anything the parser left (epilogue)
            pass
        actual = request.environ["docexchange.hub.body"].digest.hexdigest()
        service.check_body(
            {signing.H_CONTENT_SHA256: request.headers.get(signing.H_CONTENT_SHA256, "")}, actual
        )

    def _json_body() -> dict[str, Any]:
        data = request.get_data(cache=True)
        _check_body_hash()
        if not data.strip():
            return {}
        try:
            body = bounded_loads(data)  # nested too deep: ValueError like any bad JSON, never RecursionError
        except ValueError as exc:
            raise BadInput("Body is not JSON", "Nội dung không phải JSON", code="bad_json") from exc
        if not isinstance(body, dict):
            raise BadInput("Body must be a JSON object", "Nội dung phải là đối tượng JSON", code="bad_json")
        return body

    def _param(body: dict[str, Any], *names: str) -> Any:
        """A parameter from the JSON body, else from an HTTP header of the same name (SDK style)."""
        for name in names:
            if body.get(name) not in (None, ""):
                return body[name]
        for name in names:
            if request.headers.get(name):
                return request.headers[name]
        return None

    def caller() -> Caller:
        return g.caller  # type: ignore[no-any-return]

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", blobs=blobs.check())

    @app.post("/sendEdoc")
    def send_edoc() -> Response:
        upload = request.files.get("file_doc")
        _check_body_hash()
        if upload is None:
            raise BadInput(
                "Multipart part file_doc is missing", "Thiếu phần file_doc trong yêu cầu", code="no_file_doc"
            )
        declared = request.form.get("messagetype") or request.headers.get("messagetype") or None
        result = service.send(caller(), upload.stream, declared)  # type: ignore[arg-type]
        return jsonify(
            status="OK",
            ErrorDesc="",
            DocId=result.doc_id,
            duplicate=result.duplicate,
            recipients=result.recipients,
        )

    @app.post("/getReceivedEdocList")
    def received_list() -> Response:
        body = _json_body()
        data = service.received_list(
            caller(),
            str(_param(body, "messagetype", "messageType") or "edoc"),
            parse_time(_param(body, "fromDate"), "fromDate"),
            parse_time(_param(body, "toDate"), "toDate"),
            _int(_param(body, "limit")),
        )
        return jsonify(status="OK", ErrorDesc="", data=data)

    @app.post("/getEdoc")
    def get_edoc() -> Response:
        body = _json_body()
        doc_id = _param(body, "docId", "docid")
        if not doc_id:
            raise BadInput("docId is required", "Thiếu docId", code="no_doc_id")
        f = service.open_edoc(caller(), str(doc_id))
        resp = send_file(
            f.path,
            mimetype="application/xml",
            conditional=False,
            etag=False,
            max_age=0,
            download_name=f"{f.doc_id}.edxml",
        )
        resp.headers["X-Content-Sha256"] = f.sha256
        resp.headers["X-Doc-Id"] = f.doc_id
        return resp

    @app.post("/updateStatus")
    def update_status() -> Response:
        body = _json_body()
        doc_id = _param(body, "docid", "docId")
        if not doc_id:
            raise BadInput("docid is required", "Thiếu docid", code="no_doc_id")
        status = service.update_status(
            caller(), str(doc_id), str(_param(body, "status") or ""), _param(body, "desc", "statusDesc")
        )
        return jsonify(status="OK", ErrorDesc="", docId=doc_id, ack=status)

    @app.post("/getSentEdocList")
    def sent_list() -> Response:
        body = _json_body()
        data = service.sent_list(
            caller(),
            _param(body, "docId", "docid"),
            parse_time(_param(body, "fromDate"), "fromDate"),
            parse_time(_param(body, "toDate"), "toDate"),
            _int(_param(body, "limit")),
        )
        return jsonify(status="OK", ErrorDesc="", data=data)

    @app.post("/getAgenciesList")
    def agencies() -> Response:
        body = _json_body()
        return jsonify(
            status="OK", ErrorDesc="", data=service.list_agencies(parse_time(_param(body, "since"), "since"))
        )

    @app.post("/getSynchronizeUnit")
    def sync_units() -> Response:
        body = _json_body()
        since = parse_time(_param(body, "since"), "since")
        return jsonify(status="OK", ErrorDesc="", data=service.list_agencies(since or _EPOCH))

    # ---------------------------------------------------------------- operator (Bearer admin token)
    @app.post("/registerAgency")
    def register_agency() -> Response:
        body = request.get_json(silent=True) or {}
        agency = service.register_agency(
            str(body.get("code", "")),
            str(body.get("name", "")),
            body.get("parentCode"),
            body.get("sealCertificatePem"),
        )
        return jsonify(status="OK", ErrorDesc="", agency=agency)

    @app.post("/deleteAgency")
    def delete_agency() -> Response:
        body = request.get_json(silent=True) or {}
        service.delete_agency(str(body.get("code", "")))
        return jsonify(status="OK", ErrorDesc="")

    @app.post("/admin/systems")
    def issue_system() -> Response:
        body = request.get_json(silent=True) or {}
        scheme = str(body.get("scheme") or "dxhub1")
        system_id, secret = service.issue_credentials(
            str(body.get("agencyCode", "")),
            body.get("systemId"),
            parse_time(body.get("expiresAt"), "expiresAt"),
            scheme,
        )
        return jsonify(status="OK", systemId=system_id, secret=secret, scheme=scheme)

    @app.get("/admin/alerts")
    def alerts() -> Response:
        return jsonify(status="OK", data=service.list_alerts(_int(request.args.get("after")) or 0))

    @app.get("/admin/history/<doc_id>")
    def history(doc_id: str) -> Response:
        return jsonify(status="OK", data=service.history(doc_id))

    @app.get("/admin/counts")
    def counts() -> Response:
        return jsonify(status="OK", **service.counts())

    @app.post("/admin/purge")
    def purge() -> Response:
        return jsonify(status="OK", purged=service.purge())

    vdxp.install(app, service, hs)
    return app


def _int(value: object) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise BadInput("Expected an integer", "Cần một số nguyên", code="bad_integer") from exc
