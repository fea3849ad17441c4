"""Live CRLs, OCSP responder (POST and GET) and RFC 3161 TSA of the dev CA. These speak DER, not JSON."""

from __future__ import annotations

import base64
import binascii
import urllib.parse

from apiflask import APIBlueprint
from cryptography.hazmat.primitives import serialization
from flask import Response, request

from ..errors import BadInput, NotFound
from ..pki.ca import ALL_CAS
from ..pki.responders import MalformedRequest, build_crl, build_ocsp_response
from ._deps import services

bp = APIBlueprint("pki", __name__, url_prefix="/pki", tag="PKI")
MAX_REQUEST = 64 * 1024


@bp.get("/crl/<name>.crl")
@bp.doc(summary="Current CRL of a dev CA (DER)")
def crl(name: str) -> Response:
    if name not in ALL_CAS:
        raise NotFound(f"no CA named {name}", f"không có CA tên {name}")
    svc = services()
    with svc.db.reading() as s:
        der = build_crl(s, svc.ca, name)
    return Response(der, mimetype="application/pkix-crl", headers={"Cache-Control": "no-cache"})


@bp.get("/ca/<name>.crt")
@bp.doc(summary="A dev CA certificate (DER)")
def ca_cert(name: str) -> Response:
    if name not in ALL_CAS:
        raise NotFound(f"no CA named {name}", f"không có CA tên {name}")
    der = services().ca.cert(name).public_bytes(serialization.Encoding.DER)
    return Response(der, mimetype="application/pkix-cert")


def _ocsp(der: bytes) -> Response:
    svc = services()
    try:
        with svc.db.reading() as s:
            answer = build_ocsp_response(s, svc.ca, der)
    except MalformedRequest as exc:
        raise BadInput(str(exc), "yêu cầu OCSP không hợp lệ", code="malformed_ocsp_request") from exc
    return Response(answer, mimetype="application/ocsp-response")


@bp.post("/ocsp")
@bp.doc(summary="OCSP responder (RFC 6960, POST)")
def ocsp_post() -> Response:
    data = request.get_data(cache=False)
    if len(data) > MAX_REQUEST:
        raise BadInput("OCSP request too large", "yêu cầu OCSP quá lớn", code="malformed_ocsp_request")
    return _ocsp(data)


@bp.get("/ocsp/<path:encoded>")
@bp.doc(summary="OCSP responder (RFC 6960, GET with base64 request)")
def ocsp_get(encoded: str) -> Response:
    try:
        der = base64.b64decode(urllib.parse.unquote(encoded), validate=False)
    except (binascii.Error, ValueError) as exc:
        raise BadInput("OCSP GET request is not base64", "yêu cầu OCSP không hợp lệ",
                       code="malformed_ocsp_request") from exc
    return _ocsp(der)


@bp.post("/tsa")
@bp.doc(summary="RFC 3161 time-stamp authority")
def tsa() -> Response:
    data = request.get_data(cache=False)
    if len(data) > MAX_REQUEST:
        raise BadInput("time-stamp request too large", "yêu cầu cấp dấu thời gian quá lớn",
                       code="malformed_tsa_request")
    try:
        answer = services().tsa.respond(data)
    except MalformedRequest as exc:
        raise BadInput(str(exc), "yêu cầu cấp dấu thời gian không hợp lệ", code="malformed_tsa_request") from exc
    return Response(answer, mimetype="application/timestamp-reply")
