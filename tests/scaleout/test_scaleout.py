"""The scale-out recipe (scripts/scaleout.py) survives crashes: PostgreSQL, gunicorn web workers, two exchange
workers per node, two hub processes on one hub database. Mid-run one sender worker and one hub process are
SIGKILLed; every document must still be registered exactly once at B, every 03 must be back at A exactly once,
and both nodes' ledgers must verify."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

pytestmark = pytest.mark.slow
N = 10


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pg = os.environ.get("DOCEXCHANGE_TEST_PG_URL")
    if not pg:
        pytest.skip("scale-out needs PostgreSQL: set DOCEXCHANGE_TEST_PG_URL (scripts/test.sh starts one)")
    import scaleout

    tag = f"dxso_{uuid.uuid4().hex[:8]}"
    dep = scaleout.prepare(pg, tmp_path_factory.mktemp("scaleout") / "axis", tag=tag)
    try:
        # short leases so the killed worker's claimed rows come back within the test
        scaleout.start(dep, hubs=2, web="gunicorn", web_workers=2, exchange_workers=2, interval=0.1,
                       lease_seconds=5, batch=4)
        yield dep
    finally:
        scaleout.stop(dep)
        scaleout.drop_databases(pg, tag)


def _wait_until_holding_a_lease(dep: Any, pid: int, timeout: float) -> bool:
    from sqlalchemy import select

    from docexchange.db import Database
    from docexchange.exchange.models import OutboxItem

    db = Database(dep.nodes["A"].database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with db.reading() as s:
                if s.execute(select(OutboxItem.id).where(OutboxItem.state == "pending",
                                                         OutboxItem.lease_owner.like(f"%:{pid}"))).first():
                    return True
            time.sleep(0.02)
        return False
    finally:
        db.dispose()


def test_killing_a_worker_and_a_hub_mid_run_loses_and_duplicates_nothing(deployment: Any, tmp_path: Path) -> None:
    import scaleout
    from sqlalchemy import select

    from docexchange.db import Database
    from docexchange.exchange.models import IncomingDocument, IncomingRegisterEntry

    dep = deployment
    assert len(dep.procs_named("hub")) == 2 and len(dep.procs_named("A-worker")) == 2
    issuer = scaleout.Issuer(dep.node_settings("A"), scaleout.sample_pdf(tmp_path))
    drafts = [issuer.prepare(f"Văn bản thử mở rộng quy mô {i}", [scaleout.NGHEAN]) for i in range(N)]
    with ThreadPoolExecutor(2) as pool:
        first = list(pool.map(issuer.issue, drafts[: N // 2]))
        victim_worker, victim_hub = dep.procs_named("A-worker")[0], dep.procs_named("hub1")[0]
        _wait_until_holding_a_lease(dep, victim_worker.pid, 5)  # kill it with claimed rows in hand if we can
        victim_worker.kill()
        victim_hub.kill()
        assert not victim_worker.alive() and not victim_hub.alive()
        second = list(pool.map(issuer.issue, drafts[N // 2:]))
    issued = first + second
    out = scaleout.wait_done(dep, issued, 75)
    assert out["lost"] == 0
    assert len(out["registered"]) == N, f"{len(out['registered'])}/{N} registered at B"
    assert out["duplicated"] == 0 and out["not_registered"] == 0
    assert all(out["acks"].get(i.doc_id) == 1 for i in issued), out["acks"]

    db_b = Database(dep.nodes["B"].database_url)
    with db_b.reading() as s:
        rows = s.execute(select(IncomingDocument.edxml_document_id, IncomingDocument.verdict,
                                IncomingDocument.arrival_number)
                         .where(IncomingDocument.edxml_document_id.in_([i.edxml_document_id for i in issued]))).all()
        register = s.execute(select(IncomingRegisterEntry.arrival_number)).scalars().all()
    db_b.dispose()
    assert sorted(r[0] for r in rows) == sorted(i.edxml_document_id for i in issued)
    assert {r[1] for r in rows} == {"TOTAL_PASSED"}
    arrivals = sorted(int(r[2] or 0) for r in rows)
    assert arrivals == list(range(1, N + 1)) and sorted(register) == arrivals  # gapless, once each

    for name in ("A", "B"):
        proc = subprocess.run([sys.executable, "-m", "docexchange.cli", "ledger", "verify"], env=dep.nodes[name].env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and "ledger intact" in proc.stdout, (name, proc.stdout, proc.stderr)
