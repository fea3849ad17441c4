"""The incoming register (sổ đăng ký văn bản đến): columns and the CSV/PDF export, shared by the API and the web
pages (the rows come from ``visibility.incoming_register_rows``; CSV cells are neutralised in
``documents.register.to_csv``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..auth import Principal
from ..documents.register import Export, export
from .visibility import incoming_register_rows

INCOMING_COLUMNS = (
    ("arrival_date", "Ngày đến", 18), ("arrival_number", "Số đến", 10), ("author", "Tác giả", 40),
    ("number_notation", "Số, ký hiệu", 22), ("document_date", "Ngày tháng văn bản", 18),
    ("type_and_subject", "Tên loại và trích yếu nội dung", 60), ("receiving_unit", "Đơn vị hoặc người nhận", 25),
    ("transfer_date", "Ngày chuyển", 15), ("acknowledgement", "Ký nhận", 15), ("notes", "Ghi chú", 25),
)


def export_incoming(session: Session, who: Principal | int, agency_name: str, year: int, fmt: str) -> Export:
    """The incoming register of a year as CSV or printable PDF (``fmt`` "csv" | "pdf")."""
    rows: list[object] = list(incoming_register_rows(session, who, year))
    return export(f"SỔ ĐĂNG KÝ VĂN BẢN ĐẾN NĂM {year}", agency_name, rows, INCOMING_COLUMNS, fmt, f"so-den-{year}")
