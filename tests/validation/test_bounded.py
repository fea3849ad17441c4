"""Issue 17 §5: the time limit ends the work, not only the waiting.

The hostile input is a signature dictionary whose ``/Contents`` is a multi-megabyte hex string: pyHanko's tokenizer
reads it one byte at a time (about a second of CPU per megabyte), so with a limit of half a second every file is
stopped by the limit. The assertions are about *state* after the limits (which threads and processes are still
working, what the pool counted), never about how fast anything ran."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from docexchange.signing.validation import ValidationPolicy, validate_pdf
from tests.validation import helpers as h

HEX_BYTES = 4_000_000  # several seconds of pyHanko tokenizer work, far past LIMIT_S
LIMIT_S = 0.5


def hostile_pdf(hex_bytes: int = HEX_BYTES) -> bytes:
    """A well-formed one-page PDF whose signature ``/Contents`` is ``hex_bytes`` hex digits."""
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Annots [4 0 R] >>",
        b"<< /FT /Sig /T (Sig1) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R /V 5 0 R >>",
        b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 10] /Contents <"
        + b"0" * hex_bytes + b"> >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


# ---- /proc: who is still working ---------------------------------------------------------------------------
def _stat(path: str) -> tuple[str, int, int] | None:
    """(state, ppid, utime+stime ticks) of a /proc/<pid>[/task/<tid>]/stat, or None if it is gone."""
    try:
        raw = Path(path).read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[11]) + int(fields[12])


def _descendants() -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(f"/proc/{entry}/stat")
            if st is not None:
                children.setdefault(st[1], []).append(int(entry))
    out: set[int] = set()
    todo = [os.getpid()]
    while todo:
        for kid in children.get(todo.pop(), []):
            if kid not in out:
                out.add(kid)
                todo.append(kid)
    return out


def _threads() -> set[int]:
    return {int(t) for t in os.listdir("/proc/self/task")} - {threading.get_native_id()}


def _working(tids: set[int], pids: set[int], samples: int = 6, gap_s: float = 0.1) -> list[str]:
    """Threads of this process / processes that are running (state R) in any sample or used CPU meanwhile."""
    def snap() -> dict[str, tuple[str, int]]:
        out = {}
        for t in tids:
            st = _stat(f"/proc/self/task/{t}/stat")
            if st is not None:
                out[f"thread {t}"] = (st[0], st[2])
        for p in pids:
            st = _stat(f"/proc/{p}/stat")
            if st is not None and st[0] != "Z":
                out[f"process {p}"] = (st[0], st[2])
        return out

    first = snap()
    busy = {k for k, (state, _) in first.items() if state in "RD"}
    last = first
    for _ in range(samples):
        time.sleep(gap_s)
        last = snap()
        busy |= {k for k, (state, _) in last.items() if state in "RD"}
    busy |= {k for k, (_, ticks) in last.items() if k in first and ticks - first[k][1] > 2}
    return sorted(busy)


# ---- the regression ----------------------------------------------------------------------------------------
def test_ten_hostile_inputs_leave_no_work_running() -> None:
    policy = ValidationPolicy(trust_anchors=[], offline=True, time_limit_s=LIMIT_S)
    data = hostile_pdf()
    patient = replace(policy, time_limit_s=120)  # ordinary files: a limit no loaded machine reaches
    validate_pdf(h.make_pdf(), patient)  # the pool (if any) is up before the baseline is taken
    threads_before = _threads()
    for _ in range(10):
        r = validate_pdf(data, policy, name="hostile.pdf")
        assert (r.indication, r.subindication, r.readable) == ("INDETERMINATE", "FORMAT_FAILURE", False), r.to_json()
        assert [m.code for m in r.messages] == ["TIME_LIMIT"], r.to_json()
        assert r.file.sha256 and r.file.size == len(data)

    # after the limits: no new thread in this process and no process of ours is still working on them
    assert _working(_threads() - threads_before, _descendants()) == []

    from docexchange.signing.validation import bounded

    stats = bounded.pool().stats()
    assert stats["killed"] >= 10 and stats["busy"] == 0, stats
    # the pool recovers: the next ordinary file gets its normal verdict
    r = validate_pdf(h.make_pdf(), patient)
    assert (r.indication, r.readable) == ("NO_SIGNATURE", True), r.to_json()


# ---- the pool itself ---------------------------------------------------------------------------------------
def _raise_value_error(message: str) -> None:
    raise ValueError(message)


def _pid_and_env(name: str) -> tuple[int, str | None]:
    return os.getpid(), os.environ.get(name)


def _spawn_and_hang(pid_file: str) -> None:
    """A stand-in for a renderer (pdftoppm) that the analysis started: the kill must reach it too."""
    child = subprocess.Popen(["sleep", "300"])
    Path(pid_file).write_text(str(child.pid))
    time.sleep(300)


def _log_twice(text: str) -> int:
    logging.getLogger("dx.bounded.probe").warning("cảnh báo %s", text)
    logging.getLogger("dx.bounded.quiet").error("không được hiện %s", text)
    return 1


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


@pytest.fixture(scope="module")
def pool() -> Any:
    from docexchange.signing.validation.bounded import AnalysisPool

    p = AnalysisPool(2)
    yield p
    p.close()


def test_errors_come_back_with_their_type_and_the_worker_serves_again(pool: Any) -> None:
    out = pool.run(_raise_value_error, ("xref broken",), 30)
    assert (type(out.error).__name__, str(out.error), out.timed_out) == ("ValueError", "xref broken", False)
    first = pool.run(_pid_and_env, ("HOME",), 30).value[0]
    second = pool.run(_pid_and_env, ("HOME",), 30).value[0]
    assert first == second  # one worker, many jobs
    assert first not in (os.getpid(), None)


def test_the_callers_environment_travels_with_the_job(pool: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DX_BOUNDED_PROBE", "có dấu ✓")
    assert pool.run(_pid_and_env, ("DX_BOUNDED_PROBE",), 30).value[1] == "có dấu ✓"


def test_log_records_reach_the_callers_loggers(pool: Any, caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("dx.bounded.quiet").setLevel(logging.CRITICAL)  # the caller's levels decide, as in-process
    with caplog.at_level(logging.INFO):
        assert pool.run(_log_twice, ("x",), 30).value == 1
    assert [t for t in caplog.record_tuples if t[0].startswith("dx.bounded")] == [
        ("dx.bounded.probe", logging.WARNING, "cảnh báo x")]


def test_the_kill_reaches_what_the_worker_started(pool: Any, tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    killed = pool.stats()["killed"]
    out = pool.run(_spawn_and_hang, (str(pid_file),), 5.0)  # long enough to start `sleep` on a loaded machine
    assert out.timed_out and pool.stats()["killed"] == killed + 1
    grandchild = int(pid_file.read_text())
    for _ in range(100):  # the orphan is reaped by init shortly after the kill
        st = _stat(f"/proc/{grandchild}/stat")
        if st is None or st[0] == "Z":
            break
        time.sleep(0.05)
    st = _stat(f"/proc/{grandchild}/stat")
    assert st is None or st[0] == "Z", st


def test_a_worker_killed_from_outside_is_a_verdict_not_a_crash(pool: Any) -> None:
    result: dict[str, Any] = {}
    t = threading.Thread(target=lambda: result.setdefault("out", pool.run(_sleep, (60,), 120)))
    t.start()
    for _ in range(200):
        if pool.stats()["busy"]:
            break
        time.sleep(0.05)
    busy = set(pool.pids()) - {pool.run(_pid_and_env, ("X",), 30).value[0]}
    assert len(busy) == 1
    os.kill(busy.pop(), 9)  # e.g. the kernel's OOM killer
    t.join(30)
    out = result["out"]
    assert type(out.error).__name__ == "WorkerLost" and not out.timed_out
    assert pool.run(_sleep, (0,), 30).value == "done"


def test_in_process_runs_in_the_callers_thread() -> None:
    from docexchange.signing.validation import bounded

    with bounded.in_process():
        assert bounded.run_analysis(_pid_and_env, ("X",), 0.001).value[0] == os.getpid()


def test_cli_verify_hostile_file_ends_at_the_limit(tmp_path: Path) -> None:
    """``docexchange verify`` runs the analysis in a forked child with the same limit; nothing outlives it."""
    pdf = tmp_path / "hostile.pdf"
    pdf.write_bytes(hostile_pdf())
    marker = f"dx-bounded-{os.getpid()}-{time.monotonic_ns()}"
    env = {**os.environ, "DOCEXCHANGE_ANALYSIS_TIME_LIMIT": str(LIMIT_S), "DX_BOUNDED_MARKER": marker}
    exe = Path(sys.executable).with_name("docexchange")
    proc = subprocess.run([str(exe), "verify", str(pdf), "--json", "--offline"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 4, proc.stderr
    assert '"code": "TIME_LIMIT"' in proc.stdout
    leftovers = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            st = _stat(f"/proc/{entry}/stat")
            if marker.encode() in environ and st is not None and st[0] != "Z":
                leftovers.append(entry)
    assert leftovers == []


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from docexchange.signing.validation import bounded

    monkeypatch.setenv("DOCEXCHANGE_ANALYSIS_TIME_LIMIT", "2.5")
    monkeypatch.setenv("DOCEXCHANGE_ANALYSIS_WORKERS", "3")
    assert (ValidationPolicy().time_limit_s, bounded.default_workers()) == (2.5, 3)
    monkeypatch.setenv("DOCEXCHANGE_ANALYSIS_TIME_LIMIT", "một phút")
    monkeypatch.setenv("DOCEXCHANGE_ANALYSIS_WORKERS", "-4")
    with caplog.at_level(logging.WARNING):
        assert (ValidationPolicy().time_limit_s, bounded.default_workers()) == (60.0, max(2, os.cpu_count() or 1))
    assert sum("is not a positive number" in m for m in caplog.messages) == 2
