"""Binds the documents workflow to the node's services (signing engine, intake normalization, exchange)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from ..formats.documents import normalize_document
from ..models import Agency
from ..services import Services
from .models import Document
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
    from ..exchange.engine import exchange_deps_for
    from ..exchange.service import queue_issued_document
    from ..node_signing import node_signing

    signing = node_signing(svc)

    def on_issued(session: Session, doc: Document, seal_pin: str, actor: str) -> None:
        agency = session.get(Agency, doc.agency_id)
        assert agency is not None
        queue_issued_document(session, exchange_deps_for(svc), doc, signing.seal_identity(agency, seal_pin), actor)

    return Deps(blobs=svc.blobs, ledger=svc.ledger, signing=signing, normalize=normalize_upload,
                on_issued=on_issued)
