"""edXML (QCVN 102:2016) codec: build signed edoc/status packages, parse and normalize received ones.

Public API::

    build_edoc(EdocMessage, seal: Identity | None) -> bytes
    build_status(StatusMessage, seal: Identity | None) -> bytes
    write_edoc(EdocMessage, out: IO[bytes], seal: Identity | None) -> int     (streams large attachments)
    parse_package(bytes | path | stream, *, sink=None, limits=Limits(), anchors=None) -> ParsedPackage

``ParsedPackage.normalized`` is the "Normalized edXML package" JSON of interfaces.md; ``.message`` the typed
message (feed it back to ``build_*``); ``.attachments`` the decoded files; ``.signature`` the XML-DSig check.
"""

from .build import build_edoc, build_status, default_document_id, write_edoc
from .codec import parse_package
from .model import (
    BUSINESS_DOC_TYPE,
    NAMESPACE,
    STATUS_CODE,
    Attachment,
    Business,
    EdocMessage,
    Issue,
    Limits,
    Organ,
    ParsedAttachment,
    ParsedPackage,
    Receiver,
    Replacement,
    ResponseFor,
    SignatureCheck,
    SinkFactory,
    StaffInfo,
    StatusMessage,
    Trace,
)

__all__ = [
    "BUSINESS_DOC_TYPE",
    "NAMESPACE",
    "STATUS_CODE",
    "Attachment",
    "Business",
    "EdocMessage",
    "Issue",
    "Limits",
    "Organ",
    "ParsedAttachment",
    "ParsedPackage",
    "Receiver",
    "Replacement",
    "ResponseFor",
    "SignatureCheck",
    "SinkFactory",
    "StaffInfo",
    "StatusMessage",
    "Trace",
    "build_edoc",
    "build_status",
    "default_document_id",
    "parse_package",
    "write_edoc",
]
