"""The VDXP scheme of the VNPT/VPCP Java SDK (``com.vnpt:JAVA_SDK_VXP`` 2.0.x), as measured (domain-vn.md §6.2).

What the SDK sends on every call (``POST {endpoint}/{operation}``):

- one ``XroadVnpt-<name>: <value>`` header per entry of its parameter map: ``systemid``, ``timestamp``,
  ``Content-Type`` and whatever the caller put in its JSON "header" argument (``messagetype``, ``docId``, ...);
- ``XroadVnpt-sign-header``: the JSON object ``{"XroadVnpt-<name>": "<value>", ...}`` of those same entries
  (Gson ``toString()``, map order), ``XroadVnpt-sign-header-key``: the names joined with ``;``,
  ``XroadVnpt-hash-header``: lower-case hex ``HMAC-SHA256(secret, sign-header)``;
- ``XroadVnpt-version: 3.0.201608``, ``User-Agent: JAVASDKAgent/1.0.0 XRoad/VPCP``.

The timestamp is ``ddMMyyyy'T'HHmmss+SSSS`` in the client's local zone (no offset; the four digits are
milliseconds). The SDK stamps it once, when the service object is built. ``sendEdoc`` sends the raw package
followed by CRLF as ``application/octet-stream`` with ``XroadVnpt-hash-file`` = SHA-256 of the file, printed by
``Integer.toHexString`` per byte, i.e. **without leading zeros** per byte.

Answers are JSON with string ``status``, ``ErrorCode`` (``"0"`` = success) and ``ErrorDesc``; a JSON ``null``
where the SDK reads a field makes it throw. Pure functions only: no Flask, no database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

NAME = "vdxp"
PREFIX = "XroadVnpt-"
H_SIGN_HEADER = "XroadVnpt-sign-header"
H_SIGN_HEADER_KEY = "XroadVnpt-sign-header-key"
H_HASH_HEADER = "XroadVnpt-hash-header"
H_VERSION = "XroadVnpt-version"
VERSION = "3.0.201608"
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
DEFAULT_BASE_PATH = "/XrdAdapter/adapter"
SERVICE_TYPE = "eDoc"
OPERATIONS = (
    "getAgenciesList",
    "getSynchronizeUnit",
    "sendEdoc",
    "getReceivedEdocList",
    "getEdoc",
    "updateStatus",
    "getSentEdocList",
)
# message types: the SDK 2.0 enum has edoc/status; newer SDKs also name the business kinds of an edoc
EDOC_KINDS = {"replacement": 3, "revocation": 1, "update": 2}
MESSAGE_TYPES = ("edoc", "status", *EDOC_KINDS)
# updateStatus values: 2.0 examples use done/fail; newer SDKs also inbox/acceptance/rejection/processing
ACK_FINAL = ("done", "fail")
ACK_PROGRESS = ("inbox", "acceptance", "rejection", "processing")
ACK_VALUES = (*ACK_PROGRESS, *ACK_FINAL)
OK = "OK"
FAIL = "FAIL"


class VdxpFormatError(ValueError):
    """A malformed VDXP header (timestamp, signed JSON)."""


# ---------------------------------------------------------------------------------------------- time
def format_timestamp(when: datetime, zone: str = DEFAULT_ZONE) -> str:
    """``ddMMyyyy'T'HHmmss+SSSS`` in ``zone`` (what ``SimpleDateFormat`` prints; SSSS = milliseconds, 4 digits)."""
    local = when.astimezone(ZoneInfo(zone))
    return local.strftime("%d%m%YT%H%M%S") + f"+{local.microsecond // 1000:04d}"


def parse_timestamp(raw: str, zone: str = DEFAULT_ZONE) -> datetime:
    """The instant of an SDK timestamp, read in ``zone`` (the SDK sends no offset)."""
    text = raw.strip()
    digits = text[:8] + text[9:15] + text[16:]
    if len(text) != 20 or text[8] != "T" or text[15] != "+" or not (digits.isascii() and digits.isdigit()):
        raise VdxpFormatError(f"timestamp {raw[:40]!r} is not ddMMyyyy'T'HHmmss+SSSS")
    try:
        naive = datetime.strptime(text[:15], "%d%m%YT%H%M%S")
    except ValueError as exc:
        raise VdxpFormatError(f"timestamp {raw[:40]!r} is not a real date") from exc
    millis = int(text[16:])
    if millis > 999:
        raise VdxpFormatError(f"timestamp {raw[:40]!r}: milliseconds out of range")
    return naive.replace(microsecond=millis * 1000, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# ---------------------------------------------------------------------------------------------- hashes
def sdk_hex(digest: bytes) -> str:
    """Hex as the SDK prints ``XroadVnpt-hash-file``: ``Integer.toHexString(b & 0xff)`` per byte (no padding)."""
    return "".join(f"{b:x}" for b in digest)


def hash_file_matches(declared: str, digest: bytes) -> bool:
    """``XroadVnpt-hash-file`` against the SHA-256 of the bytes: the SDK's unpadded form or plain hex."""
    value = declared.strip().lower().encode("utf-8", "replace")
    if not value:
        return False
    return hmac.compare_digest(value, digest.hex().encode()) or hmac.compare_digest(value, sdk_hex(digest).encode())


def _wire(text: str) -> bytes:
    """A header value as bytes on the wire: HTTP servers hand them over decoded as Latin-1."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def hash_header(secret: str, sign_header: str) -> str:
    return hmac.new(secret.encode(), _wire(sign_header), hashlib.sha256).hexdigest()


def hash_header_matches(secret: str, sign_header: str, declared: str) -> bool:
    return hmac.compare_digest(hash_header(secret, sign_header).encode(), _wire(declared.strip().lower()))


# ---------------------------------------------------------------------------------------------- signing
def sign_request(
    secret: str, system_id: str, params: Mapping[str, str], *, content_type: str, timestamp: str
) -> dict[str, str]:
    """The headers the SDK would send for ``params`` (client side; the JSON is built like Gson's, compact)."""
    entries: dict[str, str] = {"systemid": system_id, "timestamp": timestamp, "Content-Type": content_type}
    entries.update({k: v for k, v in params.items() if k not in entries})
    signed = {PREFIX + k: v for k, v in entries.items()}
    sign_header = json.dumps(signed, ensure_ascii=True, separators=(",", ":"))
    headers = dict(signed)
    headers.pop(PREFIX + "Content-Type")  # sent, like the SDK, but requests would send two Content-Type lines
    headers.update(
        {
            "Content-Type": content_type,
            H_SIGN_HEADER_KEY: ";".join(entries),
            H_SIGN_HEADER: sign_header,
            H_HASH_HEADER: hash_header(secret, sign_header),
            H_VERSION: VERSION,
            "User-Agent": USER_AGENT,
        }
    )
    return headers


def signed_params(sign_header: str) -> dict[str, str]:
    """The parameters inside ``XroadVnpt-sign-header`` (name without the prefix → value); raises on malformed."""
    try:
        data = json.loads(sign_header)
    except ValueError as exc:
        raise VdxpFormatError("XroadVnpt-sign-header is not JSON") from exc
    if not isinstance(data, dict):
        raise VdxpFormatError("XroadVnpt-sign-header is not a JSON object")
    out: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise VdxpFormatError(f"XroadVnpt-sign-header: {str(key)[:40]} is not a string")
        out[key[len(PREFIX) :] if key.startswith(PREFIX) else key] = value
    return out


def param(params: Mapping[str, str], *names: str) -> str:
    """The first non-empty parameter among ``names`` (exact name first, then case-insensitive), else ``""``."""
    for name in names:
        if params.get(name):
            return params[name]
    lower = {k.lower(): v for k, v in params.items() if v}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return ""


# ---------------------------------------------------------------------------------------------- answers
def no_nulls(value: Any) -> Any:
    """A copy with every ``None`` replaced by ``""`` (the SDK throws on a JSON null)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return {k: no_nulls(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [no_nulls(v) for v in value]
    return value


def ok(**fields: Any) -> dict[str, Any]:
    return no_nulls({"status": OK, "ErrorCode": "0", "ErrorDesc": "", **fields})


def error(error_code: str, error_desc: str, /, **fields: Any) -> dict[str, Any]:
    return no_nulls({"status": FAIL, "ErrorCode": error_code, "ErrorDesc": error_desc, **fields})


def base64_json_stream(
    src: BinaryIO, head: dict[str, Any], key: str = "data", chunk: int = 3 * 256 * 1024
) -> tuple[int, Iterator[bytes]]:
    """Stream ``{...head, key: "<base64 of src>"}`` without holding the file in memory: (length, chunks).
    ``src`` must be positioned at 0; its size is read with seek."""
    src.seek(0, 2)
    size = src.tell()
    src.seek(0)
    prefix = json.dumps(no_nulls(head), ensure_ascii=True)[:-1] + f', "{key}": "'
    pre, post = prefix.encode(), b'"}'
    length = len(pre) + 4 * ((size + 2) // 3) + len(post)

    def gen() -> Iterator[bytes]:
        try:
            yield pre
            while block := src.read(chunk):  # chunk is a multiple of 3: no padding inside the stream
                yield base64.b64encode(block)
            yield post
        finally:
            src.close()

    return length, gen()


class _AnswerSplitter:
    """Incremental split of a JSON answer into its ``"data"`` string, base64-decoded into ``out`` as it arrives,
    and the rest (the skeleton, bounded), so that a large getEdoc answer never sits in memory. Tolerates JSON
    escapes inside the base64 (``\\/``, ``\\n``, ``\\r``) and any position of the key."""

    MARKER = b'"data"'

    def __init__(self, out: BinaryIO, max_skeleton: int = 1 << 20) -> None:
        self.out = out
        self.max_skeleton = max_skeleton
        self.skeleton = bytearray()
        self.state = "skeleton"  # skeleton → colon → quote → data → rest
        self.pending = b""  # base64 not yet decoded (fewer than 4 characters)
        self.escape = b""  # a backslash that ended the previous chunk
        self.size = 0
        self.digest = hashlib.sha256()

    def _emit(self, raw: bytes) -> None:
        raw = self.escape + raw
        self.escape = b""
        if raw.endswith(b"\\"):  # an escape split across chunks: finish it with the next one
            raw, self.escape = raw[:-1], b"\\"
        clean = raw.replace(b"\\/", b"/").replace(b"\\n", b"").replace(b"\\r", b"")
        clean = b"".join(clean.split())  # whitespace (not inside JSON strings, but be lenient)
        if b"\\" in clean:
            raise VdxpFormatError("unexpected escape inside the base64 data")
        full = self.pending + clean
        usable = len(full) - len(full) % 4
        self.pending = full[usable:]
        try:
            block = base64.b64decode(full[:usable], validate=True) if usable else b""
        except ValueError as exc:
            raise VdxpFormatError("data is not base64") from exc
        self.out.write(block)
        self.size += len(block)
        self.digest.update(block)

    def feed(self, chunk: bytes) -> None:
        buf = chunk
        while buf:
            if self.state == "skeleton":
                joined = self.skeleton + buf
                at = joined.find(self.MARKER, max(0, len(self.skeleton) - len(self.MARKER)))
                while at > 0 and joined[at - 1 : at] == b"\\":
                    at = joined.find(self.MARKER, at + 1)
                if at < 0:
                    self.skeleton = joined
                    buf = b""
                else:
                    end = at + len(self.MARKER)
                    self.skeleton, buf = joined[:end], bytes(joined[end:])
                    self.state = "colon"
            elif self.state in ("colon", "quote"):
                stripped = buf.lstrip()
                if not stripped:
                    buf = b""
                    continue
                want = b":" if self.state == "colon" else b'"'
                if stripped[:1] != want:
                    if self.state == "quote":
                        raise VdxpFormatError('"data" is not a string')
                    self.skeleton += buf  # "data" was not a key after all: keep scanning
                    self.state, buf = "skeleton", b""
                    continue
                self.skeleton += want
                buf = stripped[1:]
                self.state = "quote" if self.state == "colon" else "data"
                if self.state == "data":
                    self.skeleton += b'"'  # the value becomes "" in the skeleton
            elif self.state == "data":
                q = buf.find(b'"')
                if q < 0:
                    self._emit(buf)
                    buf = b""
                else:
                    self._emit(buf[:q])
                    buf = buf[q + 1 :]
                    self.state = "rest"
            else:
                self.skeleton += buf
                buf = b""
            if len(self.skeleton) > self.max_skeleton:
                raise VdxpFormatError("answer too large besides its data")

    def finish(self) -> dict[str, Any]:
        if self.state not in ("skeleton", "rest") or self.pending or self.escape:
            raise VdxpFormatError("the base64 data ends early or is not a multiple of 4")
        try:
            body = json.loads(bytes(self.skeleton))
        except ValueError as exc:
            raise VdxpFormatError("the answer is not JSON") from exc
        if not isinstance(body, dict):
            raise VdxpFormatError("the answer is not a JSON object")
        return body


def read_base64_answer(chunks: Iterator[bytes], out: BinaryIO) -> tuple[dict[str, Any], int, str]:
    """A getEdoc answer streamed: ``data`` decoded into ``out``; returns (the other fields, size, SHA-256)."""
    splitter = _AnswerSplitter(out)
    for chunk in chunks:
        splitter.feed(chunk)
    return splitter.finish(), splitter.size, splitter.digest.hexdigest()


__all__ = [
    "ACK_FINAL",
    "ACK_PROGRESS",
    "ACK_VALUES",
    "DEFAULT_BASE_PATH",
    "DEFAULT_ZONE",
    "EDOC_KINDS",
    "H_HASH_HEADER",
    "H_SIGN_HEADER",
    "H_SIGN_HEADER_KEY",
    "MESSAGE_TYPES",
    "OPERATIONS",
    "VdxpFormatError",
    "base64_json_stream",
    "error",
    "format_timestamp",
    "hash_file_matches",
    "hash_header",
    "no_nulls",
    "ok",
    "param",
    "parse_timestamp",
    "read_base64_answer",
    "sdk_hex",
    "sign_request",
    "signed_params",
]
