"""A small axis deployment in real processes: one hub, two agency nodes (A hosts Bộ Nội vụ, B hosts UBND tỉnh
Nghệ An), each node a web process plus an exchange worker process, all talking HTTP on loopback.

Node A is the dev CA (its certificates point OCSP/CRL at A); B starts from a copy of A's database and keys, as
an agency would receive its certificates from the CA, and hosts only its own agency."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, update

from tests.conftest import free_port, make_settings, wait_http

BNV, NGHEAN = "000.00.00.G09", "000.00.00.H41"


@dataclass
class Proc:
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        self.popen = subprocess.Popen(self.args, env=self.env, stdout=open(self.log, "ab"),  # noqa: SIM115
                                      stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        self.popen = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@dataclass
class Node:
    name: str
    url: str
    env: dict[str, str]
    settings: object
    web: Proc
    worker: Proc
    password: str = ""
    pin: str = ""
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def token(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            r = requests.post(f"{self.url}/api/v1/auth/token", json={"username": username, "password": self.password},
                              timeout=30)
            assert r.status_code == 201, r.text
            self.tokens[username] = {"Authorization": f"Bearer {r.json()['token']}"}
        return self.tokens[username]

    def get(self, path: str, user: str) -> requests.Response:
        return requests.get(f"{self.url}{path}", headers=self.token(user), timeout=60)

    def post(self, path: str, user: str, **kw: object) -> requests.Response:
        return requests.post(f"{self.url}{path}", headers=self.token(user), timeout=120, **kw)  # type: ignore[arg-type]


@dataclass
class Axis:
    hub_url: str
    hub: Proc
    hub_dir: Path
    a: Node
    b: Node


def _env(instance: Path, certs: Path, url: str, hub_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"DOCEXCHANGE_INSTANCE_DIR": str(instance), "DOCEXCHANGE_CERTS_DIR": str(certs),
                "DOCEXCHANGE_PUBLIC_URL": url, "DOCEXCHANGE_HUB_URL": hub_url,
                "DOCEXCHANGE_DATABASE_URL": f"sqlite:///{instance / 'node.db'}", "PYTHONUNBUFFERED": "1"})
    return env


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.25, what: str = ""):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


@pytest.fixture(scope="module")
def axis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Axis]:
    yield from build_axis(tmp_path_factory, "dxhub1")


def build_axis(tmp_path_factory: pytest.TempPathFactory, scheme: str) -> Iterator[Axis]:
    """The deployment; with ``scheme="vdxp"`` the nodes hold VDXP credentials and reach the hub's VDXP face
    (``DOCEXCHANGE_HUB_URL=vdxp+http://…/XrdAdapter/adapter``), as they would the national axis."""
    from docexchange.exchange.engine import register_on_hub
    from docexchange.models import Agency
    from docexchange.seed import init_node
    from docexchange.services import Services

    root = tmp_path_factory.mktemp("axis")
    hub_port, a_port, b_port = free_port(), free_port(), free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    a_url, b_url = f"http://127.0.0.1:{a_port}", f"http://127.0.0.1:{b_port}"
    exe = [sys.executable, "-m", "docexchange.cli"]

    a_dir, b_dir, hub_dir = root / "a", root / "b", root / "hub"
    svc_a = Services(make_settings(a_dir, a_url))
    init_node(svc_a, demo=True)
    svc_a.db.dispose()
    import sqlite3

    with sqlite3.connect(a_dir / "node.db") as raw:  # everything into the main file before copying it
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copytree(a_dir, b_dir)  # B gets the CA-issued keys and the directory rows
    env_hub = _env(hub_dir, a_dir / "certs", hub_url, hub_url)
    hub = Proc(exe + ["axis", "serve", "--port", str(hub_port)], env_hub, root / "hub.log").start()
    wait_http(f"{hub_url}/healthz", 30)

    from docexchange.axis.hub.db import migrate
    from docexchange.axis.hub.service import HubService
    from docexchange.axis.hub.settings import HubSettings
    from docexchange.blobstore import BlobStore
    from docexchange.db import Database

    hub_settings = HubSettings.from_env(svc_a.settings, database_url=f"sqlite:///{hub_dir / 'hub.db'}",
                                        blob_dir=hub_dir / "hub-blobs")
    hub_db = Database(hub_settings.database_url)
    migrate(hub_db)
    hub_service = HubService(hub_db, BlobStore(hub_settings.blob_dir), hub_settings)
    svc_b = Services(make_settings(b_dir, b_url))
    for svc, hosted in ((svc_a, BNV), (svc_b, NGHEAN)):
        with svc.db.transaction() as s:
            s.execute(update(Agency).values(hub_system_id=None, hub_secret=None))
        register_on_hub(svc, hub_service, [hosted])
        if scheme == "vdxp":
            with svc.db.transaction() as s:
                agency = s.execute(select(Agency).where(Agency.code == hosted)).scalar_one()
                agency.hub_system_id, agency.hub_secret = hub_service.issue_credentials(hosted, scheme="vdxp")
    node_hub_url = f"vdxp+{hub_url}/XrdAdapter/adapter" if scheme == "vdxp" else hub_url
    svc_a.db.dispose()
    svc_b.db.dispose()
    hub_db.dispose()

    nodes = []
    for name, d, url, port in (("A", a_dir, a_url, a_port), ("B", b_dir, b_url, b_port)):
        env = _env(d, d / "certs", url, node_hub_url)
        env["DOCEXCHANGE_FETCH_ALLOW"] = f"{a_url}/pki/"  # A is the CA of both: B asks A's OCSP/CRL on loopback
        if name == "B":
            env["DOCEXCHANGE_CERTS_DIR"] = str(d / "certs")
        web = Proc(exe + ["serve", "--no-hub", "--workers", "0", "--port", str(port)], env,
                   root / f"{name}-web.log").start()
        worker = Proc(exe + ["worker", "--interval", "0.2"], env, root / f"{name}-worker.log")
        nodes.append(Node(name, url, env, make_settings(d, url), web, worker, svc_a.secrets["demo_password"],
                          svc_a.secrets["demo_pin"]))
    for n in nodes:
        wait_http(f"{n.url}/healthz", 30)
        n.worker.start()
    ax = Axis(hub_url, hub, hub_dir, nodes[0], nodes[1])
    yield ax
    for n in nodes:
        n.worker.stop()
        n.web.stop()
    hub.stop()
