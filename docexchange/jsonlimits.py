"""JSON request bodies with a bounded nesting depth (no Flask here).

Python's ``json`` module parses nested arrays and objects recursively: ``[[[[…]]]]`` 100 000 levels deep raises
``RecursionError``, which the HTTP layer would turn into a 500. Every JSON body is checked here first and refused
as bad input (400 problem+json, Vietnamese and English) beyond ``MAX_JSON_DEPTH`` levels (no API body of the node
nests more than three), and beyond ``MAX_JSON_BYTES`` (413), which also bounds the time the check takes."""

from __future__ import annotations

import json
import re
from array import array
from itertools import accumulate
from typing import Any

from .errors import BadInput, TooLarge

MAX_JSON_DEPTH = 64
MAX_JSON_BYTES = 256 * 1024  # the node's JSON bodies are a PIN, an action, a reason: a few hundred bytes
# A JSON string: its brackets do not count. Possessive, and an unterminated string runs to the end of the input,
# so a quote starts at most one attempt: linear time (a plain `"(?:[^"\\]|\\.)*"` was quadratic on `"\"\"\"…`).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_STEP = bytes(1 if c in b"[{" else 255 if c in b"]}" else 0 for c in range(256))  # as signed bytes: +1 / -1


def nested_deeper_than(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays/objects in ``data`` (JSON text, valid or not) nest more than ``limit`` levels. Strings are
    dropped (their brackets do not count), then the running depth is summed at C speed; a body with at most
    ``limit`` brackets is not even scanned."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    steps = array("b", _STRING.sub(b"", data).translate(_STEP))
    return max(accumulate(steps), default=0) > limit


def too_deep() -> BadInput:
    return BadInput(f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep",
                    f"nội dung JSON lồng nhau quá {MAX_JSON_DEPTH} cấp", code="json_too_deep")


def too_large() -> TooLarge:
    return TooLarge(f"a JSON body may have at most {MAX_JSON_BYTES // 1024} KiB",
                    f"nội dung JSON tối đa {MAX_JSON_BYTES // 1024} KiB", code="json_too_large")


def check_json_body(data: bytes) -> None:
    """Refuse a JSON body larger than ``MAX_JSON_BYTES`` (``TooLarge``, code ``json_too_large``) or nested deeper
    than ``MAX_JSON_DEPTH`` (``BadInput``, code ``json_too_deep``)."""
    if len(data) > MAX_JSON_BYTES:
        raise too_large()
    if nested_deeper_than(data):
        raise too_deep()


def loads(data: str | bytes, **kw: Any) -> Any:
    """``json.loads`` that never raises ``RecursionError``: too deep is a ``ValueError`` (bad JSON)."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if nested_deeper_than(raw):
        raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(data, **kw)
    except RecursionError as exc:  # pragma: no cover - the depth check above comes first
        raise ValueError("JSON nested too deeply") from exc
