"""Outgoing documents: drafts, the person's signature, numbering, the agency seal, the outgoing register."""
