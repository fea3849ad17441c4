"""The live node fixture: PKI endpoints answer over real HTTP, and openssl accepts what they say."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

from tests.conftest import LiveNode


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)


def test_healthz_ok(live_node: LiveNode) -> None:
    import json

    with urllib.request.urlopen(f"{live_node.url}/healthz") as resp:
        body = json.loads(resp.read())
    assert body == {"status": "ok", "checks": {"database": "ok", "blob_store": "ok", "tsa": "ok"}}


def test_openssl_ocsp_good_then_revoked_and_crl(live_node: LiveNode, tmp_path: Path) -> None:
    from docexchange.pki.ca import DevCA
    from docexchange.pki.keys import cert_pem

    svc = live_node.services
    with svc.db.transaction() as s:  # type: ignore[attr-defined]
        ident = svc.ca.issue(s, kind="person", issuer="gov-int", common_name="Người Thử Thu Hồi")  # type: ignore[attr-defined]
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(cert_pem(ident.cert))
    args = ["ocsp", "-issuer", str(live_node.ca_pem("gov-int")), "-cert", str(leaf),
            "-url", f"{live_node.url}/pki/ocsp", "-CAfile", str(live_node.ca_pem("gov-root")),
            "-verify_other", str(live_node.ca_pem("gov-int"))]
    out = _openssl(*args)
    assert "Response verify OK" in out.stderr + out.stdout
    assert f"{leaf}: good" in out.stdout
    with svc.db.transaction() as s:  # type: ignore[attr-defined]
        DevCA.revoke(s, ident.serial_hex, "key_compromise")
    out = _openssl(*args)
    assert f"{leaf}: revoked" in out.stdout
    assert "Reason: keyCompromise" in out.stdout
    crl = tmp_path / "gov-int.crl"
    crl.write_bytes(urllib.request.urlopen(f"{live_node.url}/pki/crl/gov-int.crl").read())
    text = _openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-text").stdout
    serials = {int(line.split(":")[1], 16) for line in text.splitlines() if "Serial Number:" in line}
    assert ident.cert.serial_number in serials
    verify = _openssl("crl", "-inform", "DER", "-in", str(crl), "-noout", "-CAfile", str(live_node.ca_pem("gov-int")))
    assert "verify OK" in verify.stderr + verify.stdout


def test_ocsp_unknown_serial_answers_unknown(live_node: LiveNode, tmp_path: Path) -> None:
    out = _openssl("ocsp", "-issuer", str(live_node.ca_pem("gov-int")), "-serial", "0x1234567",
                   "-url", f"{live_node.url}/pki/ocsp", "-CAfile", str(live_node.ca_pem("gov-root")),
                   "-verify_other", str(live_node.ca_pem("gov-int")))
    assert "0x1234567: unknown" in out.stdout


def test_openssl_ts_verify_accepts_tsa_reply(live_node: LiveNode, tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes("Văn bản cần đóng dấu thời gian".encode())
    query = tmp_path / "q.tsq"
    assert _openssl("ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)).returncode == 0
    req = urllib.request.Request(f"{live_node.url}/pki/tsa", data=query.read_bytes(),
                                 headers={"Content-Type": "application/timestamp-query"})
    reply = tmp_path / "r.tsr"
    reply.write_bytes(urllib.request.urlopen(req).read())
    out = _openssl("ts", "-verify", "-in", str(reply), "-queryfile", str(query),
                   "-CAfile", str(live_node.ca_pem("gov-root")), "-untrusted", str(live_node.ca_pem("gov-int")))
    assert "Verification: OK" in out.stdout


def test_malformed_ocsp_and_tsa_requests_are_400_problem_json(live_node: LiveNode) -> None:
    import json
    import urllib.error

    for path in ("/pki/ocsp", "/pki/tsa"):
        req = urllib.request.Request(f"{live_node.url}{path}", data=b"\x30\x03garbage")
        try:
            urllib.request.urlopen(req)
            raise AssertionError("expected HTTP 400")
        except urllib.error.HTTPError as err:
            assert err.code == 400
            assert err.headers["Content-Type"] == "application/problem+json"
            body = json.loads(err.read())
            assert body["code"].startswith("malformed_") and body["detail_vi"]
    with urllib.request.urlopen(f"{live_node.url}/healthz") as resp:  # still alive
        assert resp.status == 200
