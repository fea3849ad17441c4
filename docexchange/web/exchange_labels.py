"""Labels for the receive side and the auditor: verification verdicts, incoming statuses, edXML status codes,
and the reading of a stored verification report (report v1 dicts) for the signature panels."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from ..exchange.models import STATUS_LABELS as EDXML_STATUS
from ..signing.validation import wording
from . import i18n

VERDICT_LABELS = {"TOTAL_PASSED": _l("Valid"), "TOTAL_FAILED": _l("Invalid"),
                  "INDETERMINATE": _l("Indeterminate"), "NO_SIGNATURE": _l("No signature")}
VERDICT_CLASS = {"TOTAL_PASSED": "ok", "TOTAL_FAILED": "bad", "INDETERMINATE": "warn", "NO_SIGNATURE": "warn"}
INCOMING_STATUSES = ("arrived", "registered", "assigned", "processing", "completed", "rejected")
INCOMING_LABELS = {"arrived": _l("Arrived"), "registered": _l("Registered"), "assigned": _l("Assigned"),
                   "processing": _l("Processing"), "completed": _l("Completed"), "rejected": _l("Refused"),
                   "recalled": _l("Recalled"), "duplicate": _l("Duplicate")}
OUTBOX_LABELS = {"pending": _l("Waiting to be sent"), "sent": _l("Sent to the axis"), "failed": _l("Sending failed")}
CHANGE_LABELS = {"page_added": _l("page added"), "page_removed": _l("page removed"),
                 "content_changed": _l("page content changed"), "annotation_added": _l("annotation added"),
                 "annotation_removed": _l("annotation removed"), "signature_added": _l("a later signature added"),
                 "document_timestamp_added": _l("a document time-stamp added"),
                 "field_added": _l("form field added"), "field_filled": _l("form field filled in"),
                 "field_removed": _l("form field removed"), "font_changed": _l("font changed"),
                 "optional_content_changed": _l("layer visibility changed"),
                 "action_added": _l("document action added"), "action_changed": _l("document action changed"),
                 "action_removed": _l("document action removed"), "javascript_added": _l("JavaScript added"),
                 "javascript_changed": _l("JavaScript changed"), "javascript_removed": _l("JavaScript removed"),
                 "embedded_file_added": _l("attached file added"),
                 "embedded_file_changed": _l("attached file changed"),
                 "embedded_file_removed": _l("attached file removed"),
                 "metadata_changed": _l("document properties (metadata) changed")}
MODIFICATION_LABELS = {"NONE": _l("No change after signing"), "FORM_FILLING": _l("Form fields filled in"),
                       "ANNOTATIONS": _l("Annotations added"),
                       "LTA_UPDATES": _l("Only validation data and time-stamps added"),
                       "OTHER": _l("Other changes")}


def edxml_status(code: str) -> str:
    """Label of an edXML status code (01…06, 13, 15, 16) in the current language."""
    vi, en = EDXML_STATUS.get(code, (code, code))
    return vi if i18n.current_lang() == "vi" else en


def words_text(t: wording.Text | None) -> str:
    """A :class:`~docexchange.signing.validation.wording.Text` in the current language."""
    if t is None:
        return ""
    return t.vi if i18n.current_lang() == "vi" else t.en


def message_text(msg: dict[str, Any]) -> str:
    """A report message in the current language, without the validator's internal object dumps."""
    t = wording.message_words(msg)
    return t.vi if i18n.current_lang() == "vi" else (t.en or t.vi)


def revision_end(sig: dict[str, Any]) -> int | None:
    """End offset of the revision a signature covers (ByteRange offset2 + length2): the signed revision's bytes
    are the file's prefix up to here."""
    br = sig.get("byte_range")
    if isinstance(br, list) and len(br) == 4 and all(isinstance(x, int) for x in br):
        return int(br[2] + br[3])
    return None


def init_app(app: Any) -> None:
    app.jinja_env.globals.update(VERDICT_LABELS=VERDICT_LABELS, VERDICT_CLASS=VERDICT_CLASS,
                                 INCOMING_LABELS=INCOMING_LABELS, OUTBOX_LABELS=OUTBOX_LABELS,
                                 CHANGE_LABELS=CHANGE_LABELS, MODIFICATION_LABELS=MODIFICATION_LABELS)
    app.jinja_env.filters["edxml_status"] = edxml_status
    app.jinja_env.filters["message_text"] = message_text
    app.jinja_env.filters["words"] = words_text
    app.jinja_env.filters["report_time"] = wording.vn_time
    app.jinja_env.globals.update(report_words=wording.report_words, signature_words=wording.signature_words)
    app.jinja_env.filters["revision_end"] = revision_end
