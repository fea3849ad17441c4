"""Streaming, hardened XML reading for edXML packages (expat, no DTD, no entities, bounded).

The header becomes a small tree of ``Node``; the text of every ``ContentTransferEncoded`` element is never
kept: it is base64-decoded chunk by chunk into a ``Payload`` (a spooled temporary file, on disk above 1 MiB),
so memory stays bounded by the header size plus one parser buffer whatever the attachment size.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO
from xml.parsers import expat

from .model import Limits

CHUNK = 1 << 16
SPOOL_MAX = 1 << 20
_SEP = " "
_B64_JUNK = re.compile(r"\s+")


class XmlRejected(Exception):
    """The bytes are not an acceptable XML document. ``code`` is the edXML error code."""

    def __init__(self, code: str, en: str, vi: str) -> None:
        super().__init__(en)
        self.code = code
        self.en = en
        self.vi = vi


@dataclass
class Payload:
    """Decoded bytes of one ContentTransferEncoded element."""

    spool: IO[bytes]
    size: int = 0
    sha256: str = ""
    head: bytes = b""
    error: str | None = None  # base64 problem, or limit exceeded


@dataclass
class Node:
    ns: str | None
    local: str
    prefix: str | None
    attrs: dict[str, str]
    children: list[Node] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)
    payload: Payload | None = None

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def find(self, local: str) -> Node | None:
        for c in self.children:
            if c.local == local:
                return c
        return None

    def findall(self, local: str) -> list[Node]:
        return [c for c in self.children if c.local == local]

    def iter(self) -> Iterable[Node]:
        yield self
        for c in self.children:
            yield from c.iter()


class _B64Writer:
    """Incremental base64 → spool, with a size cap and running SHA-256 of the decoded bytes."""

    def __init__(self, limit: int) -> None:
        self.payload = Payload(spool=tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX))  # noqa: SIM115
        self.limit = limit
        self.pending = ""
        self.hash = hashlib.sha256()
        self.done = False

    def feed(self, text: str) -> None:
        if self.done:
            return
        data = self.pending + _B64_JUNK.sub("", text)
        cut = len(data) - len(data) % 4
        self.pending = data[cut:]
        if cut:
            self._write(data[:cut])

    def _write(self, chunk: str) -> None:
        try:
            raw = base64.b64decode(chunk, validate=True)
        except (binascii.Error, ValueError):
            self._fail("not valid base64")
            return
        if "=" in chunk[:-2]:
            self._fail("base64 padding in the middle of the data")
            return
        p = self.payload
        if p.size + len(raw) > self.limit:
            self._fail(f"decoded attachment larger than {self.limit} bytes")
            return
        if len(p.head) < 8:
            p.head = (p.head + raw[:8])[:8]
        p.size += len(raw)
        self.hash.update(raw)
        p.spool.write(raw)

    def _fail(self, why: str) -> None:
        self.payload.error = why
        self.done = True

    def close(self) -> Payload:
        if not self.done and self.pending:
            self._fail("base64 length is not a multiple of 4")
        self.payload.sha256 = self.hash.hexdigest()
        self.payload.spool.seek(0)
        self.done = True
        return self.payload


class _Handler:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.root: Node | None = None
        self.stack: list[Node] = []
        self.b64: _B64Writer | None = None
        self.depth = 0
        self.elements = 0
        self.header_chars = 0
        self.attachments = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        self.elements += 1
        if self.depth > self.limits.max_depth:
            raise XmlRejected(
                "M.XML-Depth",
                f"XML nested deeper than {self.limits.max_depth} levels",
                f"XML lồng sâu quá {self.limits.max_depth} cấp",
            )
        if self.elements > self.limits.max_elements:
            raise XmlRejected(
                "R.XML-Elements",
                f"more than {self.limits.max_elements} XML elements",
                f"quá {self.limits.max_elements} phần tử XML",
            )
        parts = name.split(_SEP)
        if len(parts) == 1:
            ns, local, prefix = None, parts[0], None
        else:
            ns, local = parts[0], parts[1]
            prefix = parts[2] if len(parts) > 2 else None
        node = Node(ns, local, prefix, dict(attrs))
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)
        if local == "ContentTransferEncoded":
            self.attachments += 1
            if self.attachments > self.limits.max_attachments:
                raise XmlRejected(
                    "R.Attachment-Count",
                    f"more than {self.limits.max_attachments} attachments",
                    f"quá {self.limits.max_attachments} tệp đính kèm",
                )
            self.b64 = _B64Writer(self.limits.max_attachment_bytes)

    def end(self, name: str) -> None:
        node = self.stack.pop()
        self.depth -= 1
        if self.b64 is not None and node.local == "ContentTransferEncoded":
            node.payload = self.b64.close()
            self.b64 = None

    def chars(self, data: str) -> None:
        if self.b64 is not None:
            self.b64.feed(data)
            return
        if not self.stack:
            return
        self.header_chars += len(data)
        if self.header_chars > self.limits.max_header_chars:
            raise XmlRejected(
                "R.Header-Size",
                f"more than {self.limits.max_header_chars} characters of header text",
                f"phần đầu gói tin quá {self.limits.max_header_chars} ký tự",
            )
        self.stack[-1].text_parts.append(data)


def _forbid_dtd(*_args: object) -> None:
    raise XmlRejected(
        "M.XML-DTD",
        "DOCTYPE/DTD and entity declarations are not allowed in edXML",
        "gói tin edXML không được chứa DOCTYPE/DTD hoặc khai báo thực thể",
    )


_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def read_xml(chunks: Iterable[bytes], limits: Limits) -> Node:
    """Parse a whole document from byte chunks; raises ``XmlRejected`` (never anything else for bad
    input). Unbound prefixes, mismatched tags, invalid UTF-8, DTDs and entity references are all rejected."""
    handler = _Handler(limits)
    p = expat.ParserCreate(namespace_separator=_SEP)
    p.namespace_prefixes = True
    p.buffer_text = True
    p.buffer_size = CHUNK
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartElementHandler = handler.start
    p.EndElementHandler = handler.end
    p.CharacterDataHandler = handler.chars
    p.StartDoctypeDeclHandler = _forbid_dtd
    p.EntityDeclHandler = _forbid_dtd
    p.ExternalEntityRefHandler = _forbid_dtd  # type: ignore[assignment]
    p.SkippedEntityHandler = _forbid_dtd  # type: ignore[assignment]
    decoder = None
    total = 0
    first = True
    try:
        for chunk in chunks:
            if first:
                first = False
                m = _ENCODING.match(chunk[:200])
                enc = m.group(1).decode().lower() if m else "utf-8"
                if enc.replace("_", "-") in ("utf-8", "utf8"):
                    decoder = codecs.getincrementaldecoder("utf-8")()
            total += len(chunk)
            if total > limits.max_package_bytes:
                raise XmlRejected(
                    "R.Package-Size",
                    f"package larger than {limits.max_package_bytes} bytes",
                    f"gói tin lớn hơn {limits.max_package_bytes} byte",
                )
            if decoder is not None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as e:
                    raise XmlRejected(
                        "M.Encoding",
                        f"invalid UTF-8 near byte {total - len(chunk) + e.start}",
                        f"mã UTF-8 không hợp lệ gần byte {total - len(chunk) + e.start}",
                    ) from None
            p.Parse(chunk, False)
        if decoder is not None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise XmlRejected(
                    "M.Encoding",
                    "invalid UTF-8 at the end of the package",
                    "mã UTF-8 không hợp lệ ở cuối gói tin",
                ) from None
        p.Parse(b"", True)
    except expat.ExpatError as e:
        msg = expat.errors.messages[e.code] if e.code else str(e)
        raise XmlRejected(
            "M.XML",
            f"malformed XML: {msg} (line {e.lineno}, column {e.offset})",
            f"XML không hợp lệ: {msg} (dòng {e.lineno}, cột {e.offset})",
        ) from None
    except RecursionError:
        raise XmlRejected("M.XML-Depth", "XML nested too deeply", "XML lồng quá sâu") from None
    if handler.root is None:
        raise XmlRejected("M.XML", "empty document", "tài liệu rỗng")
    return handler.root
