"""The guarded fetch of URLs named by certificates (docs/security.md §3): non-public addresses, schemes, DNS
answers, allow-list entries, redirects, size and time limits."""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from docexchange.netutil import FetchRefused, check_url, parse_allow_entry, parse_allow_list, safe_fetch
from tests.conftest import make_settings

PRIVATE = ["http://127.0.0.1/x", "http://127.9.9.9:8080/x", "http://10.1.2.3/ocsp", "http://172.16.0.1/x",
           "http://192.168.1.1/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]/x",
           "http://[fe80::1]/x", "http://[fd00::1]/x", "http://224.0.0.1/x", "http://0.0.0.0/x",
           "http://100.64.0.1/x", "http://[::ffff:127.0.0.1]/x", "http://240.0.0.1/x"]


@pytest.mark.parametrize("url", PRIVATE)
def test_non_public_addresses_are_refused_without_a_connection(url: str) -> None:
    with pytest.raises(FetchRefused, match="allow-list"):
        check_url(url, ())


def test_host_names_are_checked_on_every_address_they_resolve_to() -> None:
    def rebinding(host: str, port: int) -> list[str]:  # one public address, one internal one
        return ["93.184.216.34", "10.0.0.5"]

    with pytest.raises(FetchRefused, match="10.0.0.5"):
        check_url("http://ocsp.example.vn/", (), resolver=rebinding)
    _, host, port, ip = check_url("http://ocsp.example.vn:8080/a", (), resolver=lambda hst, p: ["93.184.216.34"])
    assert (host, port, ip) == ("ocsp.example.vn", 8080, "93.184.216.34")  # the connection goes to this address


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.vn/x", "ldap://example.vn/cn=x",
                                 "gopher://127.0.0.1:25/x", "http://user:pw@example.vn/x", "http:///x"])
def test_only_plain_http_and_https_urls(url: str) -> None:
    with pytest.raises(FetchRefused):
        check_url(url, (), resolver=lambda hst, p: ["93.184.216.34"])


def test_allow_list_entries() -> None:
    allow = parse_allow_list(["10.1.0.0/16", "127.0.0.1:8443", "ocsp.intra.gov.vn", "http://127.0.0.1:9000/pki/",
                              "[fd00::/8]:80"])
    assert check_url("http://10.1.200.3/ocsp", allow)[3] == "10.1.200.3"
    assert check_url("http://127.0.0.1:8443/ocsp", allow)[3] == "127.0.0.1"
    assert check_url("http://127.0.0.1:9000/pki/ocsp", allow)[3] == "127.0.0.1"
    assert check_url("http://[fd00::5]/x", allow)[3] == "fd00::5"
    assert check_url("http://ocsp.intra.gov.vn/x", allow, resolver=lambda hst, p: ["10.9.9.9"])[3] == "10.9.9.9"
    for url in ("http://10.2.0.1/ocsp", "http://127.0.0.1:8444/ocsp", "http://127.0.0.1:9000/admin",
                "http://127.0.0.1:9000/pki", "http://[fd00::5]:8080/x", "http://127.0.0.1:9000/pki/../admin",
                "http://127.0.0.1:9000/pki/%2e%2e/admin", "http://127.0.0.1:9000/pki/..\\admin"):
        with pytest.raises(FetchRefused):
            check_url(url, allow)
    for bad in ("", "not a host!", "10.0.0.0/33", "http://", "127.0.0.1:99999", "[::1"):
        with pytest.raises(ValueError):
            parse_allow_entry(bad)


def test_setting_rejects_a_malformed_allow_list(tmp_path: Path) -> None:
    from docexchange.config import ConfigError

    with pytest.raises(ConfigError, match="DOCEXCHANGE_FETCH_ALLOW"):
        replace(make_settings(tmp_path, "http://127.0.0.1:1"), fetch_allow=("10.0.0.0/99",))


class _Answer:
    """A one-shot HTTP server with a canned answer (redirects, oversize bodies); counts connections."""

    def __init__(self, raw: bytes) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = int(self.listener.getsockname()[1])
        self.raw = raw
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(1)
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        finally:
            self.listener.close()
        self.accepted += 1
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(self.raw)
            except OSError:
                pass


def test_no_redirects_and_a_size_limit() -> None:
    allow = parse_allow_list(["127.0.0.1"])
    target = _Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno")
    redirect = _Answer(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/x\r\nContent-Length: 0\r\n\r\n"
                       % target.port)
    with pytest.raises(FetchRefused, match="302"):
        safe_fetch(f"http://127.0.0.1:{redirect.port}/ocsp", allow=allow)
    target.thread.join()  # safe_fetch is synchronous: a followed redirect would have come
    assert target.accepted == 0  # the Location was not followed
    big = _Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000)
    with pytest.raises(FetchRefused, match="limit"):
        safe_fetch(f"http://127.0.0.1:{big.port}/crl", allow=allow, max_bytes=1000)
    undeclared = _Answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 5000)
    with pytest.raises(FetchRefused, match="limit"):
        safe_fetch(f"http://127.0.0.1:{undeclared.port}/crl", allow=allow, max_bytes=1000)
    ok = _Answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    assert safe_fetch(f"http://127.0.0.1:{ok.port}/crl", allow=allow, max_bytes=1000) == b"hello"


def test_validation_timeouts_are_at_most_five_seconds() -> None:
    from docexchange.signing.validation import ValidationPolicy

    backend = replace(ValidationPolicy(fetch_allow=()), fetch_timeout_s=60).fetcher_backend()
    assert backend.timeout <= 5
    assert ValidationPolicy().fetch_timeout_s <= 5
