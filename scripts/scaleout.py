#!/usr/bin/env python3
"""Scale-out deployment on PostgreSQL, on one machine: two hub processes behind one hub database, two agency
nodes (A: Bộ Nội vụ 000.00.00.G09, also the dev CA; B: UBND tỉnh Nghệ An 000.00.00.H41), each with gunicorn web
workers and several exchange worker processes. Every database lives on the same PostgreSQL server; the
processes coordinate only through their databases (outbox leases with ``SKIP LOCKED``, receipt advisory locks).
Node workers get both hub URLs (``DOCEXCHANGE_HUB_URL=http://h1,http://h2``) and fail over between them.

    python scripts/scaleout.py up --pg postgresql+psycopg://u:p@127.0.0.1:5432/postgres --dir /tmp/dx \\
        [--web-workers 2] [--exchange-workers 2] [--hubs 2]

prepares the databases (dropping earlier ones of the same ``--tag``), starts everything, writes
``<dir>/deployment.json`` (URLs, database URLs, process ids, demo secrets file) and runs until Ctrl-C / SIGTERM.
``bench/exchange.py``, ``bench/load.py`` and ``tests/scaleout`` use the same functions in-process."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BNV, NGHEAN = "000.00.00.G09", "000.00.00.H41"
PY = sys.executable
CLI = [PY, "-m", "docexchange.cli"]

from docexchange.netutil import free_port, wait_http  # noqa: E402


@dataclass
class Proc:
    """One OS process (own process group, so a kill takes its children, e.g. gunicorn's workers)."""

    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.popen = subprocess.Popen(self.args, env=self.env, stdout=open(self.log, "ab"),  # noqa: SIM115
                                      stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, wait: float = 15) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
                self.popen.wait(wait)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
            except ProcessLookupError:
                pass
        self.popen = None

    def kill(self) -> None:
        """SIGKILL, no clean-up: what a crash or the OOM killer does."""
        self.stop(signal.SIGKILL)


@dataclass
class NodeInfo:
    name: str
    code: str
    url: str
    port: int
    dir: Path
    database_url: str
    env: dict[str, str]
    extra_env: dict[str, str] = field(default_factory=dict)  # DOCEXCHANGE_* settings of this node's processes


@dataclass
class Deployment:
    root: Path
    pg_url: str
    tag: str
    hub_database_url: str
    hub_urls: list[str]
    nodes: dict[str, NodeInfo]
    secrets: dict[str, str]
    procs: list[Proc] = field(default_factory=list)
    extra_credentials: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (system id, secret)

    def node_settings(self, name: str) -> Any:
        from docexchange.config import Settings

        n = self.nodes[name]
        saved = {k: os.environ.get(k) for k in n.extra_env}
        os.environ.update(n.extra_env)  # the same settings as the node's own processes
        try:
            return Settings.from_env(instance_dir=n.dir, database_url=n.database_url, blob_dir=n.dir / "blobs",
                                     certs_dir=n.dir / "certs", public_url=n.url, hub_url=",".join(self.hub_urls))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def procs_named(self, prefix: str) -> list[Proc]:
        return [p for p in self.procs if p.name.startswith(prefix)]

    def to_json(self) -> dict[str, Any]:
        return {"root": str(self.root), "hub_urls": self.hub_urls, "hub_database_url": self.hub_database_url,
                "nodes": {k: {"code": n.code, "url": n.url, "database_url": n.database_url, "dir": str(n.dir)}
                          for k, n in self.nodes.items()},
                "secrets_file": str(self.nodes["A"].dir / "secrets.json"),
                "processes": {p.name: p.pid for p in self.procs if p.alive()}}


@dataclass
class Issued:
    public_id: str
    doc_id: int
    edxml_document_id: str
    issued_at: datetime  # when the issuance transaction committed (UTC)


class Issuer:
    """Drafts, signs and issues documents at node A in this process (documents service, A's database)."""

    def __init__(self, settings: Any, pdf: bytes) -> None:
        from sqlalchemy import select

        from docexchange.auth import principal_for_user
        from docexchange.documents.engine import deps_for
        from docexchange.models import User
        from docexchange.services import Services

        self.svc = Services(settings)
        self.deps = deps_for(self.svc)
        self.pin = self.svc.secrets["demo_pin"]
        self.pdf = pdf
        with self.svc.db.transaction() as s:
            clerk = s.execute(select(User).where(User.username == "bnv.vanthu")).scalar_one()
            signer = s.execute(select(User).where(User.username == "bnv.lanhdao")).scalar_one()
            self.clerk = principal_for_user(s, clerk, "clerk")
            self.signer = principal_for_user(s, signer, "signer")

    def prepare(self, subject: str, recipients: list[str]) -> str:
        """A signed draft (not measured)."""
        from docexchange.documents.service import DraftInput, create_draft, perform

        with self.svc.db.transaction() as s:
            doc = create_draft(s, self.deps, self.clerk, io.BytesIO(self.pdf), "qd.pdf",
                               DraftInput(type_name="Quyết định", type_abbr="QĐ", subject=subject,
                                          recipients=recipients, signer_username="bnv.lanhdao"))
            public_id = doc.public_id
        perform(self.svc.db, self.deps, self.signer, public_id, "sign", self.pin)
        return public_id

    def issue(self, public_id: str) -> Issued:
        from docexchange.documents.service import perform

        doc = perform(self.svc.db, self.deps, self.clerk, public_id, "issue", self.pin)
        return Issued(public_id, doc.id, doc.edxml_document_id or "", datetime.now(UTC))


def sample_pdf(tmp: Path) -> bytes:
    from tests.signing.pdfgen import decree30_pdf

    return decree30_pdf(tmp / "qd.pdf", signer="Nguyễn Văn Thắng", position="BỘ TRƯỞNG", authority="",
                        number="Số:      /QĐ-BNV").read_bytes()


def outcome(dep: Any, issued: list[Issued]) -> dict[str, Any]:
    """Per document: registration time at B, number of rows at B, number of 03 at A (from the databases)."""
    from sqlalchemy import func, select

    from docexchange.db import Database
    from docexchange.exchange.models import IncomingDocument, RecipientStatus

    ids = [i.edxml_document_id for i in issued]
    db_b, db_a = Database(dep.nodes["B"].database_url), Database(dep.nodes["A"].database_url)
    try:
        with db_b.reading() as s:
            rows = s.execute(select(IncomingDocument.edxml_document_id, IncomingDocument.status,
                                    IncomingDocument.received_at)
                             .where(IncomingDocument.edxml_document_id.in_(ids))).all()
        with db_a.reading() as s:
            acks = dict(s.execute(select(RecipientStatus.document_id, func.count())
                                  .where(RecipientStatus.document_id.in_([i.doc_id for i in issued]),
                                         RecipientStatus.status_code == "03")
                                  .group_by(RecipientStatus.document_id)).all())
            ack_at = dict(s.execute(select(RecipientStatus.document_id, func.max(RecipientStatus.received_at))
                                    .where(RecipientStatus.document_id.in_([i.doc_id for i in issued]),
                                           RecipientStatus.status_code == "03")
                                    .group_by(RecipientStatus.document_id)).all())
    finally:
        db_a.dispose()
        db_b.dispose()
    at_b: dict[str, list[tuple[str, datetime]]] = {}
    for eid, status, when in rows:
        at_b.setdefault(eid, []).append((status, when))
    registered = {eid: v[0][1] for eid, v in at_b.items() if len(v) == 1 and v[0][0] == "registered"}
    return {
        "registered": registered,
        "lost": sum(1 for i in issued if i.edxml_document_id not in at_b),
        "duplicated": sum(len(v) - 1 for v in at_b.values()) + sum(max(0, c - 1) for c in acks.values()),
        "not_registered": sum(1 for eid, v in at_b.items() if all(st != "registered" for st, _ in v)),
        "acks": acks, "ack_at": ack_at,
    }


def wait_done(dep: Any, issued: list[Issued], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        out = outcome(dep, issued)
        if (len(out["registered"]) >= len(issued) and len(out["acks"]) >= len(issued)) or \
                time.monotonic() > deadline:
            return out
        time.sleep(0.1)


def _db_url(pg_url: str, name: str) -> str:
    return pg_url.rsplit("/", 1)[0] + f"/{name}"


def _admin(pg_url: str) -> Any:
    import sqlalchemy as sa

    return sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")


def drop_databases(pg_url: str, tag: str) -> None:
    import sqlalchemy as sa

    admin = _admin(pg_url)
    with admin.connect() as conn:
        for suffix in ("a", "b", "hub"):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{tag}_{suffix}" WITH (FORCE)'))
    admin.dispose()


def prepare(pg_url: str, root: Path, tag: str = "dxscale", extra_agencies: int = 0,
            public_ports: dict[str, int] | None = None) -> Deployment:
    """Fresh databases ``<tag>_a``, ``<tag>_b`` (a copy of A: the CA-issued keys and directory rows, as in
    tests/exchange) and ``<tag>_hub``; dev PKI and demo data at A; BNV registered on the hub from A, Nghệ An
    from B. ``extra_agencies`` registers that many more agency credentials on the hub (for bench/load.py).
    ``public_ports`` gives a node a public URL on another port than the one its web server binds (a proxy in
    front of it: the chaos test cuts A's CRL/OCSP/TSA there)."""
    import sqlalchemy as sa
    from sqlalchemy import update

    from docexchange.axis.hub.db import migrate
    from docexchange.axis.hub.service import HubService
    from docexchange.axis.hub.settings import HubSettings
    from docexchange.blobstore import BlobStore
    from docexchange.config import Settings
    from docexchange.db import Database
    from docexchange.exchange.engine import register_on_hub
    from docexchange.models import Agency
    from docexchange.seed import init_node
    from docexchange.services import Services

    drop_databases(pg_url, tag)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    a_port, b_port = free_port(), free_port()
    public = {"A": a_port, "B": b_port} | (public_ports or {})
    nodes = {
        "A": NodeInfo("A", BNV, f"http://127.0.0.1:{public['A']}", a_port, root / "a",
                      _db_url(pg_url, f"{tag}_a"), {}),
        "B": NodeInfo("B", NGHEAN, f"http://127.0.0.1:{public['B']}", b_port, root / "b",
                      _db_url(pg_url, f"{tag}_b"), {}),
    }
    admin = _admin(pg_url)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{tag}_a"'))
        conn.execute(sa.text(f'CREATE DATABASE "{tag}_hub"'))
    a = nodes["A"]
    svc_a = Services(Settings.from_env(instance_dir=a.dir, database_url=a.database_url, blob_dir=a.dir / "blobs",
                                       certs_dir=a.dir / "certs", public_url=a.url))
    init_node(svc_a, demo=True)
    secrets = dict(svc_a.secrets)
    svc_a.db.dispose()
    with admin.connect() as conn:  # B starts from a copy of A (nobody is connected to A now)
        conn.execute(sa.text(f'CREATE DATABASE "{tag}_b" TEMPLATE "{tag}_a"'))
    admin.dispose()
    shutil.copytree(a.dir, nodes["B"].dir)

    hub_db_url = _db_url(pg_url, f"{tag}_hub")
    hub_dir = root / "hub"
    hub_dir.mkdir()
    dep = Deployment(root, pg_url, tag, hub_db_url, [], nodes, secrets)
    hub_settings = HubSettings.from_env(svc_a.settings, database_url=hub_db_url, blob_dir=hub_dir / "hub-blobs")
    hub_db = Database(hub_db_url)
    migrate(hub_db)
    hub = HubService(hub_db, BlobStore(hub_settings.blob_dir), hub_settings)
    for name, hosted in (("A", BNV), ("B", NGHEAN)):
        svc = Services(dep.node_settings(name))
        with svc.db.transaction() as s:
            s.execute(update(Agency).values(hub_system_id=None, hub_secret=None))
        register_on_hub(svc, hub, [hosted])
        svc.db.dispose()
    for i in range(extra_agencies):
        code = f"000.00.{i // 100:02d}.Z{i % 100:02d}"
        hub.register_agency(code, f"Cơ quan mô phỏng {i + 1}")
        dep.extra_credentials[code] = hub.issue_credentials(code)
    hub_db.dispose()
    return dep


def start(dep: Deployment, *, hubs: int = 2, web: str = "gunicorn", web_workers: int = 2, web_threads: int = 4,
          exchange_workers: int = 2, interval: float = 0.2, lease_seconds: int = 120, batch: int = 20) -> None:
    """Start the hub processes, then each node's web server and exchange workers; returns when all answer."""
    hub_dir = dep.root / "hub"
    ports = [free_port() for _ in range(hubs)]
    dep.hub_urls = [f"http://127.0.0.1:{p}" for p in ports]
    base = dict(os.environ, PYTHONUNBUFFERED="1")
    for i, port in enumerate(ports):
        env = dict(base, DOCEXCHANGE_INSTANCE_DIR=str(hub_dir), DOCEXCHANGE_HUB_DATABASE_URL=dep.hub_database_url,
                   DOCEXCHANGE_HUB_BLOB_DIR=str(hub_dir / "hub-blobs"), DOCEXCHANGE_HUB_URL=dep.hub_urls[i],
                   DOCEXCHANGE_CERTS_DIR=str(dep.nodes["A"].dir / "certs"))
        dep.procs.append(Proc(f"hub{i + 1}", CLI + ["axis", "serve", "--port", str(port)], env,
                              dep.root / f"hub{i + 1}.log").start())
    for url in dep.hub_urls:
        wait_http(f"{url}/healthz")
    for n in dep.nodes.values():
        n.env = dict(base, DOCEXCHANGE_INSTANCE_DIR=str(n.dir), DOCEXCHANGE_CERTS_DIR=str(n.dir / "certs"),
                     DOCEXCHANGE_BLOB_DIR=str(n.dir / "blobs"), DOCEXCHANGE_PUBLIC_URL=n.url,
                     DOCEXCHANGE_HUB_URL=",".join(dep.hub_urls), DOCEXCHANGE_DATABASE_URL=n.database_url,
                     # the deployment's CA responders are on loopback: allow-listed (docs/security.md §3)
                     DOCEXCHANGE_FETCH_ALLOW=" ".join(f"{m.url}/pki/" for m in dep.nodes.values()))
        n.env.update(n.extra_env)
        if web == "gunicorn":
            args = [PY, "-m", "gunicorn", "--workers", str(web_workers), "--threads", str(web_threads),
                    "--bind", f"127.0.0.1:{n.port}", "--timeout", "120", "--graceful-timeout", "5", "wsgi:app"]
        else:
            args = CLI + ["serve", "--no-hub", "--workers", "0", "--port", str(n.port), "--threads",
                          str(web_threads)]
        dep.procs.append(Proc(f"{n.name}-web", args, n.env, dep.root / f"{n.name}-web.log").start())
    for n in dep.nodes.values():
        wait_http(f"http://127.0.0.1:{n.port}/healthz", 60)
        for k in range(exchange_workers):
            start_worker(dep, n.name, k + 1, interval=interval, lease_seconds=lease_seconds, batch=batch)


def start_worker(dep: Deployment, node: str, k: int, *, interval: float = 0.2, lease_seconds: int = 120,
                 batch: int = 20) -> Proc:
    n = dep.nodes[node]
    proc = Proc(f"{node}-worker{k}", CLI + ["worker", "--interval", str(interval), "--lease-seconds",
                                            str(lease_seconds), "--batch", str(batch)],
                n.env, dep.root / f"{node}-worker{k}.log").start()
    dep.procs.append(proc)
    return proc


def stop(dep: Deployment) -> None:
    for p in reversed(dep.procs):
        p.stop()
    dep.procs = [p for p in dep.procs if p.alive()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="prepare fresh databases and run the deployment in the foreground")
    up.add_argument("--pg", default=os.environ.get("DOCEXCHANGE_TEST_PG_URL", ""),
                    help="an existing PostgreSQL database URL of a role allowed to CREATE DATABASE")
    up.add_argument("--dir", type=Path, default=Path("/tmp/docexchange-scaleout"))
    up.add_argument("--tag", default="dxscale", help="database name prefix (<tag>_a, <tag>_b, <tag>_hub)")
    up.add_argument("--hubs", type=int, default=2)
    up.add_argument("--web-workers", type=int, default=2)
    up.add_argument("--exchange-workers", type=int, default=2)
    up.add_argument("--lease-seconds", type=int, default=30)
    down = sub.add_parser("drop", help="drop the databases of a tag")
    down.add_argument("--pg", default=os.environ.get("DOCEXCHANGE_TEST_PG_URL", ""))
    down.add_argument("--tag", default="dxscale")
    args = parser.parse_args()
    if not args.pg:
        parser.error("--pg (or DOCEXCHANGE_TEST_PG_URL) is required")
    if args.cmd == "drop":
        drop_databases(args.pg, args.tag)
        return 0
    dep = prepare(args.pg, args.dir.resolve(), args.tag)
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        start(dep, hubs=args.hubs, web_workers=args.web_workers, exchange_workers=args.exchange_workers,
              lease_seconds=args.lease_seconds)
        (dep.root / "deployment.json").write_text(json.dumps(dep.to_json(), indent=2))
        print(json.dumps(dep.to_json(), indent=2), flush=True)
        print("running; Ctrl-C stops every process", flush=True)
        while not stopping:
            time.sleep(0.5)
            for p in dep.procs:
                if not p.alive():
                    print(f"{p.name} exited ({p.popen.returncode if p.popen else '?'}); see {p.log}", flush=True)
                    p.popen = None
            dep.procs = [p for p in dep.procs if p.popen is not None]
    finally:
        stop(dep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
