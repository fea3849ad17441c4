"""CLI (exit codes, JSON, text), API upload with a ledger entry, the PDF report, and never-raise properties."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docexchange.cli import main
from docexchange.signing.validation import ValidationPolicy, render_report_pdf, validate_pdf
from docexchange.signing.validation.rawchecks import check_byte_range, prescan
from tests.conftest import LiveNode
from tests.validation import helpers as h


@pytest.fixture(scope="module")
def signed(live_node: LiveNode) -> bytes:
    svc: Any = live_node.services
    with svc.db.transaction() as s:
        ident = svc.ca.issue(s, kind="seal", issuer="gov-int", common_name="Văn phòng Thử Nghiệm")
    return h.sign(h.make_pdf(), h.signer_for(ident.key, ident.cert, list(ident.chain)),
                  tsa_url=f"{live_node.url}/pki/tsa")


def _anchors(node: LiveNode) -> list[str]:
    out = []
    for a in node.anchors:
        out += ["--trust", str(a)]
    return out


def test_cli_json_and_exit_codes(live_node: LiveNode, signed: bytes, tmp_path: Path) -> None:
    f = tmp_path / "ok.pdf"
    f.write_bytes(signed)
    res = CliRunner().invoke(main, ["verify", str(f), "--json", *_anchors(live_node)])
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert body["report_version"] == "1" and body["indication"] == "TOTAL_PASSED"
    assert body["file"]["name"] == "ok.pdf" and len(body["policy"]["trust_anchors"]) == 2
    sig = body["signatures"][0]
    assert set(sig) >= {"field", "kind", "revision", "signer", "signing_time", "timestamp", "level", "indication",
                        "subindication", "integrity", "coverage", "modifications", "changes", "visual_changes",
                        "messages"}
    assert sig["signer"]["is_organization_seal"] is True and sig["messages"][0]["vi"]

    bad = tmp_path / "bad.pdf"
    data = bytearray(signed)
    data[200] ^= 1
    bad.write_bytes(bytes(data))
    assert CliRunner().invoke(main, ["verify", str(bad), *_anchors(live_node)]).exit_code == 1
    res = CliRunner().invoke(main, ["verify", str(f), "--trust", str(live_node.ca_pem("neac-root"))])
    assert res.exit_code == 2 and "NO_CERTIFICATE_CHAIN_FOUND" in res.output
    unsigned = tmp_path / "plain.pdf"
    unsigned.write_bytes(h.make_pdf())
    assert CliRunner().invoke(main, ["verify", str(unsigned)]).exit_code == 3
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"hello")
    res = CliRunner().invoke(main, ["verify", str(junk)])
    assert res.exit_code == 4 and "NOT_PDF" in res.output
    assert CliRunner().invoke(main, ["verify", str(f), "--at", "not-a-time"]).exit_code == 4


def test_cli_text_form_and_at(live_node: LiveNode, signed: bytes, tmp_path: Path) -> None:
    f = tmp_path / "x.pdf"
    f.write_bytes(signed)
    res = CliRunner().invoke(main, ["verify", str(f), "--offline", "--at", "2030-01-01T00:00:00+07:00",
                                    *_anchors(live_node)])
    assert "Kết quả / Result:" in res.output and "Văn phòng Thử Nghiệm" in res.output
    assert "2030-01-01T00:00:00+07:00" in res.output
    assert res.exit_code == 2  # offline, no embedded revocation data: TRY_LATER (or expired chain at 2030)


def test_api_verify_upload_writes_ledger(live_node: LiveNode, signed: bytes) -> None:
    from sqlalchemy import select

    from docexchange.auth import issue_token
    from docexchange.models import LedgerEntry, User

    svc: Any = live_node.services
    with svc.db.transaction() as s:
        user = s.execute(select(User).order_by(User.id)).scalars().first()
        token = issue_token(s, user)
        actor = user.username
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"vb.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + signed + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"{live_node.url}/api/v1/verify", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req) as resp:
        report = json.loads(resp.read())
    assert report["indication"] == "TOTAL_PASSED" and report["file"]["name"] == "vb.pdf"
    with svc.db.transaction() as s:
        row = s.execute(select(LedgerEntry).where(LedgerEntry.action == "verify")
                        .order_by(LedgerEntry.seq.desc())).scalars().first()
        assert row is not None and row.object_id == report["file"]["sha256"] and row.actor == actor
        assert json.loads(row.details)["indication"] == "TOTAL_PASSED"
    # unauthenticated → 401, no file → 400
    for headers, code in (({}, 401), ({"Authorization": f"Bearer {token}"}, 400)):
        r = urllib.request.Request(f"{live_node.url}/api/v1/verify", data=b"", method="POST", headers=headers)
        try:
            urllib.request.urlopen(r)
            raise AssertionError("expected an error")
        except urllib.error.HTTPError as err:
            assert err.code == code


def test_report_pdf_is_vietnamese_text(live_node: LiveNode, signed: bytes, tmp_path: Path) -> None:
    import subprocess

    report = validate_pdf(h.add_page(signed), ValidationPolicy(trust_anchors=live_node.services.ca.anchors()))  # type: ignore[attr-defined]
    pdf = render_report_pdf(report)
    assert pdf.startswith(b"%PDF-")
    out = tmp_path / "report.pdf"
    out.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "BÁO CÁO KIỂM TRA CHỮ KÝ SỐ" in text and "KHÔNG HỢP LỆ" in text
    assert "Thêm trang" in text and "Văn phòng Thử Nghiệm" in text and report.file.sha256 in text
    flat = " ".join(text.split())
    # words a person reads: no internal object names, no raw distinguished names, no enum names as prose
    for internal in ("Reference(", "AbsoluteContext", "Integrity: True", "FORM_FILLING", "page_added",
                     "Common Name:", "Organization:", "modifications:"):
        assert internal not in flat, internal
    # the lead sentence, in words; dates as dd/mm/yyyy HH:MM (GMT+7)
    assert "Văn bản đã bị thay đổi sau khi ký." in flat
    assert re.search(r"Chữ ký của [^.]+ không hợp lệ\.", flat)
    assert re.search(r"\b\d{2}/\d{2}/\d{4} \d{2}:\d{2} \(GMT\+7\)", flat)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", flat)


# ---- properties: arbitrary bytes never make the engine raise --------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096), st.lists(st.integers(-5, 5000), max_size=6))
def test_rawchecks_never_raise(data: bytes, br: list[int]) -> None:
    prescan(data, max_bytes=10_000, max_revisions=5, max_objects=100, max_nesting=8)
    res = check_byte_range(data, br, None)
    assert res.ok is (not res.problems)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_signed_pdf_always_gets_a_verdict(signed: bytes, data: st.DataObject) -> None:
    buf = bytearray(signed)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(buf) // 2, len(buf)))
    r = validate_pdf(bytes(buf[:cut]), ValidationPolicy(trust_anchors=[], offline=True, visual_check=False))
    assert r.indication in ("TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE", "NO_SIGNATURE")
    if r.indication == "TOTAL_PASSED":  # without anchors nothing can pass
        raise AssertionError(r.to_json())
    json.loads(r.to_json())
