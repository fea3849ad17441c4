"""Format normalization on intake: office documents and scans to clean PDFs, Vietnamese text and metadata to
canonical forms. Every change to an incoming value is reported as a ``Normalization``."""
