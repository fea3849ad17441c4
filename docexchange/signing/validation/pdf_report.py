"""The verification report as a human-readable PDF (Vietnamese with English). Sealing is left to the caller."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from .report import VerificationReport

FONT_DIRS = [Path("/usr/share/fonts/truetype/liberation2"), Path("/usr/share/fonts/truetype/liberation")]
NOTO = Path("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf")
VERDICT_VI = {"TOTAL_PASSED": "HỢP LỆ", "TOTAL_FAILED": "KHÔNG HỢP LỆ", "INDETERMINATE": "CHƯA XÁC ĐỊNH",
              "NO_SIGNATURE": "KHÔNG CÓ CHỮ KÝ"}


def _font(pdf: FPDF) -> None:
    for d in FONT_DIRS:
        reg, bold = d / "LiberationSerif-Regular.ttf", d / "LiberationSerif-Bold.ttf"
        if reg.exists():
            pdf.add_font("Serif", "", str(reg))
            pdf.add_font("Serif", "B", str(bold if bold.exists() else reg))
            return
    pdf.add_font("Serif", "", str(NOTO))
    pdf.add_font("Serif", "B", str(NOTO))


def render_report_pdf(report: VerificationReport) -> bytes:
    """One A4 document: file identity, overall verdict, then one section per signature."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    _font(pdf)
    pdf.add_page()
    pdf.set_title("Báo cáo kiểm tra chữ ký số / Signature verification report")
    w = pdf.epw

    def line(text: str, size: float = 10, bold: bool = False) -> None:
        pdf.set_font("Serif", "B" if bold else "", size)
        pdf.multi_cell(w, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")

    line("BÁO CÁO KIỂM TRA CHỮ KÝ SỐ", 15, True)
    line("Signature verification report", 11)
    pdf.ln(3)
    f = report.file
    line(f"Tệp / File: {f.name}")
    line(f"SHA-256: {f.sha256}", 9)
    line(f"Kích thước / Size: {f.size} byte; số trang / pages: {f.pages}; số lần cập nhật / revisions: {f.revisions}")
    line(f"Thời điểm kiểm tra / Validation time: {report.validation_time}")
    line(f"Chính sách / Policy: {report.policy.id} v{report.policy.version}; "
         f"{'ngoại tuyến / offline' if report.policy.offline else 'trực tuyến / online'}")
    for a in report.policy.trust_anchors:
        line(f"Gốc tin cậy / Trust anchor: {a}", 8)
    pdf.ln(2)
    sub = f" ({report.subindication})" if report.subindication else ""
    line(f"KẾT LUẬN: {VERDICT_VI.get(report.indication, report.indication)} / Result: {report.indication}{sub}",
         12, True)
    for m in report.messages:
        line(f"• {m.vi} / {m.en}", 9)
    for i, s in enumerate(report.signatures, 1):
        pdf.ln(3)
        kind = ("Dấu thời gian tài liệu / Document time-stamp" if s.kind == "document_timestamp"
                else "Chữ ký / Signature")
        line(f"{i}. {kind}: {s.field} (revision {s.revision}, level {s.level})", 11, True)
        if s.signer:
            seal = "con dấu cơ quan / organization seal" if s.signer.is_organization_seal else "cá nhân / person"
            line(f"Người ký / Signer: {s.signer.common_name} — {s.signer.organization} ({seal})")
            line(f"Cấp bởi / Issuer: {s.signer.issuer}; serial {s.signer.serial}", 9)
        if s.chain:
            line("Chuỗi chứng thư / Chain: " + " → ".join(s.chain), 9)
        line(f"Thời điểm ký / Signing time: {s.signing_time or '—'}"
             + (f"; dấu thời gian / time-stamp: {s.timestamp.time} ({s.timestamp.tsa}, "
                f"{'hợp lệ / valid' if s.timestamp.valid else 'không hợp lệ / invalid'})" if s.timestamp else ""))
        line(f"Toàn vẹn / Integrity: {s.integrity}; phạm vi / coverage: {s.coverage}; "
             f"thay đổi sau khi ký / modifications: {s.modifications}")
        sub = f" / {s.subindication}" if s.subindication else ""
        line(f"Kết quả / Result: {VERDICT_VI.get(s.indication, s.indication)} — {s.indication}{sub}", 10, True)
        for c in s.changes:
            line("  - " + ", ".join(f"{k}: {v}" for k, v in c.items()), 9)
        for v in s.visual_changes:
            line(f"  - Thay đổi hiển thị trang {v['page']} / visual change on page {v['page']}: "
                 f"{v['changed_ratio']:.3%}", 9)
        for m in s.messages:
            line(f"  • {m.vi} / {m.en}", 9)
    return bytes(pdf.output())
