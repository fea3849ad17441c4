"""Tables of certified copies (chứng thực bản sao từ bản chính, book SCT/BS) and agency copies (Decree 30)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, UTCDateTime, utcnow

BOOK_TYPE = "SCT/BS"
BOOK_SERIES = "SCT/BS"  # the numbering series (documents.numbering) of the certification book
AGENCY_COPY_SERIES = "copies"  # Decree 30: one series for SAO Y, SAO LỤC and TRÍCH SAO
CERTIFYING_KINDS = ("commune", "notary")
COPY_FORMS = {"SAO Y": "SY", "SAO LỤC": "SL", "TRÍCH SAO": "TrS"}

# Decree 23/2015 Art. 22: the six grounds on which a certifier must refuse (code -> (vi, en))
REFUSAL_GROUNDS: dict[int, tuple[str, str]] = {
    1: ("Bản chính bị tẩy xóa, sửa chữa, thêm, bớt nội dung không hợp lệ",
        "the original was erased, altered or added to invalidly"),
    2: ("Bản chính bị hư hỏng, cũ nát, không xác định được nội dung",
        "the original is damaged or worn so that its content cannot be determined"),
    3: ("Bản chính đóng dấu mật của cơ quan, tổ chức có thẩm quyền hoặc ghi rõ không được sao chụp",
        "the original is stamped secret by a competent body or marked 'do not copy'"),
    4: ("Bản chính có nội dung trái pháp luật, đạo đức xã hội; tuyên truyền, kích động chiến tranh, chống chế độ "
        "xã hội chủ nghĩa Việt Nam; xuyên tạc lịch sử; xúc phạm danh dự, nhân phẩm, uy tín của cá nhân, tổ chức; "
        "vi phạm quyền công dân",
        "the original's content is contrary to law or social ethics, propaganda against the State, distorts "
        "history, insults persons or organisations, or infringes civic rights"),
    5: ("Bản chính do cơ quan, tổ chức có thẩm quyền của nước ngoài cấp, công chứng hoặc chứng nhận chưa được "
        "hợp pháp hóa lãnh sự theo quy định",
        "the original was issued or notarised abroad and has not been consular-legalised"),
    6: ("Giấy tờ, văn bản do cá nhân tự lập nhưng không có xác nhận và đóng dấu của cơ quan, tổ chức có "
        "thẩm quyền",
        "a paper self-made by an individual without certification and seal of a competent body"),
}


class CertifiedCopy(Base):
    """One certification request and its outcome: ``certified`` (a number in the SCT/BS book), ``refused``
    (one of the six grounds, no number) or ``annulled`` (a certified copy declared wrongly certified)."""

    __tablename__ = "certified_copies"
    __table_args__ = (
        UniqueConstraint("agency_id", "year", "book_type", "number", name="uq_certified_copies_book_number"),
        UniqueConstraint("agency_id", "idempotency_key", name="uq_certified_copies_idempotency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # public verification code
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(12))  # certified | refused | annulled
    # the book (Decree 23 Art. 13): number restarts at 01 each year, book_no (quyển số) when a book fills
    book_type: Mapped[str] = mapped_column(String(10), default=BOOK_TYPE)
    year: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[int | None] = mapped_column(Integer)
    book_no: Mapped[int | None] = mapped_column(Integer)
    # requester and original (§4.5 record)
    requester_name: Mapped[str] = mapped_column(String(100))
    requester_id_number: Mapped[str] = mapped_column(String(20), index=True)
    original_type: Mapped[str] = mapped_column(String(200))
    original_issuer: Mapped[str] = mapped_column(String(250))
    original_number: Mapped[str] = mapped_column(String(60), default="")
    original_issue_date: Mapped[str] = mapped_column(String(10), default="")  # ISO date
    page_count: Mapped[int] = mapped_column(Integer)  # pages of the original (fee basis)
    copies: Mapped[int] = mapped_column(Integer, default=1)
    fee_vnd: Mapped[int] = mapped_column(Integer, default=0)
    # who and when
    certifier_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    certifier_name: Mapped[str] = mapped_column(String(100))
    certifier_title: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    local_date: Mapped[str] = mapped_column(String(10), index=True)  # ISO date in Vietnam time (book, search)
    # scan and result
    scan_sha256: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of the uploaded files' hashes
    scan_params: Mapped[str] = mapped_column(Text, default="{}")  # JSON: format, pages, min dpi, colour, warnings
    statement: Mapped[str] = mapped_column(Text, default="")
    attestation: Mapped[str] = mapped_column(Text, default="{}")  # the JSON embedded in the PDF
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdf_size: Mapped[int | None] = mapped_column(Integer)
    # refusal
    refusal_ground: Mapped[int | None] = mapped_column(Integer)
    refusal_reason: Mapped[str] = mapped_column(Text, default="")
    refusal_note_sha256: Mapped[str | None] = mapped_column(String(64))
    # annulment (Circular 01/2020 Art. 7)
    annulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    annul_reason: Mapped[str] = mapped_column(Text, default="")
    annulled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def number_text(self) -> str | None:
        """``05``: numbers below 10 zero-padded, as in the book."""
        return None if self.number is None else f"{self.number:02d}"

    @property
    def book_text(self) -> str | None:
        """Quyển số as printed: ``01/2026-SCT/BS``."""
        return None if self.book_no is None else f"{self.book_no:02d}/{self.year}-{self.book_type}"


class AgencyCopy(Base):
    """A Decree 30 copy (SAO Y / SAO LỤC / TRÍCH SAO) made by an agency of its own document or of a paper
    document it holds (paper -> electronic SAO Y)."""

    __tablename__ = "agency_copies"
    __table_args__ = (UniqueConstraint("agency_id", "year", "number", name="uq_agency_copies_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    form: Mapped[str] = mapped_column(String(12))  # SAO Y | SAO LỤC | TRÍCH SAO
    source_kind: Mapped[str] = mapped_column(String(12))  # document | copy | paper
    source_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    source_copy_id: Mapped[int | None] = mapped_column(ForeignKey("agency_copies.id"))
    source_sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[str] = mapped_column(String(200), default="")  # TRÍCH SAO: the extracted pages, e.g. "1-2,4"
    description: Mapped[str] = mapped_column(String(500), default="")
    scan_params: Mapped[str] = mapped_column(Text, default="{}")
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def number_text(self) -> str:
        return f"{self.number:02d}/{COPY_FORMS[self.form]}"
