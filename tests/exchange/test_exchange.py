"""Documents cross the axis between real processes: send, receive, verify on receipt, register, status back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.exchange.conftest import BNV, NGHEAN, Axis, Node, wait_for
from tests.signing.pdfgen import decree30_pdf

pytestmark = pytest.mark.slow


def issue_document(a: Node, tmp: Path, subject: str, recipients: str = NGHEAN, **extra: str) -> dict[str, object]:
    pdf = decree30_pdf(tmp / "d.pdf", signer="Nguyễn Văn Thắng", position="BỘ TRƯỞNG", authority="",
                       number="Số:      /QĐ-BNV")
    with open(pdf, "rb") as fh:
        r = a.post("/api/v1/documents", "bnv.vanthu", files={"file": ("qd.pdf", fh, "application/pdf")},
                   data={"type_name": "Quyết định", "type_abbr": "QĐ", "subject": subject,
                         "recipients": recipients, "signer": "bnv.lanhdao", **extra})
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
    csv = axis.b.get("/api/v1/registers/incoming?format=csv", "nghean.vanthu").content.decode("utf-8-sig")
    assert "Số đến" in csv and number in csv  # type: ignore[operator]
    rows = axis.b.get("/api/v1/registers/incoming", "nghean.vanthu").json()["items"]
    assert any(r["number_notation"] == number and r["arrival_number"] == item["arrival_number"] for r in rows)
    assert axis.a.get(f"/api/v1/inbox/{item['id']}", "bnv.vanthu").status_code == 404


def test_clerk_actions_send_04_05_06_back(axis: Axis, tmp_path: Path) -> None:
    doc = issue_document(axis.a, tmp_path, "Văn bản để xử lý")
    item = wait_for(lambda: next((i for i in inbox(axis.b) if i["number"] == doc["number"]
                                  and i["status"] == "registered"), None), 90, what="registered at B")
    for action in ("assigned", "processing", "completed"):
        r = axis.b.post(f"/api/v1/inbox/{item['id']}/actions", "nghean.vanthu",
                        json={"action": action, "note": "Phòng Tổng hợp" if action == "assigned" else ""})
        assert r.status_code == 200, r.text
    codes = wait_for(lambda: (c := statuses(axis.a, doc["id"])) and "06" in c and c, 60, what="06 at A")
    assert codes == ["01", "03", "04", "05", "06"]
    from datetime import UTC, datetime

    times = [datetime.fromisoformat(st["status_time"]) for st in
             axis.a.get(f"/api/v1/documents/{doc['id']}/timeline", "bnv.vanthu").json()["statuses"]]
    assert all(abs((datetime.now(UTC) - t).total_seconds()) < 300 for t in times), times  # real time, any zone
    r = axis.b.post(f"/api/v1/inbox/{item['id']}/actions", "nghean.vanthu", json={"action": "reject", "note": "x"})
    assert r.status_code == 409  # a registered document can no longer be refused


def test_recipient_down_then_up_registers_each_document_once(axis: Axis, tmp_path: Path) -> None:
    axis.b.worker.stop()
    numbers = [issue_document(axis.a, tmp_path, f"Văn bản gửi khi nơi nhận ngừng hoạt động {i}")["number"]
               for i in range(50)]
    before = {i["number"] for i in inbox(axis.b)}
    assert not set(numbers) & before
    axis.b.worker.start()
    wait_for(lambda: set(numbers) <= {i["number"] for i in inbox(axis.b) if i["status"] == "registered"}, 400,
             what="all fifty registered at B")
    items = [i for i in inbox(axis.b) if i["number"] in numbers]
    assert len(items) == 50  # each exactly once
    arrivals = sorted(i["arrival_number"] for i in items)
    assert len(set(arrivals)) == 50 and arrivals == list(range(arrivals[0], arrivals[0] + 50))


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


def test_resend_after_a_crash_between_send_and_record_is_deduplicated(axis: Axis, tmp_path: Path) -> None:
    """The sender worker died after the hub accepted the package but before it recorded that: the next worker
    sends the same stored bytes again and the hub acknowledges it as a duplicate, so B gets it once."""
    from sqlalchemy import select

    from docexchange.axis.client import HubClient
    from docexchange.db import Database
    from docexchange.exchange.models import OutboxItem
    from docexchange.models import Agency

    axis.a.worker.stop()
    doc = issue_document(axis.a, tmp_path, "Gửi lại sau sự cố")
    db = Database(axis.a.env["DOCEXCHANGE_DATABASE_URL"])
    with db.reading() as s:
        agency = s.execute(select(Agency).where(Agency.code == BNV)).scalar_one()
        item = s.execute(select(OutboxItem).where(OutboxItem.edxml_document_id.like(f"%{doc['number']}"))
                         ).scalar_one()
        blob = Path(axis.a.env["DOCEXCHANGE_INSTANCE_DIR"]) / "blobs" / item.package_sha256[:2] / \
            item.package_sha256[2:4] / item.package_sha256
        first = HubClient(axis.hub_url, agency.hub_system_id or "", agency.hub_secret or "").send_edoc(blob)
    db.dispose()
    assert not first.duplicate
    axis.a.worker.start()
    wait_for(lambda: axis.a.get(f"/api/v1/documents/{doc['id']}/timeline", "bnv.vanthu").json()["outbox_state"]
             == "sent", 60, what="the worker's resend")
    wait_for(lambda: "03" in statuses(axis.a, doc["id"]), 90, what="03 at A")
    assert sum(1 for i in inbox(axis.b) if i["number"] == doc["number"]) == 1


def test_recall_removes_the_document_at_the_recipient_and_it_answers_15(axis: Axis, tmp_path: Path) -> None:
    doc = issue_document(axis.a, tmp_path, "Văn bản sẽ bị thu hồi")
    item = wait_for(lambda: next((i for i in inbox(axis.b) if i["number"] == doc["number"]
                                  and i["status"] == "registered"), None), 90, what="registered at B")
    r = axis.a.post(f"/api/v1/documents/{doc['id']}/recall", "bnv.vanthu", json={"pin": axis.a.pin, "reason": ""})
    assert r.status_code == 422  # a reason is required
    r = axis.a.post(f"/api/v1/documents/{doc['id']}/recall", "bnv.vanthu",
                    json={"pin": axis.a.pin, "reason": "Ban hành nhầm, sẽ thay thế"})
    assert r.status_code == 200 and r.json()["status"] == "recalled", r.text
    codes = wait_for(lambda: (c := statuses(axis.a, doc["id"])) and "15" in c and c, 90, what="15 at A")
    assert codes[-1] == "15"
    assert all(i["number"] != doc["number"] for i in inbox(axis.b))  # gone from the working views
    assert axis.b.get(f"/api/v1/inbox/{item['id']}", "nghean.vanthu").status_code == 404
    r = axis.a.post(f"/api/v1/documents/{doc['id']}/recall", "bnv.vanthu", json={"pin": axis.a.pin, "reason": "x"})
    assert r.status_code == 409  # already recalled (frozen)


def test_update_order_changes_the_recipient_copy_and_it_answers_15(axis: Axis, tmp_path: Path) -> None:
    doc = issue_document(axis.a, tmp_path, "Trích yếu ban đầu")
    wait_for(lambda: next((i for i in inbox(axis.b) if i["number"] == doc["number"]
                           and i["status"] == "registered"), None), 90, what="registered at B")
    r = axis.a.post(f"/api/v1/documents/{doc['id']}/send-update", "bnv.vanthu",
                    json={"pin": axis.a.pin, "reason": "Sửa trích yếu", "subject": "Trích yếu đã sửa"})
    assert r.status_code == 200, r.text
    codes = wait_for(lambda: (c := statuses(axis.a, doc["id"])) and "15" in c and c, 90, what="15 at A")
    assert codes[-1] == "15"
    mine = [i for i in inbox(axis.b) if i["number"] == doc["number"]]
    assert len(mine) == 1 and mine[0]["subject"] == "Trích yếu đã sửa" and mine[0]["status"] == "registered"


def test_replacement_takes_the_place_of_the_earlier_document(axis: Axis, tmp_path: Path) -> None:
    first = issue_document(axis.a, tmp_path, "Văn bản sẽ được thay thế")
    wait_for(lambda: any(i["number"] == first["number"] and i["status"] == "registered" for i in inbox(axis.b)),
             90, what="first registered at B")
    second = issue_document(axis.a, tmp_path, "Văn bản thay thế", replaces=str(first["id"]))
    wait_for(lambda: any(i["number"] == second["number"] and i["status"] == "registered" for i in inbox(axis.b)),
             90, what="replacement registered at B")
    numbers = {i["number"] for i in inbox(axis.b)}
    assert second["number"] in numbers and first["number"] not in numbers  # the replaced one left the views
    assert axis.a.get(f"/api/v1/documents/{first['id']}", "bnv.vanthu").json()["status"] == "replaced"
    r = axis.a.post("/api/v1/documents", "bnv.vanthu", data={"type_name": "Quyết định", "subject": "x",
                                                              "signer": "bnv.lanhdao", "replaces": str(first["id"])},
                    files={"file": ("d.pdf", b"%PDF-1.4", "application/pdf")})
    assert r.status_code == 400 and r.json()["code"] == "bad_replaces"  # no longer in force


def test_zz_revoked_sender_seal_is_refused(axis: Axis, tmp_path: Path) -> None:
    """Must stay the LAST test of this module (pytest runs them in file order): it revokes the ministry's seal
    (key compromise, dated before the signature), so nothing can be issued by node A afterwards."""
    from datetime import timedelta

    from sqlalchemy import select

    from docexchange.db import Database, utcnow
    from docexchange.models import Agency
    from docexchange.pki.ca import DevCA

    axis.b.worker.stop()
    doc = issue_document(axis.a, tmp_path, "Văn bản có con dấu bị thu hồi")
    db = Database(axis.a.env["DOCEXCHANGE_DATABASE_URL"])
    with db.transaction() as s:
        serial = s.execute(select(Agency.seal_cert_serial).where(Agency.code == BNV)).scalar_one()
        DevCA.revoke(s, serial, "key_compromise", when=utcnow() - timedelta(hours=1))
    db.dispose()
    axis.b.worker.start()
    codes = wait_for(lambda: (c := statuses(axis.a, doc["id"])) and "02" in c and c, 90, what="02 at A")
    assert codes == ["02"]
    item = next(i for i in inbox(axis.b) if i["number"] == doc["number"])
    assert item["status"] == "rejected" and item["verdict"] == "TOTAL_FAILED"
    assert "không hợp lệ" in item["reason"]
