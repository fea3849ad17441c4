"""The cross-cutting guarantees every hostile input is held to: bounded time, bounded memory growth, nothing
written outside the places a target may write, and no crash (only domain errors or reports)."""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


class CaseTimeout(Exception):
    """Raised by the SIGALRM timer when one input runs past its limit."""


@dataclass
class Stats:
    """Worst figures over all cases run through ``bounded`` (reported by bench/fuzz.py and docs/hostile.md)."""

    cases: int = 0
    failures: int = 0
    worst_seconds: float = 0.0
    worst_rss_growth_kib: int = 0
    failure_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"cases": self.cases, "failures": self.failures, "worst_seconds": round(self.worst_seconds, 3),
                "worst_rss_growth_mib": round(self.worst_rss_growth_kib / 1024, 1)}


STATS: dict[str, Stats] = {}


def max_rss_kib() -> int:
    """Peak RSS of this process plus its waited-for children (qpdf, gs), in KiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return int(max(own, kids))


def _alarm(signum: int, frame: object) -> None:
    raise CaseTimeout("input ran past its time limit")


def cpu_seconds() -> float:
    """User + system CPU time of this process (all threads) and of its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


WALL_FACTOR = 8  # the wall-clock backstop: a loaded machine may stretch wall time, never CPU time, this much


@contextmanager
def bounded(target: str, seconds: float, rss_mib: int) -> Iterator[None]:
    """Run one case under a CPU-time limit and check peak-RSS growth afterwards.

    The limit is on CPU seconds (this process and its waited-for children), so a loaded machine does not fail a
    case that did bounded work; a SIGALRM backstop at ``WALL_FACTOR`` × the limit still ends a case that hangs
    without using CPU. ``ru_maxrss`` is a high-water mark, so growth is measured against the highest peak seen
    so far: a case passes when it does not push the process more than ``rss_mib`` above it."""
    stats = STATS.setdefault(target, Stats())
    before = max_rss_kib()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds * WALL_FACTOR)
    cpu0 = cpu_seconds()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        used = cpu_seconds() - cpu0
        growth = max_rss_kib() - before
        stats.cases += 1
        stats.worst_seconds = max(stats.worst_seconds, used)
        stats.worst_rss_growth_kib = max(stats.worst_rss_growth_kib, growth)
    assert used <= seconds, f"{target}: {used:.2f} s of CPU > {seconds} s"
    assert growth <= rss_mib * 1024, f"{target}: peak RSS grew {growth // 1024} MiB > {rss_mib} MiB"


def snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``roots`` with (size, mtime_ns): compared before/after to catch stray writes."""
    out: dict[str, tuple[int, int]] = {}
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                p = os.path.join(dirpath, name)
                try:
                    st = os.stat(p)
                except OSError:
                    continue
                out[p] = (st.st_size, st.st_mtime_ns)
    return out


def traversal_hits(marker: str, *roots: Path) -> list[str]:
    """Paths under ``roots`` whose name contains ``marker`` (the unique part of a hostile attachment name)."""
    hits = []
    for root in roots:
        if not root.exists():
            continue
        for dirpath, dirs, files in os.walk(root):
            hits += [os.path.join(dirpath, n) for n in files + dirs if marker in n]
    return hits


def top_level_hits(marker: str) -> list[str]:
    """Names containing ``marker`` directly in the system temp dir, the home dir and the filesystem root
    (where an absolute or ``~`` attachment name would land)."""
    import tempfile

    hits = []
    for d in {tempfile.gettempdir(), "/tmp", os.path.expanduser("~"), "/"}:
        try:
            hits += [os.path.join(d, n) for n in os.listdir(d) if marker in n]
        except OSError:
            continue
    return hits
