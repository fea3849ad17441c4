"""A download that breaks off is a network failure (retried, then HubUnavailable: the receiver tries again
later), never "tampered" (IntegrityMismatch → 02); a hub that serves other bytes than it listed is tampering."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from docexchange.axis.client import HubClient, HubUnavailable, IntegrityMismatch

PACKAGE = b"<edXML>" + b"x" * 5000 + b"</edXML>"
SHA = hashlib.sha256(PACKAGE).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    mode = "truncated_no_length"
    requests = 0

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        type(self).requests += 1
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = PACKAGE
        if self.mode == "truncated_no_length":  # close-delimited body cut short (HTTP/1.0 style)
            self.protocol_version = "HTTP/1.0"
            self.send_response(200)
            self.send_header("X-Content-Sha256", SHA)
            self.end_headers()
            self.wfile.write(body[:1000])
            self.close_connection = True
            return
        if self.mode == "tampered_short":  # the hub serves, in full, a shorter file than it listed
            body = body[:1000]
        if self.mode == "tampered_same_size":
            body = body[:-1] + b"!"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Sha256", SHA)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _client(url: str) -> HubClient:
    return HubClient(url, "sys", "secret", retries=2, backoff=0.01)


def test_a_transfer_that_breaks_off_is_retried_then_unavailable_not_tampering(server: str, tmp_path: Path) -> None:
    _Handler.mode, _Handler.requests = "truncated_no_length", 0
    with pytest.raises(HubUnavailable) as err:
        _client(server).get_edoc("D1", tmp_path / "p.edxml", SHA, len(PACKAGE))
    assert not isinstance(err.value, IntegrityMismatch)
    assert "transfer ended after 1000 of" in str(err.value)
    assert _Handler.requests == 3  # first try + 2 retries
    assert list(tmp_path.iterdir()) == []  # nothing written, no temp file left


@pytest.mark.parametrize("mode", ["tampered_short", "tampered_same_size"])
def test_other_bytes_than_listed_are_an_integrity_mismatch(server: str, tmp_path: Path, mode: str) -> None:
    _Handler.mode, _Handler.requests = mode, 0
    with pytest.raises(IntegrityMismatch):
        _client(server).get_edoc("D1", tmp_path / "p.edxml", SHA, len(PACKAGE))
    assert _Handler.requests == 1 and list(tmp_path.iterdir()) == []


def test_a_complete_transfer_is_written(server: str, tmp_path: Path) -> None:
    _Handler.mode = "complete"
    path = _client(server).get_edoc("D1", tmp_path / "p.edxml", SHA, len(PACKAGE))
    assert path.read_bytes() == PACKAGE
