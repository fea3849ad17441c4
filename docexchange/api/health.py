"""Liveness and readiness."""

from __future__ import annotations

import hashlib

from apiflask import APIBlueprint
from sqlalchemy import text

from ._deps import services

bp = APIBlueprint("health", __name__, tag="Operations")


@bp.get("/healthz")
@bp.doc(summary="Health: database, blob store and TSA")
def healthz() -> tuple[dict[str, object], int]:
    svc = services()
    checks: dict[str, str] = {}
    try:
        with svc.db.reading() as s:
            s.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # report, never crash the probe
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        checks["blob_store"] = "ok" if svc.blobs.check() else "error"
    except OSError as exc:
        checks["blob_store"] = f"error: {exc.strerror}"
    try:
        svc.tsa.stamp(hashlib.sha256(b"healthz").digest())
        checks["tsa"] = "ok"
    except Exception as exc:
        checks["tsa"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return {"status": "ok" if ok else "degraded", "checks": checks}, 200 if ok else 503
