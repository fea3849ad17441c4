"""The one validation engine for PDF signatures and document time-stamps (PAdES, ETSI EN 319 102-1 verdicts).

``validate_pdf(source, policy) -> VerificationReport``; ``report.to_json()`` is the interfaces.md report v1."""

from typing import Any

from .engine import validate_pdf
from .policy import ValidationPolicy, load_certs
from .report import (
    INDETERMINATE,
    NO_SIGNATURE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    Message,
    SignatureReport,
    SignerInfo,
    VerificationReport,
)

__all__ = ["validate_pdf", "ValidationPolicy", "load_certs", "VerificationReport", "SignatureReport", "SignerInfo",
           "Message", "TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE", "NO_SIGNATURE", "render_report_pdf"]


def render_report_pdf(report: VerificationReport, images: Any = None) -> bytes:
    """The readable report PDF; ``images``: optional ``pdf_report.PageImages`` of the changed pages."""
    from .pdf_report import render_report_pdf as _render

    return _render(report, images)
