"""Format normalization on intake: office documents and scans to clean PDFs, Vietnamese text and metadata to
canonical forms. Every change to an incoming value is reported as a ``Normalization``.

Entry points: ``documents.normalize_document`` (any file → clean PDF), ``text.normalize_text`` /
``text.normalize_field`` / ``text.detect_encoding`` (Vietnamese text), ``office.get_office_pool`` (the shared
LibreOffice pool)."""
