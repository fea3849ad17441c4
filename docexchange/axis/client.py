"""HTTP client for the axis hub, used by the agency nodes (outbox/inbox workers) and the tests.

Every request is HMAC-signed (``docexchange.axis.hub.signing``) with a fresh nonce, so retries are re-signed.
All hub operations are idempotent (sends are deduplicated by the hub, acknowledgements repeat as no-ops), so
every call retries connection errors and 502/503/504 with bounded exponential back-off.

Clock skew: the hub refuses timestamps more than ±300 s from its own clock (``stale_request``) and sends its time
back (``hub_epoch`` in the problem body, ``Date`` on every answer). On such a refusal the client learns its offset
to that hub, logs a WARNING, and retries the call once with corrected timestamps; the offset is kept per hub URL for
the whole process (``clock_offset``), so later calls are signed right the first time."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from docexchange.axis.hub import signing
from docexchange.axis.protocol import vdxp

CHUNK = 1024 * 1024
RETRY_STATUS = {502, 503, 504}
T = TypeVar("T")
log = logging.getLogger("docexchange.axis.client")
MAX_CLOCK_OFFSET = 10 * 365 * 86400  # an "offset" beyond ten years is garbage, not a clock to follow

_offsets: dict[str, int] = {}  # base URL -> (hub time - local time) in seconds, learned from stale_request
_offsets_lock = threading.Lock()


def clock_offsets() -> dict[str, int]:
    """The clock corrections this process has learned, per hub base URL (for health reports and logs)."""
    with _offsets_lock:
        return dict(_offsets)


def _length(raw: str | None) -> int | None:
    """A Content-Length header as a number; None when absent or malformed (a hostile hub cannot crash a pass)."""
    return int(raw) if raw is not None and raw.strip().isdigit() else None


def _hub_epoch(exc: HubError) -> float | None:
    """The hub's time from a stale_request refusal: ``hub_epoch`` in the body, else the ``Date`` header."""
    raw = exc.problem.get("hub_epoch")
    if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
        return float(raw)
    if exc.date:
        try:
            return parsedate_to_datetime(exc.date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return None


class HubError(Exception):
    """A refused or failed hub call; ``problem`` is the RFC 9457 body when the hub sent one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        problem: dict[str, Any] | None = None,
        date: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.problem = problem or {}
        self.date = date  # the response's Date header (the hub's clock)

    @property
    def detail_vi(self) -> str | None:
        return self.problem.get("detail_vi")


class HubBadRequest(HubError):
    """400/413: the request or package was refused (e.g. ``unknown_recipient``, ``bad_package``)."""


class HubAuthError(HubError):
    """401/403: signature, clock, nonce, credentials, or not allowed (e.g. ``sender_mismatch``)."""


class HubNotFound(HubError):
    """404: no such package in this agency's mailbox (or purged)."""


class HubConflict(HubError):
    """409: ``document_id_conflict`` (same DocumentId, other content) or ``already_acked``."""


class HubUnavailable(HubError):
    """The hub could not be reached (after retries) or failed with a 5xx."""


class IntegrityMismatch(HubError):
    """Downloaded bytes do not match contentSha256/contentLength; nothing was written."""


_BY_STATUS: dict[int, type[HubError]] = {
    400: HubBadRequest,
    413: HubBadRequest,
    401: HubAuthError,
    403: HubAuthError,
    404: HubNotFound,
    409: HubConflict,
}


@dataclass(frozen=True)
class SendReceipt:
    doc_id: str
    duplicate: bool
    recipients: int


@dataclass(frozen=True)
class ReceivedItem:
    doc_id: str
    message_type: str
    from_code: str
    to_code: str
    document_id: str
    status: str
    created_time: str
    content_sha256: str
    content_length: int


@dataclass(frozen=True)
class DeliveryReport:
    doc_id: str
    to: str
    document_id: str
    message_type: str
    sent_time: str
    received_time: str | None
    ack_time: str | None
    receive_status: str
    receive_status_desc: str | None


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    code_format: str
    parent_code: str | None
    seal_certificate_pem: str | None
    active: bool
    updated_time: str


class _MultipartFile:
    """A ``multipart/form-data`` body with one file part, read lazily from disk (never held in memory)."""

    def __init__(self, path: Path, field: str = "file_doc", extra: dict[str, str] | None = None) -> None:
        self.boundary = "dxhub" + secrets.token_hex(16)
        pre = b""
        for name, value in (extra or {}).items():
            pre += (
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            ).encode()
        pre += (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{path.name.replace(chr(34), "")}"\r\nContent-Type: application/xml\r\n\r\n'
        ).encode()
        self.pre = pre
        self.post = f"\r\n--{self.boundary}--\r\n".encode()
        self.path = path
        self.size = path.stat().st_size
        self._fh: Any = None
        self._stage = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def sha256(self) -> str:
        digest = hashlib.sha256(self.pre)
        with open(self.path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
        digest.update(self.post)
        return digest.hexdigest()

    def __len__(self) -> int:
        return len(self.pre) + self.size + len(self.post)

    def rewind(self) -> None:
        self.close()
        self._stage = 0

    def read(self, size: int = -1) -> bytes:
        if self._stage == 0:
            self._stage = 1
            self._fh = open(self.path, "rb")  # noqa: SIM115 - closed at stage 2 or by close()
            return self.pre
        if self._stage == 1:
            chunk: bytes = self._fh.read(size if size and size > 0 else CHUNK)
            if chunk:
                return chunk
            self.close()
            self._stage = 2
            return self.post
        return b""

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class HubClient:
    """Typed client for one agency system (``system_id`` + ``secret`` issued by the hub operator)."""

    def __init__(
        self,
        base_url: str,
        system_id: str,
        secret: str,
        *,
        timeout: tuple[float, float] = (5, 300),
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._prefix = urlsplit(self.base_url).path.rstrip("/")
        self.system_id = system_id
        self.secret = secret
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.session = session or requests.Session()

    # ------------------------------------------------------------------ clock
    @property
    def clock_offset(self) -> int:
        """Seconds to add to the local clock to get the hub's (0 until a stale_request taught otherwise)."""
        with _offsets_lock:
            return _offsets.get(self.base_url, 0)

    def _learn_offset(self, exc: HubError) -> bool:
        """Take the hub's time from a stale_request refusal; False when it carries none usable."""
        hub_epoch = _hub_epoch(exc)
        if hub_epoch is None:
            return False
        offset = round(hub_epoch - time.time())
        if abs(offset) > MAX_CLOCK_OFFSET:
            log.error("hub at %s reported an implausible time (%r); not correcting", self.base_url, hub_epoch)
            return False
        with _offsets_lock:
            previous = _offsets.get(self.base_url)
            _offsets[self.base_url] = offset
        if previous != offset:
            log.warning("local clock is off by %+d s against the hub at %s; correcting; fix NTP",
                        -offset, self.base_url)
        return True

    # ------------------------------------------------------------------ plumbing
    def _headers(self, path: str, body_sha256: str) -> dict[str, str]:
        return signing.signed_headers(self.secret, self.system_id, "POST", self._prefix + path, body_sha256,
                                      timestamp=int(time.time()) + self.clock_offset)

    def _retrying(self, call: Callable[[], T]) -> T:
        attempt = 0
        corrected = False
        while True:
            try:
                return call()
            except HubAuthError as exc:
                # At most one clock correction per call: a hub (or forger) sending garbage times cannot loop us.
                if corrected or exc.code != "stale_request" or not self._learn_offset(exc):
                    raise
                corrected = True
            except (requests.ConnectionError, requests.Timeout, HubUnavailable) as exc:
                if isinstance(exc, HubUnavailable) and exc.status not in RETRY_STATUS:
                    raise
                if attempt >= self.retries:
                    if isinstance(exc, HubUnavailable):
                        raise
                    raise HubUnavailable(
                        f"hub unreachable at {self.base_url} after {attempt + 1} attempts: {exc}"
                    ) from exc
                time.sleep(min(self.max_backoff, self.backoff * 2**attempt))
                attempt += 1

    @staticmethod
    def _raise_for(resp: requests.Response) -> None:
        if resp.status_code < 400:
            return
        problem: dict[str, Any] = {}
        try:
            body = resp.json()
            problem = body if isinstance(body, dict) else {}
        except ValueError:
            pass
        message = f"hub {resp.status_code}: {problem.get('detail') or resp.reason}"
        if resp.status_code == 413 and not problem.get("code"):  # refused by the HTTP server itself
            problem = {"code": "too_large", "detail": "request too large"}
        cls = _BY_STATUS.get(resp.status_code, HubUnavailable if resp.status_code >= 500 else HubError)
        raise cls(message, status=resp.status_code, code=problem.get("code"), problem=problem,
                  date=resp.headers.get("Date"))

    def _post_json(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({k: v for k, v in payload.items() if v is not None}).encode()
        sha = hashlib.sha256(body).hexdigest()

        def call() -> dict[str, Any]:
            headers = self._headers(path, sha) | {"Content-Type": "application/json"}
            resp = self.session.post(self.base_url + path, data=body, headers=headers, timeout=self.timeout)
            self._raise_for(resp)
            result: dict[str, Any] = resp.json()
            return result

        return self._retrying(call)

    # ------------------------------------------------------------------ operations
    def send_edoc(self, path: str | os.PathLike[str], message_type: str | None = None) -> SendReceipt:
        """Upload one .edxml (streamed from disk). Re-sending the same file returns the same DocId."""
        body = _MultipartFile(Path(path), extra={"messagetype": message_type} if message_type else None)
        sha = body.sha256()

        def call() -> SendReceipt:
            body.rewind()
            headers = self._headers("/sendEdoc", sha) | {
                "Content-Type": body.content_type,
                "Content-Length": str(len(body)),
            }
            try:
                resp = self.session.post(
                    self.base_url + "/sendEdoc", data=body, headers=headers, timeout=self.timeout
                )
            finally:
                body.close()
            self._raise_for(resp)
            data = resp.json()
            return SendReceipt(data["DocId"], bool(data.get("duplicate")), int(data.get("recipients", 0)))

        return self._retrying(call)

    def send_edoc_bytes(self, data: bytes, message_type: str | None = None) -> SendReceipt:
        with tempfile.NamedTemporaryFile(suffix=".edxml") as tmp:
            tmp.write(data)
            tmp.flush()
            return self.send_edoc(tmp.name, message_type)

    def get_received_edoc_list(
        self,
        message_type: str = "edoc",
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        limit: int | None = None,
    ) -> list[ReceivedItem]:
        """Unacknowledged packages in this agency's mailbox, oldest first."""
        data = self._post_json(
            "/getReceivedEdocList",
            {
                "messagetype": message_type,
                "fromDate": from_date.isoformat() if from_date else None,
                "toDate": to_date.isoformat() if to_date else None,
                "limit": limit,
            },
        )["data"]
        return [
            ReceivedItem(
                d["docId"],
                d["messageType"],
                d["from"],
                d["to"],
                d["documentId"],
                d["status"],
                d["created_time"],
                d["contentSha256"],
                int(d["contentLength"]),
            )
            for d in data
        ]

    def get_edoc(
        self,
        doc_id: str,
        dest: str | os.PathLike[str],
        expected_sha256: str | None = None,
        expected_length: int | None = None,
    ) -> Path:
        """Stream a package to ``dest`` (temp file + rename); checks the hub's contentSha256/length and the
        expected values from the list, raising ``IntegrityMismatch`` (and writing nothing) on a mismatch."""
        dest = Path(dest)
        body = json.dumps({"docId": doc_id}).encode()
        sha = hashlib.sha256(body).hexdigest()

        def call() -> Path:
            headers = self._headers("/getEdoc", sha) | {"Content-Type": "application/json"}
            with self.session.post(
                self.base_url + "/getEdoc", data=body, headers=headers, timeout=self.timeout, stream=True
            ) as resp:
                self._raise_for(resp)
                want_sha = expected_sha256 or resp.headers.get("X-Content-Sha256")
                header_sha = resp.headers.get("X-Content-Sha256")
                served_len = _length(resp.headers.get("Content-Length"))  # None when absent or not a number
                want_len = expected_length if expected_length is not None else served_len
                digest = hashlib.sha256()
                size = 0
                dest.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
                try:
                    with os.fdopen(fd, "wb") as out:
                        for chunk in resp.iter_content(CHUNK):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                        out.flush()
                        os.fsync(out.fileno())
                    got = digest.hexdigest()
                    # a transfer that broke off is a network failure to retry, not tampering to refuse with 02
                    if want_len is not None and size < want_len and (served_len is None or size < served_len):
                        raise requests.ConnectionError(
                            f"package {doc_id}: transfer ended after {size} of {want_len} bytes"
                        )
                    if (
                        (want_sha and got != want_sha)
                        or (header_sha and got != header_sha)
                        or (want_len is not None and size != want_len)
                    ):
                        raise IntegrityMismatch(
                            f"package {doc_id}: got sha256 {got} / {size} bytes, expected {want_sha} / "
                            f"{want_len} bytes",
                            code="integrity_mismatch",
                        )
                    os.replace(tmp, dest)
                except BaseException:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
                    raise
            return dest

        return self._retrying(call)

    def update_status(self, doc_id: str, status: str, desc: str | None = None) -> str:
        """Acknowledge a received package: ``done`` (processed) or ``fail`` (could not parse/store)."""
        return str(self._post_json("/updateStatus", {"docid": doc_id, "status": status, "desc": desc})["ack"])

    def get_sent_edoc_list(
        self,
        doc_id: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        limit: int | None = None,
    ) -> list[DeliveryReport]:
        """Per-recipient delivery report of this agency's packages."""
        data = self._post_json(
            "/getSentEdocList",
            {
                "docId": doc_id,
                "fromDate": from_date.isoformat() if from_date else None,
                "toDate": to_date.isoformat() if to_date else None,
                "limit": limit,
            },
        )["data"]
        return [
            DeliveryReport(
                d["senderDocId"],
                d["to"],
                d["documentId"],
                d["messageType"],
                d["sentTime"],
                d["receivedTime"],
                d["ackTime"],
                d["receiveStatus"],
                d["receiveStatusDesc"],
            )
            for d in data
        ]

    def get_agencies_list(self, since: datetime | None = None) -> list[Agency]:
        """Active agencies; with ``since``, every agency changed after it (including deactivated ones)."""
        data = self._post_json("/getAgenciesList", {"since": since.isoformat() if since else None})["data"]
        return [_agency(d) for d in data]

    def synchronize_units(self, since: datetime | None = None) -> list[Agency]:
        data = self._post_json("/getSynchronizeUnit", {"since": since.isoformat() if since else None})["data"]
        return [_agency(d) for d in data]


def _agency(d: dict[str, Any]) -> Agency:
    return Agency(
        d["code"],
        d["name"],
        d["codeFormat"],
        d.get("parentCode"),
        d.get("sealCertificatePem"),
        bool(d["active"]),
        d["updatedTime"],
    )


__all__ = [
    "Agency",
    "DeliveryReport",
    "HubAuthError",
    "HubBadRequest",
    "HubClient",
    "HubConflict",
    "HubError",
    "HubNotFound",
    "HubUnavailable",
    "IntegrityMismatch",
    "ReceivedItem",
    "SendReceipt",
    "clock_offsets",
]


# ------------------------------------------------------------------------------------------------ VDXP scheme
VDXP_URL_PREFIX = "vdxp+"
VDXP_ERROR_CODES = {"400", "401", "403", "404", "409", "413", "500", "502", "503", "504"}


class _FileThenCrlf:
    """The body the VDXP SDK sends for sendEdoc: the file's bytes, then CRLF; read lazily from disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._fh: Any = None
        self._done = False

    def __len__(self) -> int:
        return self.size + 2

    def rewind(self) -> None:
        self.close()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if self._done:
            return b""
        if self._fh is None:
            self._fh = open(self.path, "rb")  # noqa: SIM115 - closed at the end or by close()
        chunk: bytes = self._fh.read(size if size and size > 0 else CHUNK)
        if chunk:
            return chunk
        self.close()
        self._done = True
        return b"\r\n"

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class VdxpHubClient(HubClient):
    """The same operations in the VNPT VDXP SDK's wire scheme (domain-vn.md §6.2), so that a node can use the
    national axis or a provincial adapter (``DOCEXCHANGE_HUB_URL=vdxp+https://host/XrdAdapter/adapter``), or the
    hub's VDXP face. Requests are built as the SDK builds them (``XroadVnpt-*`` headers and their HMAC, a fresh
    timestamp per call in ``zone``, sendEdoc = file + CRLF with the SDK's ``hash-file``); answers are read by
    ``ErrorCode``. Fields the real axis does not send (``contentSha256``, ``documentId``) are used when present."""

    def __init__(self, base_url: str, system_id: str, secret: str, *, agency_code: str | None = None,
                 zone: str = vdxp.DEFAULT_ZONE, **kw: Any) -> None:
        super().__init__(base_url.removeprefix(VDXP_URL_PREFIX), system_id, secret, **kw)
        self.agency_code = agency_code or system_id
        self.zone = zone

    def _vdxp_headers(self, params: dict[str, str], content_type: str) -> dict[str, str]:
        now = datetime.fromtimestamp(time.time() + self.clock_offset, UTC)
        return vdxp.sign_request(self.secret, self.system_id, params, content_type=content_type,
                                 timestamp=vdxp.format_timestamp(now, self.zone))

    @staticmethod
    def _answer(resp: requests.Response, content: bytes | None = None) -> dict[str, Any]:
        try:
            body = json.loads(resp.content if content is None else content)
        except ValueError:
            body = None
        if not isinstance(body, dict) or "ErrorCode" not in body:
            HubClient._raise_for(resp)  # an HTTP-level failure (proxy, 5xx page)
            raise HubError(f"hub {resp.status_code}: not a VDXP answer", status=resp.status_code)
        code = str(body.get("ErrorCode"))
        if code == "0":
            return body
        status = resp.status_code if resp.status_code >= 400 else (int(code) if code in VDXP_ERROR_CODES else None)
        problem = dict(body)
        problem.setdefault("detail", str(body.get("ErrorDesc", "")))
        cls = _BY_STATUS.get(status or 0, HubUnavailable if status and status >= 500 else HubError)
        raise cls(f"hub answered ErrorCode {code}: {body.get('ErrorDesc', '')}"[:500], status=status,
                  code=body.get("code") if isinstance(body.get("code"), str) else None, problem=problem,
                  date=resp.headers.get("Date"))

    def _op(self, op: str, params: dict[str, str], *, stream: bool = False) -> dict[str, Any]:
        def call() -> dict[str, Any]:
            headers = self._vdxp_headers(params, "application/json")
            resp = self.session.post(f"{self.base_url}/{op}", data=b"{}", headers=headers, timeout=self.timeout)
            return self._answer(resp)

        return self._retrying(call)

    # ------------------------------------------------------------------ operations
    def send_edoc(self, path: str | os.PathLike[str], message_type: str | None = None) -> SendReceipt:
        path = Path(path)
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
        params = {"from": self.agency_code, "servicetype": vdxp.SERVICE_TYPE,
                  "messagetype": message_type or "edoc", "hash-file": vdxp.sdk_hex(digest.digest())}
        body = _FileThenCrlf(path)

        def call() -> SendReceipt:
            body.rewind()
            headers = self._vdxp_headers(params, "application/octet-stream") | {"Content-Length": str(len(body))}
            try:
                resp = self.session.post(f"{self.base_url}/sendEdoc", data=body, headers=headers,
                                         timeout=self.timeout)
            finally:
                body.close()
            data = self._answer(resp)
            return SendReceipt(str(data["DocId"]), bool(data.get("duplicate")), int(data.get("recipients") or 0))

        return self._retrying(call)

    def get_received_edoc_list(self, message_type: str = "edoc", from_date: datetime | None = None,
                               to_date: datetime | None = None, limit: int | None = None) -> list[ReceivedItem]:
        data = self._op("getReceivedEdocList", {"servicetype": vdxp.SERVICE_TYPE, "messagetype": message_type})
        items = []
        for d in data.get("data") or []:
            length = d.get("contentLength")
            items.append(ReceivedItem(
                str(d["docId"]), str(d.get("messageType") or message_type), str(d.get("from") or ""),
                str(d.get("to") or ""), str(d.get("documentId") or ""), str(d.get("status") or ""),
                str(d.get("created_time") or ""), str(d.get("contentSha256") or ""),
                int(length) if isinstance(length, int | str) and str(length).isdigit() else -1))
        return items[:limit] if limit else items

    def get_edoc(self, doc_id: str, dest: str | os.PathLike[str], expected_sha256: str | None = None,
                 expected_length: int | None = None) -> Path:
        """The package from the base64 ``data`` of the answer, decoded as it streams into a temporary file beside
        ``dest`` (never held in memory); checked against the listing's (or the answer's) contentSha256 when there
        is one; fsync + rename, nothing left behind on a mismatch or a refusal."""
        dest = Path(dest)

        def call() -> Path:
            headers = self._vdxp_headers({"docId": doc_id}, "application/json")
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as out, self.session.post(
                    f"{self.base_url}/getEdoc", data=b"{}", headers=headers, timeout=self.timeout, stream=True
                ) as resp:
                    if resp.status_code >= 500 and "json" not in resp.headers.get("Content-Type", ""):
                        self._raise_for(resp)
                    try:
                        body, size, got = vdxp.read_base64_answer(resp.iter_content(CHUNK), out)
                    except vdxp.VdxpFormatError as exc:
                        if resp.status_code >= 400:
                            self._raise_for(resp)
                        raise IntegrityMismatch(f"package {doc_id}: {exc}", code="integrity_mismatch") from exc
                    self._answer(resp, json.dumps(body).encode())  # raises on a non-zero ErrorCode
                    want = expected_sha256 or str(body.get("contentSha256") or "") or None
                    if want and got != want:
                        raise IntegrityMismatch(f"package {doc_id}: got sha256 {got} / {size} bytes, expected {want}",
                                                code="integrity_mismatch")
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, dest)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            return dest

        return self._retrying(call)

    def update_status(self, doc_id: str, status: str, desc: str | None = None) -> str:
        params = {"docid": doc_id, "status": status}
        if desc:
            params["desc"] = desc[:200]
        data = self._op("updateStatus", params)
        return str(data.get("ack") or status)

    def get_sent_edoc_list(self, doc_id: str | None = None, from_date: datetime | None = None,
                           to_date: datetime | None = None, limit: int | None = None) -> list[DeliveryReport]:
        rows = [d for d in self._op("getSentEdocList", {}).get("data") or []
                if not doc_id or d.get("senderDocId") == doc_id]
        reports = [DeliveryReport(str(d.get("senderDocId") or ""), str(d.get("toCode") or ""),
                                  str(d.get("documentId") or ""), str(d.get("messageType") or ""),
                                  str(d.get("sentTime") or ""), d.get("receivedTime") or None, None,
                                  str(d.get("receiveStatus") or ""), d.get("receiveStatusDesc") or None)
                   for d in rows]
        return reports[:limit] if limit else reports

    def get_agencies_list(self, since: datetime | None = None) -> list[Agency]:
        return [_vdxp_agency(d) for d in self._op("getAgenciesList", {}).get("data") or []]

    def synchronize_units(self, since: datetime | None = None) -> list[Agency]:
        return [_vdxp_agency(d) for d in self._op("getSynchronizeUnit", {}).get("data") or []]


def _vdxp_agency(d: dict[str, Any]) -> Agency:
    code = str(d.get("code") or "")
    return Agency(code, str(d.get("name") or ""), "legacy" if code.count(".") == 3 and len(code) == 13 else
                  "decision20", str(d.get("pid") or "") or None, None, not bool(d.get("deleted")),
                  str(d.get("modifyDate") or ""))


def hub_client(url: str, system_id: str, secret: str, *, agency_code: str | None = None, **kw: Any) -> HubClient:
    """The client for one hub URL from the node's settings: ``vdxp+http(s)://…`` speaks the VDXP SDK's scheme
    (national axis, provincial adapters, the hub's VDXP face), a plain URL docexchange's ``dxhub1``."""
    if url.startswith(VDXP_URL_PREFIX):
        return VdxpHubClient(url, system_id, secret, agency_code=agency_code, **kw)
    return HubClient(url, system_id, secret, **kw)


__all__ += ["VdxpHubClient", "hub_client"]
