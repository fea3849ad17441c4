"""Load over the axis for a fixed duration, with per-stage latencies and exactly-once checks (issue 9 item 2).

Deployment: scripts/scaleout.py on PostgreSQL (2 hub processes, nodes A and B with gunicorn and 2 exchange
workers each) plus ``AGENCIES`` simulated agencies with their own credentials on the hub (≥ 20). Node A knows
them in its directory. For ``duration`` seconds A issues documents (real person signature and agency seal,
in-process through the documents service on A's database, ``ISSUERS`` threads, open loop at ``rate``/s), each
addressed to Nghệ An (node B: downloads, verifies every signature, registers, answers 01 and 03) and to two
simulated agencies picked round-robin. Each simulated agency, in its own thread, polls the hub, downloads what
it was sent (the hub's SHA-256 is checked on download), acknowledges it and sends 01 and 03 status packages back
to A, whose workers record them. Simulated agencies do not verify signatures (that is B's real work) and do not
originate documents (they hold no seal).

Stages, from the database timestamps of the three parties (same machine, one clock):
sign and issue (measured around the service calls), send (issuance committed → hub accepted the package),
hub→download (accepted → B downloaded), verify (downloaded → B recorded its verdict), register (→ registered at
B, 03 queued), status back (registered at B → 03 recorded at A), end_to_end (issuance → 03 at A).
Lost = an issued document missing at a recipient; duplicated = more than one row per (document, recipient) or
more than one 03 per (document, recipient) at A.

    python bench/load.py [--quick] [--duration S] [--rate R]
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from scaleout import NGHEAN, Issued  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://docexchange:docexchange@127.0.0.1:55432/docexchange"
AGENCIES = 20
ISSUERS = 2


def pg_url() -> str:
    return os.environ.get("DOCEXCHANGE_TEST_PG_URL") or os.environ.get("DOCEXCHANGE_BENCH_PG_URL") or PG_DEFAULT


def sim_code(i: int) -> str:
    return f"000.00.{i // 100:02d}.Z{i % 100:02d}"


class SimAgency(threading.Thread):
    """A simulated agency system: poll, download (hash-checked), acknowledge, answer 01 and 03."""

    def __init__(self, code: str, system_id: str, secret: str, hub_urls: list[str], stop: threading.Event,
                 work: Path) -> None:
        super().__init__(daemon=True, name=f"sim-{code}")
        from docexchange.exchange.service import FailoverHubClient

        self.code, self.stop_event, self.work = code, stop, work
        self.client = FailoverHubClient(hub_urls, system_id, secret)
        self.received: dict[str, int] = {}
        self.errors = 0

    def run(self) -> None:
        from docexchange.axis.edxml import Organ, ResponseFor, StaffInfo, StatusMessage, build_status

        while not self.stop_event.is_set():
            try:
                items = self.client.get_received_edoc_list("edoc")
                for item in items:
                    path = self.client.get_edoc(item.doc_id, self.work / f"{item.doc_id}.edxml", item.content_sha256,
                                                item.content_length)
                    path.unlink()
                    self.received[item.document_id] = self.received.get(item.document_id, 0) + 1
                    for code, text in (("01", "Đã đến"), ("03", "Đã tiếp nhận, vào sổ")):
                        msg = StatusMessage(sender=Organ(organ_id=self.code, organ_name=f"Mô phỏng {self.code}"),
                                            response_for=ResponseFor(organ_id=item.from_code,
                                                                     code=item.document_id,
                                                                     document_id=item.document_id),
                                            status_code=code, timestamp=datetime.now().replace(microsecond=0),
                                            description=text, staff=StaffInfo(department="Văn thư", staff="sim"))
                        self.client.send_edoc_bytes(build_status(msg))
                    self.client.update_status(item.doc_id, "done")
            except Exception:  # counted; the next poll retries (unacknowledged packages stay listed)
                self.errors += 1
            self.stop_event.wait(1.0)


def stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "n": 0}
    v = sorted(values)

    def q(p: float) -> float:
        return round(v[max(0, min(len(v) - 1, round(p / 100 * (len(v) + 1)) - 1))], 3)

    return {"p50": q(50), "p95": q(95), "p99": q(99), "n": len(v)}


def collect(dep: Any, issued: list[Issued], recipients: dict[str, list[str]]) -> dict[str, Any]:
    """Timestamps and counts from A's, B's and the hub's databases."""
    from sqlalchemy import func, select

    from docexchange.axis.hub.models import HubAgency, HubDelivery, HubPackage
    from docexchange.db import Database
    from docexchange.exchange.models import IncomingDocument, OutboxItem, RecipientStatus
    from docexchange.models import LedgerEntry

    eids = [i.edxml_document_id for i in issued]
    db_a, db_b, db_h = (Database(dep.nodes["A"].database_url), Database(dep.nodes["B"].database_url),
                        Database(dep.hub_database_url))
    try:
        with db_h.reading() as s:
            b_id = s.execute(select(HubAgency.id).where(HubAgency.code == NGHEAN)).scalar_one()
            hub = {r[0]: (r[1], r[2]) for r in s.execute(
                select(HubPackage.document_id, HubPackage.created_at, HubDelivery.downloaded_at)
                .join(HubDelivery, HubDelivery.package_id == HubPackage.id)
                .where(HubPackage.message_type == "edoc", HubPackage.document_id.in_(eids),
                       HubDelivery.recipient_id == b_id))}
        with db_b.reading() as s:
            inc = s.execute(select(IncomingDocument.edxml_document_id, IncomingDocument.status,
                                   IncomingDocument.public_id, IncomingDocument.received_at)
                            .where(IncomingDocument.edxml_document_id.in_(eids))).all()
            verified = dict(s.execute(select(LedgerEntry.object_id, LedgerEntry.at).where(
                LedgerEntry.action == "package_received", LedgerEntry.object_id.in_(eids))).all())
            registered = dict(s.execute(select(LedgerEntry.object_id, LedgerEntry.at).where(
                LedgerEntry.action == "document_registered",
                LedgerEntry.object_id.in_([r[2] for r in inc]))).all())
            failed_b = s.execute(select(func.count()).select_from(OutboxItem)
                                 .where(OutboxItem.state == "failed")).scalar_one()
        with db_a.reading() as s:
            acks = s.execute(select(RecipientStatus.edxml_document_id, RecipientStatus.recipient_code,
                                    RecipientStatus.received_at)
                             .where(RecipientStatus.edxml_document_id.in_(eids),
                                    RecipientStatus.status_code == "03")).all()
            failed_a = s.execute(select(func.count()).select_from(OutboxItem)
                                 .where(OutboxItem.state == "failed")).scalar_one()
    finally:
        for db in (db_a, db_b, db_h):
            db.dispose()
    rows_b: dict[str, list[Any]] = {}
    for r in inc:
        rows_b.setdefault(r[0], []).append(r)
    ack_map: dict[tuple[str, str], list[datetime]] = {}
    for eid, code, when in acks:
        ack_map.setdefault((eid, code), []).append(when)
    return {"hub": hub, "rows_b": rows_b, "verified": verified, "registered": registered, "acks": ack_map,
            "failed_outbox": failed_a + failed_b, "recipients": recipients}


def run(quick: bool = False, duration: float | None = None, rate: float | None = None,
        tag: str = "dxload") -> list[dict[str, Any]]:
    import scaleout

    from docexchange.db import Database
    from docexchange.models import Agency

    duration = duration or (20.0 if quick else 120.0)
    rate = rate or (0.25 if quick else 0.3)
    tmp = Path(tempfile.mkdtemp(prefix="dx-bench-load-"))
    dep = scaleout.prepare(pg_url(), tmp / "axis", tag=tag, extra_agencies=AGENCIES)
    stop = threading.Event()
    sims: list[SimAgency] = []
    try:
        codes = [sim_code(i) for i in range(AGENCIES)]
        db_a = Database(dep.nodes["A"].database_url)
        with db_a.transaction() as s:  # A's directory knows the simulated agencies (no credentials: not hosted)
            for i, code in enumerate(codes):
                s.add(Agency(code=code, name=f"Cơ quan mô phỏng {i + 1}", kind="other", abbreviation=f"MP{i}",
                             place="Hà Nội"))
        db_a.dispose()
        scaleout.start(dep, hubs=2, web="gunicorn", web_workers=2, exchange_workers=2, interval=0.2)
        creds = dep.extra_credentials
        work = tmp / "sim"
        work.mkdir()
        sims = [SimAgency(c, *creds[c], dep.hub_urls, stop, work) for c in codes]
        for sim in sims:
            sim.start()

        issuer = scaleout.Issuer(dep.node_settings("A"), scaleout.sample_pdf(tmp))
        count = max(2, int(duration * rate))
        recipients = {}
        plan = []
        for k in range(count):
            to = [NGHEAN, codes[(2 * k) % AGENCIES], codes[(2 * k + 1) % AGENCIES]]
            plan.append(to)
        sign_s: list[float] = []

        def prepare(k: int) -> str:
            t = time.perf_counter()
            pid = issuer.prepare(f"Văn bản tải thử {k}", plan[k])
            sign_s.append(time.perf_counter() - t)  # draft + signature
            return pid

        with ThreadPoolExecutor(ISSUERS) as pool:
            drafts = list(pool.map(prepare, range(count)))
        issue_s: list[float] = []
        issued: list[Issued] = []
        errors = {"issue": 0}
        lock = threading.Lock()

        def issue_at(k: int, t0: float) -> None:
            delay = t0 + k / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            t = time.perf_counter()
            try:
                done = issuer.issue(drafts[k])
            except Exception:
                with lock:
                    errors["issue"] += 1
                return
            with lock:
                issue_s.append(time.perf_counter() - t)
                issued.append(done)
                recipients[done.edxml_document_id] = plan[k]

        t0 = time.perf_counter()
        started = datetime.now(UTC)
        with ThreadPoolExecutor(ISSUERS + 2) as pool:
            for f in [pool.submit(issue_at, k, t0) for k in range(count)]:
                f.result()
        deadline = time.monotonic() + (60 if quick else 240)
        while True:
            data = collect(dep, issued, recipients)
            expected = sum(len(v) for v in recipients.values())
            if sum(len(v) for v in data["acks"].values()) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        finished = max((w for v in data["acks"].values() for w in v), default=datetime.now(UTC))
        stop.set()
        for sim in sims:
            sim.join(5)

        stages: dict[str, list[float]] = {k: [] for k in ("send", "hub_to_download", "verify", "register",
                                                          "status_back", "end_to_end")}
        lost = duplicated = 0
        for doc in issued:
            eid = doc.edxml_document_id
            rows = data["rows_b"].get(eid, [])
            lost += 0 if rows else 1
            duplicated += max(0, len(rows) - 1)
            for code in recipients[eid]:
                n_ack = len(data["acks"].get((eid, code), []))
                lost += 1 if n_ack == 0 else 0
                duplicated += max(0, n_ack - 1)
            for code in recipients[eid][1:]:
                got = next((s.received.get(eid, 0) for s in sims if s.code == code), 0)
                duplicated += max(0, got - 1)
            if eid in data["hub"] and rows:
                accepted, downloaded = data["hub"][eid]
                reg = data["registered"].get(rows[0][2])
                ver = data["verified"].get(eid)
                ack = data["acks"].get((eid, NGHEAN), [None])[0]
                stages["send"].append((accepted - doc.issued_at).total_seconds())
                if downloaded:
                    stages["hub_to_download"].append((downloaded - accepted).total_seconds())
                    if ver:
                        stages["verify"].append((ver - downloaded).total_seconds())
                if ver and reg:
                    stages["register"].append((reg - ver).total_seconds())
                if reg and ack:
                    stages["status_back"].append((ack - reg).total_seconds())
                if ack:
                    stages["end_to_end"].append((ack - doc.issued_at).total_seconds())
        common = {"duration_s": duration, "offered_docs_per_s": rate, "agencies_on_hub": AGENCIES + 2,
                  "issued": len(issued), "deliveries": sum(len(v) for v in recipients.values()),
                  "lost": lost, "duplicated": duplicated,
                  "errors": {"issue": errors["issue"], "sim_agency_polls": sum(s.errors for s in sims),
                             "outbox_failed": data["failed_outbox"]},
                  "quick": quick}
        span = (finished - started).total_seconds()
        rows_out: list[dict[str, Any]] = [
            {"name": "load.throughput_docs_per_s", "unit": "docs/s", "value": round(len(issued) / span, 3),
             "baseline": "offered load", "target": rate, "better": "higher", **common},
            {"name": "load.sign_s", "unit": "s", **stats(sign_s), "value": stats(sign_s)["p95"],
             "baseline": "draft + person signature", "target": None, "better": "lower"},
            {"name": "load.issue_s", "unit": "s", **stats(issue_s), "value": stats(issue_s)["p95"],
             "baseline": "number + seal + register + outbox", "target": None, "better": "lower"},
        ]
        for name, values in stages.items():
            st = stats(values)
            rows_out.append({"name": f"load.{name}_s", "unit": "s", "value": st["p95"], **st,
                             "baseline": "p95 shown as value", "target": 3 if name == "end_to_end" else None,
                             "better": "lower"})
        return rows_out
    finally:
        stop.set()
        scaleout.stop(dep)
        scaleout.drop_databases(pg_url(), tag)
        if not os.environ.get("DOCEXCHANGE_BENCH_KEEP"):  # logs and blobs, for a post-mortem
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--duration", type=float)
    parser.add_argument("--rate", type=float)
    args = parser.parse_args()
    random.seed(1)
    for row in run(args.quick, args.duration, args.rate):
        print(json.dumps(row, ensure_ascii=False, default=str), flush=True)
