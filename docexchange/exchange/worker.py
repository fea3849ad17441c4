"""The exchange worker loop (``docexchange worker``) and the supervision helpers ``docexchange serve`` uses.

A worker must outlive the things around it: a PostgreSQL restart (``OperationalError``), a reset connection, a
full disk. Each pass catches ``Exception`` (never ``BaseException``: Ctrl-C and ``SystemExit`` still stop it),
logs it with its traceback and backs off exponentially from ``interval`` up to ``max_backoff`` seconds; the first
good pass resets the delay and logs the recovery. Every sleep wakes at least every 0.2 s to honour ``should_stop``
(set by SIGTERM)."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .service import IDLE_OUTCOMES, ExchangeDeps, receive_pending, send_pending

log = logging.getLogger("docexchange.worker")
MAX_BACKOFF = 30.0
STOP_POLL = 0.2


@dataclass
class WorkerStats:
    """What a loop did (returned by ``run_worker_loop``; the tests read it)."""

    passes: int = 0
    failed_passes: int = 0
    recoveries: int = 0
    consecutive_failures: int = 0
    busy: int = 0


def backoff_delay(interval: float, failures: int, cap: float = MAX_BACKOFF) -> float:
    """``interval * 2**(failures-1)``, at most ``cap`` (and never below 0.05 s so a zero interval cannot spin)."""
    base = max(interval, 0.05)
    return float(min(cap, base * 2 ** max(failures - 1, 0)))


def interruptible_sleep(seconds: float, should_stop: Callable[[], bool], poll: float = STOP_POLL) -> bool:
    """Sleep ``seconds`` in slices of at most ``poll``; returns True as soon as ``should_stop()`` is."""
    deadline = time.monotonic() + seconds
    while True:
        if should_stop():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(poll, left))


def one_pass(deps: ExchangeDeps, owner: str, *, send: bool = True, receive: bool = True, batch: int = 20,
             lease_seconds: int = 120) -> int:
    """Send the outbox, receive, then send what receiving produced (statuses go out at once). Returns the work
    done (0: idle)."""
    busy = 0
    if send:
        busy += send_pending(deps, owner, batch, lease_seconds)
    if receive:
        counts = receive_pending(deps, owner)
        busy += sum(v for k, v in counts.items() if k not in IDLE_OUTCOMES)
    if send:
        busy += send_pending(deps, owner, batch, lease_seconds)
    return busy


def run_worker_loop(
    deps: ExchangeDeps,
    owner: str,
    *,
    once: bool = False,
    interval: float = 1.0,
    send: bool = True,
    receive: bool = True,
    batch: int = 20,
    lease_seconds: int = 120,
    should_stop: Callable[[], bool] = lambda: False,
    max_backoff: float = MAX_BACKOFF,
    pass_fn: Callable[[], int] | None = None,
    stats: WorkerStats | None = None,
) -> WorkerStats:
    """Run passes until ``should_stop()`` (or after one pass with ``once``; a failed ``once`` pass re-raises so
    the command exits non-zero). ``pass_fn`` replaces the real pass (tests, other loops); ``stats`` may be
    given to watch the loop from another thread."""
    run = pass_fn or (lambda: one_pass(deps, owner, send=send, receive=receive, batch=batch,
                                       lease_seconds=lease_seconds))
    stats = stats if stats is not None else WorkerStats()
    while not should_stop():
        stats.passes += 1
        try:
            busy = run()
        except Exception:
            if once:
                raise
            stats.failed_passes += 1
            stats.consecutive_failures += 1
            delay = backoff_delay(interval, stats.consecutive_failures, max_backoff)
            log.exception("exchange worker pass failed (%d in a row); next try in %.1f s",
                          stats.consecutive_failures, delay)
            if interruptible_sleep(delay, should_stop):
                break
            continue
        if stats.consecutive_failures:
            log.warning("exchange worker recovered after %d failed passes", stats.consecutive_failures)
            stats.recoveries += 1
            stats.consecutive_failures = 0
        stats.busy += busy
        if once:
            break
        if not busy and interruptible_sleep(interval, should_stop):
            break
    return stats


class Supervisor:
    """Keeps child processes alive: ``poll()`` restarts any that exited, each with its own bounded back-off
    (``interval`` doubling to ``max_backoff``, reset once a child has stayed up for ``stable_after`` seconds).
    ``run`` polls every 0.2 s in a thread; ``stop`` ends supervision first (no restart can race it), then
    terminates the children (SIGTERM, then SIGKILL after ``grace`` seconds)."""

    def __init__(self, interval: float = 1.0, max_backoff: float = MAX_BACKOFF, stable_after: float = 60.0) -> None:
        self.interval = interval
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.children: list[_Child] = []
        self.restarts = 0
        self._lock = threading.Lock()
        self._stopped = False

    def add(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        child = _Child(name, args, subprocess.Popen(args), time.monotonic())
        with self._lock:
            self.children.append(child)
        return child.proc

    def poll(self) -> int:
        """Restart every child that is due; returns how many were restarted."""
        restarted = 0
        with self._lock:
            if self._stopped:
                return 0
            now = time.monotonic()
            for child in self.children:
                code = child.proc.poll()
                if code is None:
                    if child.failures and now - child.started_at >= self.stable_after:
                        child.failures = 0
                    continue
                if child.restart_at is None:
                    if now - child.started_at >= self.stable_after:
                        child.failures = 0
                    child.failures += 1
                    delay = backoff_delay(self.interval, child.failures, self.max_backoff)
                    child.restart_at = now + delay
                    log.error("%s (pid %d) exited with code %s; restarting in %.1f s (%d in a row)",
                              child.name, child.proc.pid, code, delay, child.failures)
                if now >= child.restart_at:
                    try:
                        child.proc = subprocess.Popen(child.args)
                    except OSError:
                        child.failures += 1
                        child.restart_at = now + backoff_delay(self.interval, child.failures, self.max_backoff)
                        log.exception("%s could not be started", child.name)
                        continue
                    child.started_at = now
                    child.restart_at = None
                    restarted += 1
                    log.warning("%s restarted (pid %d)", child.name, child.proc.pid)
            self.restarts += restarted
        return restarted

    def run(self) -> None:
        """Poll until ``stop``; never dies of an exception (a failed restart is retried with back-off)."""
        while not self._stopped:
            try:
                self.poll()
            except Exception:
                log.exception("supervisor poll failed")
            time.sleep(STOP_POLL)

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="docexchange-supervisor", daemon=True)
        thread.start()
        return thread

    def stop(self, grace: float = 10.0) -> None:
        with self._lock:
            self._stopped = True
            procs = [c.proc for c in self.children]
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@dataclass
class _Child:
    name: str
    args: list[str]
    proc: subprocess.Popen[bytes]
    started_at: float
    failures: int = 0
    restart_at: float | None = None
