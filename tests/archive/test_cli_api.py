"""``docexchange archive`` commands and GET /api/v1/archive/inventory (scoping by role)."""

from __future__ import annotations

import json
import uuid

from click.testing import CliRunner
from sqlalchemy import select

from docexchange.archive.models import ArchiveVersion
from docexchange.cli import main
from docexchange.exchange.models import IncomingDocument
from docexchange.models import Agency
from tests.conftest import login

from .conftest import BNV, SHORT_DAYS, ArchiveNode


def _env(svc: object) -> dict[str, str]:
    st = svc.settings  # type: ignore[attr-defined]
    return {"DOCEXCHANGE_INSTANCE_DIR": str(st.instance_dir), "DOCEXCHANGE_DATABASE_URL": st.database_url,
            "DOCEXCHANGE_BLOB_DIR": str(st.blob_dir), "DOCEXCHANGE_CERTS_DIR": str(st.certs_dir),
            "DOCEXCHANGE_PUBLIC_URL": st.public_url, "DOCEXCHANGE_SECRET_KEY": "test-secret"}


def test_cli_inventory_refresh(archive_node: ArchiveNode) -> None:
    runner, env = CliRunner(), _env(archive_node.svc)
    r = runner.invoke(main, ["archive", "inventory", "--json"], env=env)
    assert r.exit_code == 0, r.output
    items = json.loads(r.output)
    doc = next(i for i in items if i["kind"] == "document")
    assert doc["level"] == "B-LT" and doc["sha256"] == archive_node.signed_sha
    assert SHORT_DAYS - 2 <= doc["days_left"] <= SHORT_DAYS

    r = runner.invoke(main, ["archive", "inventory"], env=env)
    assert r.exit_code == 0 and "document" in r.output and archive_node.signed_sha[:16] in r.output

    r = runner.invoke(main, ["archive", "refresh", "--before-days", "-1"], env=env)
    assert r.exit_code == 4 and "không được âm" in r.output

    r = runner.invoke(main, ["archive", "refresh", "--dry-run", "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert {x["kind"] for x in json.loads(r.output)} == {"document", "incoming"}
    with archive_node.svc.db.reading() as s:
        assert s.execute(select(ArchiveVersion)).first() is None

    r = runner.invoke(main, ["archive", "refresh"], env=env)
    assert r.exit_code == 0, r.output
    assert "2 file(s) refreshed" in r.output
    r = runner.invoke(main, ["archive", "refresh"], env=env)
    assert r.exit_code == 0 and "0 file(s) refreshed" in r.output


def test_api_inventory_scoped(archive_node: ArchiveNode) -> None:
    from docexchange.app import create_app

    svc = archive_node.svc
    with svc.db.transaction() as s:
        other = s.execute(select(Agency).where(Agency.code != BNV)).scalars().first()
        assert other is not None
        s.add(IncomingDocument(public_id=str(uuid.uuid4()), agency_id=other.id, hub_doc_id="hub-2",
                               sender_code=BNV, edxml_document_id="Y", package_sha256=archive_node.signed_sha,
                               main_pdf_sha256=archive_node.signed_sha))
        other_code = other.code
    app = create_app(svc.settings)
    app.testing = True
    c = app.test_client()
    pw = svc.secrets["demo_password"]
    auditor = c.get("/api/v1/archive/inventory", headers=login(c, "kiemtoan", pw))
    assert auditor.status_code == 200
    codes = sorted(i["agency_code"] for i in auditor.get_json()["items"])
    assert codes.count(BNV) == 2 and codes.count(other_code) == 1
    admin = c.get("/api/v1/archive/inventory", headers=login(c, "admin", pw, role="admin"))
    assert admin.status_code == 200
    items = admin.get_json()["items"]
    assert len(items) == 2 and {i["agency_code"] for i in items} == {BNV}
    assert all(i["verifiable_until"] and i["level"] for i in items)
    clerk = c.get("/api/v1/archive/inventory", headers=login(c, "bnv.vanthu", pw))
    assert clerk.status_code == 403
    assert c.get("/api/v1/archive/inventory").status_code == 401


def test_missing_blob_is_reported_not_fatal(archive_node: ArchiveNode) -> None:
    from docexchange.archive.service import inventory, refresh

    svc = archive_node.svc
    with svc.db.transaction() as s:
        agency = s.execute(select(Agency).where(Agency.code == BNV)).scalar_one()
        row = IncomingDocument(public_id=str(uuid.uuid4()), agency_id=agency.id, hub_doc_id="hub-missing",
                               sender_code=BNV, edxml_document_id="Z", package_sha256="0" * 64,
                               main_pdf_sha256="f" * 64)
        s.add(row)
        s.flush()
        rid = row.id
    item = next(i for i in inventory(svc) if i.id == rid and i.kind == "incoming")
    assert item.error.startswith("BlobNotFound") and item.verifiable_until is None
    assert all(r.id != rid for r in refresh(svc, dry_run=True))
    r = CliRunner().invoke(main, ["archive", "inventory"], env=_env(svc))
    assert r.exit_code == 1 and "ERROR BlobNotFound" in r.output
