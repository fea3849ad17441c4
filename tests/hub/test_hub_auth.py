"""HMAC request authentication over real HTTP: forged, stale, replayed, expired and disabled."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from docexchange.axis.client import HubAuthError, HubClient
from docexchange.axis.hub import signing
from tests.hub._hubutil import HubProcess, next_code


def _post(
    hub: HubProcess,
    system_id: str,
    secret: str,
    path: str,
    body: bytes,
    *,
    ts: int | None = None,
    nonce: str | None = None,
    sign_body: bytes | None = None,
    sign_path: str | None = None,
) -> requests.Response:
    sha = hashlib.sha256(body if sign_body is None else sign_body).hexdigest()
    headers = signing.signed_headers(
        secret, system_id, "POST", sign_path or path, sha, timestamp=ts, nonce=nonce
    )
    return requests.post(
        hub.url + path, data=body, headers=headers | {"Content-Type": "application/json"}, timeout=10
    )


@pytest.fixture
def creds(hub: HubProcess) -> tuple[str, str]:
    code = next_code()
    hub.register(code)
    return hub.credentials(code)


CLI = [sys.executable, "-c", "from docexchange.cli import main; main()"]
BODY = json.dumps({"messagetype": "edoc"}).encode()


def _code(resp: requests.Response) -> str:
    assert resp.headers["Content-Type"] == "application/problem+json", resp.text
    return str(resp.json()["code"])


def test_valid_request_accepted(hub: HubProcess, creds: tuple[str, str]) -> None:
    resp = _post(hub, *creds, "/getReceivedEdocList", BODY)
    assert resp.status_code == 200 and resp.json() == {"status": "OK", "ErrorDesc": "", "data": []}


def test_wrong_secret_and_forgeries(hub: HubProcess, creds: tuple[str, str]) -> None:
    system_id, secret = creds
    resp = _post(hub, system_id, secret + "x", "/getReceivedEdocList", BODY)
    assert resp.status_code == 401 and _code(resp) == "bad_signature"
    resp = _post(hub, "NO-SUCH-SYSTEM", secret, "/getReceivedEdocList", BODY)
    assert resp.status_code == 401 and _code(resp) == "bad_signature"
    # signature made for another operation
    resp = _post(hub, system_id, secret, "/getSentEdocList", BODY, sign_path="/getReceivedEdocList")
    assert resp.status_code == 401 and _code(resp) == "bad_signature"
    # correctly signed headers, but the body was swapped in transit
    resp = _post(
        hub,
        system_id,
        secret,
        "/getReceivedEdocList",
        json.dumps({"messagetype": "status"}).encode(),
        sign_body=BODY,
    )
    assert resp.status_code == 401 and _code(resp) == "body_hash_mismatch"
    # a tampered signature header
    sha = hashlib.sha256(BODY).hexdigest()
    headers = signing.signed_headers(secret, system_id, "POST", "/getReceivedEdocList", sha)
    headers[signing.H_SIGNATURE] = headers[signing.H_SIGNATURE][:-1] + (
        "0" if headers[signing.H_SIGNATURE][-1] != "0" else "1"
    )
    resp = requests.post(hub.url + "/getReceivedEdocList", data=BODY, headers=headers, timeout=10)
    assert resp.status_code == 401 and _code(resp) == "bad_signature"


@pytest.mark.parametrize(
    ("offset", "ok"), [(-290, True), (290, True), (-310, False), (310, False), (-86400, False)]
)
def test_clock_skew_window(hub: HubProcess, creds: tuple[str, str], offset: int, ok: bool) -> None:
    resp = _post(hub, *creds, "/getReceivedEdocList", BODY, ts=int(time.time()) + offset)
    if ok:
        assert resp.status_code == 200, resp.text
    else:
        assert resp.status_code == 401 and _code(resp) == "stale_request"
        assert "300" in resp.json()["detail"] and resp.json()["detail_vi"]


def test_replayed_nonce_refused(hub: HubProcess, creds: tuple[str, str]) -> None:
    system_id, secret = creds
    sha = hashlib.sha256(BODY).hexdigest()
    headers = signing.signed_headers(secret, system_id, "POST", "/getReceivedEdocList", sha)
    first = requests.post(hub.url + "/getReceivedEdocList", data=BODY, headers=headers, timeout=10)
    replay = requests.post(hub.url + "/getReceivedEdocList", data=BODY, headers=headers, timeout=10)
    assert first.status_code == 200
    assert replay.status_code == 401 and _code(replay) == "replayed_request"


def test_expired_and_disabled_credentials(hub: HubProcess) -> None:
    code = next_code()
    hub.register(code)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    sid, secret = hub.credentials(code, expires_at=past)
    with pytest.raises(HubAuthError) as exc:
        HubClient(hub.url, sid, secret, retries=0).get_received_edoc_list()
    assert exc.value.code == "credentials_expired" and exc.value.status == 401

    sid2, secret2 = hub.credentials(code)
    client = HubClient(hub.url, sid2, secret2, retries=0)
    assert client.get_received_edoc_list() == []
    done = subprocess.run(
        [*CLI, "axis", "disable-credentials", sid2], env=hub.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    with pytest.raises(HubAuthError) as exc:
        client.get_received_edoc_list()
    assert exc.value.code == "credentials_disabled"
    unknown = subprocess.run(
        [*CLI, "axis", "disable-credentials", "NOPE-1"],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 4 and "Không có systemId" in unknown.stderr
