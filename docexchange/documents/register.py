"""The outgoing register (sổ đăng ký văn bản đi): rows, CSV and a printable PDF with all ten columns."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import OutgoingRegisterEntry

FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
FONT_BOLD = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf"

OUTGOING_COLUMNS = (
    ("number_notation", "Số, ký hiệu văn bản", 24),
    ("issued_date", "Ngày tháng văn bản", 20),
    ("type_and_subject", "Tên loại và trích yếu nội dung", 60),
    ("signer", "Người ký", 32),
    ("recipients", "Nơi nhận văn bản", 48),
    ("file_keeper", "Đơn vị, người nhận bản lưu", 22),
    ("copies", "Số lượng bản", 12),
    ("transfer_date", "Ngày chuyển", 18),
    ("acknowledgement", "Ký nhận", 16),
    ("notes", "Ghi chú", 25),
)


@dataclass(frozen=True)
class Export:
    data: bytes
    mimetype: str
    filename: str


def export(title: str, agency_name: str, rows: list[object], columns: tuple[tuple[str, str, int], ...], fmt: str,
           stem: str) -> Export:
    """A register as CSV or printable PDF (``fmt`` "csv" | "pdf")."""
    if fmt == "csv":
        return Export(to_csv(rows, columns), "text/csv", f"{stem}.csv")
    if fmt == "pdf":
        return Export(to_pdf(title, agency_name, rows, columns), "application/pdf", f"{stem}.pdf")
    raise ValueError(f"unknown register format {fmt!r}")


def export_outgoing(session: Session, agency_id: int, agency_name: str, year: int, fmt: str) -> Export:
    return export(f"SỔ ĐĂNG KÝ VĂN BẢN ĐI NĂM {year}", agency_name, list(outgoing_rows(session, agency_id, year)),
                  OUTGOING_COLUMNS, fmt, f"so-di-{year}")


def outgoing_rows(session: Session, agency_id: int, year: int) -> list[OutgoingRegisterEntry]:
    return list(session.execute(select(OutgoingRegisterEntry).where(
        OutgoingRegisterEntry.agency_id == agency_id, OutgoingRegisterEntry.year == year)
        .order_by(OutgoingRegisterEntry.id)).scalars())


# A cell starting with one of these is read as a formula by spreadsheet programs (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A register value made safe for a spreadsheet: text that starts with ``=``, ``+``, ``-``, ``@``, a tab or
    a carriage return gets a leading single quote (the OWASP neutralisation), so ``=HYPERLINK(…)`` in an organ
    name received from another agency stays text. Anything else is written exactly as before."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(rows: list[object], columns: tuple[tuple[str, str, int], ...] = OUTGOING_COLUMNS) -> bytes:
    """Every CSV export goes through here: the header row, then each row's columns, each cell neutralised."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([csv_cell(title) for _, title, _ in columns])
    for row in rows:
        writer.writerow([csv_cell(getattr(row, name)) for name, _, _ in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM so spreadsheet programs read Vietnamese


def to_pdf(title: str, agency_name: str, rows: list[object],
           columns: tuple[tuple[str, str, int], ...] = OUTGOING_COLUMNS) -> bytes:
    """A4 landscape, every column, repeated header, Vietnamese text in Liberation Serif."""
    pdf = FPDF(orientation="L", format="A4")
    pdf.add_font("LS", "", FONT)
    pdf.add_font("LS", "B", FONT_BOLD)
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("LS", "B", 14)
    pdf.cell(0, 8, agency_name.upper(), new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(2)
    total = sum(w for _, _, w in columns)
    scale = (pdf.w - pdf.l_margin - pdf.r_margin) / total
    widths = [w * scale for _, _, w in columns]
    pdf.set_font("LS", "", 8)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4.5, repeat_headings=1) as table:
        header = table.row()
        for (_, name, _), i in zip(columns, range(len(columns)), strict=True):
            header.cell(f"({i + 1}) {name}")
        for row in rows:
            r = table.row()
            for name, _, _ in columns:
                r.cell(str(getattr(row, name) or ""))
    return bytes(pdf.output())
