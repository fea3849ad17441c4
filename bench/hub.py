"""Hub cycles per second on PostgreSQL, both wire schemes (issue 19 §6).

* ``hub.cycle_per_s``: complete send → getReceivedEdocList → getEdoc → updateStatus(done) cycles per second through
  one hub process (waitress, 8 threads) on PostgreSQL, 20 agencies, 200 KB packages, ``CLIENTS`` concurrent
  clients (each sends to its own recipient and drains that mailbox), once with ``HubClient`` (dxhub1) and once
  with ``VdxpHubClient`` (VDXP face). Printed beside ``pg_insert_select_per_s``: plain PostgreSQL insert + select
  round trips per second measured in the same run with the same concurrency (psycopg, one row of 200 bytes each),
  the floor that the database alone allows on this machine.

PostgreSQL: ``DOCEXCHANGE_BENCH_PG_URL`` / ``DOCEXCHANGE_TEST_PG_URL`` when set (a fresh schema is used and
dropped), else a private server started for the run (tests/pgutil.py, scripts/pg.sh) and destroyed after."""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AGENCIES = 20
PACKAGE_BYTES = 200 * 1024
CLIENTS = 8
TARGET = 100.0


@contextmanager
def postgres() -> Iterator[str]:
    url = os.environ.get("DOCEXCHANGE_BENCH_PG_URL") or os.environ.get("DOCEXCHANGE_TEST_PG_URL")
    if url:
        yield url
        return
    from tests.pgutil import PrivatePostgres

    pg = PrivatePostgres()
    try:
        yield pg.url
    finally:
        pg.destroy()


@contextmanager
def schema(pg_url: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"hubbench_{secrets.token_hex(4)}"
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    try:
        yield make_url(pg_url).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        engine.dispose()


def package(sender: str, recipient: str, document_id: str) -> bytes:
    from tests.hub._hubutil import edoc

    payload = os.urandom(PACKAGE_BYTES * 3 // 4)  # base64 makes it ~200 KB
    data = edoc(sender, [recipient], document_id, payload)
    assert len(data) >= PACKAGE_BYTES * 0.95
    return data


def run_cycles(clients: list[tuple[Any, Any, str, str]], per_client: int, tmp: Path) -> float:
    """Each (sender client, recipient client, sender code, recipient code) runs ``per_client`` full cycles;
    returns cycles/s overall."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(clients) + 1)

    def work(i: int, sender: Any, recipient: Any, code: str, to: str) -> None:
        try:
            barrier.wait()
            for k in range(per_client):
                doc_id = f"{code},2026/12/04,{i}-{k}-{secrets.token_hex(3)}/BENCH"
                data = package(code, to, doc_id)
                receipt = sender.send_edoc_bytes(data, "edoc")
                items = [it for it in recipient.get_received_edoc_list("edoc") if it.doc_id == receipt.doc_id]
                assert len(items) == 1, "sent package not listed"
                dest = tmp / f"{i}-{k}.edxml"
                recipient.get_edoc(items[0].doc_id, dest, items[0].content_sha256 or None)
                assert dest.stat().st_size == len(data)
                dest.unlink()
                recipient.update_status(items[0].doc_id, "done")
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, *c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return len(clients) * per_client / elapsed


def pg_insert_select_per_s(pg_url: str, per_client: int) -> float:
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(pg_url)
    dsn = f"host={u.host} port={u.port} dbname={u.database} user={u.username}" + (
        f" password={u.password}" if u.password else "")
    table = f"bench_rows_{secrets.token_hex(4)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, k text UNIQUE, v text)")
    barrier = threading.Barrier(CLIENTS + 1)

    def work(i: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            barrier.wait()
            for k in range(per_client):
                key = f"{i}-{k}"
                conn.execute(f"INSERT INTO {table} (k, v) VALUES (%s, %s)", (key, "x" * 200))
                assert conn.execute(f"SELECT v FROM {table} WHERE k = %s", (key,)).fetchone() is not None

    threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {table}")
    return CLIENTS * per_client / elapsed


def _clients(hub_url: str, service: Any, codes: list[str], scheme: str) -> list[tuple[Any, Any, str, str]]:
    from docexchange.axis.client import HubClient, VdxpHubClient

    made: dict[str, Any] = {}
    for code in codes:
        system_id, secret = service.issue_credentials(code, f"{scheme[:2].upper()}-{code}", scheme=scheme)
        if scheme == "vdxp":
            made[code] = VdxpHubClient(hub_url + "/XrdAdapter/adapter", system_id, secret, agency_code=code)
        else:
            made[code] = HubClient(hub_url, system_id, secret)
    pairs = []
    for i in range(CLIENTS):  # sender i → recipient i + CLIENTS (distinct mailboxes per client)
        s, r = codes[i], codes[(i + CLIENTS) % len(codes)]
        pairs.append((made[s], made[r], s, r))
    return pairs


def run(quick: bool = False) -> list[dict[str, Any]]:
    from docexchange.axis.hub.db import migrate
    from docexchange.axis.hub.service import HubService
    from docexchange.axis.hub.settings import HubSettings
    from docexchange.blobstore import BlobStore
    from docexchange.db import Database
    from tests.hub._hubutil import HubProcess

    per_client = 10 if quick else 40
    rows: list[dict[str, Any]] = []
    with postgres() as pg_url, schema(pg_url) as hub_url_db, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "hub").mkdir()
        hub = HubProcess(tmp / "hub", hub_url_db)
        settings = HubSettings(database_url=hub_url_db, blob_dir=tmp / "hub" / "blobs")
        db = Database(hub_url_db)
        migrate(db)
        service = HubService(db, BlobStore(settings.blob_dir), settings)
        codes = [f"{100 + i:03d}.00.77.H41" for i in range(AGENCIES)]
        for code in codes:
            service.register_agency(code, f"Cơ quan {code}")
        hub.start()
        try:
            baseline = pg_insert_select_per_s(pg_url, per_client * 4)
            for scheme in ("dxhub1", "vdxp"):
                clients = _clients(hub.url, service, codes, scheme)
                run_cycles(clients, 2, tmp)  # warm-up (connections, caches)
                values = [run_cycles(clients, per_client, tmp) for _ in range(1 if quick else 3)]
                rows.append({
                    "name": "hub.cycle_per_s", "scheme": scheme, "unit": "cycles/s",
                    "value": round(statistics.median(values), 1), "runs": [round(v, 1) for v in values],
                    "pg_insert_select_per_s": round(baseline, 1),
                    "baseline": f"plain PostgreSQL insert+select per second, {CLIENTS} connections, same run",
                    "setup": f"1 hub process (waitress 8 threads), PostgreSQL, {AGENCIES} agencies, "
                             f"{PACKAGE_BYTES // 1024} KB packages, {CLIENTS} concurrent clients",
                    "target": TARGET, "better": "higher"})
        finally:
            hub.stop()
            db.dispose()
    return rows


if __name__ == "__main__":
    import json

    quick = "--quick" in sys.argv
    for row in run(quick=quick):
        print(json.dumps(row, ensure_ascii=False))

