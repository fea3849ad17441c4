"""docexchange: signed administrative documents, certified copies and edXML exchange."""

__version__ = "0.1.0"
