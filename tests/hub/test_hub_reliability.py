"""Reliability over real HTTP: 500 recipients, a 200 MB package with bounded hub memory, SIGKILL mid-batch."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

from docexchange.axis.client import HubBadRequest, HubClient, SendReceipt
from tests.hub._hubutil import HubProcess, edoc, next_code, write_big_edoc


def _agency(hub: HubProcess, **client_kw: float) -> tuple[str, HubClient]:
    code = next_code()
    hub.register(code)
    sid, secret = hub.credentials(code)
    return code, HubClient(hub.url, sid, secret, **client_kw)  # type: ignore[arg-type]


def test_500_recipients_on_one_package(hub: HubProcess, workdir: Path) -> None:
    a_code, a = _agency(hub)
    recipients = [next_code("G22") for _ in range(500)]
    for code in recipients:
        hub.register(code)
    package = edoc(a_code, recipients, f"{a_code},2026/11/22,500/UBND-VP")
    t0 = time.monotonic()
    receipt = a.send_edoc_bytes(package)
    send_s = time.monotonic() - t0
    assert receipt.recipients == 500 and not receipt.duplicate
    report = a.get_sent_edoc_list(receipt.doc_id)
    assert len(report) == 500 and sorted(r.to for r in report) == sorted(recipients)
    assert {r.receive_status for r in report} == {"pending"}
    sha = hashlib.sha256(package).hexdigest()
    for code in recipients[::100]:  # five recipients read and acknowledge their copy
        sid, secret = hub.credentials(code)
        c = HubClient(hub.url, sid, secret)
        [item] = c.get_received_edoc_list()
        assert item.doc_id == receipt.doc_id and item.content_sha256 == sha
        assert c.get_edoc(item.doc_id, workdir / f"{code}.edxml", sha, len(package)).read_bytes() == package
        c.update_status(item.doc_id, "done")
    report = a.get_sent_edoc_list(receipt.doc_id)
    assert sum(r.receive_status == "done" for r in report) == 5
    assert sum(r.receive_status == "pending" for r in report) == 495
    assert a.send_edoc_bytes(package).duplicate  # dedup with 500 deliveries: still one of each
    assert len(a.get_sent_edoc_list(receipt.doc_id)) == 500
    assert send_s < 10


@pytest.mark.slow
def test_200mb_package_streamed_with_bounded_hub_memory(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path, cli=True).start()
    try:
        a_code, a = _agency(hub)
        b_code, b = _agency(hub)
        small = a.send_edoc_bytes(edoc(a_code, [b_code], f"{a_code},2026/11/22,1/warm"))
        b.get_edoc(small.doc_id, tmp_path / "warm.edxml")
        base_hwm = hub.vm("VmHWM")

        big = tmp_path / "big.edxml"
        write_big_edoc(big, a_code, b_code, f"{a_code},2026/11/22,2/big", 200 * 1024 * 1024)
        size = big.stat().st_size
        digest = hashlib.sha256()
        with open(big, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        t0 = time.monotonic()
        receipt = a.send_edoc(big)
        send_s = time.monotonic() - t0
        [item] = [i for i in b.get_received_edoc_list() if i.doc_id == receipt.doc_id]
        assert item.content_length == size and item.content_sha256 == digest.hexdigest()
        t0 = time.monotonic()
        out = b.get_edoc(item.doc_id, tmp_path / "got.edxml", item.content_sha256, item.content_length)
        get_s = time.monotonic() - t0
        assert out.stat().st_size == size
        growth_mib = (hub.vm("VmHWM") - base_hwm) / 1024
        print(
            f"\n200 MB package: {size} bytes, send {send_s:.1f} s, download {get_s:.1f} s, "
            f"hub VmHWM growth {growth_mib:.1f} MiB"
        )
        assert growth_mib < 48, f"hub peak RSS grew by {growth_mib:.1f} MiB for a {size >> 20} MiB package"
    finally:
        hub.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None


@pytest.mark.slow
def test_hub_sigkilled_mid_batch_loses_nothing_and_delivers_once(
    tmp_path: Path, database_url: str | None
) -> None:
    hub = HubProcess(tmp_path, database_url).start()
    n = 40
    try:
        before = hub.admin("GET", "/admin/counts")
        a_code, a = _agency(hub, retries=12, backoff=0.1, max_backoff=1.0)
        b_code, b = _agency(hub, retries=12, backoff=0.1, max_backoff=1.0)
        packages = [
            edoc(a_code, [b_code], f"{a_code},2026/11/22,{i}/BATCH", payload=f"doc {i}".encode() * 500)
            for i in range(n)
        ]
        receipts: list[SendReceipt] = []
        errors: list[BaseException] = []

        def sender() -> None:
            try:
                for p in packages:
                    receipts.append(a.send_edoc_bytes(p))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        thread = threading.Thread(target=sender)
        thread.start()
        while len(receipts) < 12:
            time.sleep(0.005)
        hub.kill()  # SIGKILL while the batch is in flight
        killed_at = len(receipts)
        time.sleep(0.5)
        hub.start()
        thread.join(120)
        assert not errors, errors
        assert killed_at < n and len(receipts) == n

        # the node's outbox does not know which sends got through: it resends the whole batch
        again = [a.send_edoc_bytes(p) for p in packages]
        assert [r.doc_id for r in again] == [r.doc_id for r in receipts]
        assert all(r.duplicate for r in again)

        counts = hub.admin("GET", "/admin/counts")
        assert (
            counts["packages"] - before["packages"] == n and counts["deliveries"] - before["deliveries"] == n
        )
        items = b.get_received_edoc_list()
        assert len(items) == n and len({i.doc_id for i in items}) == n
        assert sorted(i.document_id for i in items) == sorted(
            f"{a_code},2026/11/22,{i}/BATCH" for i in range(n)
        )
        by_doc = {i.document_id: i for i in items}
        for i, p in enumerate(packages):
            item = by_doc[f"{a_code},2026/11/22,{i}/BATCH"]
            got = b.get_edoc(
                item.doc_id, tmp_path / "in" / f"{i}.edxml", item.content_sha256, item.content_length
            )
            assert got.read_bytes() == p
            b.update_status(item.doc_id, "done")
        assert b.get_received_edoc_list() == []
    finally:
        hub.stop()


def test_size_limit_refuses_and_stores_nothing(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path, DOCEXCHANGE_HUB_MAX_PACKAGE_BYTES=str(1024 * 1024)).start()
    try:
        a_code, a = _agency(hub)
        b_code, b = _agency(hub)
        for size in (1536 * 1024, 2560 * 1024):  # caught by the blob store / by the request limit
            big = tmp_path / f"big{size}.edxml"
            write_big_edoc(big, a_code, b_code, f"{a_code},2026/11/22,{size}/BIG", size)
            with pytest.raises(HubBadRequest) as exc:
                a.send_edoc(big)
            assert exc.value.status == 413 and exc.value.code == "too_large", exc.value.problem
            assert exc.value.detail_vi
        assert a.get_sent_edoc_list() == [] and b.get_received_edoc_list() == []
        assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []
        ok = a.send_edoc_bytes(edoc(a_code, [b_code], f"{a_code},2026/11/22,1/SMALL"))
        assert [i.doc_id for i in b.get_received_edoc_list()] == [ok.doc_id]
    finally:
        hub.stop()
