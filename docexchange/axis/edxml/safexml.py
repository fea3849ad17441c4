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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO
from xml.parsers import expat

from ...formats.text import normalize_text
from .model import Limits

CHUNK = 1 << 16
SPOOL_MAX = 1 << 20
_SEP = " "


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
    direct: bool = False  # True: the bytes went straight to the caller's sink (not a zip), spool unused


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

    def __init__(self, limit: int, opener: Callable[[], IO[bytes]] | None = None) -> None:
        self.payload = Payload(spool=tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX))  # noqa: SIM115
        self.limit = limit
        self.pending = ""
        self.hash = hashlib.sha256()
        self.done = False
        self.padded = False
        self.opener = opener  # caller sink: used directly once the first bytes show this is not a zip

    def _decide(self) -> None:
        """Switch to the caller's sink when the payload is not a zip (a zip needs its central directory at
        the end, so it stays in the spool to be unzipped later)."""
        opener, self.opener = self.opener, None
        p = self.payload
        if opener is None or p.head.startswith(b"PK\x03\x04"):
            return
        out = opener()
        p.spool.seek(0)
        out.write(p.spool.read())  # at most a few bytes so far
        p.spool.close()
        p.spool = out
        p.direct = True

    def feed(self, text: str) -> None:
        if self.done:
            return
        try:
            raw = text.encode("ascii").translate(None, b" \t\r\n")
        except UnicodeEncodeError:
            self._fail("not valid base64")
            return
        data = self.pending + raw.decode("ascii")
        cut = len(data) - len(data) % 4
        self.pending = data[cut:]
        if cut:
            self._write(data[:cut])

    def _write(self, chunk: str) -> None:
        if self.padded or "=" in chunk[:-2]:
            self._fail("base64 padding in the middle of the data")
            return
        self.padded = chunk.endswith("=")
        try:
            raw = base64.b64decode(chunk, validate=True)
        except (binascii.Error, ValueError):
            self._fail("not valid base64")
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
        if self.opener is not None and len(p.head) >= 4:
            self._decide()

    def _fail(self, why: str) -> None:
        self.payload.error = why
        self.done = True

    def close(self) -> Payload:
        if not self.done and self.pending:
            self._fail("base64 length is not a multiple of 4")
        if self.opener is not None and not self.payload.error:
            self._decide()
        self.payload.sha256 = self.hash.hexdigest()
        if not self.payload.direct:
            self.payload.spool.seek(0)
        self.done = True
        return self.payload


DSIG = "http://www.w3.org/2000/09/xmldsig#"
XML_NS = "http://www.w3.org/XML/1998/namespace"


def _esc_text(t: str) -> str:
    return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def _esc_attr(t: str) -> str:
    return (
        t.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\t", "&#x9;")
        .replace("\n", "&#xA;")
        .replace("\r", "&#xD;")
    )


class ExcC14N:
    """Exclusive XML canonicalization 1.0 without comments (http://www.w3.org/2001/10/xml-exc-c14n#),
    streamed from parser events into a sink (a hash, or a list for small subtrees). No InclusiveNamespaces
    prefix list. Namespace declarations are rendered where visibly utilized and not already rendered by an
    output ancestor; attributes sorted by (namespace URI, local name)."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self.write = write
        self.rendered: list[dict[str, str]] = [{}]
        self.names: list[str] = []

    def start(
        self,
        ns: str | None,
        local: str,
        prefix: str | None,
        attrs: list[tuple[str | None, str, str | None, str]],
    ) -> None:
        parent = self.rendered[-1]
        mine = dict(parent)
        decls: list[tuple[str, str]] = []
        used = [(prefix or "", ns or "")] + [(p, u or "") for (u, _l, p, _v) in attrs if p]
        for p, u in used:
            if p == "xml":
                continue
            if mine.get(p, "") != u:
                decls.append((p, u))
                mine[p] = u
        qname = f"{prefix}:{local}" if prefix else local
        out = ["<", qname]
        for p, u in sorted(set(decls)):
            out.append(f' xmlns:{p}="{_esc_attr(u)}"' if p else f' xmlns="{_esc_attr(u)}"')
        for _u, lname, ap, v in sorted(attrs, key=lambda a: (a[0] or "", a[1])):
            out.append(f' {ap}:{lname}="{_esc_attr(v)}"' if ap else f' {lname}="{_esc_attr(v)}"')
        out.append(">")
        self.write("".join(out).encode())
        self.rendered.append(mine)
        self.names.append(qname)

    def end(self) -> None:
        self.rendered.pop()
        self.write(f"</{self.names.pop()}>".encode())

    def text(self, data: str) -> None:
        self.write(_esc_text(data).encode())

    def pi(self, target: str, data: str) -> None:
        self.write((f"<?{target} {data}?>" if data else f"<?{target}?>").encode())


@dataclass
class StreamDigest:
    """SHA-256 of the exclusive-c14n form of the document minus its first ds:Signature (the enveloped
    transform), and the exclusive-c14n bytes of that signature's SignedInfo. ``supported`` is False when the
    document holds something this streaming form does not reproduce (a PI outside the root element)."""

    sha256: bytes = b""
    signed_info: bytes = b""
    found_signature: bool = False
    signature_parent: str | None = None
    supported: bool = True


def _split(name: str) -> tuple[str | None, str, str | None]:
    parts = name.split(_SEP)
    if len(parts) == 1:
        return None, parts[0], None
    return parts[0], parts[1], parts[2] if len(parts) > 2 else None


class _Handler:
    def __init__(self, limits: Limits, c14n_sink: Callable[[bytes], object] | None = None) -> None:
        self.limits = limits
        self.root: Node | None = None
        self.stack: list[Node] = []
        self.b64: _B64Writer | None = None
        self.depth = 0
        self.elements = 0
        self.header_chars = 0
        self.events = 0  # handler calls so far: a long stretch of input without one is one giant token
        self.attachments = 0
        self.hash = hashlib.sha256()
        self.doc = ExcC14N(self.hash.update if c14n_sink is None else self._tee(c14n_sink))
        self.digest = StreamDigest()
        self.skip = 0  # > 0 while inside the enveloped ds:Signature (excluded from the digest)
        self.si_parts: list[bytes] = []
        self.si: ExcC14N | None = None
        self.decode_payloads = True
        self.hashing = True
        self.hash_all = c14n_sink is not None
        self.sink: Callable[[str, str], IO[bytes]] | None = None

    def _opener(self) -> Callable[[], IO[bytes]] | None:
        """Opens the caller's sink for the attachment being decoded, when its ContentId is already known."""
        sink = self.sink
        parent = self.stack[-2] if len(self.stack) > 1 else None
        cid_node = parent.find("ContentId") if parent is not None else None
        if sink is None or parent is None or cid_node is None:
            return None
        cid = cid_node.text.strip()
        cid = cid[4:].strip() if cid.lower().startswith("cid:") else cid
        name_node = parent.find("AttachmentName")
        name = normalize_text(name_node.text) if name_node is not None else ""
        return lambda: sink(cid, name)

    def _tee(self, sink: Callable[[bytes], object]) -> Callable[[bytes], None]:
        def write(b: bytes) -> None:
            self.hash.update(b)
            sink(b)

        return write

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
        self.events += 1
        if attrs:  # attribute text counts as header text (a giant attribute is no cheaper than giant text)
            self.header_chars += sum(len(k) + len(v) for k, v in attrs.items())
            self._check_header()
        ns, local, prefix = _split(name)
        split_attrs = [(*_split(k), v) for k, v in attrs.items()]
        node = Node(ns, local, prefix, {k.split(_SEP)[1] if _SEP in k else k: v for k, v in attrs.items()})
        if self.skip:
            self.skip += 1
        elif ns == DSIG and local == "Signature" and not self.digest.found_signature:
            self.digest.found_signature = True
            self.digest.signature_parent = self.stack[-1].local if self.stack else None
            self.skip = 1
        elif self.hashing:
            self.doc.start(ns, local, prefix, split_attrs)  # type: ignore[arg-type]
        if self.si is not None:
            self.si.start(ns, local, prefix, split_attrs)  # type: ignore[arg-type]
        elif self.skip == 2 and ns == DSIG and local == "SignedInfo":
            self.si = ExcC14N(self.si_parts.append)
            self.si.start(ns, local, prefix, split_attrs)  # type: ignore[arg-type]
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)
        if local == "ContentTransferEncoded" and self.decode_payloads:
            self.attachments += 1
            if self.attachments > self.limits.max_attachments:
                raise XmlRejected(
                    "R.Attachment-Count",
                    f"more than {self.limits.max_attachments} attachments",
                    f"quá {self.limits.max_attachments} tệp đính kèm",
                )
            self.b64 = _B64Writer(self.limits.max_attachment_bytes, self._opener())

    def end(self, name: str) -> None:
        self.events += 1
        node = self.stack.pop()
        self.depth -= 1
        if self.si is not None:
            self.si.end()
            if not self.si.names:
                self.si = None
                self.digest.signed_info = b"".join(self.si_parts)
        if self.skip:
            self.skip -= 1
        elif self.hashing:
            self.doc.end()
        if node.local == "edXMLHeader" and not self.digest.found_signature and not self.hash_all:
            self.hashing = False  # no enveloped signature to check: the rest need not be canonicalized
        if self.b64 is not None and node.local == "ContentTransferEncoded":
            node.payload = self.b64.close()
            self.b64 = None

    def chars(self, data: str) -> None:
        self.events += 1
        if not self.stack:
            return
        if self.si is not None:
            self.si.text(data)
        if not self.skip and self.hashing:
            self.doc.text(data)
        if self.b64 is not None:
            self.b64.feed(data)
            return
        if not self.decode_payloads and self.stack[-1].local == "ContentTransferEncoded":
            return
        self.header_chars += len(data)
        self._check_header()
        self.stack[-1].text_parts.append(data)

    def _check_header(self) -> None:
        if self.header_chars > self.limits.max_header_chars:
            raise XmlRejected(
                "R.Header-Size",
                f"more than {self.limits.max_header_chars} characters of header text",
                f"phần đầu gói tin quá {self.limits.max_header_chars} ký tự",
            )


def _handler_pi(handler: _Handler, target: str, data: str) -> None:
    if not handler.stack:
        handler.digest.supported = False  # c14n puts newlines around PIs outside the root: not reproduced
        return
    if not handler.skip and handler.hashing:
        handler.doc.pi(target, data)
    if handler.si is not None:
        handler.si.pi(target, data)


def _forbid_dtd(*_args: object) -> None:
    raise XmlRejected(
        "M.XML-DTD",
        "DOCTYPE/DTD and entity declarations are not allowed in edXML",
        "gói tin edXML không được chứa DOCTYPE/DTD hoặc khai báo thực thể",
    )


_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def read_xml(
    chunks: Iterable[bytes],
    limits: Limits,
    c14n_sink: Callable[[bytes], object] | None = None,
    decode_payloads: bool = True,
    hash_all: bool = False,
    sink: Callable[[str, str], IO[bytes]] | None = None,
) -> tuple[Node, StreamDigest]:
    """Parse a whole document from byte chunks; raises ``XmlRejected`` (never anything else for bad
    input). Unbound prefixes, mismatched tags, invalid UTF-8, DTDs and entity references are all rejected."""
    handler = _Handler(limits, c14n_sink)
    handler.decode_payloads = decode_payloads
    handler.hash_all = handler.hash_all or hash_all
    handler.sink = sink
    p = expat.ParserCreate(namespace_separator=_SEP)
    p.namespace_prefixes = True
    p.buffer_text = True
    p.buffer_size = CHUNK
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartElementHandler = handler.start
    p.EndElementHandler = handler.end
    p.CharacterDataHandler = handler.chars
    p.ProcessingInstructionHandler = lambda target, data: _handler_pi(handler, target, data)
    p.StartDoctypeDeclHandler = _forbid_dtd
    p.EntityDeclHandler = _forbid_dtd
    p.ExternalEntityRefHandler = _forbid_dtd  # type: ignore[assignment]
    p.SkippedEntityHandler = _forbid_dtd  # type: ignore[assignment]
    decoder = None
    total = 0
    stalled = 0
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
            events = handler.events
            p.Parse(chunk, False)
            # expat keeps a start tag (all its attributes) or a comment in memory until it ends: bound that
            stalled = stalled + len(chunk) if handler.events == events else 0
            if stalled > limits.max_header_chars + CHUNK:
                raise XmlRejected(
                    "R.Header-Size",
                    f"one XML token (tag, attribute or comment) longer than {limits.max_header_chars} bytes",
                    f"một thành phần XML (thẻ, thuộc tính hoặc chú thích) dài quá {limits.max_header_chars} byte",
                )
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
    except LookupError as e:  # an encoding name expat/Python does not know
        raise XmlRejected(
            "M.Encoding", f"unsupported character encoding: {e}", f"bảng mã không được hỗ trợ: {e}"
        ) from None
    except RecursionError:
        raise XmlRejected("M.XML-Depth", "XML nested too deeply", "XML lồng quá sâu") from None
    if handler.root is None:
        raise XmlRejected("M.XML", "empty document", "tài liệu rỗng")
    handler.digest.sha256 = handler.hash.digest()
    return handler.root, handler.digest
