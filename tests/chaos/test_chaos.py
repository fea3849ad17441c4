"""The chaos run of scripts/chaos.py, bounded (issue 9 item 3): a load of documents from node A to node B on the
PostgreSQL scale-out deployment while processes are SIGKILLed and restarted, PostgreSQL is restarted, A's
TSA/OCSP endpoint is cut and B's clock is 10 minutes slow, then 10 minutes fast. Everything must end terminal,
exactly once, gapless, with intact ledgers; no pass may be given while revocation data or a sane clock is
missing, and no process may die on its own."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

pytestmark = pytest.mark.slow
DURATION = 75
KILL_EVERY = 4


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> dict[str, Any]:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.skip("the chaos run starts (and restarts) its own PostgreSQL: server binaries not installed")
    if shutil.which("gcc") is None:
        pytest.skip("the chaos run builds its clock-skew shim with gcc, which is not installed")
    import chaos

    out = chaos.chaos(tmp_path_factory.mktemp("chaos"), duration=DURATION, kill_every=KILL_EVERY, seed=7)
    (artifacts_dir / "chaos.json").write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    return out


def test_every_fault_was_injected(result: dict[str, Any]) -> None:
    assert result["kills"] >= DURATION // KILL_EVERY - 6, result["events"]
    assert set(result["kills_by_kind"]) >= {"A", "B", "hub"}, result["kills_by_kind"]
    assert result["postgres_restarts"] == 1
    assert result["pki_cut_s"] >= 0.15 * DURATION and result["tsa_cut_s"] >= 0.05 * DURATION
    assert result["proxy_refused"] > 0
    assert result["clock_skews"] == ["-600 s", "+600 s", "+0 s"]


def test_nothing_lost_duplicated_or_left_in_flight(result: dict[str, Any]) -> None:
    n = result["issued"]
    # how many documents fit into the run depends on how busy the machine is (10+ on an idle 2-core machine, 9 at
    # load average 14): what matters is that every one issued under the faults arrived exactly once
    assert n >= 3, result
    assert result["created"] == n and result["unissued"] == 0
    assert result["lost"] == 0 and result["duplicated"] == 0
    assert result["registered"] == n and result["acks_03"] == n
    assert result["verdicts"] == {"TOTAL_PASSED": n}
    assert result["numbers_gapless"] and result["arrivals_gapless"]
    assert set(result["outbox_a"]) == {"sent"} and set(result["outbox_b"]) <= {"sent"}, (result["outbox_a"],
                                                                                           result["outbox_b"])
    assert result["ledgers_intact"] == {"A": True, "B": True}


def test_no_pass_without_revocation_data_or_a_sane_clock(result: dict[str, Any]) -> None:
    # while A's OCSP responder was unreachable and while B's clock was 10 minutes slow, B registered nothing:
    # its verdicts were INDETERMINATE and it retried; afterwards everything passed (previous test)
    assert result["registered_during"] == {"pki_cut": 0, "clock_slow": 0}, result["registered_during"]
    assert result["deferred_receipts"] > 0
    # documents A issued while only its revocation service was cut (its TSA still up) reached B then, and were
    # registered only after the service was back
    assert result["issued_while_revocation_cut"] >= 1, result["events"]
    assert result["registered_before_revocation_back"] == 0


def test_failures_were_clear_and_processes_survived(result: dict[str, Any]) -> None:
    assert result["unexpected"] == []
    # signing during the TSA cut waited, then failed with tsa_unavailable and changed nothing (numbers gapless)
    assert any(k.endswith(":tsa_unavailable") for k in result["errors"]), result["errors"]
    assert result["crashes"] == []  # nothing died that was not killed (PostgreSQL restart included)
    assert len(result["healthy"]) == 4  # both nodes and both hub processes answer /healthz at the end
