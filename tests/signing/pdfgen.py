"""Test documents: Decree 30-style one-page administrative documents with a signature block (fpdf2,
Liberation Serif 2 so the Vietnamese text layer round-trips)."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

SERIF = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
SERIF_BOLD = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf"


def decree30_pdf(path: Path, *, signer: str = "Trần Thị Hằng", position: str = "THỨ TRƯỞNG",
                 authority: str = "KT. BỘ TRƯỞNG", pages: int = 1, number: str = "Số: 15/QĐ-BNV",
                 filler_pages_mb: float = 0.0) -> Path:
    pdf = FPDF(format="A4", unit="pt")
    pdf.add_font("LibSerif", "", SERIF)
    pdf.add_font("LibSerif", "B", SERIF_BOLD)
    pdf.set_auto_page_break(False)
    for i in range(pages):
        pdf.add_page()
        pdf.set_font("LibSerif", "B", 13)
        pdf.set_xy(60, 40)
        pdf.cell(200, 16, "BỘ NỘI VỤ", align="C")
        pdf.set_xy(300, 40)
        pdf.cell(250, 16, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C")
        pdf.set_font("LibSerif", "", 13)
        pdf.set_xy(60, 60)
        pdf.cell(200, 16, number, align="C")
        pdf.set_xy(300, 60)
        pdf.cell(250, 16, "Độc lập - Tự do - Hạnh phúc", align="C")
        pdf.set_xy(60, 120)
        pdf.multi_cell(475, 18, f"Trang {i + 1}. Quyết định về việc ban hành quy chế công tác văn thư, lưu trữ "
                                "của cơ quan. Điều 1. Ban hành kèm theo Quyết định này Quy chế. " * 3)
    # signature block on the last page, right column
    pdf.set_font("LibSerif", "B", 13)
    pdf.set_xy(330, 560)
    pdf.cell(200, 16, authority, align="C")
    pdf.set_xy(330, 576)
    pdf.cell(200, 16, position, align="C")
    pdf.set_xy(330, 680)
    pdf.cell(200, 16, signer, align="C")
    pdf.set_font("LibSerif", "", 11)
    pdf.set_xy(60, 560)
    pdf.multi_cell(200, 14, "Nơi nhận:\n- Như Điều 3;\n- Lưu: VT.")
    out = bytes(pdf.output())
    path.write_bytes(out)
    return path
