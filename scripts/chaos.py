#!/usr/bin/env python3
"""Chaos run over the scale-out deployment (issue 9 item 3): documents are issued at node A and delivered to
node B for ``duration`` seconds while, on a fixed schedule,

- random processes (exchange workers of A and B, the two hub processes, both gunicorn web servers) are
  SIGKILLed every ``kill_every`` seconds and restarted (as systemd would) 0.5–2 s later;
- PostgreSQL (every database: both nodes and the hub) is stopped for 3 s and started again, once;
- A's CRL/OCSP (A's public URL, behind a TCP fault proxy) is cut for a while, and for the second part of that
  while A's TSA too (behind a proxy of its own): B cannot reach the revocation service for A's B-T
  signatures, so its verdicts are INDETERMINATE and it retries (never a pass without revocation data; the
  documents A issued while only revocation was cut are registered only after it is back); signing at A waits
  ``DOCEXCHANGE_TSA_WAIT_SECONDS`` and then fails with ``tsa_unavailable`` (nothing issued, no number
  consumed; the load generator retries later);
- B's wall clock is shifted by -600 s, then by +600 s, then put right (an LD_PRELOAD shim, tests/chaos/
  skewclock.c; monotonic clocks untouched). HMAC requests to the hub stay within its ±300 s window because
  the client corrects its offset; a slow receiver sees A's signatures "in the future" beyond the 300 s
  tolerance and defers them (INDETERMINATE), a fast one accepts them.

At the end every created document must be issued, registered at B exactly once with TOTAL_PASSED, gapless
numbers on both sides, one 03 back at A, no outbox row left pending or failed, both ledgers intact, every
process alive, and no process may have died unless it was killed.

    python scripts/chaos.py [--duration 90] [--kill-every 4] [--seed 1] [--json out.json]

needs PostgreSQL server binaries (it starts a private server it may restart) and gcc (for the clock shim)."""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "scripts"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import scaleout  # noqa: E402
from scaleout import NGHEAN, Deployment, Issued  # noqa: E402

from docexchange.netutil import free_port, wait_http  # noqa: E402
from tests.pgutil import PrivatePostgres  # noqa: E402

SKEW = 600
TSA_WAIT = 3
GRACE = 5  # seconds after a fault starts before "nothing may be registered" is checked (a slow machine)


# ---- faults -------------------------------------------------------------------------------------------------
class FaultProxy:
    """A TCP proxy that can be cut: while cut, open connections are closed and new ones closed at accept."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.server = socket.create_server(("127.0.0.1", listen_port), reuse_port=False, backlog=128)
        self.port = listen_port
        self.cut = threading.Event()
        self.open: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.cut.is_set():
                self.refused += 1
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client,), daemon=True).start()

    def _pump(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        with self.lock:
            self.open.update((client, upstream))
        try:
            pair = {client: upstream, upstream: client}
            while not self.cut.is_set():
                ready, _, _ = select.select(list(pair), [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    pair[s].sendall(data)
        except OSError:
            return
        finally:
            with self.lock:
                self.open.difference_update((client, upstream))
            client.close()
            upstream.close()

    def set_cut(self, cut: bool) -> None:
        if cut:
            self.cut.set()
            with self.lock:
                for s in list(self.open):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
        else:
            self.cut.clear()

    def close(self) -> None:
        self.server.close()


def build_skew_shim(work: Path) -> Path:
    out = work / "skewclock.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(out), str(ROOT / "tests" / "chaos" / "skewclock.c"),
                    "-ldl"], check=True, capture_output=True, timeout=120)
    return out


# ---- the run ------------------------------------------------------------------------------------------------
@dataclass
class Event:
    at: float  # seconds since the start of the load
    kind: str
    detail: str = ""
    wall: str = ""  # UTC wall clock (ISO 8601) of the harness, which is never skewed


@dataclass
class ChaosRun:
    dep: Deployment
    proxy: FaultProxy  # A's public URL: CRL, OCSP (and the CA certificates)
    tsa_proxy: FaultProxy  # A's TSA
    pg: PrivatePostgres
    shim: Path
    duration: float
    kill_every: float
    rng: random.Random
    t0: float = 0.0
    events: list[Event] = field(default_factory=list)
    issued: list[Issued] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    samples: list[tuple[float, int]] = field(default_factory=list)  # (t, registered at B)
    crashes: list[str] = field(default_factory=list)
    stop_load: threading.Event = field(default_factory=threading.Event)
    stop_all: threading.Event = field(default_factory=threading.Event)
    chaos_lock: threading.Lock = field(default_factory=threading.Lock)
    expected_dead: set[str] = field(default_factory=set)
    skew: int = 0
    issued_t: dict[str, float] = field(default_factory=dict)  # public id -> run time its issuance committed

    def now(self) -> float:
        return time.monotonic() - self.t0

    def event(self, kind: str, detail: str = "") -> None:
        self.events.append(Event(round(self.now(), 2), kind, detail, datetime.now(UTC).isoformat()))
        print(f"[chaos {self.now():6.1f}s] {kind} {detail}", flush=True)

    # -- load --------------------------------------------------------------------------------------------
    def _classify(self, exc: BaseException) -> str:
        from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

        from docexchange.errors import DomainError

        if isinstance(exc, OperationalError | InterfaceError) or (
                isinstance(exc, DBAPIError) and exc.connection_invalidated):
            return "database_unavailable"  # (an IntegrityError, say, is a bug and stays "unexpected")
        if isinstance(exc, DomainError):
            return str(getattr(exc, "code", "") or type(exc).__name__)
        return type(exc).__name__

    EXPECTED = {"database_unavailable", "tsa_unavailable"}

    def _retrying(self, what: str, call: Any, deadline: float) -> Any:
        while True:
            try:
                return call()
            except Exception as exc:  # noqa: BLE001  (classified and counted; unexpected ones fail the run)
                kind = self._classify(exc)
                self.errors[f"{what}:{kind}"] += 1
                if kind not in self.EXPECTED:
                    self.unexpected.append(f"{what}: {kind}: {exc}\n{traceback.format_exc(limit=4)}")
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def load(self, issuer: scaleout.Issuer) -> None:
        from sqlalchemy import select

        from docexchange.documents.models import Document
        from docexchange.documents.service import DraftInput, create_draft, perform

        k = 0
        while not self.stop_load.is_set():
            k += 1
            deadline = time.monotonic() + 90

            def draft(k: int = k) -> str:
                import io

                with issuer.svc.db.transaction() as s:
                    doc = create_draft(s, issuer.deps, issuer.clerk, io.BytesIO(issuer.pdf), "qd.pdf",
                                       DraftInput(type_name="Quyết định", type_abbr="QĐ",
                                                  subject=f"Văn bản thử hỗn loạn số {k}", recipients=[NGHEAN],
                                                  signer_username="bnv.lanhdao"))
                    return doc.public_id

            def state(public_id: str) -> Any:
                with issuer.svc.db.reading() as s:
                    return s.execute(select(Document.status, Document.id, Document.edxml_document_id,
                                            Document.issued_at).where(Document.public_id == public_id)).one()

            try:
                public_id = self._retrying("draft", draft, deadline)
                self.created.append(public_id)

                def sign(public_id: str = public_id) -> None:
                    if state(public_id).status == "draft":  # a commit lost with its connection may have landed
                        perform(issuer.svc.db, issuer.deps, issuer.signer, public_id, "sign", issuer.pin)

                def issue(public_id: str = public_id) -> Issued:
                    if state(public_id).edxml_document_id is None:
                        perform(issuer.svc.db, issuer.deps, issuer.clerk, public_id, "issue", issuer.pin)
                    row = state(public_id)  # (also when a commit whose answer was lost did land)
                    return Issued(public_id, row.id, row.edxml_document_id or "", row.issued_at)

                self._retrying("sign", sign, deadline)
                self.issued.append(self._retrying("issue", issue, deadline))
                self.issued_t[public_id] = self.now()
            except Exception:  # noqa: BLE001
                self.unexpected.append(f"document {k} never issued: {traceback.format_exc(limit=3)}")
                return

    def monitor(self) -> None:
        """Samples how many documents B has registered (its database), twice a second."""
        from sqlalchemy import func, select

        from docexchange.db import Database
        from docexchange.exchange.models import IncomingDocument

        db = Database(self.dep.nodes["B"].database_url)
        try:
            while not self.stop_all.is_set():
                try:
                    with db.reading() as s:
                        n = s.execute(select(func.count()).select_from(IncomingDocument)
                                      .where(IncomingDocument.status == "registered")).scalar_one()
                    self.samples.append((self.now(), int(n)))
                except Exception:  # noqa: BLE001  (PostgreSQL restarting)
                    pass
                self.stop_all.wait(0.5)
        finally:
            db.dispose()

    # -- chaos -------------------------------------------------------------------------------------------
    def victims(self) -> list[scaleout.Proc]:
        return [p for p in self.dep.procs if p.name.startswith(("A-worker", "B-worker", "hub", "A-web", "B-web"))]

    def killer(self) -> None:
        """Every process in turn, in a fresh random order each round, so that each kind is hit."""
        queue: list[str] = []
        while not self.stop_load.wait(self.kill_every):
            with self.chaos_lock:
                if not queue:
                    queue = [p.name for p in self.victims()]
                    self.rng.shuffle(queue)
                name = queue.pop()
                proc = next(p for p in self.victims() if p.name == name)
                self.expected_dead.add(proc.name)
                proc.kill()
                self.event("SIGKILL", proc.name)
            time.sleep(self.rng.uniform(0.5, 2.0))
            with self.chaos_lock:
                if not proc.alive():  # (a clock change may have restarted it already)
                    proc.start()
                    self.event("restart", proc.name)
                self.expected_dead.discard(proc.name)

    def supervisor(self) -> None:
        """Restarts any process that died without being killed, and counts it as a crash."""
        while not self.stop_all.wait(0.5):
            with self.chaos_lock:
                if self.stop_all.is_set():
                    return
                for p in self.dep.procs:
                    if p.name not in self.expected_dead and not p.alive():
                        code = p.popen.returncode if p.popen is not None else "?"
                        self.crashes.append(f"{p.name} exited with {code} at {self.now():.1f}s")
                        self.event("CRASH", f"{p.name} exit {code}; restarting")
                        p.start()

    def skew_b(self, seconds: int) -> None:
        """Restart B's processes with their wall clock shifted (0 = put right)."""
        with self.chaos_lock:
            for p in self.dep.procs:
                if p.name.startswith("B-"):
                    self.expected_dead.add(p.name)
                    p.kill()
                    p.env = {k: v for k, v in p.env.items() if k not in ("LD_PRELOAD", "DOCEXCHANGE_SKEW_SECONDS")}
                    if seconds:
                        p.env |= {"LD_PRELOAD": str(self.shim), "DOCEXCHANGE_SKEW_SECONDS": str(seconds)}
                    p.start()
                    self.expected_dead.discard(p.name)
        self.skew = seconds
        self.event("clock B", f"{seconds:+d} s")

    def schedule(self) -> None:
        """The planned faults; whatever happens, the clock is put right and the cut restored at the end."""
        d = self.duration
        plan: list[tuple[float, str]] = [(0.20 * d, "pg"), (0.30 * d, "cut"), (0.42 * d, "cut_tsa"),
                                         (0.50 * d, "uncut"),
                                         (0.60 * d, "slow"), (0.75 * d, "fast"), (0.88 * d, "right")]
        try:
            for at, what in plan:
                if self.stop_load.wait(max(0.0, at - self.now())):
                    return
                if what == "pg":
                    with self.chaos_lock:
                        self.event("postgres", "stop")
                        self.pg.stop()
                        time.sleep(3)
                        self.pg.start()
                        self.event("postgres", "started")
                elif what == "cut":
                    self.proxy.set_cut(True)
                    self.event("pki cut", "A's CRL/OCSP")
                elif what == "cut_tsa":
                    self.tsa_proxy.set_cut(True)
                    self.event("tsa cut", "A's TSA")
                elif what == "uncut":
                    self.proxy.set_cut(False)
                    self.tsa_proxy.set_cut(False)
                    self.event("pki restored", "A's CRL/OCSP/TSA")
                else:
                    self.skew_b({"slow": -SKEW, "fast": SKEW, "right": 0}[what])
        finally:
            if self.proxy.cut.is_set() or self.tsa_proxy.cut.is_set():
                self.proxy.set_cut(False)
                self.tsa_proxy.set_cut(False)
                self.event("pki restored", "A's CRL/OCSP/TSA")
            if self.skew:
                self.skew_b(0)

    def run(self) -> None:
        issuer = scaleout.Issuer(self.dep.node_settings("A"), scaleout.sample_pdf(self.dep.root))
        self.t0 = time.monotonic()
        threads = [threading.Thread(target=self.load, args=(issuer,), name="load"),
                   threading.Thread(target=self.killer, name="killer"),
                   threading.Thread(target=self.schedule, name="schedule")]
        background = [threading.Thread(target=self.monitor, daemon=True, name="monitor"),
                      threading.Thread(target=self.supervisor, daemon=True, name="supervisor")]
        for t in threads + background:
            t.start()
        time.sleep(self.duration)
        self.stop_load.set()
        self.event("load stopped", f"{len(self.issued)} issued, {len(self.created)} created")
        for t in threads:
            t.join(120)
        issuer.svc.db.dispose()


def windows(events: list[Event]) -> dict[str, tuple[float, float]]:
    at = {e.kind + ":" + e.detail: e.at for e in events}
    return {"pki_cut": (at["pki cut:A's CRL/OCSP"], at["pki restored:A's CRL/OCSP/TSA"]),
            "clock_slow": (at["clock B:-600 s"], at["clock B:+600 s"])}


def check(run: ChaosRun, drain_timeout: float) -> dict[str, Any]:
    """Waits until every issued document is done (or the timeout), then gathers the figures."""
    from sqlalchemy import func, select

    from docexchange.db import Database
    from docexchange.documents.models import Document
    from docexchange.exchange.models import IncomingDocument, IncomingRegisterEntry, OutboxItem

    dep = run.dep
    t_drain = time.monotonic()
    out = scaleout.wait_done(dep, run.issued, drain_timeout)
    drain_s = time.monotonic() - t_drain
    run.stop_all.set()
    db_a, db_b = Database(dep.nodes["A"].database_url), Database(dep.nodes["B"].database_url)
    try:
        with db_a.reading() as s:
            numbers = [int(n) for n in s.execute(select(Document.number).where(Document.number.is_not(None)))
                       .scalars()]
            outbox = dict(s.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state)).all())
            unissued = s.execute(select(func.count()).select_from(Document)
                                 .where(Document.public_id.in_(run.created),
                                        Document.edxml_document_id.is_(None))).scalar_one()
        with db_b.reading() as s:
            rows = s.execute(select(IncomingDocument.verdict, IncomingDocument.arrival_number)
                             .where(IncomingDocument.edxml_document_id.in_(
                                 [i.edxml_document_id for i in run.issued]))).all()
            register = sorted(int(n) for n in s.execute(select(IncomingRegisterEntry.arrival_number)).scalars())
            outbox_b = dict(s.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state)).all())
    finally:
        db_a.dispose()
        db_b.dispose()
    ledgers = {}
    for name in ("A", "B"):
        proc = subprocess.run([sys.executable, "-m", "docexchange.cli", "ledger", "verify"],
                              env=dep.nodes[name].env, capture_output=True, text=True, timeout=120)
        ledgers[name] = proc.returncode == 0 and "ledger intact" in proc.stdout
    deferred = {}
    for name in ("B-worker1", "B-worker2"):
        log = dep.root / f"{name}.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        deferred[name] = text.count("indeterminate; retrying later")
    registered_during = {}
    fault_windows = windows(run.events)
    for w, (start, end) in fault_windows.items():
        inside = [n for t, n in run.samples if start + GRACE <= t <= end]  # a verification already past its fetches
        registered_during[w] = (max(inside) - min(inside)) if inside else None
    at = {e.kind: e for e in run.events}
    cut, tsa_cut, restored = at["pki cut"], at["tsa cut"], at["pki restored"]
    during = [i for i in run.issued if cut.at <= run.issued_t.get(i.public_id, -1) <= tsa_cut.at]
    restored_wall = datetime.fromisoformat(restored.wall)
    early = [i.public_id for i in during if (r := out["registered"].get(i.edxml_document_id)) is not None
             and r < restored_wall]
    healthy = []
    for n in dep.nodes.values():
        try:
            wait_http(f"http://127.0.0.1:{n.port}/healthz", 30)
            healthy.append(n.name)
        except Exception:  # noqa: BLE001
            pass
    for url in dep.hub_urls:
        try:
            wait_http(f"{url}/healthz", 30)
            healthy.append(url)
        except Exception:  # noqa: BLE001
            pass
    kills = Counter(e.detail.split("-")[0].rstrip("0123456789") for e in run.events if e.kind == "SIGKILL")
    return {
        "duration_s": run.duration, "drain_s": round(drain_s, 1),
        "created": len(run.created), "issued": len(run.issued), "unissued": int(unissued),
        "registered": len(out["registered"]), "lost": out["lost"], "duplicated": out["duplicated"],
        "acks_03": sum(1 for i in run.issued if out["acks"].get(i.doc_id) == 1),
        "verdicts": dict(Counter(r[0] for r in rows)),
        "numbers_gapless": sorted(numbers) == list(range(1, len(numbers) + 1)) and len(numbers) == len(run.issued),
        "arrivals_gapless": sorted(int(r[1] or 0) for r in rows) == list(range(1, len(rows) + 1)) == register,
        "outbox_a": outbox, "outbox_b": outbox_b,
        "ledgers_intact": ledgers,
        "kills": sum(1 for e in run.events if e.kind == "SIGKILL"), "kills_by_kind": dict(kills),
        "postgres_restarts": sum(1 for e in run.events if e.kind == "postgres" and e.detail == "started"),
        "pki_cut_s": round(fault_windows["pki_cut"][1] - fault_windows["pki_cut"][0], 1),
        "tsa_cut_s": round(restored.at - tsa_cut.at, 1),
        "proxy_refused": run.proxy.refused + run.tsa_proxy.refused,
        "issued_while_revocation_cut": len(during), "registered_before_revocation_back": len(early),
        "clock_skews": [e.detail for e in run.events if e.kind == "clock B"],
        "deferred_receipts": sum(deferred.values()), "registered_during": registered_during,
        "errors": dict(run.errors), "unexpected": run.unexpected, "crashes": run.crashes,
        "healthy": healthy,
    }


def chaos(work: Path, duration: float = 90, kill_every: float = 4, seed: int = 1,
          drain_timeout: float = 150) -> dict[str, Any]:
    pg = PrivatePostgres()
    shim = build_skew_shim(work)
    a_public, a_bind = free_port(), 0
    dep = scaleout.prepare(pg.url, work / "axis", tag="dxchaos", public_ports={"A": a_public})
    a_bind = dep.nodes["A"].port
    proxy = FaultProxy(a_public, a_bind)
    tsa_proxy = FaultProxy(free_port(), a_bind)
    dep.nodes["A"].extra_env = {"DOCEXCHANGE_SIGNING_LEVEL": "B-T",
                                "DOCEXCHANGE_TSA_URL": f"http://127.0.0.1:{tsa_proxy.port}/pki/tsa",
                                "DOCEXCHANGE_TSA_WAIT_SECONDS": str(TSA_WAIT)}
    try:
        scaleout.start(dep, hubs=2, web="gunicorn", web_workers=2, exchange_workers=2, interval=0.2,
                       lease_seconds=5, batch=4)
        run = ChaosRun(dep, proxy, tsa_proxy, pg, shim, duration, kill_every, random.Random(seed))
        run.run()
        try:
            result = check(run, drain_timeout)
        finally:
            run.stop_all.set()  # the supervisor must not restart what we stop now
            time.sleep(0.6)
        result["events"] = [e.__dict__ for e in run.events]
        return result
    finally:
        scaleout.stop(dep)
        proxy.close()
        tsa_proxy.close()
        pg.destroy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=90)
    parser.add_argument("--kill-every", type=float, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dxchaos-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up (stop processes, PostgreSQL)
    try:
        result = chaos(work, args.duration, args.kill_every, args.seed)
    finally:
        if not os.environ.get("DOCEXCHANGE_KEEP_CHAOS"):
            shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(result, ensure_ascii=False, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
