"""Binds the documents workflow to the node's services (signing engine, intake normalization, exchange)."""

from __future__ import annotations

from ..services import Services
from .service import Deps


def deps_for(svc: Services) -> Deps:
    # The signing engine and the intake normalizer are bound here once they are available.
    return Deps(blobs=svc.blobs, ledger=svc.ledger)
