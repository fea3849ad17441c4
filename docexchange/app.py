"""Application factory for the agency node (web pages + JSON API + PKI endpoints)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import Response, g, request
from sqlalchemy.exc import InterfaceError, OperationalError

from .config import Settings
from .errors import DomainError, Unavailable
from .flaskjson import BoundedJSONProvider
from .jsonlimits import MAX_JSON_BYTES, check_json_body
from .jsonlimits import too_large as json_too_large
from .migrate import require_current
from .services import Services

log = logging.getLogger("docexchange")

# Vietnamese texts for the HTTP errors a person may read.
_VI = {
    400: "yêu cầu không hợp lệ", 401: "cần xác thực", 403: "không có quyền", 404: "không tìm thấy",
    405: "phương thức không được hỗ trợ", 409: "xung đột dữ liệu", 413: "dữ liệu tải lên quá lớn",
    415: "định dạng dữ liệu không được hỗ trợ", 422: "dữ liệu không hợp lệ", 429: "quá nhiều yêu cầu",
    500: "lỗi hệ thống", 503: "dịch vụ tạm thời không khả dụng",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"t": self.formatTime(record), "level": record.levelname, "logger": record.name,
                           "msg": record.getMessage()}, ensure_ascii=False)


def configure_logging(json_logs: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_logs else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("docexchange")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def problem_response(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def create_app(settings: Settings | None = None, *, check_migrations: bool = True) -> APIFlask:
    settings = settings or Settings.from_env()
    services = Services(settings)
    if check_migrations:
        require_current(services.db.engine)
    configure_logging(settings.log_json)

    app = APIFlask("docexchange", title="docexchange API", version="1", spec_path="/api/openapi.json",
                   docs_path=None)
    app.config.update(
        SECRET_KEY=settings.secret_key or services.secrets["secret_key"],
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.lower().startswith("https://"),
        JSON_AS_ASCII=False,
        DESCRIPTION="JSON API of a docexchange agency node. Errors are RFC 9457 problem+json with `code`, "
                    "an English `title`/`detail` and a Vietnamese `detail_vi`.",
        SECURITY_SCHEMES={"BearerAuth": {"type": "http", "scheme": "bearer"}},
    )
    app.json = BoundedJSONProvider(app)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if settings.trusted_proxies:
        # the login throttle counts per client address: behind a proxy, take it from X-Forwarded-For (only the
        # entries the trusted proxies added), or every client would share the proxy's address
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    app.extensions["docexchange"] = services

    @app.before_request
    def _bounded_json_body() -> None:
        """A JSON body nested too deep (or too large) is bad input, refused before any parser recurses into it
        (``[[[[…` 100 000 levels deep would otherwise end in RecursionError, a 500)."""
        if request.is_json:
            if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
                raise json_too_large()  # without reading the body
            check_json_body(request.get_data(cache=True))

    @app.error_processor
    def _http_error(error: HTTPError) -> Response:
        status = error.status_code
        detail = error.message if isinstance(error.message, str) else "invalid request"
        body: dict[str, Any] = {
            "type": f"https://docexchange.invalid/problems/http-{status}",
            "title": detail, "status": status, "detail": detail,
            "detail_vi": _VI.get(status, "lỗi"), "code": f"http_{status}",
        }
        if error.detail:
            body["errors"] = error.detail
        return problem_response(body, status, {str(k): str(v) for k, v in dict(error.headers or {}).items()})

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return problem_response(error.problem(), error.status)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_unavailable(error: Exception) -> Any:
        """The database is restarting or unreachable: 503 with Retry-After, not a 500 (the transaction rolled
        back, nothing changed; the same request may simply be sent again)."""
        log.warning("database unavailable: %s", str(getattr(error, "orig", error)).strip().splitlines()[:1])
        err = Unavailable("The database is temporarily unavailable; nothing was changed, try again shortly",
                          "Cơ sở dữ liệu tạm thời không khả dụng; chưa có gì thay đổi, vui lòng thử lại sau ít phút",
                          code="database_unavailable")
        if request.blueprint and not request.path.startswith(("/api/", "/pki/", "/healthz")):  # a web page
            from .web.common import render_error
            from .web.i18n import current_lang

            return render_error(503, err.vi if current_lang() == "vi" else err.en)
        return problem_response(err.problem(), 503, {"Retry-After": "5"})

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                                "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        return resp

    @app.teardown_appcontext
    def _teardown(_exc: BaseException | None) -> None:
        g.pop("principal", None)

    from .api import register_api

    register_api(app)
    from .web import register_web

    register_web(app)
    log.info("docexchange node ready: %s", settings_summary(settings))
    return app


def settings_summary(settings: Settings) -> str:
    return f"db={settings.database_url.split('@')[-1]} blobs={settings.blob_dir} url={settings.public_url}"


__all__ = ["create_app", "problem_response"]
