"""HMAC clock skew: a hub whose clock is ±10 minutes away from the node's. The hub still refuses stale timestamps
(window ±300 s, nonces burned) but tells the client its time; the client corrects once and carries on."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from docexchange.axis import client as client_mod
from docexchange.axis.client import HubAuthError, HubClient, clock_offsets
from docexchange.axis.hub import signing
from docexchange.db import utcnow
from docexchange.exchange.service import FailoverHubClient
from tests.hub._hubutil import ThreadHub, edoc

SKEW = 600


class Counting:
    """A requests session that records every request it sends (method, url, headers, body)."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.sent: list[requests.PreparedRequest] = []
        self.session.hooks["response"].append(self._hook)

    def _hook(self, resp: requests.Response, *_: Any, **__: Any) -> None:
        self.sent.append(resp.request)


@pytest.fixture(autouse=True)
def _fresh_offsets() -> Iterator[None]:
    client_mod._offsets.clear()
    yield
    client_mod._offsets.clear()


def _skewed_hub(tmp_path: Path, skew: int) -> ThreadHub:
    hub = ThreadHub(tmp_path)
    hub.service.clock = lambda: utcnow() + timedelta(seconds=skew)
    return hub.start()


@pytest.fixture(params=[SKEW, -SKEW], ids=["hub-ahead", "hub-behind"])
def skewed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[ThreadHub, int]]:
    hub = _skewed_hub(tmp_path, request.param)
    yield hub, request.param
    hub.stop()


def _plain_post(url: str, system_id: str, secret: str, path: str, payload: dict[str, Any]) -> requests.Response:
    body = json.dumps(payload).encode()
    headers = signing.signed_headers(secret, system_id, "POST", path, hashlib.sha256(body).hexdigest())
    return requests.post(url + path, data=body, headers=headers | {"Content-Type": "application/json"}, timeout=10)


def test_uncorrected_request_is_stale_and_told_the_hub_time(skewed: tuple[ThreadHub, int]) -> None:
    hub, skew = skewed
    _, sid, secret = hub.agency()
    resp = _plain_post(hub.url, sid, secret, "/getReceivedEdocList", {"messagetype": "edoc"})
    assert resp.status_code == 401
    problem = resp.json()
    assert problem["code"] == "stale_request"
    assert abs(problem["hub_epoch"] - (time.time() + skew)) < 5
    hub_time = datetime.fromisoformat(problem["hub_time"].replace("Z", "+00:00"))
    assert abs(hub_time.timestamp() - problem["hub_epoch"]) < 1
    assert problem["allowed_skew_seconds"] == 300
    assert abs(parsedate_to_datetime(resp.headers["Date"]).timestamp() - (time.time() + skew)) < 5
    ok = requests.get(hub.url + "/healthz", timeout=10)  # every answer carries the hub's Date
    assert abs(parsedate_to_datetime(ok.headers["Date"]).timestamp() - (time.time() + skew)) < 5


def test_client_corrects_once_and_keeps_the_offset(
    skewed: tuple[ThreadHub, int], caplog: pytest.LogCaptureFixture
) -> None:
    hub, skew = skewed
    a_code, a_sid, a_secret = hub.agency()
    b_code, b_sid, b_secret = hub.agency()
    counter = Counting()
    sender = HubClient(hub.url, a_sid, a_secret, retries=0, session=counter.session)
    with caplog.at_level(logging.WARNING, logger="docexchange.axis.client"):
        receipt = sender.send_edoc_bytes(edoc(a_code, [b_code], f"skew-{skew}"))
    assert receipt.recipients == 1 and not receipt.duplicate
    assert len(counter.sent) == 2  # refused once, corrected, accepted
    assert counter.sent[0].headers[signing.H_NONCE] != counter.sent[1].headers[signing.H_NONCE]
    assert abs(sender.clock_offset - skew) <= 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"local clock is off by {-sender.clock_offset:+d} s against the hub at {hub.url}" in warnings[0]
    assert "fix NTP" in warnings[0]

    # another client of the same hub URL in this process (a new worker pass) is right the first time
    caplog.clear()
    counter2 = Counting()
    receiver = HubClient(hub.url, b_sid, b_secret, retries=0, session=counter2.session)
    assert receiver.clock_offset == sender.clock_offset
    items = receiver.get_received_edoc_list()
    assert [i.doc_id for i in items] == [receipt.doc_id]
    assert items[0].from_code == a_code
    assert len(counter2.sent) == 1
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]  # no change, no new warning
    assert clock_offsets()[hub.url] == sender.clock_offset

    # the corrected request cannot be replayed: same headers, same body → refused (nonce burned)
    first_ok = counter2.sent[0]
    replay = requests.post(first_ok.url, data=first_ok.body, headers=dict(first_ok.headers), timeout=10)
    assert replay.status_code == 401
    assert replay.json()["code"] == "replayed_request"


def test_skew_within_the_window_needs_no_correction(tmp_path: Path) -> None:
    hub = _skewed_hub(tmp_path, 200)
    try:
        _, sid, secret = hub.agency()
        counter = Counting()
        client = HubClient(hub.url, sid, secret, retries=0, session=counter.session)
        assert client.get_received_edoc_list() == []
        assert client.get_agencies_list()
        assert len(counter.sent) == 2  # one request per call: no retry happened
        assert client.clock_offset == 0
        assert clock_offsets() == {}
    finally:
        hub.stop()


def test_failover_client_learns_each_hub_clock(tmp_path: Path) -> None:
    """Two hub processes behind one database, one 10 minutes ahead, one 10 minutes behind."""
    ahead = _skewed_hub(tmp_path, SKEW)
    behind = ThreadHub(tmp_path)
    behind.service.clock = lambda: utcnow() - timedelta(seconds=SKEW)
    behind.start()
    try:
        code, sid, secret = ahead.agency()
        client = FailoverHubClient([ahead.url, behind.url], sid, secret)
        for _ in range(60):
            assert client.get_received_edoc_list() == []
            if len(clock_offsets()) == 2:
                break
        offsets = clock_offsets()
        assert abs(offsets[ahead.url] - SKEW) <= 2
        assert abs(offsets[behind.url] + SKEW) <= 2
    finally:
        ahead.stop()
        behind.stop()


class _LyingHub:
    """Refuses everything as stale_request with the given body and ``Date`` header (none at all when None: a raw
    http.server handler, so no server adds one); counts the requests."""

    def __init__(self, problem: Any, date: str | None) -> None:
        self.requests = 0
        liar = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                liar.requests += 1
                body = json.dumps(problem).encode()
                self.send_response_only(401)
                self.send_header("Content-Type", "application/problem+json")
                self.send_header("Content-Length", str(len(body)))
                if date is not None:
                    self.send_header("Date", date)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.parametrize(
    ("problem", "date", "expected_requests"),
    [
        ({"code": "stale_request", "hub_epoch": int(time.time()) + 3600}, None, 2),  # plausible, still refused
        ({"code": "stale_request", "hub_epoch": "soon", "hub_time": "garbage"}, None, 1),
        ({"code": "stale_request", "hub_epoch": 1e300}, None, 1),  # implausible
        ({"code": "stale_request", "hub_epoch": True}, "not a date", 1),
        ({"code": "stale_request"}, "Mon, 23 Nov 2026 09:00:00 GMT", 2),  # Date header used, still refused
        (["stale_request"], None, 1),  # not even an object
    ],
)
def test_garbage_hub_time_cannot_make_the_client_loop(problem: Any, date: str | None, expected_requests: int) -> None:
    liar = _LyingHub(problem, date)
    try:
        client = HubClient(liar.url, "sys-x", "secret", retries=3, backoff=0.01)
        for _ in range(3):
            with pytest.raises(HubAuthError):
                client.get_received_edoc_list()
        assert liar.requests == 3 * expected_requests  # at most one retry per call, every call
    finally:
        liar.server.shutdown()
        liar.server.server_close()
