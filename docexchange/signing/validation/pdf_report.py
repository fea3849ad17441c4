"""The verification report as a document an inspector files (Vietnamese, with English in smaller type): the lead
sentence, each signature in words, each change with the page images (as signed / now), then the evidence (hashes,
policy, trust anchors, ETSI codes). Words come from :mod:`.wording`, shared with the web page. Sealing is left to
the caller, and so is rendering page images (``images``: PNG bytes per signature index)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from .report import VerificationReport
from .wording import Text, message_words, report_words, vn_time

FONT_DIRS = [Path("/usr/share/fonts/truetype/liberation2"), Path("/usr/share/fonts/truetype/liberation")]
NOTO = Path("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf")
BODY = 11.5


@dataclass(frozen=True)
class PageImages:
    """One changed page of one signature: as signed, and in the final file (changed region outlined)."""

    signature: int  # index in report.signatures
    page: int
    signed_png: bytes
    final_png: bytes


def _font(pdf: FPDF) -> None:
    for d in FONT_DIRS:
        reg, bold = d / "LiberationSerif-Regular.ttf", d / "LiberationSerif-Bold.ttf"
        if reg.exists():
            pdf.add_font("Serif", "", str(reg))
            pdf.add_font("Serif", "B", str(bold if bold.exists() else reg))
            return
    pdf.add_font("Serif", "", str(NOTO))
    pdf.add_font("Serif", "B", str(NOTO))


def render_report_pdf(report: VerificationReport, images: list[PageImages] | None = None) -> bytes:
    """One A4 document: summary, each signature, each change with page images, the evidence."""
    d = report.to_dict()
    words = report_words(d)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_margins(20, 18, 20)
    _font(pdf)
    pdf.add_page()
    pdf.set_title("Báo cáo kiểm tra chữ ký số / Signature verification report")
    w = pdf.epw

    def line(text: str, size: float = BODY, bold: bool = False, gap: float = 0.5) -> None:
        pdf.set_font("Serif", "B" if bold else "", size)
        pdf.multi_cell(w, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    def pair(label: Text, value: str, size: float = BODY) -> None:
        line(f"{label.vi} ({label.en}): {value}", size)

    def words_of(t: Text, size: float = BODY, bold: bool = False) -> None:
        line(t.vi, size, bold)
        if t.en != t.vi:
            line(t.en, size - 2)

    line("BÁO CÁO KIỂM TRA CHỮ KÝ SỐ", 16, True)
    line("Signature verification report", 11)
    pdf.ln(2)
    pair(Text("Tệp", "File"), report.file.name)
    pair(Text("Thời điểm kiểm tra", "Checked at"), words.validated_at)
    pdf.ln(3)

    line("1. Kết luận / Summary", 13, True)
    line(f"Kết quả: {words.verdict.vi.upper()} (Result: {words.verdict.en})", 13, True)
    words_of(words.lead, 12)
    line(f"Mã ETSI EN 319 102-1 (ETSI indication): {words.etsi}", 9)
    for m in report.messages:
        t = message_words(m)
        line(f"• {t.vi}", BODY)
        line(f"  {t.en}", 9)
    pdf.ln(2)

    line("2. Các chữ ký / Signatures", 13, True)
    if not words.signatures:
        line("Tệp không có chữ ký số. / The file has no digital signature.")
    by_sig: dict[int, list[PageImages]] = {}
    for im in images or []:
        by_sig.setdefault(im.signature, []).append(im)
    for i, (sw, s) in enumerate(zip(words.signatures, report.signatures, strict=True)):
        pdf.ln(2)
        line(f"2.{i + 1}. {sw.title.vi}", 12, True)
        words_of(sw.sentence)
        if s.signer:
            pair(Text("Người ký", "Signer"), sw.signer
                 + (" — con dấu cơ quan (organisation seal)" if s.signer.is_organization_seal else ""))
            pair(Text("Chứng thư do", "Certificate issued by"), sw.issuer)
        if sw.signing_time:
            pair(Text("Thời điểm ký", "Signed at"), sw.signing_time)
        if s.timestamp:
            valid = "hợp lệ (valid)" if s.timestamp.valid else "không hợp lệ (not valid)"
            pair(Text("Dấu thời gian", "Time-stamp"), f"{vn_time(s.timestamp.time) or '—'}, {valid}")
        pair(Text("Toàn vẹn", "Integrity"), f"{sw.integrity.vi} ({sw.integrity.en})")
        if sw.modifications:
            pair(Text("Sau khi ký", "After signing"), f"{sw.modifications.vi} ({sw.modifications.en})")
        pair(Text("Kết quả", "Result"), f"{sw.verdict.vi} ({sw.verdict.en})")
        for m in s.messages:
            t = message_words(m)
            line(f"• {t.vi}", BODY)
            line(f"  {t.en}", 9)
        if sw.changes:
            line("Các thay đổi sau khi ký / Changes after signing:", BODY, True)
            for c in sw.changes:
                line(f"– {c.vi}", BODY)
                line(f"  {c.en}", 9)
        for im in by_sig.get(i, []):
            _images(pdf, im)
        line(f"Mã ETSI: {sw.etsi}; mức chữ ký (level): {s.level}; trường (field): {s.field}", 9)

    pdf.ln(3)
    line("3. Bằng chứng / Evidence", 13, True)
    f = report.file
    line(f"SHA-256: {f.sha256}", 9)
    line(f"Kích thước (size): {f.size} byte; số trang (pages): {f.pages}; số lần cập nhật (revisions): "
         f"{f.revisions}", 10)
    line(f"Chính sách kiểm tra (policy): {report.policy.id} phiên bản {report.policy.version}; "
         f"{'ngoại tuyến (offline)' if report.policy.offline else 'trực tuyến (online)'}", 10)
    for a in report.policy.trust_anchors:
        line(f"Gốc tin cậy (trust anchor): {a}", 9)
    for i, s in enumerate(report.signatures, 1):
        if s.chain:
            line(f"Chuỗi chứng thư của chữ ký {i} (certificate chain): " + " → ".join(s.chain), 9)
    return bytes(pdf.output())


def _images(pdf: FPDF, im: PageImages) -> None:
    """Two page images side by side with captions; a new page when they do not fit."""
    from PIL import Image

    with Image.open(io.BytesIO(im.final_png)) as probe:
        ratio = probe.height / max(1, probe.width)
    col = (pdf.epw - 6) / 2
    height = col * ratio
    if pdf.get_y() + height + 12 > pdf.h - pdf.b_margin:
        pdf.add_page()
    y = pdf.get_y() + 1
    x0 = pdf.l_margin
    pdf.set_font("Serif", "", 9.5)
    pdf.set_xy(x0, y)
    pdf.cell(col, 5, f"Trang {im.page} khi ký (as signed)")
    pdf.set_xy(x0 + col + 6, y)
    pdf.cell(col, 5, f"Trang {im.page} hiện nay, vùng đổi khoanh đỏ (now, changes outlined)")
    pdf.image(io.BytesIO(im.signed_png), x=x0, y=y + 6, w=col)
    pdf.image(io.BytesIO(im.final_png), x=x0 + col + 6, y=y + 6, w=col)
    pdf.set_y(y + 6 + height + 3)
