"""The hub's VDXP face without Java: what the weaker SDK scheme still checks (timestamp window, hash-file against
the body, the sender against the credential, the credential's scheme, permanent dedup), the answer shape the SDK
needs (string status/ErrorCode/ErrorDesc, no JSON null), and the newer updateStatus values and message types."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from docexchange.axis.client import HubAuthError, HubClient, VdxpHubClient, hub_client
from docexchange.axis.protocol import vdxp
from tests.hub._hubutil import ThreadHub, edoc, next_code, status

BASE = "/XrdAdapter/adapter"


@pytest.fixture(scope="module")
def thub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadHub]:
    hub = ThreadHub(tmp_path_factory.mktemp("vdxp-face")).start()
    yield hub
    hub.stop()


def agency(hub: ThreadHub) -> tuple[str, str, str]:
    code = next_code()
    hub.service.register_agency(code, f"Cơ quan {code}")
    system_id, secret = hub.service.issue_credentials(code, scheme="vdxp")
    return code, system_id, secret


def call(hub: ThreadHub, creds: tuple[str, str, str], op: str, params: dict[str, str] | None = None,
         body: bytes = b"{}", content_type: str = "application/json", when: datetime | None = None,
         path: str = BASE, extra: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    _, system_id, secret = creds
    stamp = vdxp.format_timestamp(when or datetime.now(UTC))
    headers = vdxp.sign_request(secret, system_id, params or {}, content_type=content_type, timestamp=stamp)
    headers.update(extra or {})
    resp = requests.post(f"{hub.url}{path}/{op}", data=body, headers=headers, timeout=30)
    return resp.status_code, resp.json()


def send(hub: ThreadHub, creds: tuple[str, str, str], package: bytes, kind: str = "edoc",
         **kw: Any) -> tuple[int, dict[str, Any]]:
    params = {"from": creds[0], "servicetype": "eDoc", "messagetype": kind,
              "hash-file": vdxp.sdk_hex(hashlib.sha256(package).digest())}
    params.update(kw.pop("params", {}))
    return call(hub, creds, "sendEdoc", params, package + b"\r\n", "application/octet-stream", **kw)


def no_nulls(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return all(no_nulls(v) for v in value.values())
    if isinstance(value, list):
        return all(no_nulls(v) for v in value)
    return True


def sdk_shape(body: dict[str, Any]) -> None:
    assert no_nulls(body), body
    assert all(isinstance(body[k], str) for k in ("status", "ErrorCode", "ErrorDesc")), body


def test_every_answer_has_string_error_fields_and_no_null(thub: ThreadHub) -> None:
    a, b = agency(thub), agency(thub)
    package = edoc(a[0], [b[0]], f"{a[0]},2026/12/04,1/X")
    st_, sent = send(thub, a, package)
    assert st_ == 200 and sent["ErrorCode"] == "0" and sent["DocId"]
    answers = [sent]
    for who, op, params in ((a, "getAgenciesList", {}), (a, "getSynchronizeUnit", {}), (a, "getSentEdocList", {}),
                            (b, "getReceivedEdocList", {"messagetype": "edoc"}),
                            (b, "getEdoc", {"docId": sent["DocId"]}),
                            (b, "updateStatus", {"docid": sent["DocId"], "status": "done"}),
                            (b, "getEdoc", {"docId": "nope"}), (b, "updateStatus", {"docid": "nope"})):
        code, body = call(thub, who, op, params)
        answers.append(body)
        if params.get("docId") == "nope" or params.get("docid") == "nope":
            assert code in (400, 404) and body["ErrorCode"] in ("400", "404") and body["status"] == "FAIL"
        else:
            assert code == 200 and body["ErrorCode"] == "0", body
    for body in answers:
        sdk_shape(body)
    rows = {r["code"]: r for r in answers[2]["data"]}  # getSynchronizeUnit (the SDK reads these types)
    unit = rows[a[0]]
    assert isinstance(unit["version"], int) and unit["deleted"] is False and unit["isAgency"] is True
    assert {"id", "mail", "pid", "centerCode", "modifyDate"} <= unit.keys()
    report = next(r for r in answers[3]["data"] if r["senderDocId"] == sent["DocId"])
    assert (report["toCode"], report["fromCode"], report["title"], report["notation"]) == (
        b[0], a[0], "Thử nghiệm trục", "")  # the test package has no Code: an empty string, not null
    got = answers[5]
    import base64

    assert base64.b64decode(got["data"]) == package  # the CRLF the SDK appends is not part of the package
    assert answers[7]["data"] == ""  # getEdoc error still carries data (the SDK reads it unconditionally)


def test_stale_or_future_timestamp_is_refused(thub: ThreadHub) -> None:
    a = agency(thub)
    code, body = call(thub, a, "getAgenciesList", when=datetime.now(UTC) - timedelta(minutes=10))
    assert (code, body["ErrorCode"], body["code"]) == (401, "401", "stale_request")
    sdk_shape(body)
    assert isinstance(body["hub_epoch"], int)
    code, body = call(thub, a, "getAgenciesList", when=datetime.now(UTC) + timedelta(minutes=10))
    assert body["code"] == "stale_request"
    # an operator may lift the age limit for integrators that keep one SDK object (it stamps once)
    original = thub.service.settings
    thub.service.settings = dataclasses.replace(original, vdxp_max_age_seconds=0)
    try:
        code, body = call(thub, a, "getAgenciesList", when=datetime.now(UTC) - timedelta(hours=5))
        assert body["ErrorCode"] == "0"
        code, body = call(thub, a, "getAgenciesList", when=datetime.now(UTC) + timedelta(minutes=10))
        assert body["code"] == "stale_request"  # never from the future
    finally:
        thub.service.settings = original


def test_body_must_match_hash_file_and_nothing_is_stored(thub: ThreadHub) -> None:
    a, b = agency(thub), agency(thub)
    package = edoc(a[0], [b[0]], f"{a[0]},2026/12/04,2/X")
    before = thub.service.counts()
    forged = package.replace(b"Th\xe1\xbb\xad", b"Thu")  # the body changed after the hash was signed
    params = {"hash-file": vdxp.sdk_hex(hashlib.sha256(package).digest())}
    code, body = send(thub, a, forged, params=params)
    assert (code, body["code"], body["DocId"]) == (401, "body_hash_mismatch", "")
    code, body = send(thub, a, package, params={"hash-file": ""})
    assert body["code"] == "auth_missing"
    assert thub.service.counts() == before


def test_credential_scheme_is_binding(thub: ThreadHub) -> None:
    code = next_code()
    thub.service.register_agency(code, "Cơ quan thử")
    dx_sys, dx_secret = thub.service.issue_credentials(code, system_id=f"DX-{code}")
    vd_sys, vd_secret = thub.service.issue_credentials(code, system_id=f"VD-{code}", scheme="vdxp")
    status_code, body = call(thub, (code, dx_sys, dx_secret), "getAgenciesList")
    assert (status_code, body["code"]) == (401, "bad_signature")
    with pytest.raises(HubAuthError) as err:
        HubClient(thub.url, vd_sys, vd_secret, retries=0).get_agencies_list()
    assert err.value.code == "bad_signature"
    assert VdxpHubClient(thub.url + BASE, vd_sys, vd_secret, retries=0).get_agencies_list()


def test_signed_parameters_only(thub: ThreadHub) -> None:
    """Only what is inside the signed JSON counts: an altered sign-header fails, an unsigned header is ignored."""
    a, b = agency(thub), agency(thub)
    _, sent = send(thub, a, edoc(a[0], [b[0]], f"{a[0]},2026/12/04,3/X"))
    _, system_id, secret = b
    headers = vdxp.sign_request(secret, system_id, {"docId": sent["DocId"]}, content_type="application/json",
                                timestamp=vdxp.format_timestamp(datetime.now(UTC)))
    headers[vdxp.H_SIGN_HEADER] = headers[vdxp.H_SIGN_HEADER].replace(sent["DocId"], "other-doc")
    resp = requests.post(f"{thub.url}{BASE}/getEdoc", data=b"{}", headers=headers, timeout=30)
    assert resp.status_code == 401 and resp.json()["code"] == "bad_signature"
    code, body = call(thub, b, "getEdoc", {"docId": sent["DocId"]}, extra={"XroadVnpt-docid": "other-doc"})
    assert code == 200 and body["docId"] == sent["DocId"]


def test_sender_must_be_the_credentials_agency(thub: ThreadHub) -> None:
    a, b = agency(thub), agency(thub)
    code, body = send(thub, a, edoc(a[0], [b[0]], f"{a[0]},2026/12/04,4/X"), params={"from": b[0]})
    assert (code, body["code"]) == (403, "sender_mismatch")
    code, body = send(thub, a, edoc(b[0], [a[0]], f"{b[0]},2026/12/04,4/X"))  # the package claims B
    assert (code, body["code"]) == (403, "sender_mismatch")


def test_replayed_send_is_absorbed_by_permanent_dedup(thub: ThreadHub) -> None:
    """No nonce in this scheme: a captured sendEdoc replayed within the window is the same package again."""
    a, b = agency(thub), agency(thub)
    package = edoc(a[0], [b[0]], f"{a[0]},2026/12/04,5/X")
    _, system_id, secret = a
    params = {"from": a[0], "messagetype": "edoc", "hash-file": vdxp.sdk_hex(hashlib.sha256(package).digest())}
    headers = vdxp.sign_request(secret, system_id, params, content_type="application/octet-stream",
                                timestamp=vdxp.format_timestamp(datetime.now(UTC)))
    first = requests.post(f"{thub.url}{BASE}/sendEdoc", data=package + b"\r\n", headers=headers, timeout=30).json()
    again = requests.post(f"{thub.url}{BASE}/sendEdoc", data=package + b"\r\n", headers=headers, timeout=30).json()
    assert first["DocId"] == again["DocId"] and again["duplicate"] is True
    _, listed = call(thub, b, "getReceivedEdocList", {"messagetype": "edoc"})
    assert [r["docId"] for r in listed["data"]].count(first["DocId"]) == 1


def test_newer_status_values_and_message_types(thub: ThreadHub) -> None:
    a, b = agency(thub), agency(thub)
    _, new = send(thub, a, edoc(a[0], [b[0]], f"{a[0]},2026/12/04,6/X"))
    _, recall = send(thub, a, edoc(a[0], [b[0]], f"{a[0]},2026/12/04,6/X", business_doc_type=1), "revocation")
    _, stat = send(thub, b, status(b[0], a[0], f"{a[0]},2026/12/04,6/X", "01", "2026/12/04 10:00:00"), "status")
    assert stat["ErrorCode"] == "0"
    _, edocs = call(thub, b, "getReceivedEdocList", {"messagetype": "edoc"})
    assert {r["docId"] for r in edocs["data"]} >= {new["DocId"], recall["DocId"]}  # SDK 2.0 sees recalls too
    _, only = call(thub, b, "getReceivedEdocList", {"messagetype": "revocation"})
    assert [(r["docId"], r["messageType"]) for r in only["data"]] == [(recall["DocId"], "revocation")]
    _, statuses = call(thub, a, "getReceivedEdocList", {"messagetype": "status"})
    assert [r["docId"] for r in statuses["data"]] == [stat["DocId"]]
    for value in ("inbox", "acceptance", "processing", "processing", "done", "done"):
        code, body = call(thub, b, "updateStatus", {"docid": new["DocId"], "status": value})
        assert (code, body["ErrorCode"], body["ack"]) == (200, "0", value)
    code, body = call(thub, b, "updateStatus", {"docid": new["DocId"], "status": "fail"})
    assert (code, body["code"]) == (409, "already_acked")
    code, body = call(thub, b, "updateStatus", {"docid": recall["DocId"], "status": "archived"})
    assert (code, body["code"]) == (400, "bad_status")
    _, edocs = call(thub, b, "getReceivedEdocList", {"messagetype": "edoc"})
    assert new["DocId"] not in {r["docId"] for r in edocs["data"]}  # acknowledged: out of the list
    _, report = call(thub, a, "getSentEdocList")
    assert {r["senderDocId"]: r["receiveStatus"] for r in report["data"]}[new["DocId"]] == "done"


def test_root_path_dispatch_and_unknown_operation(thub: ThreadHub) -> None:
    a = agency(thub)
    code, body = call(thub, a, "getAgenciesList", path="")
    assert code == 200 and body["ErrorCode"] == "0"
    code, body = call(thub, a, "registerAgency", path="")
    assert (code, body["code"]) == (403, "operator_only")
    code, body = call(thub, a, "frobnicate")
    assert (code, body["ErrorCode"]) == (404, "404")
    assert requests.post(f"{thub.url}/_vdxp/getAgenciesList", timeout=10).status_code in (401, 404)  # no way round


def test_issue_credentials_cli_with_scheme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from docexchange.cli import main

    monkeypatch.setenv("DOCEXCHANGE_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("DOCEXCHANGE_HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    runner = CliRunner()
    assert runner.invoke(main, ["axis", "register-agency", "000.00.00.H41", "UBND tỉnh Nghệ An"]).exit_code == 0
    out = runner.invoke(main, ["axis", "issue-credentials", "000.00.00.H41", "--scheme", "vdxp"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["systemId"] == "000.00.00.H41" and len(data["secret"]) >= 32 and data["scheme"] == "vdxp"
    out = runner.invoke(main, ["axis", "issue-credentials", "000.00.00.H41"])
    assert json.loads(out.output)["scheme"] == "dxhub1" and json.loads(out.output)["systemId"].startswith("SYS-")
    out = runner.invoke(main, ["axis", "issue-credentials", "000.00.00.H41", "--scheme", "soap"])
    assert out.exit_code != 0


def test_hub_client_factory_by_url() -> None:
    assert type(hub_client("http://h:1", "s", "k")) is HubClient
    c = hub_client("vdxp+https://axis.example/XrdAdapter/adapter", "s", "k", agency_code="000.00.00.H41")
    assert isinstance(c, VdxpHubClient) and c.base_url == "https://axis.example/XrdAdapter/adapter"


@given(st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_timestamp_round_trip(when: datetime) -> None:
    text = vdxp.format_timestamp(when)
    assert len(text) == 20 and text[8] == "T" and text[15] == "+"
    assert vdxp.parse_timestamp(text) == when.replace(microsecond=when.microsecond // 1000 * 1000)


@given(st.text(max_size=40))
def test_timestamp_parser_never_crashes(raw: str) -> None:
    try:
        vdxp.parse_timestamp(raw)
    except vdxp.VdxpFormatError:
        pass


@given(st.binary(min_size=0, max_size=64))
def test_hash_file_forms(data: bytes) -> None:
    digest = hashlib.sha256(data).digest()
    assert vdxp.hash_file_matches(digest.hex(), digest) and vdxp.hash_file_matches(vdxp.sdk_hex(digest), digest)
    assert not vdxp.hash_file_matches(hashlib.sha256(data + b"x").hexdigest(), digest)


def test_malformed_signature_headers_are_refused_not_crashed(thub: ThreadHub) -> None:
    a = agency(thub)
    _, system_id, secret = a
    good = vdxp.sign_request(secret, system_id, {}, content_type="application/json",
                             timestamp=vdxp.format_timestamp(datetime.now(UTC)))
    for name, value in ((vdxp.H_HASH_HEADER, "é" * 64), (vdxp.H_SIGN_HEADER, '{"XroadVnpt-systemid": 5}'),
                        (vdxp.H_SIGN_HEADER, "[1, 2]"), (vdxp.H_SIGN_HEADER, "not json"),
                        (vdxp.H_SIGN_HEADER, good[vdxp.H_SIGN_HEADER].replace("+", "+٠"))):
        headers = dict(good)
        headers[name] = value
        resp = requests.post(f"{thub.url}{BASE}/getAgenciesList", data=b"{}",
                             headers={k: v.encode("utf-8") for k, v in headers.items()}, timeout=30)
        body = resp.json()
        assert resp.status_code == 401 and body["ErrorCode"] == "401", (name, value, body)
        sdk_shape(body)


def test_vdxp_client_cycle_and_integrity(thub: ThreadHub, tmp_path: Path) -> None:
    from docexchange.axis.client import IntegrityMismatch

    a, b = agency(thub), agency(thub)
    ca = hub_client(f"vdxp+{thub.url}{BASE}", a[1], a[2], agency_code=a[0], retries=0)
    cb = hub_client(f"vdxp+{thub.url}{BASE}", b[1], b[2], agency_code=b[0], retries=0)
    package = edoc(a[0], [b[0]], f"{a[0]},2026/12/04,7/X")
    receipt = ca.send_edoc_bytes(package, "edoc")
    assert ca.send_edoc_bytes(package, "edoc").duplicate is True
    [item] = [i for i in cb.get_received_edoc_list("edoc") if i.doc_id == receipt.doc_id]
    assert (item.from_code, item.to_code, item.message_type) == (a[0], b[0], "edoc")
    assert item.content_sha256 == hashlib.sha256(package).hexdigest() and item.content_length == len(package)
    assert cb.get_edoc(item.doc_id, tmp_path / "got.edxml", item.content_sha256).read_bytes() == package
    with pytest.raises(IntegrityMismatch):
        cb.get_edoc(item.doc_id, tmp_path / "bad.edxml", "0" * 64)
    assert not (tmp_path / "bad.edxml").exists()
    assert cb.update_status(item.doc_id, "done") == "done"
    [report] = ca.get_sent_edoc_list(receipt.doc_id)
    assert (report.to, report.receive_status) == (b[0], "done")
    assert {x.code for x in ca.get_agencies_list()} >= {a[0], b[0]}
    assert any(x.code == a[0] and x.active for x in ca.synchronize_units())
    with pytest.raises(HubAuthError) as err:
        hub_client(f"vdxp+{thub.url}{BASE}", a[1], "wrong", retries=0).get_agencies_list()
    assert err.value.status == 401 and err.value.code == "bad_signature"


@given(st.binary(max_size=3000), st.booleans(), st.booleans(), st.lists(st.integers(1, 97), max_size=40))
def test_streamed_answer_split(payload: bytes, data_first: bool, escaped: bool, cuts: list[int]) -> None:
    """getEdoc answers are decoded as they stream, whatever the key order, JSON escapes and chunk boundaries."""
    import base64
    import io

    b64 = base64.b64encode(payload).decode()
    fields = {"status": "OK", "ErrorCode": "0", "ErrorDesc": 'có "data": dấu', "docId": "x"}
    text = json.dumps({"data": b64, **fields} if data_first else {**fields, "data": b64}, ensure_ascii=False)
    if escaped:
        text = text.replace("/", "\\/")
    raw = text.encode()
    chunks, at = [], 0
    for c in cuts:
        chunks.append(raw[at:at + c])
        at += c
    chunks.append(raw[at:])
    out = io.BytesIO()
    body, size, sha = vdxp.read_base64_answer(iter(chunks), out)
    assert out.getvalue() == payload and size == len(payload) and sha == hashlib.sha256(payload).hexdigest()
    assert body["ErrorDesc"] == fields["ErrorDesc"] and body["docId"] == "x" and body["data"] == ""


def test_streamed_answer_refuses_broken_data() -> None:
    import io

    for raw in (b'{"data": "QUJD"', b'{"data": "QUJ"}', b'{"data": "QU!D"}', b'{"data": 5}', b"[1]"):
        with pytest.raises(vdxp.VdxpFormatError):
            vdxp.read_base64_answer(iter([raw]), io.BytesIO())
