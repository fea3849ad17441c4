"""The 29 document types of Decree 30/2020/NĐ-CP Art. 7 for the forms, from the one shared list in
``docexchange.formats.metadata``."""

from __future__ import annotations

from ..formats.metadata import DOCUMENT_TYPES

# (type name, abbreviation); công văn and thư công have no abbreviation ("").
DOC_TYPES: tuple[tuple[str, str], ...] = tuple((t.name, t.abbreviation or "") for t in DOCUMENT_TYPES)

_ABBR = dict(DOC_TYPES)


def abbreviation_for(type_name: str) -> str | None:
    """The abbreviation ("" for công văn / thư công), or None when ``type_name`` is not a Decree 30 type."""
    return _ABBR.get(type_name)
