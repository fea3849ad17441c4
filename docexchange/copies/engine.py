"""Binds the copies workflow to the node's services. The signing engine (``CopySigning``) and the validation
engine (``Validator``) are bound here when they are available; until then certification answers 503
``signing_unavailable`` and the public page says the signatures were not checked."""

from __future__ import annotations

import os

from ..services import Services
from .service import CopySigning, Deps, Validator


def signing_for(svc: Services) -> CopySigning | None:
    """The signing engine adapter (profiles person/seal/copy, B-LT). Not bound on this branch."""
    return None


def validator_for(svc: Services) -> Validator | None:
    """The validation engine: PDF path -> interfaces.md verification report. Not bound on this branch."""
    return None


def deps_for(svc: Services) -> Deps:
    s = svc.settings
    return Deps(blobs=svc.blobs, ledger=svc.ledger, public_url=s.public_url, signing=signing_for(svc),
                validate=validator_for(svc),
                book_capacity=int(os.environ.get("DOCEXCHANGE_COPY_BOOK_CAPACITY", "500")),
                colour="warn" if os.environ.get("DOCEXCHANGE_COPY_COLOUR", "require") == "warn" else "require",
                max_upload_bytes=s.max_upload_bytes)
