"""Documents cross the axis between real processes: send, receive, verify on receipt, register, status back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.exchange.conftest import BNV, NGHEAN, Axis, Node, wait_for
from tests.signing.pdfgen import decree30_pdf

pytestmark = pytest.mark.slow


def issue_document(a: Node, tmp: Path, subject: str, recipients: str = NGHEAN) -> dict[str, object]:
    pdf = decree30_pdf(tmp / "d.pdf", signer="Nguyễn Văn Thắng", position="BỘ TRƯỞNG", authority="",
                       number="Số:      /QĐ-BNV")
    with open(pdf, "rb") as fh:
        r = a.post("/api/v1/documents", "bnv.vanthu", files={"file": ("qd.pdf", fh, "application/pdf")},
                   data={"type_name": "Quyết định", "type_abbr": "QĐ", "subject": subject,
                         "recipients": recipients, "signer": "bnv.lanhdao"})
    assert r.status_code == 201, r.text
    doc_id = r.json()["id"]
    r = a.post(f"/api/v1/documents/{doc_id}/sign", "bnv.lanhdao", json={"pin": a.pin})
    assert r.status_code == 200, r.text
    r = a.post(f"/api/v1/documents/{doc_id}/issue", "bnv.vanthu", json={"pin": a.pin})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def inbox(b: Node) -> list[dict[str, object]]:
    r = b.get("/api/v1/inbox", "nghean.vanthu")
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def statuses(a: Node, doc_id: str) -> list[str]:
    r = a.get(f"/api/v1/documents/{doc_id}/timeline", "bnv.vanthu")
    assert r.status_code == 200, r.text
    return [s["status_code"] for s in r.json()["statuses"]]


def test_issued_document_is_verified_registered_and_acknowledged(axis: Axis, tmp_path: Path) -> None:
    doc = issue_document(axis.a, tmp_path, "Về việc trao đổi văn bản qua trục liên thông")
    number = doc["number"]
    item = wait_for(lambda: next((i for i in inbox(axis.b) if i["number"] == number), None), 60,
                    what="the document at B")
    item = wait_for(lambda: next((i for i in inbox(axis.b) if i["number"] == number and i["status"] == "registered"),
                                 None), 30, what="registration at B")
    assert item["verdict"] == "TOTAL_PASSED" and item["sender_code"] == BNV
    assert item["arrival_number"] >= 1
    assert [f["indication"] for f in item["files"]] == ["TOTAL_PASSED"]
    codes = wait_for(lambda: (c := statuses(axis.a, doc["id"])) and "03" in c and c, 60, what="03 back at A")
    assert codes[:2] == ["01", "03"]
    # nobody else sees it: the ministry's own clerk has no such incoming document
    assert all(i["number"] != number for i in inbox(axis.a) if "nghean" not in str(i))
    r = axis.b.get(f"/api/v1/inbox/{item['id']}", "nghean.vanthu")
    assert r.status_code == 200
    assert axis.a.get(f"/api/v1/inbox/{item['id']}", "bnv.vanthu").status_code == 404


def test_clerk_actions_send_04_05_06_back(axis: Axis, tmp_path: Path) -> None:
    doc = issue_document(axis.a, tmp_path, "Văn bản để xử lý")
    item = wait_for(lambda: next((i for i in inbox(axis.b) if i["number"] == doc["number"]
                                  and i["status"] == "registered"), None), 90, what="registered at B")
    for action, code in (("assigned", "04"), ("processing", "05"), ("completed", "06")):
        r = axis.b.post(f"/api/v1/inbox/{item['id']}/actions", "nghean.vanthu",
                        json={"action": action, "note": "Phòng Tổng hợp" if action == "assigned" else ""})
        assert r.status_code == 200, r.text
    codes = wait_for(lambda: (c := statuses(axis.a, doc["id"])) and "06" in c and c, 60, what="06 at A")
    assert codes == ["01", "03", "04", "05", "06"]
    r = axis.b.post(f"/api/v1/inbox/{item['id']}/actions", "nghean.vanthu", json={"action": "reject", "note": "x"})
    assert r.status_code == 409  # a registered document can no longer be refused


def test_recipient_down_then_up_registers_each_document_once(axis: Axis, tmp_path: Path) -> None:
    axis.b.worker.stop()
    numbers = [issue_document(axis.a, tmp_path, f"Văn bản gửi khi nơi nhận ngừng hoạt động {i}")["number"]
               for i in range(10)]
    before = {i["number"] for i in inbox(axis.b)}
    assert not set(numbers) & before
    axis.b.worker.start()
    wait_for(lambda: set(numbers) <= {i["number"] for i in inbox(axis.b) if i["status"] == "registered"}, 120,
             what="all ten registered at B")
    items = [i for i in inbox(axis.b) if i["number"] in numbers]
    assert len(items) == 10  # each exactly once
    arrivals = sorted(i["arrival_number"] for i in items)
    assert len(set(arrivals)) == 10 and arrivals == list(range(arrivals[0], arrivals[0] + 10))


def test_tampered_package_is_refused_with_02_and_the_sender_sees_why(axis: Axis, tmp_path: Path) -> None:
    import glob
    import os

    axis.b.worker.stop()
    doc = issue_document(axis.a, tmp_path, "Văn bản bị sửa trên trục")
    # wait until A's worker has handed the package to the hub, then change its stored bytes there
    wait_for(lambda: axis.a.get(f"/api/v1/documents/{doc['id']}/timeline", "bnv.vanthu").json()["outbox_state"]
             == "sent", 60, what="package at the hub")
    newest = max(glob.glob(str(axis.hub_dir / "hub-blobs" / "??" / "??" / "*")), key=os.path.getmtime)
    os.chmod(newest, 0o644)
    data = bytearray(Path(newest).read_bytes())
    data[len(data) // 2] ^= 0x01
    Path(newest).write_bytes(bytes(data))
    axis.b.worker.start()
    codes = wait_for(lambda: (c := statuses(axis.a, doc["id"])) and "02" in c and c, 90, what="02 at A")
    assert codes == ["02"]
    timeline = axis.a.get(f"/api/v1/documents/{doc['id']}/timeline", "bnv.vanthu").json()
    assert "mã băm" in timeline["statuses"][0]["description"]
    assert all(i["number"] != doc["number"] or i["status"] == "rejected" for i in inbox(axis.b))
