"""Words a person reads, built from the verification report JSON (report v1 dict): one lead sentence, a line per
signature, each change, dates as dd/mm/yyyy HH:MM (GMT+7). Pure functions, Vietnamese and English side by side;
the web page and the sealed report PDF both use them, so they say the same thing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

VN_TZ = timezone(timedelta(hours=7))

VERDICT = {"TOTAL_PASSED": ("Hợp lệ", "Valid"), "TOTAL_FAILED": ("Không hợp lệ", "Invalid"),
           "INDETERMINATE": ("Chưa xác định", "Indeterminate"), "NO_SIGNATURE": ("Không có chữ ký", "No signature")}
MODIFICATION = {"NONE": ("Không có thay đổi sau khi ký", "No change after signing"),
                "FORM_FILLING": ("Có điền thêm trường biểu mẫu sau khi ký", "Form fields filled in after signing"),
                "ANNOTATIONS": ("Có thêm chú thích sau khi ký", "Annotations added after signing"),
                "LTA_UPDATES": ("Chỉ bổ sung dữ liệu kiểm tra và dấu thời gian",
                                "Only validation data and time-stamps added"),
                "OTHER": ("Có thay đổi khác sau khi ký", "Other changes after signing")}
CHANGE = {"page_added": ("Thêm trang", "Page added"), "page_removed": ("Xóa trang", "Page removed"),
          "content_changed": ("Nội dung trang bị thay đổi", "Page content changed"),
          "annotation_added": ("Thêm chú thích", "Annotation added"),
          "annotation_removed": ("Xóa chú thích", "Annotation removed"),
          "signature_added": ("Thêm một chữ ký sau", "A later signature added"),
          "document_timestamp_added": ("Thêm dấu thời gian tài liệu", "A document time-stamp added"),
          "field_added": ("Thêm trường biểu mẫu", "Form field added"),
          "field_filled": ("Điền trường biểu mẫu", "Form field filled in"),
          "field_removed": ("Xóa trường biểu mẫu", "Form field removed"),
          "content_covered": ("Nội dung đã ký bị che khuất", "Signed content covered")}
_DN_LABELS = {"common name": "cn", "organization": "o", "organizational unit": "ou", "country": "c"}
_DN_SPLIT = re.compile(r", (?=[A-Z][A-Za-z ]{1,40}: )")


@dataclass(frozen=True)
class Text:
    vi: str
    en: str

    def both(self) -> str:
        return self.vi if self.vi == self.en else f"{self.vi} / {self.en}"


@dataclass(frozen=True)
class SignatureWords:
    title: Text            # "Chữ ký của Nguyễn Văn A (Sở Nội vụ)" / "Dấu thời gian tài liệu"
    sentence: Text         # one sentence: valid or not, and when
    signer: str            # "Nguyễn Văn A (Sở Nội vụ)"
    issuer: str            # "CA Bộ Nội vụ (Ban Cơ yếu Chính phủ)"
    signing_time: str      # dd/mm/yyyy HH:MM (GMT+7) or ""
    verdict: Text
    etsi: str              # secondary line: "TOTAL_PASSED" or "TOTAL_FAILED / HASH_FAILURE"
    integrity: Text
    modifications: Text | None
    changes: list[Text] = field(default_factory=list)
    changed_pages: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ReportWords:
    lead: Text
    verdict: Text
    etsi: str
    validated_at: str
    signatures: list[SignatureWords]


def vn_time(value: str | None) -> str:
    """An ISO 8601 instant as dd/mm/yyyy HH:MM (GMT+7); "" when absent, the input when it is not a date."""
    if not value:
        return ""
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M") + " (GMT+7)"


def dn_parts(dn: str) -> dict[str, str]:
    """Parse a distinguished name written as "Common Name: X, Organization: Y, Country: VN"."""
    out: dict[str, str] = {}
    for part in _DN_SPLIT.split(dn or ""):
        label, sep, value = part.partition(": ")
        key = _DN_LABELS.get(label.strip().lower())
        if sep and key and key not in out:
            out[key] = value.strip()
    return out


def person(name: str, organisation: str) -> str:
    """"Name (Organisation)", or whichever of the two is known."""
    name, organisation = (name or "").strip(), (organisation or "").strip()
    if name and organisation and organisation != name:
        return f"{name} ({organisation})"
    return name or organisation


def dn_text(dn: str) -> str:
    """A distinguished name as name and organisation; the raw text when it cannot be parsed."""
    parts = dn_parts(dn)
    return person(parts.get("cn", ""), parts.get("o", "")) or (dn or "")


def _signer_text(sig: dict[str, Any]) -> str:
    s = sig.get("signer") or {}
    return person(s.get("common_name", ""), s.get("organization", "")) or dn_text(s.get("subject", "")) \
        or str(sig.get("field") or "")


def _change(c: dict[str, Any]) -> Text:
    vi, en = CHANGE.get(str(c.get("what")), ("Thay đổi khác", "Other change"))
    if c.get("page"):
        vi, en = f"{vi}: trang {c['page']}", f"{en}: page {c['page']}"
    if c.get("field"):
        vi, en = f"{vi}: trường “{c['field']}”", f"{en}: field “{c['field']}”"
    return Text(vi, en)


def _etsi(ind: str | None, sub: str | None) -> str:
    return f"{ind} / {sub}" if ind and sub else str(ind or "")


def signature_words(sig: dict[str, Any]) -> SignatureWords:
    ind = str(sig.get("indication") or "INDETERMINATE")
    who = _signer_text(sig)
    when = vn_time(sig.get("signing_time") or (sig.get("timestamp") or {}).get("time"))
    is_ts = sig.get("kind") == "document_timestamp"
    if is_ts:
        title = Text("Dấu thời gian tài liệu", "Document time-stamp")
        subject_vi, subject_en = "Dấu thời gian tài liệu", "The document time-stamp"
    else:
        title = Text(f"Chữ ký của {who}", f"Signature of {who}")
        subject_vi, subject_en = f"Chữ ký của {who}", f"The signature of {who}"
    at_vi, at_en = (f" tại thời điểm {when}", f" at {when}") if when else ("", "")
    if ind == "TOTAL_PASSED":
        sentence = Text(f"{subject_vi} hợp lệ{at_vi}.", f"{subject_en} was valid{at_en}.")
    elif ind == "TOTAL_FAILED":
        sentence = Text(f"{subject_vi} không hợp lệ.", f"{subject_en} is not valid.")
    else:
        sentence = Text(f"Chưa xác định được {subject_vi[0].lower()}{subject_vi[1:]} có hợp lệ hay không.",
                        f"Whether {subject_en[0].lower()}{subject_en[1:]} is valid could not be determined.")
    integ = sig.get("integrity")
    integrity = (Text("Nguyên vẹn", "Intact") if integ is True
                 else Text("Đã bị sửa: các byte đã ký không còn khớp", "Broken: the signed bytes were changed")
                 if integ is False else Text("Chưa xác định", "Unknown"))
    mod = sig.get("modifications")
    modifications = Text(*MODIFICATION.get(str(mod), ("Có thay đổi khác sau khi ký", "Other changes after signing"))
                         ) if mod else None
    changes = [_change(c) for c in sig.get("changes") or []]
    pages = [int(v["page"]) for v in sig.get("visual_changes") or [] if v.get("page")]
    for v in sig.get("visual_changes") or []:
        pct = f"{float(v.get('changed_ratio') or 0) * 100:.2f}".replace(".", ",")
        changes.append(Text(f"Hình ảnh trang {v.get('page')} khác bản đã ký ({pct}% điểm ảnh)",
                            f"Page {v.get('page')} looks different from the signed version "
                            f"({pct.replace(',', '.')}% of pixels)"))
    s = sig.get("signer") or {}
    return SignatureWords(title=title, sentence=sentence, signer=who, issuer=dn_text(s.get("issuer", "")),
                          signing_time=when, verdict=Text(*VERDICT.get(ind, (ind, ind))),
                          etsi=_etsi(ind, sig.get("subindication")), integrity=integrity,
                          modifications=modifications, changes=changes, changed_pages=pages)


def _intact_sentence(sigs: list[dict[str, Any]]) -> Text:
    real = [s for s in sigs if s.get("kind") != "document_timestamp"] or sigs
    if any(s.get("integrity") is False for s in real):
        return Text("Văn bản đã bị sửa sau khi ký: nội dung đã ký không còn khớp.",
                    "The document was altered after signing: the signed content no longer matches.")
    if any(s.get("visual_changes") for s in real) or any(s.get("modifications") == "OTHER" for s in real) or any(
            c.get("what") == "content_covered" for s in real for c in s.get("changes") or []):
        return Text("Văn bản đã bị thay đổi sau khi ký.", "The document was changed after signing.")
    if all(s.get("integrity") is True for s in real):
        sig_fields = {s.get("field") for s in sigs}

        def only_later_signatures(s: dict[str, Any]) -> bool:
            return all(c.get("what") in ("signature_added", "document_timestamp_added")
                       or (c.get("what") in ("field_filled", "field_added") and c.get("field") in sig_fields)
                       for c in s.get("changes") or [])

        mods = {str(s.get("modifications")) for s in real if not only_later_signatures(s)} - {
            "None", "NONE", "LTA_UPDATES"}
        if mods:
            vi = "; ".join(MODIFICATION[m][0].lower() for m in sorted(mods) if m in MODIFICATION)
            en = "; ".join(MODIFICATION[m][1].lower() for m in sorted(mods) if m in MODIFICATION)
            return Text(f"Văn bản còn nguyên vẹn kể từ khi ký ({vi}).",
                        f"The document is intact since it was signed ({en}).")
        return Text("Văn bản còn nguyên vẹn kể từ khi ký.", "The document is intact since it was signed.")
    return Text("Chưa xác định được văn bản có còn nguyên vẹn hay không.",
                "Whether the document is intact could not be determined.")


def report_words(report: dict[str, Any]) -> ReportWords:
    """Everything a reader needs from one report v1 dict (``VerificationReport.to_dict()``)."""
    ind = str(report.get("indication") or "NO_SIGNATURE")
    sigs = list(report.get("signatures") or [])
    words = [signature_words(s) for s in sigs]
    if report.get("readable") is False:
        lead = Text("Không đọc được tệp PDF này, nên không kiểm tra được chữ ký.",
                    "This PDF file could not be read, so no signature could be checked.")
    elif not sigs:
        lead = Text("Tệp không có chữ ký số.", "The file has no digital signature.")
    else:
        first = _intact_sentence(sigs)
        lead = Text(" ".join([first.vi] + [w.sentence.vi for w in words]),
                    " ".join([first.en] + [w.sentence.en for w in words]))
    return ReportWords(lead=lead, verdict=Text(*VERDICT.get(ind, (ind, ind))),
                       etsi=_etsi(ind, report.get("subindication")),
                       validated_at=vn_time(report.get("validation_time")), signatures=words)


_INTERNAL = re.compile(r"Reference\(|AbsoluteContext|PathInRevision|idnum=|<[a-z_.]+ object at 0x")


def plain(text: str) -> str:
    """A message without the validator's internal object dumps (they stay in the JSON report, the evidence):
    cut before the first one, drop the dangling clause, end with a full stop, start with a capital."""
    text = (text or "").strip()
    hit = _INTERNAL.search(text)
    if hit:
        text = text[:hit.start()].rstrip(" ,:;-(\n")
    text = " ".join(text.split())
    if text and text[-1] not in ".!?":
        text += "."
    return text[:1].upper() + text[1:]


def message_words(m: dict[str, Any] | Any) -> Text:
    """One report message (dict or ``Message``) in plain words."""
    vi = m.get("vi", "") if isinstance(m, dict) else getattr(m, "vi", "")
    en = m.get("en", "") if isinstance(m, dict) else getattr(m, "en", "")
    return Text(plain(str(vi)), plain(str(en)))
