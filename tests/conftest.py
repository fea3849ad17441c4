"""Shared fixtures. Capability-specific fixtures live in each tests/<area>/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("DOCEXCHANGE_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the clone (fixtures and docs); tests that need it skip when it is absent."""
    if not (SHARED_DIR / "fixtures").is_dir():
        pytest.skip(f"../shared/fixtures not found at {SHARED_DIR} (set DOCEXCHANGE_SHARED_DIR)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave rendered PNGs, screenshots and reports for humans (git-ignored)."""
    path = REPO_ROOT / "artifacts"
    path.mkdir(exist_ok=True)
    return path


# ---- a live node: dev PKI, demo agencies, CRL/OCSP/TSA served over real HTTP ------------------------------
import subprocess  # noqa: E402
import threading  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from docexchange.netutil import free_port, wait_http  # noqa: E402,F401  (re-exported for the tests)


@dataclass
class LiveNode:
    """A node initialised with the demo data and served on a loopback port (threads in this process)."""

    services: object  # docexchange.services.Services
    url: str
    certs_dir: Path
    instance_dir: Path
    demo_password: str
    demo_pin: str

    @property
    def anchors(self) -> list[Path]:
        return sorted((self.certs_dir / "anchors").glob("*.pem"))

    def ca_pem(self, name: str) -> Path:
        return self.certs_dir / "ca" / f"{name}.crt.pem"


def allow_live_node_pki(url: str) -> None:
    """Add ``<url>/pki/`` to ``DOCEXCHANGE_FETCH_ALLOW`` of this test process (and of the processes it starts)."""
    current = os.environ.get("DOCEXCHANGE_FETCH_ALLOW", "").split()
    os.environ["DOCEXCHANGE_FETCH_ALLOW"] = " ".join([*current, f"{url}/pki/"])


def make_settings(instance_dir: Path, url: str, database_url: str | None = None):  # type: ignore[no-untyped-def]
    from docexchange.config import Settings

    return Settings.from_env(instance_dir=instance_dir,
                             database_url=database_url or f"sqlite:///{instance_dir / 'node.db'}",
                             blob_dir=instance_dir / "blobs", certs_dir=instance_dir / "certs", public_url=url,
                             secret_key="test-secret")


@pytest.fixture(scope="session")
def live_node(tmp_path_factory: pytest.TempPathFactory) -> LiveNode:
    """Session-wide node at http://127.0.0.1:<port>: CRLs, OCSP and TSA answer live at the URLs in the certs."""
    from waitress.server import create_server

    from docexchange.app import create_app
    from docexchange.seed import init_node
    from docexchange.services import Services

    instance = tmp_path_factory.mktemp("node")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # validation in this test process reaches this node's CRL/OCSP on loopback through the operator allow-list
    # (docs/security.md §3): exactly its /pki/ URLs, nothing else on 127.0.0.1
    allow_live_node_pki(url)
    svc = Services(make_settings(instance, url))
    init_node(svc, demo=True)
    app = create_app(svc.settings)
    server = create_server(app, host="127.0.0.1", port=port, threads=6)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_http(f"{url}/healthz")
    node = LiveNode(services=app.extensions["docexchange"], url=url, certs_dir=instance / "certs",
                    instance_dir=instance, demo_password=svc.secrets["demo_password"],
                    demo_pin=svc.secrets["demo_pin"])
    yield node  # type: ignore[misc]
    server.close()


@pytest.fixture(scope="session")
def nss_db(live_node: LiveNode, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An NSS database for poppler's ``pdfsig`` trusting the two dev roots (intermediates for path building).
    Use as ``pdfsig -nssdir <value> file.pdf``; the live node answers the OCSP requests NSS makes."""
    d = tmp_path_factory.mktemp("nss")
    subprocess.run(["certutil", "-N", "-d", f"sql:{d}", "--empty-password"], check=True)
    for name in ("gov-root", "neac-root"):
        subprocess.run(["certutil", "-A", "-d", f"sql:{d}", "-n", name, "-t", "CT,C,C", "-i",
                        str(live_node.ca_pem(name))], check=True)
    for name in ("gov-int", "neac-int"):
        subprocess.run(["certutil", "-A", "-d", f"sql:{d}", "-n", name, "-t", ",,", "-i",
                        str(live_node.ca_pem(name))], check=True)
    return f"sql:{d}"


def pdfsig(nss: str, pdf: Path) -> str:
    """Run poppler's pdfsig; returns its combined output (tests assert on the text)."""
    proc = subprocess.run(["pdfsig", "-nssdir", nss, str(pdf)], capture_output=True, text=True, timeout=60)
    return proc.stdout + proc.stderr


# ---- database backends: every test using ``db_url`` runs on SQLite and on PostgreSQL ---------------------
@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL. PostgreSQL comes from scripts/test.sh (``DOCEXCHANGE_TEST_PG_URL``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"  # type: ignore[misc]
        return
    base = os.environ.get("DOCEXCHANGE_TEST_PG_URL")
    if not base:
        pytest.skip("PostgreSQL not started: scripts/test.sh starts it and sets DOCEXCHANGE_TEST_PG_URL")
    import uuid

    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + f"/{name}"  # type: ignore[misc]
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def node(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """An initialised node (migrated, dev PKI, demo data) on ``db_url``, with a Flask test client."""
    from docexchange.app import create_app
    from docexchange.seed import init_node
    from docexchange.services import Services

    svc = Services(make_settings(tmp_path / "instance", "http://127.0.0.1:9", db_url))
    init_node(svc, demo=True)
    app = create_app(svc.settings)
    app.testing = True
    yield app  # type: ignore[misc]
    app.extensions["docexchange"].db.dispose()


def login(client, username: str, password: str, role: str | None = None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    body = {"username": username, "password": password}
    if role:
        body["role"] = role
    resp = client.post("/api/v1/auth/token", json=body)
    assert resp.status_code == 201, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['token']}"}
