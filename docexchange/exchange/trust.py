"""Package trust on receipt (issue 13 §1, §2): who sent a package, and that what it says is bound to who sent it.

The node decides from the one strict header reader (``axis.edxml.header``, the hub's reader too) and the
hub-authenticated sender of the listing, never from the codec's lenient view:

1. the header must be unambiguous (no element QCVN 102 allows once occurring twice) and its ``From`` must be the
   agency the hub authenticated;
2. the package's enveloped XML-DSig must verify with the sender's seal certificate as the hub directory publishes
   it; unsigned or placeholder signatures only from a peer the agency marked ``accept_unsigned`` (a legacy
   system: the document is flagged "gói tin không ký" and never registered automatically);
3. an agency seal on the main PDF must be the sender's (its published seal certificate, or a certificate whose
   organisation identifier is the sender's code); another agency's sealed PDF is refused unless it is an agency
   copy (SAO Y / SAO LỤC / TRÍCH SAO) carrying the forwarder's copy seal;
4. the header's number, notation and date must agree with what the sealed PDF states (docexchange's XMP in the
   revision the sender's seal covers, else the first page's text): a mismatch is flagged and blocks automatic
   registration.

Every refusal is a Vietnamese reason for status 02; every flag a note shown in the inbox and the register.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..axis.client import HubClient
from ..axis.edxml import ParsedPackage
from ..axis.edxml.header import PackageHeader
from .models import PeerSetting

DIRECTORY_TTL_S = 60.0
UNSIGNED = "unsigned_package"
MISMATCH = "header_mismatch"
COPY = "agency_copy"
FLAG_LABELS = {
    UNSIGNED: "gói tin không ký",
    MISMATCH: "thông tin trên gói tin không khớp văn bản đã ký",
    COPY: "bản sao của văn bản do cơ quan khác ban hành",
}
BLOCKS_AUTO_REGISTRATION = frozenset({UNSIGNED, MISMATCH})
COPY_FORMS = ("SAO Y", "SAO LỤC", "TRÍCH SAO")


class DirectoryUnavailable(Exception):
    """The hub directory (published seal certificates) could not be read: the verdict must wait."""


@dataclass
class SealDirectory:
    """Seal certificate SHA-256 per agency code, as the hub directory publishes it; cached for a minute."""

    ttl_s: float = DIRECTORY_TTL_S
    _cache: dict[str, tuple[float, dict[str, str]]] = field(default_factory=dict)

    def seals(self, client: HubClient, refresh: bool = False) -> dict[str, str]:
        key = client.base_url
        hit = self._cache.get(key)
        if hit is not None and not refresh and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        try:
            agencies = client.get_agencies_list()
        except Exception as exc:  # noqa: BLE001 - any hub or network failure: decide later
            raise DirectoryUnavailable(str(exc)) from exc
        seals: dict[str, str] = {}
        for a in agencies:
            if a.seal_certificate_pem:
                try:
                    cert = x509.load_pem_x509_certificate(a.seal_certificate_pem.encode())
                except ValueError:
                    continue
                seals[a.code] = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        self._cache[key] = (time.monotonic(), seals)
        return seals

    def seal_of(self, client: HubClient, code: str) -> str | None:
        found = self.seals(client).get(code)
        if found is None:  # a newly registered agency or a renewed seal: look once more before deciding
            found = self.seals(client, refresh=True).get(code)
        return found


@dataclass
class Trust:
    reason: str | None = None  # refuse (02) with this Vietnamese reason
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def blocks_auto_registration(self) -> bool:
        return bool(BLOCKS_AUTO_REGISTRATION & set(self.flags))

    def flag(self, name: str, note: str) -> None:
        if name not in self.flags:
            self.flags.append(name)
        self.notes.append(note)


def header_reason(parsed: ParsedPackage, authenticated_sender: str, agency_code: str) -> str | None:
    """Refusal reason from the strict header alone (also used for status packages)."""
    header: PackageHeader | None = parsed.header
    if header is None:
        strict = [i for i in parsed.errors if i.code.startswith(("R.edXML", "R.MessageHeader", "R.edXMLHeader",
                                                                  "R.TraceHeaderList", "R.edXMLEnvelope", "M.",
                                                                  "N.MessageHeader", "N.edXMLHeader"))]
        shown = strict or parsed.errors
        return "Phần đầu gói tin không hợp lệ: " + "; ".join(i.message_vi for i in shown[:3])
    if header.from_organ != authenticated_sender:
        return (f"Nơi gửi trong gói tin ({header.from_organ}) khác cơ quan đã gửi gói tin trên trục "
                f"({authenticated_sender})")
    if agency_code not in header.to_organs:
        return f"Gửi nhầm nơi nhận: cơ quan {agency_code} không có trong danh sách nơi nhận"
    return None


def accepts_unsigned(s: Session, agency_id: int, peer_code: str) -> bool:
    row = s.execute(select(PeerSetting).where(PeerSetting.agency_id == agency_id,
                                              PeerSetting.peer_code == peer_code)).scalar_one_or_none()
    return bool(row is not None and row.accept_unsigned)


def set_peer(s: Session, ledger: Any, agency_code: str, peer_code: str, accept_unsigned: bool, actor: str,
             note: str = "") -> PeerSetting:
    """Set what ``agency_code`` accepts from ``peer_code`` (ledger entry ``peer_setting_changed``)."""
    from ..errors import NotFound
    from ..models import Agency

    agency = s.execute(select(Agency).where(Agency.code == agency_code)).scalar_one_or_none()
    if agency is None:
        raise NotFound(f"Unknown agency {agency_code}", f"Không có cơ quan {agency_code}", code="unknown_agency")
    row = s.execute(select(PeerSetting).where(PeerSetting.agency_id == agency.id,
                                              PeerSetting.peer_code == peer_code)).scalar_one_or_none()
    if row is None:
        row = PeerSetting(agency_id=agency.id, peer_code=peer_code[:35])
        s.add(row)
    row.accept_unsigned = accept_unsigned
    row.note = note[:300]
    row.updated_by = actor[:100]
    from ..db import utcnow

    row.updated_at = utcnow()
    s.flush()
    ledger.append(s, actor=actor, agency_code=agency_code, action="peer_setting_changed", object_type="peer",
                  object_id=peer_code, details={"accept_unsigned": accept_unsigned, "note": note[:300]})
    return row


def package_signature(parsed: ParsedPackage, sender: str, sender_seal: str | None, legacy_ok: bool,
                      trust: Trust) -> None:
    """Rule 2: the enveloped XML-DSig verifies with the sender's published seal certificate."""
    sig = parsed.signature
    if sig.note in ("absent", "dummy"):
        if legacy_ok:
            trust.flag(UNSIGNED, "Gói tin không ký (hệ thống cũ của cơ quan gửi, được chấp nhận theo thiết lập)")
            return
        what = "không có chữ ký số" if sig.note == "absent" else "chỉ có chữ ký giả/mẫu (không phải chữ ký số thật)"
        trust.reason = f"Gói tin {what} của cơ quan gửi {sender} (gói tin không ký)"
        return
    if not sig.valid:
        trust.reason = f"Chữ ký số của gói tin không hợp lệ ({sig.note}: {(sig.reason or '')[:200]})"
        return
    if sender_seal is None:
        trust.reason = f"Trục liên thông không công bố chứng thư số con dấu của cơ quan gửi {sender}"
        return
    if sig.signer_cert_sha256 != sender_seal:
        trust.reason = (f"Gói tin được ký bằng chứng thư số không phải chứng thư con dấu của cơ quan gửi {sender} "
                        f"({sig.signer_subject or 'không rõ'})")


def _seals(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in report.get("signatures") or [] if isinstance(s, dict) and s.get("kind", "signature")
            == "signature" and (s.get("signer") or {}).get("is_organization_seal")]


def _is_senders(sig: dict[str, Any], sender: str, sender_seal: str | None) -> bool:
    signer = sig.get("signer") or {}
    return bool((sender_seal and signer.get("certificate_sha256") == sender_seal)
                or (signer.get("organization_identifier") and sender in str(signer["organization_identifier"])))


def _copy_form(pdf: Path, fields: list[str]) -> str | None:
    """SAO Y / SAO LỤC / TRÍCH SAO when one of the sender's seal signatures (``fields``) was made as a copy: its
    ``/Reason`` names the form (docexchange's ``copy`` profile writes "SAO Y điện tử"), or its field is a ``Copy*``
    field and the first page says which form."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(str(pdf))
        copy_field = False
        all_fields = reader.get_fields() or {}
        for f, field in all_fields.items():
            if f not in fields:
                continue
            value = field.get("/V")
            reason = str(value.get_object().get("/Reason", "")) if value is not None else ""
            form = next((x for x in COPY_FORMS if x in reason.upper()), None)
            if form is not None:
                return form
            copy_field = copy_field or f.startswith("Copy")
        if not copy_field:
            return None
        text = (reader.pages[0].extract_text() or "").upper()
    except Exception:  # noqa: BLE001 - unreadable here: not recognised as a copy (the refusal stands)
        return None
    return next((x for x in COPY_FORMS if x in text), None)


def main_pdf_binding(header: PackageHeader, sender: str, sender_seal: str | None, report: dict[str, Any],
                     pdf: Path, trust: Trust) -> None:
    """Rules 3 and 4 on the main document (its validation report and bytes)."""
    from ..documents.binding import issue_facts, mismatches

    seals = _seals(report)
    own = [s for s in seals if _is_senders(s, sender, sender_seal)]
    foreign = [s for s in seals if s not in own]
    if foreign and not own:
        who = ", ".join(sorted({str((s.get("signer") or {}).get("organization")
                                    or (s.get("signer") or {}).get("common_name") or "?") for s in foreign}))
        trust.reason = (f"Văn bản chính mang chữ ký số (con dấu) của cơ quan khác ({who}), không phải của "
                        f"cơ quan gửi {sender}")
        return
    if foreign and own:
        form = _copy_form(pdf, [str(s.get("field")) for s in own])
        last_own = max(int(s.get("revision") or 0) for s in own)
        last_foreign = max(int(s.get("revision") or 0) for s in foreign)
        if form is None or last_own < last_foreign:
            who = ", ".join(sorted({str((s.get("signer") or {}).get("organization") or "?") for s in foreign}))
            trust.reason = (f"Văn bản chính mang con dấu của cơ quan khác ({who}) mà không phải bản sao "
                            f"(SAO Y, SAO LỤC, TRÍCH SAO) có chữ ký số của cơ quan gửi {sender}")
            return
        issuer = ", ".join(sorted({str((s.get("signer") or {}).get("organization") or "?") for s in foreign}))
        trust.flag(COPY, f"Bản sao ({form}) của văn bản do {issuer} ban hành")
        return  # a copy carries the original's number and date, not the forwarder's header: nothing to compare
    rev = min((int(s["revision"]) for s in own if s.get("revision")), default=None)
    facts = issue_facts(pdf, rev - 1 if rev else None)
    if facts is None:
        return
    bad = mismatches(facts, header.code_number, header.code_notation, _iso(header.promulgation_date))
    if bad:
        label = {"number": "số", "notation": "ký hiệu", "date": "ngày ban hành"}
        said = f"{facts.number or '?'}/{facts.notation or '?'}, ngày {_vn_date(facts.date)}"
        trust.flag(MISMATCH, "Thông tin trên gói tin không khớp văn bản đã ký (" + ", ".join(label[b] for b in bad)
                   + f"): văn bản ghi {said}, gói tin ghi {header.code_number or '?'}/{header.code_notation or '?'}"
                   f", ngày {_vn_date(_iso(header.promulgation_date))}")


def _iso(raw: str | None) -> str | None:
    if not raw:
        return None
    from ..formats import metadata as md

    try:
        value = md.parse_date(raw, "PromulgationDate")
    except md.MetadataError:
        return raw
    return (value.date() if hasattr(value, "date") and callable(value.date) else value).isoformat()


def _vn_date(iso: str | None) -> str:
    if not iso or len(iso) != 10:
        return iso or "?"
    return f"{iso[8:10]}/{iso[5:7]}/{iso[0:4]}"


__all__ = ["BLOCKS_AUTO_REGISTRATION", "COPY", "FLAG_LABELS", "MISMATCH", "UNSIGNED", "DirectoryUnavailable",
           "SealDirectory", "Trust", "accepts_unsigned", "header_reason", "main_pdf_binding", "package_signature",
           "set_peer"]
