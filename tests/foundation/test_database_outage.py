"""While PostgreSQL is down (a restart, a failover), the node answers 503 with Retry-After and a vi/en problem,
web pages a readable 503 page, and nothing changes; once it is back, the same request works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import login, make_settings
from tests.pgutil import PrivatePostgres, server_binaries_installed
from tests.web.conftest import web_login


@pytest.fixture
def pg_node(tmp_path: Path) -> Iterator[tuple[object, PrivatePostgres]]:
    if not server_binaries_installed():
        pytest.skip("PostgreSQL server binaries not installed")
    from docexchange.app import create_app
    from docexchange.seed import init_node
    from docexchange.services import Services

    pg = PrivatePostgres()
    try:
        svc = Services(make_settings(tmp_path / "instance", "http://127.0.0.1:9", pg.url))
        init_node(svc, demo=True)
        app = create_app(svc.settings)
        app.testing = True
        yield app, pg
        app.extensions["docexchange"].db.dispose()
    finally:
        pg.destroy()


def test_api_and_pages_answer_503_while_the_database_is_down(pg_node) -> None:  # type: ignore[no-untyped-def]
    app, pg = pg_node
    client = app.test_client()
    password = app.extensions["docexchange"].secrets["demo_password"]
    headers = login(client, "bnv.vanthu", password)
    assert client.get("/api/v1/documents", headers=headers).status_code == 200
    browser = app.test_client()
    web_login(browser, "bnv.vanthu", password)
    assert browser.get("/documents").status_code == 200

    pg.stop()
    resp = client.get("/api/v1/documents", headers=headers)
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    assert resp.headers["Retry-After"] == "5"
    body = resp.get_json()
    assert body["code"] == "database_unavailable" and "nothing was changed" in body["detail"]
    assert "Cơ sở dữ liệu tạm thời không khả dụng" in body["detail_vi"]
    assert "127.0.0.1" not in resp.get_data(as_text=True)  # no connection details leak

    page = browser.get("/documents")  # a person's page: the readable outage page, in Vietnamese by default
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "Cơ sở dữ liệu tạm thời không khả dụng" in page.get_data(as_text=True)

    pg.start()
    assert client.get("/api/v1/documents", headers=headers).status_code == 200
    assert browser.get("/documents").status_code == 200


def test_a_start_up_step_is_started_over_when_the_database_goes_away(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from docexchange.db import at_startup, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    calls: list[int] = []

    def step() -> int:
        calls.append(1)
        with engine.begin() as conn:
            if len(calls) == 1:  # the first attempt loses its database half-way
                conn.execute(text("SELECT * FROM gone"))
            return int(conn.execute(text("SELECT 42")).scalar_one())

    with caplog.at_level(logging.WARNING, logger="docexchange.db"):
        assert at_startup(engine, step, timeout=10) == 42
    assert len(calls) == 2 and "database went away during start-up" in caplog.text

    def always_failing() -> None:
        with engine.begin() as conn:
            conn.execute(text("SELECT * FROM gone"))

    with pytest.raises(OperationalError):  # the budget is bounded: the last error comes out
        at_startup(engine, always_failing, timeout=0.6)
    engine.dispose()
