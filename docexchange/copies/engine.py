"""Binds the copies workflow to the node's services: the node's one signing engine (``NodeSigning``: profiles
person/seal/copy, PAdES B-LT with in-process OCSP/CRL/TSA for the node's own certificates) and the validation
engine (``validate_pdf`` with the node's trust anchors)."""

from __future__ import annotations

import os

from ..auth import PinPolicy
from ..services import Services
from .service import CopySigning, Deps, Validator


def signing_for(svc: Services) -> CopySigning:
    """The node's signing engine (profiles person/seal/copy, B-LT)."""
    from ..node_signing import node_signing

    return node_signing(svc)


def validator_for(svc: Services) -> Validator:
    """The validation engine: PDF path -> interfaces.md verification report."""
    from ..signing.validation import ValidationPolicy, validate_pdf

    policy = ValidationPolicy(trust_anchors=svc.ca.anchors(), offline=svc.settings.offline_validation,
                              fetch_allow=svc.settings.fetch_allow_list())
    return lambda path: validate_pdf(path, policy).to_dict()


def deps_for(svc: Services) -> Deps:
    s = svc.settings
    return Deps(blobs=svc.blobs, ledger=svc.ledger, public_url=s.public_url, signing=signing_for(svc),
                validate=validator_for(svc),
                book_capacity=int(os.environ.get("DOCEXCHANGE_COPY_BOOK_CAPACITY", "500")),
                colour="warn" if os.environ.get("DOCEXCHANGE_COPY_COLOUR", "require") == "warn" else "require",
                max_upload_bytes=s.max_upload_bytes, pin_policy=PinPolicy.from_settings(s))
