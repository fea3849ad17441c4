"""Exchange throughput and latency over the mock axis, between real processes on PostgreSQL.

Deployment (scripts/scaleout.py): one hub database, hub processes, node A (Bộ Nội vụ) and node B (UBND tỉnh
Nghệ An), each on its own PostgreSQL database with its web server and exchange worker processes.

Documents are drafted and signed by the competent person beforehand (not measured), then *issued* in this
process, directly through the documents service on A's database (``documents.service.perform(..., "issue")``
with ``documents.engine.deps_for``: number, seal, outgoing register and the outbox row in one transaction) from
several threads — faster than driving the HTTP API and the same code path behind it. The clock for a document
starts when its issuance commits and stops when B has verified it and registered it (``incoming_documents``
row with status registered, written in the same transaction as status 03); the 03 package back at A is
checked too.

* ``exchange.throughput_vs_validation``: documents/s through the whole pipeline (first issuance to last
  registration, N documents issued as fast as the issuers go) ÷ documents/s of ``validate_pdf`` with A's
  anchors, one stream in this process, over the same issued PDFs, measured right after (OCSP live at A).
* ``exchange.p95_latency_s``: p95 of issuance→registered at B while issuing at half the measured throughput
  (open loop: a document is issued every 2/throughput s whatever happens downstream).
Lost and duplicated are counted from the databases: each issued document must appear exactly once in B's
incoming documents, registered, and exactly one 03 must be back at A.
"""

from __future__ import annotations

import json
import os
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

from scaleout import Issued, outcome, wait_done  # noqa: E402

# idle poll interval of the exchange workers: shorter polls cut the waits between hops but every idle pass costs
# hub requests and queries (at 0.05 s four idle workers kept both cores busy and slowed validation 4×)
INTERVAL = float(os.environ.get("DOCEXCHANGE_BENCH_WORKER_INTERVAL", "0.2"))
PG_DEFAULT = "postgresql+psycopg://docexchange:docexchange@127.0.0.1:55432/docexchange"


def pg_url() -> str:
    return os.environ.get("DOCEXCHANGE_TEST_PG_URL") or os.environ.get("DOCEXCHANGE_BENCH_PG_URL") or PG_DEFAULT


def _log(msg: str) -> None:
    print(f"# exchange: {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) + 1)) - 1))
    return ordered[k]


def run(quick: bool = False) -> list[dict[str, Any]]:
    import scaleout
    from scaleout import Issuer, sample_pdf

    from docexchange.axis.hub.db import migrate  # noqa: F401  (import errors show before starting processes)
    from docexchange.exchange.engine import exchange_deps_for
    from docexchange.signing.validation import validate_pdf

    n_tp = 10 if quick else 60
    n_lat = 6 if quick else 40
    n_val = 6 if quick else 30
    issuers = 2
    tmp = Path(tempfile.mkdtemp(prefix="dx-bench-exchange-"))
    t_setup = time.perf_counter()
    dep = scaleout.prepare(pg_url(), tmp / "axis", tag="dxbench")
    try:
        scaleout.start(dep, hubs=1, web="gunicorn", web_workers=2, exchange_workers=2, interval=INTERVAL)
        issuer = Issuer(dep.node_settings("A"), sample_pdf(tmp))
        nghean = [scaleout.NGHEAN]
        with ThreadPoolExecutor(2) as pool:
            drafts = list(pool.map(lambda i: issuer.prepare(f"Văn bản đo thông lượng {i}", nghean),
                                   range(n_tp + n_lat)))
        _log(f"deployment up and {len(drafts)} documents signed in {time.perf_counter() - t_setup:.1f} s")
        tp_drafts, lat_drafts = drafts[:n_tp], drafts[n_tp:]

        # ---- throughput: issue N as fast as the issuers go; the pipeline runs concurrently
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(issuers) as pool:
            tp_issued = list(pool.map(issuer.issue, tp_drafts))
        issue_s = time.perf_counter() - t0
        out = wait_done(dep, tp_issued, 60 if quick else 300)
        assert len(out["registered"]) == n_tp, f"only {len(out['registered'])}/{n_tp} registered at B"
        done_at = sorted(out["registered"].values())
        tp_with_fill = n_tp / (done_at[-1] - started).total_seconds()
        tp = (n_tp - 1) / (done_at[-1] - done_at[0]).total_seconds()  # steady state: completions per second
        _log(f"throughput {tp:.2f} docs/s, {tp_with_fill:.2f} counting the first document's latency "
             f"({n_tp} documents; issuance alone {n_tp / issue_s:.2f} docs/s)")

        # ---- validation engine on the same issued PDFs, one stream, same run
        exch = exchange_deps_for(issuer.svc)
        from sqlalchemy import select

        from docexchange.documents.models import Document

        with issuer.svc.db.reading() as s:
            shas = list(s.execute(select(Document.issued_sha256).where(
                Document.public_id.in_([i.public_id for i in tp_issued]))).scalars())
        paths = [issuer.svc.blobs.path_for(sha) for sha in shas if sha][:n_val]
        validate_pdf(paths[0], exch.policy, name="warm.pdf")
        t0 = time.perf_counter()
        indications = [validate_pdf(p, exch.policy, name=p.name).indication for p in paths]
        val_rate = len(paths) / (time.perf_counter() - t0)
        assert set(indications) == {"TOTAL_PASSED"}, indications
        _log(f"validation {val_rate:.2f} docs/s over {len(paths)} documents")

        # ---- latency at half the measured throughput (open loop)
        interval = 2.0 / tp
        lat_issued: list[Issued] = []
        lock = threading.Lock()

        def issue_at(k: int, public_id: str, t_start: float) -> None:
            delay = t_start + k * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            done = issuer.issue(public_id)
            with lock:
                lat_issued.append(done)

        t_start = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            for f in [pool.submit(issue_at, k, pid, t_start) for k, pid in enumerate(lat_drafts)]:
                f.result()
        out2 = wait_done(dep, lat_issued, 60 if quick else 300)
        lat = [(out2["registered"][i.edxml_document_id] - i.issued_at).total_seconds()
               for i in lat_issued if i.edxml_document_id in out2["registered"]]
        ack_lat = [(out2["ack_at"][i.doc_id] - i.issued_at).total_seconds()
                   for i in lat_issued if i.doc_id in out2["ack_at"]]

        all_issued = tp_issued + lat_issued
        final = outcome(dep, all_issued)
        lost = final["lost"]
        acks_missing = sum(1 for i in all_issued if final["acks"].get(i.doc_id, 0) == 0)
        common = {"documents": len(all_issued), "lost": lost, "not_registered": final["not_registered"],
                  "duplicated": final["duplicated"],
                  "acks_03_missing": acks_missing, "issuance": f"in-process documents service, {issuers} threads",
                  "deployment": "1 hub (waitress), 2 nodes × (gunicorn 2 workers + 2 exchange workers), PostgreSQL",
                  "worker_interval_s": INTERVAL,
                  "quick": quick}
        return [
            {"name": "exchange.throughput_vs_validation", "unit": "ratio", "value": round(tp / val_rate, 3),
             "baseline": "validate_pdf on the same issued PDFs, one stream, same run", "target": 0.5,
             "better": "higher", "exchange_docs_per_s": round(tp, 3),
             "exchange_docs_per_s_incl_pipeline_fill": round(tp_with_fill, 3),
             "validation_docs_per_s": round(val_rate, 3),
             "issuance_only_docs_per_s": round(n_tp / issue_s, 3), **common},
            {"name": "exchange.p95_latency_s", "unit": "s", "value": round(pct(lat, 95), 3),
             "baseline": f"offered load {1 / interval:.2f} docs/s (half the measured throughput)", "target": 3,
             "better": "lower", "p50_s": round(pct(lat, 50), 3), "max_s": round(max(lat), 3) if lat else None,
             "p95_03_back_at_sender_s": round(pct(ack_lat, 95), 3), "samples": len(lat), **common},
        ]
    finally:
        scaleout.stop(dep)
        scaleout.drop_databases(pg_url(), "dxbench")
        if not os.environ.get("DOCEXCHANGE_BENCH_KEEP"):  # logs and blobs, for a post-mortem
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row, ensure_ascii=False), flush=True)
