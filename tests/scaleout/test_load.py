"""bench/load.py as a short test: 20 simulated agencies plus nodes A and B for a few seconds; nothing lost or
duplicated, every stage measured, no errors."""

from __future__ import annotations

import importlib.util
import os
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_short_load_run_loses_nothing_and_measures_every_stage() -> None:
    if not os.environ.get("DOCEXCHANGE_TEST_PG_URL"):
        pytest.skip("the load run needs PostgreSQL: set DOCEXCHANGE_TEST_PG_URL (scripts/test.sh starts one)")
    spec = importlib.util.spec_from_file_location("bench_load", ROOT / "bench" / "load.py")
    assert spec is not None and spec.loader is not None
    load = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load)
    rows = {r["name"]: r for r in load.run(quick=True, duration=8, rate=0.4, tag=f"dxlt_{uuid.uuid4().hex[:8]}")}
    head = rows["load.throughput_docs_per_s"]
    assert head["issued"] == 3 and head["deliveries"] == 9 and head["agencies_on_hub"] >= 22
    assert head["lost"] == 0 and head["duplicated"] == 0
    assert head["errors"] == {"issue": 0, "sim_agency_polls": 0, "outbox_failed": 0}
    for stage in ("sign", "issue", "send", "hub_to_download", "verify", "register", "status_back", "end_to_end"):
        row = rows[f"load.{stage}_s"]
        assert row["n"] == 3 and 0 <= row["p50"] <= row["p95"] <= row["p99"], (stage, row)
