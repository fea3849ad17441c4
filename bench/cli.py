"""Cold-start cost of the ``docexchange`` command (issue 17 §5; docs/benchmarks.md):

- cli.help_cold_s: ``docexchange --help`` in a fresh process;
- cli.verify_cold_s: ``docexchange verify one.pdf --json --offline --trust anchor.pem`` in a fresh process, on a
  one-page PDF with one B-LT signature (revocation data embedded, so the offline verdict is TOTAL_PASSED).

Each value is the median CPU time (user + system, the command and every child it waited for, from
``getrusage(RUSAGE_CHILDREN)``) of N fresh processes MINUS the median CPU time of ``python -c pass`` with the same
interpreter, run interleaved with them in the same run: the seconds the command adds to a bare interpreter start.
CPU rather than wall time because on the shared 2-core machine wall time mostly measures the other tenants; the
wall-clock medians are reported beside it (``wall_s``, ``baseline_wall_s``). The page cache is warm (files were
read by the earlier runs): this is a cold *process*, not a cold disk."""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _signed_one_page(tmp: Path) -> tuple[Path, Path]:
    """A one-page PDF with one B-LT ``person`` signature from a throw-away node's dev PKI, and its trust anchor."""
    import logging

    from cryptography.hazmat.primitives import serialization
    from pyhanko_certvalidator import ValidationContext

    from bench.verify import _node
    from tests.validation import helpers as h

    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    svc, url, server = _node(tmp)
    try:
        anchors = svc.ca.anchors()
        lt_vc = ValidationContext(trust_roots=[h.asn1_cert(c) for c in anchors], allow_fetching=True,
                                  revocation_mode="hard-fail")
        with svc.db.transaction() as s:
            person = svc.ca.issue(s, kind="person", issuer="gov-int", common_name="Nguyễn Văn Đo")
        pdf = h.sign(h.make_pdf(1), h.signer_for(person.key, person.cert, list(person.chain)), field="Sig1",
                     tsa_url=f"{url}/pki/tsa", lt_context=lt_vc)
    finally:
        server.close()
    out = tmp / "one.pdf"
    out.write_bytes(pdf)
    anchor = tmp / "anchors.pem"
    anchor.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in anchors))
    return out, anchor


def _cold(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess[bytes]]:
    """(wall s, CPU s of the process and its waited-for children, result) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def run(quick: bool = False) -> list[dict[str, Any]]:
    reps = 7 if quick else 21
    exe = str(Path(sys.executable).with_name("docexchange"))
    with tempfile.TemporaryDirectory(prefix="dx-bench-cli-") as d:
        pdf, anchor = _signed_one_page(Path(d))
        commands = {
            "baseline": [sys.executable, "-c", "pass"],
            "help": [exe, "--help"],
            "verify": [exe, "verify", str(pdf), "--json", "--offline", "--trust", str(anchor)],
        }
        first = _cold(commands["verify"])[2]
        report = json.loads(first.stdout)
        assert first.returncode == 0 and report["indication"] == "TOTAL_PASSED", first.stdout[-2000:]
        wall: dict[str, list[float]] = {k: [] for k in commands}
        cpu: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(reps):  # interleaved, so that machine noise hits all three alike
            for name, cmd in commands.items():
                w, c, proc = _cold(cmd)
                assert proc.returncode == 0, proc.stderr[-2000:]
                wall[name].append(w)
                cpu[name].append(c)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    med_wall = {k: statistics.median(v) for k, v in wall.items()}
    rows = []
    verify_what = "docexchange verify one.pdf --json (1 page, 1 B-LT signature, offline)"
    for name, target, what in (("help", 0.3, "docexchange --help"), ("verify", 1.0, verify_what)):
        rows.append({
            "name": f"cli.{name}_cold_s", "unit": "s", "value": round(med[name] - med["baseline"], 3),
            "baseline": "python -c pass (same interpreter), interleaved in the same run; value = median CPU s of "
                        f"`{what}` in a fresh process minus the baseline's median CPU s",
            "target": target, "better": "lower", "cpu_s": round(med[name], 3),
            "baseline_cpu_s": round(med["baseline"], 3), "wall_s": round(med_wall[name], 3),
            "baseline_wall_s": round(med_wall["baseline"], 3), "repetitions": reps})
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row, ensure_ascii=False), flush=True)
