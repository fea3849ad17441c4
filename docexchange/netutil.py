"""Small network helpers: a free loopback port, waiting until a URL answers, and the guarded fetch of URLs
named by certificates (``safe_fetch``: public or operator-allowed addresses only, pinned, no redirects,
bounded time and size)."""

from __future__ import annotations

import ipaddress
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Until ``url`` answers with a status below 500; re-raises the last error after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# ---- outbound fetching of URLs named by certificates (docs/security.md, control 3) -----------------------
MAX_FETCH_TIMEOUT_S = 5.0
DEFAULT_FETCH_MAX_BYTES = 10 * 1024 * 1024


class FetchRefused(Exception):
    """The URL may not be fetched (scheme, address, allow-list), or its answer broke a limit."""


@dataclass(frozen=True)
class AllowEntry:
    """One operator allow-list entry: an IP network (``10.1.0.0/16``, ``127.0.0.1``), a host name
    (``ocsp.ca.gov.vn``), either with an optional ``:port``; or a URL prefix (``http://127.0.0.1:8080/pki/``)."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    host: str | None = None
    port: int | None = None
    prefix: str | None = None

    def matches(self, url: str, host: str, port: int, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if self.prefix is not None:
            return url.startswith(self.prefix)
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return ip in self.network
        return self.host == host


def parse_allow_entry(text: str) -> AllowEntry:
    """Raises ``ValueError`` (with the reason) for an entry that is none of the accepted forms."""
    raw = text.strip()
    if not raw:
        raise ValueError("empty entry")
    if raw.lower().startswith(("http://", "https://")):
        parts = urllib.parse.urlsplit(raw)
        if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError(f"{raw!r}: a URL prefix needs a host and no user, query or fragment")
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        return AllowEntry(prefix=_normal_url(parts.scheme, parts.hostname, parts.port, path))
    port: int | None = None
    body = raw
    if body.startswith("["):  # [v6 or v6/len]:port
        end = body.find("]")
        if end < 0:
            raise ValueError(f"{raw!r}: missing ']'")
        rest = body[end + 1:]
        body = body[1:end]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"{raw!r}: expected ]:port")
            port = int(rest[1:])
    elif body.count(":") == 1:  # v4 / host name with a port
        body, _, p = body.partition(":")
        if not p.isdigit():
            raise ValueError(f"{raw!r}: the port must be a number")
        port = int(p)
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"{raw!r}: port out of range")
    try:
        return AllowEntry(network=ipaddress.ip_network(body, strict=False), port=port)
    except ValueError:
        pass
    host = body.lower().rstrip(".")
    if not host or not all(label and len(label) < 64 and label.replace("-", "").isalnum()
                           for label in host.split(".")):
        raise ValueError(f"{raw!r}: not an IP address, network, host name or http(s) URL prefix")
    return AllowEntry(host=host, port=port)


def parse_allow_list(entries: tuple[str, ...] | list[str]) -> tuple[AllowEntry, ...]:
    return tuple(parse_allow_entry(e) for e in entries if e.strip())


def _normal_url(scheme: str, host: str, port: int | None, path: str) -> str:
    scheme = scheme.lower()
    default = 443 if scheme == "https" else 80
    h = f"[{host}]" if ":" in host else host.lower()
    return f"{scheme}://{h}{'' if port in (None, default) else f':{port}'}{path or '/'}"


def _ip(addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(addr.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast: not loopback, private, link-local, multicast, reserved or unspecified."""
    return not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
                or ip.is_unspecified or not ip.is_global)


Resolver = Callable[[str, int], list[str]]


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, allow: tuple[AllowEntry, ...], resolver: Resolver = _resolve
              ) -> tuple[urllib.parse.SplitResult, str, int, str]:
    """(parts, host, port, pinned IP) when ``url`` may be fetched; ``FetchRefused`` otherwise. Every address
    the host resolves to must be public or allow-listed (no mixing), and the connection goes to the first
    one, so that a second DNS answer cannot point it elsewhere (rebinding)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise FetchRefused(f"malformed URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchRefused(f"scheme {parts.scheme!r} is not fetched (only http and https)")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise FetchRefused(f"URL {url!r} has no host, or carries credentials")
    host = parts.hostname.lower().rstrip(".")
    lowered = urllib.parse.unquote(parts.path).replace("\\", "/")
    if any(seg in (".", "..") for seg in lowered.split("/")):
        raise FetchRefused(f"URL {url!r} has dot segments in its path")
    normal = _normal_url(parts.scheme, host, parts.port, parts.path) + (f"?{parts.query}" if parts.query else "")
    try:
        addrs = [host] if _is_ip_literal(host) else resolver(host, port)
    except OSError as exc:
        raise ConnectionError(f"cannot resolve {host}: {exc}") from None
    if not addrs:
        raise FetchRefused(f"{host} has no address")
    for addr in addrs:
        ip = _ip(addr)
        if not is_public(ip) and not any(e.matches(normal, host, port, ip) for e in allow):
            raise FetchRefused(f"{host} resolves to {ip}, a non-public address that is not on the operator "
                               f"allow-list (DOCEXCHANGE_FETCH_ALLOW)")
    return parts, host, port, str(_ip(addrs[0]))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        return True
    except ValueError:
        return False


def safe_fetch(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
               allow: tuple[AllowEntry, ...] = (), timeout: float = MAX_FETCH_TIMEOUT_S,
               max_bytes: int = DEFAULT_FETCH_MAX_BYTES, resolver: Resolver = _resolve) -> bytes:
    """GET (or POST ``data``) a URL named by a certificate: http/https only, public or allow-listed addresses
    only, connection pinned to the checked address, no redirects, connect and read timeouts of at most 5 s
    and a whole-transfer deadline, at most ``max_bytes`` of answer. Status other than 200 → ``FetchRefused``."""
    import urllib3

    parts, host, port, ip = check_url(url, allow, resolver)
    t = max(0.1, min(float(timeout), MAX_FETCH_TIMEOUT_S))
    deadline = time.monotonic() + 2 * t
    name = f"[{host}]" if ":" in host else host
    hdrs = {"Host": name if port in (80, 443) else f"{name}:{port}", "Connection": "close",
            "User-Agent": "docexchange-validation"}
    hdrs.update(headers or {})
    pool: urllib3.HTTPConnectionPool
    if parts.scheme.lower() == "https":
        pool = urllib3.HTTPSConnectionPool(ip, port, timeout=urllib3.Timeout(connect=t, read=t), retries=False,
                                           maxsize=1, server_hostname=host, assert_hostname=host)
    else:
        pool = urllib3.HTTPConnectionPool(ip, port, timeout=urllib3.Timeout(connect=t, read=t), retries=False,
                                          maxsize=1)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        resp = pool.urlopen("POST" if data is not None else "GET", target, body=data, headers=hdrs,
                            redirect=False, retries=False, preload_content=False, assert_same_host=False)
        try:
            if resp.status != 200:
                raise FetchRefused(f"{url}: HTTP status {resp.status} (redirects are not followed)")
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchRefused(f"{url}: answer of {declared} bytes exceeds the {max_bytes}-byte limit")
            out = bytearray()
            while chunk := resp.read1(65536):  # one socket read at a time: the deadline holds against a drip
                out += chunk
                if len(out) > max_bytes:
                    raise FetchRefused(f"{url}: answer exceeds the {max_bytes}-byte limit")
                if time.monotonic() > deadline:
                    raise FetchRefused(f"{url}: answer took longer than {2 * t:.0f} s")
            return bytes(out)
        finally:
            resp.release_conn()
            resp.close()
    except urllib3.exceptions.HTTPError as exc:  # connection refused/reset, timeout, TLS: the network, not policy
        raise ConnectionError(f"{url}: {exc}") from None
    finally:
        pool.close()
