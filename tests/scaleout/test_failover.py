"""Exchange workers given several hub URLs fail over between them (fast; no PostgreSQL needed)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from docexchange.axis.client import HubClient, HubUnavailable
from docexchange.exchange.service import ExchangeDeps, FailoverHubClient
from tests.conftest import free_port


class _Hub(BaseHTTPRequestHandler):
    status = 200
    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).hits.append(f"{self.server.server_port}{self.path}")  # type: ignore[attr-defined]
        body = json.dumps({"ack": "OK"} if self.status == 200 else {"detail": "down"}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[tuple[ThreadingHTTPServer, str]]:
    _Hub.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_dead_hub_is_skipped_every_time(hub: tuple[ThreadingHTTPServer, str]) -> None:
    server, live = hub
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = FailoverHubClient([dead, live], "sys-1", "secret")
    for _ in range(8):  # whichever hub a call starts at, it ends at the live one, without back-off sleeps
        assert client.update_status("DOC1", "done") == "OK"
    assert _Hub.hits == [f"{server.server_port}/updateStatus"] * 8


def test_all_hubs_down_is_hub_unavailable() -> None:
    client = FailoverHubClient([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"], "s", "x",
                               rounds=2)
    client.backoff = 0.01
    with pytest.raises(HubUnavailable):
        client.update_status("DOC1", "done")


def test_a_hub_answering_503_hands_over_to_the_next(hub: tuple[ThreadingHTTPServer, str]) -> None:
    server, live = hub
    busy = ThreadingHTTPServer(("127.0.0.1", 0), type("Busy", (_Hub,), {"status": 503}))
    threading.Thread(target=busy.serve_forever, daemon=True).start()
    try:
        client = FailoverHubClient([f"http://127.0.0.1:{busy.server_port}", live], "sys-1", "secret")
        assert all(client.update_status(f"D{i}", "done") == "OK" for i in range(6))
        assert _Hub.hits.count(f"{server.server_port}/updateStatus") == 6
    finally:
        busy.shutdown()


def test_one_url_keeps_the_plain_client() -> None:
    from docexchange.models import Agency

    deps = ExchangeDeps(db=None, blobs=None, ledger=None, hub_url="http://h1:8090", policy=None)  # type: ignore[arg-type]
    agency = Agency(code="000.00.00.G09", hub_system_id="sys-1", hub_secret="x")
    assert type(deps.client(agency)) is HubClient
    deps.hub_url = "http://h1:8090, http://h2:8090"
    multi = deps.client(agency)
    assert isinstance(multi, FailoverHubClient) and multi.urls == ["http://h1:8090", "http://h2:8090"]
