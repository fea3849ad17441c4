"""Names of ledger actions in the reader's language, and the reading of one entry (actor as a person and agency,
the file name and verdict of a verification)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

ACTION_LABELS: dict[str, Any] = {
    "agency_copy_made": _l("Agency copy made"), "archive_timestamp": _l("Archive time-stamp added"),
    "certificate_revoked": _l("Certificate revoked"), "copy_annulled": _l("Copy annulled"),
    "copy_certified": _l("Copy certified"), "copy_refused": _l("Copy refused"),
    "document_drafted": _l("Document drafted"), "document_signed": _l("Document signed"),
    "document_seal_approved": _l("Seal approved"), "document_issued": _l("Document issued"),
    "document_recalled": _l("Document recalled"), "document_registered": _l("Document registered"),
    "document_rejected": _l("Document refused"), "document_replaced": _l("Document replaced"),
    "document_updated": _l("Document updated"), "document_verified": _l("Document verified"),
    "duplicate_conflict_alert": _l("Duplicate document alert"), "login_failed": _l("Failed login"),
    "login_throttled": _l("Logins slowed down after failures"), "node_initialised": _l("Node set up"),
    "package_failed": _l("Package sending failed"), "package_received": _l("Package received"),
    "package_rejected": _l("Package refused"), "package_sent": _l("Package sent"),
    "password_changed": _l("Password changed"), "pin_locked": _l("Signing locked after wrong PINs"),
    "pin_unlocked": _l("Signing unlocked by an administrator"),
    "login_unlocked": _l("Login unlocked by an administrator"),
    "receipt_deferral_dropped": _l("Deferred receipt dropped"), "receipt_deferred": _l("Receipt deferred"),
    "seal_image_set": _l("Seal image set"), "signature_image_set": _l("Signature image set"),
    "token_revoked": _l("API token revoked"), "user_enabled": _l("Account enabled or disabled"),
    "verify": _l("PDF verified"), "verify_report_sealed": _l("Sealed verification report made"),
    "wrong_pin": _l("Wrong PIN"),
}
_STATUS = re.compile(r"^status_(\d{2})_(queued|received)$")


def action_label(action: str) -> str:
    """The action in words; edXML status actions name the status; anything unknown is shown as it is."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    m = _STATUS.match(action)
    if m:
        from .exchange_labels import edxml_status

        return (_("Status sent: %(s)s", s=edxml_status(m.group(1))) if m.group(2) == "queued"
                else _("Status received: %(s)s", s=edxml_status(m.group(1))))
    return action


def entry_summary(action: str, details: str) -> str:
    """The file name and verdict of a verification entry; otherwise ""."""
    if action not in ("verify", "document_verified", "verify_report_sealed"):
        return ""
    try:
        d = json.loads(details or "{}")
    except ValueError:
        return ""
    from .exchange_labels import VERDICT_LABELS

    verdict = d.get("indication")
    parts = [str(d["name"])] if d.get("name") else []
    if verdict:
        parts.append(str(VERDICT_LABELS.get(verdict, verdict)))
    return " · ".join(parts)
