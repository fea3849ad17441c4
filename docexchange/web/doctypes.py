"""The 29 document types of Decree 30/2020/NĐ-CP Art. 7 with their Appendix III abbreviations.

Kept here, in one place, until ``docexchange.formats.metadata`` publishes the shared constant; then this module
should import it instead (the web layer only needs ``DOC_TYPES`` and ``abbreviation_for``).
"""

from __future__ import annotations

# (type name, abbreviation); công văn and thư công have no abbreviation.
DOC_TYPES: tuple[tuple[str, str], ...] = (
    ("Nghị quyết", "NQ"), ("Quyết định", "QĐ"), ("Chỉ thị", "CT"), ("Quy chế", "QC"), ("Quy định", "QyĐ"),
    ("Thông cáo", "TC"), ("Thông báo", "TB"), ("Hướng dẫn", "HD"), ("Chương trình", "CTr"), ("Kế hoạch", "KH"),
    ("Phương án", "PA"), ("Đề án", "ĐA"), ("Dự án", "DA"), ("Báo cáo", "BC"), ("Biên bản", "BB"),
    ("Tờ trình", "TTr"), ("Hợp đồng", "HĐ"), ("Công điện", "CĐ"), ("Bản ghi nhớ", "BGN"),
    ("Bản thỏa thuận", "BTT"), ("Giấy ủy quyền", "GUQ"), ("Giấy mời", "GM"), ("Giấy giới thiệu", "GGT"),
    ("Giấy nghỉ phép", "GNP"), ("Phiếu gửi", "PG"), ("Phiếu chuyển", "PC"), ("Phiếu báo", "PB"),
    ("Công văn", ""), ("Thư công", ""),
)

_ABBR = dict(DOC_TYPES)


def abbreviation_for(type_name: str) -> str | None:
    """The abbreviation ("" for công văn / thư công), or None when ``type_name`` is not a Decree 30 type."""
    return _ABBR.get(type_name)
