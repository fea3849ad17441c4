"""Binds the documents workflow to the node's services (signing engine, intake normalization, exchange)."""

from __future__ import annotations

from pathlib import Path

from ..formats.documents import normalize_document
from ..services import Services
from .service import Deps


def normalize_upload(src: Path, filename: str) -> tuple[Path, list[dict[str, str]]]:
    """Any supported office document, image or PDF → a clean PDF; what changed is recorded."""
    result = normalize_document(src, filename, out_dir=src.parent / "normalized")
    changes = [n.as_dict() for n in result.normalizations]
    changes += [{"field": "file", "from": item, "to": "removed"} for item in result.removed]
    changes += [{"field": "file", "from": item, "to": "repaired"} for item in result.repairs]
    if not result.unchanged and result.kind != "pdf":
        changes.append({"field": "file", "from": result.kind, "to": "pdf/a" if result.pdfa else "pdf"})
    return result.pdf_path, changes


def deps_for(svc: Services) -> Deps:
    # The signing engine is bound here once it is available.
    return Deps(blobs=svc.blobs, ledger=svc.ledger, normalize=normalize_upload)
