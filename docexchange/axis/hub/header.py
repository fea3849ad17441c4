"""The hub reads package headers with the one strict reader the receiving node uses
(``docexchange.axis.edxml.header``): the sender it checks is the sender the recipient records (issue 13 §1)."""

from __future__ import annotations

from docexchange.axis.edxml.header import (
    MAX_DEPTH,
    MAX_HEADER_ELEMENTS,
    HeaderError,
    PackageHeader,
    read_header,
)

__all__ = ["MAX_DEPTH", "MAX_HEADER_ELEMENTS", "HeaderError", "PackageHeader", "read_header"]
