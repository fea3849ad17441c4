"""Hub fixtures: one real hub process per backend (SQLite always, PostgreSQL when DOCEXCHANGE_TEST_PG_URL is
set), agencies with fresh codes per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from docexchange.axis.client import HubClient
from tests.hub._hubutil import HubProcess, next_code

PG_URL = os.environ.get("DOCEXCHANGE_TEST_PG_URL")


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A private schema in the test PostgreSQL (dropped afterwards)."""
    if not PG_URL:
        pytest.skip("DOCEXCHANGE_TEST_PG_URL not set")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"hubtest_{secrets.token_hex(4)}"
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A hub process shared by the core tests of one backend."""
    url = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    proc = HubProcess(tmp_path_factory.mktemp(f"hub-{request.param}"), url).start()
    yield proc
    proc.stop()


Agent = tuple[str, HubClient]


@pytest.fixture
def make_agency(hub: HubProcess) -> Callable[..., Agent]:
    """Register a fresh agency and return (code, client signed with its credentials)."""

    def make(level1: str = "H41", cert_pem: str | None = None) -> Agent:
        code = next_code(level1)
        hub.register(code, cert_pem=cert_pem)
        system_id, secret = hub.credentials(code)
        return code, HubClient(hub.url, system_id, secret, retries=1, backoff=0.05)

    return make


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
