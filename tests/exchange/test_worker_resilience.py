"""The exchange worker survives what a chaos test throws at it: its PostgreSQL going away and coming back (a real,
private PostgreSQL stopped and restarted under it), failing passes, SIGTERM during a back-off; and ``serve``'s
supervisor restarts children that die."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from docexchange.blobstore import BlobStore
from docexchange.db import Database
from docexchange.exchange.models import OutboxItem
from docexchange.exchange.service import ExchangeDeps
from docexchange.exchange.worker import Supervisor, WorkerStats, backoff_delay, run_worker_loop
from docexchange.ledger import Ledger
from docexchange.models import Agency
from docexchange.signing.validation import ValidationPolicy
from tests.conftest import free_port
from tests.hub._hubutil import ThreadHub, edoc, next_code
from tests.pgutil import PrivatePostgres, server_binaries_installed


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    if not server_binaries_installed():
        pytest.skip("PostgreSQL server binaries not installed")
    pg = PrivatePostgres()
    yield pg
    pg.destroy()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[ThreadHub]:
    h = ThreadHub(tmp_path / "hub").start()
    yield h
    h.stop()


def test_backoff_doubles_from_interval_to_the_cap() -> None:
    assert [backoff_delay(1.0, n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]
    assert [backoff_delay(0.25, n, cap=1.0) for n in range(1, 5)] == [0.25, 0.5, 1.0, 1.0]
    assert backoff_delay(0, 1) == 0.05  # a zero interval cannot spin


@pytest.mark.slow
def test_worker_survives_a_postgresql_restart_and_sends_after_recovery(
    private_pg: PrivatePostgres, hub: ThreadHub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from docexchange.migrate import upgrade

    upgrade(private_pg.url)
    db = Database(private_pg.url)
    blobs = BlobStore(tmp_path / "blobs")
    sender_code, sid, secret = hub.agency()
    recipient_code, r_sid, r_secret = hub.agency(next_code("G09"))
    with db.transaction() as s:
        agency = Agency(code=sender_code, name="Sở thử nghiệm", kind="other", abbreviation="STN",
                        hub_system_id=sid, hub_secret=secret)
        s.add(agency)
    deps = ExchangeDeps(db=db, blobs=blobs, ledger=Ledger(), hub_url=hub.url,
                        policy=ValidationPolicy(trust_anchors=[], offline=True))
    stats = WorkerStats()
    stop = threading.Event()
    loop = threading.Thread(target=run_worker_loop, args=(deps, "test:1"), kwargs=dict(
        interval=0.1, max_backoff=0.8, should_stop=stop.is_set, stats=stats), daemon=True)
    with caplog.at_level(logging.INFO, logger="docexchange.worker"):
        loop.start()
        _wait(lambda: stats.passes >= 2, "idle passes")
        assert stats.failed_passes == 0

        private_pg.stop()  # the pooled connections now point at a dead server
        _wait(lambda: stats.consecutive_failures >= 4, "failing passes", timeout=30)
        assert loop.is_alive()
        private_pg.start()

        package = edoc(sender_code, [recipient_code], "restart-1")
        sha = blobs.put_bytes(package)
        with db.transaction() as s:
            agency_id = s.execute(select(Agency.id).where(Agency.code == sender_code)).scalar_one()
            s.add(OutboxItem(agency_id=agency_id, kind="edoc", edxml_document_id="restart-1",
                             package_sha256=sha, package_size=len(package)))

        def sent() -> bool:
            with db.reading() as s:
                return s.execute(select(OutboxItem.state)).scalar_one() == "sent"

        _wait(sent, "outbox row sent after recovery", timeout=30)
        stop.set()
        loop.join(2)
    assert not loop.is_alive()
    assert stats.recoveries == 1 and stats.failed_passes >= 4 and stats.consecutive_failures == 0
    failures = [r for r in caplog.records if r.getMessage().startswith("exchange worker pass failed")]
    assert failures and all(r.exc_info for r in failures)  # logged with the traceback
    assert "OperationalError" in caplog.text
    delays = [r.args[1] for r in failures]  # type: ignore[index]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8] and max(delays) == 0.8
    recovered = [r.getMessage() for r in caplog.records if "recovered" in r.getMessage()]
    assert recovered == [f"exchange worker recovered after {stats.failed_passes} failed passes"]
    # the package really reached the hub: the recipient finds it in its mailbox
    from docexchange.axis.client import HubClient

    items = HubClient(hub.url, r_sid, r_secret, retries=0).get_received_edoc_list()
    with db.reading() as s:
        hub_doc_id = s.execute(select(OutboxItem.hub_doc_id)).scalar_one()
    assert [i.doc_id for i in items] == [hub_doc_id]
    assert items[0].document_id == "restart-1"
    db.engine.dispose()


def test_stop_interrupts_a_long_backoff_and_keyboard_interrupt_still_stops() -> None:
    stop = threading.Event()
    calls = []

    def failing() -> int:
        calls.append(time.monotonic())
        stop_timer = threading.Timer(0.3, stop.set)
        stop_timer.start()
        raise OSError("connection reset by peer")

    started = time.monotonic()
    stats = run_worker_loop(None, "t", interval=20, pass_fn=failing,  # type: ignore[arg-type]
                            should_stop=stop.is_set)
    assert time.monotonic() - started < 1.5  # woke from a 20 s back-off within a poll slice
    assert len(calls) == 1 and stats.failed_passes == 1

    def interrupted() -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_worker_loop(None, "t", interval=0.01, pass_fn=interrupted)  # type: ignore[arg-type]

    with pytest.raises(OSError):  # --once reports a failed pass instead of hiding it
        run_worker_loop(None, "t", once=True, pass_fn=failing)  # type: ignore[arg-type]


def test_supervisor_restarts_dead_children_with_backoff(tmp_path: Path) -> None:
    marker = tmp_path / "starts"
    crasher = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x'); raise SystemExit(3)"]
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    sup = Supervisor(interval=0.1, max_backoff=0.4)
    sup.add("crasher", crasher)
    steady = sup.add("steady", sleeper)
    sup.start_thread()
    try:
        _wait(lambda: marker.exists() and len(marker.read_text()) >= 5, "five starts of the crasher", timeout=20)
        assert sup.children[0].failures >= 4  # back-off grew (0.1, 0.2, 0.4, 0.4, ...)
        assert sup.children[1].proc is steady and steady.poll() is None
        steady.kill()  # SIGKILL a live child: it comes back
        _wait(lambda: sup.children[1].proc is not steady and sup.children[1].proc.poll() is None,
              "the killed child restarted")
    finally:
        sup.stop(grace=5)
    assert all(c.proc.poll() is not None for c in sup.children)
    starts = len(marker.read_text())
    time.sleep(0.5)
    assert len(marker.read_text()) == starts  # nothing restarted after stop


def _wait(cond: object, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_command_waits_for_an_unreachable_database_and_stops_on_sigterm(tmp_path: Path) -> None:
    """``docexchange worker`` started while its PostgreSQL is down stays up, logs, and exits 0 on SIGTERM."""
    env = dict(os.environ, DOCEXCHANGE_INSTANCE_DIR=str(tmp_path), DOCEXCHANGE_CERTS_DIR=str(tmp_path / "certs"),
               DOCEXCHANGE_DATABASE_URL=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none",
               DOCEXCHANGE_SECRET_KEY="test-secret")
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "docexchange.cli", "worker", "--interval", "0.1"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: log.read_text().count("waiting for the database") >= 3, "three logged attempts", timeout=60)
        assert proc.poll() is None
        proc.terminate()
        assert proc.wait(5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert "OperationalError" in text and "Traceback" in text
    assert "next try in 0.1 s" in text and "next try in 0.2 s" in text
