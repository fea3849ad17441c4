"""Translated labels for stored codes (statuses, urgency, roles, events). Message ids are English."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# domain-vn.md §7.1 (edXML Priority): 0 thường, 1 khẩn, 2 thượng khẩn, 3 hỏa tốc, 4 hỏa tốc hẹn giờ
URGENCY_LABELS = {0: _l("Normal"), 1: _l("Urgent"), 2: _l("Very urgent"), 3: _l("Flash"),
                  4: _l("Flash, timed")}
STATUS_LABELS = {"draft": _l("Draft"), "signed": _l("Signed"), "approved": _l("Seal approved"),
                 "issued": _l("Issued"), "recalled": _l("Recalled")}
ROLE_LABELS = {"clerk": _l("Clerk"), "signer": _l("Signer"), "certifier": _l("Certifier"),
               "auditor": _l("Auditor"), "admin": _l("Administrator")}
EVENT_LABELS = {"drafted": _l("Draft created"), "signed": _l("Signed by the competent person"),
                "seal_approved": _l("Use of the seal approved"), "issued": _l("Numbered, sealed and issued"),
                "recalled": _l("Recalled")}
AUTHORITY_LABELS = {"": _l("(signs in own name)"), "TM.": "TM.", "KT.": "KT.", "TL.": "TL.", "TUQ.": "TUQ.",
                    "Q.": "Q."}


def label(table: dict[object, object], key: object) -> str:
    value = table.get(key)
    return str(value) if value is not None else str(key)
