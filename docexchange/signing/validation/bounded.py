"""Bounded analysis: the parse of an untrusted PDF runs in a worker process that is killed at the time limit.

A Python thread cannot be stopped, so a limit enforced by ``thread.join(timeout)`` only stops the *waiting*: a
hostile file (a multi-megabyte hex string that pyHanko's tokenizer reads one byte at a time) keeps a thread
burning CPU for minutes after its report said ``TIME_LIMIT``. Here the work itself ends: each analysis is sent to
a worker process; when the limit passes, the worker's process group (the worker and any renderer it started) is
sent SIGKILL and a fresh worker takes its place on the next call (docs/validation.md, "Time limit").

- ``run_analysis(fn, args, limit)`` is what the validation engine calls; ``fn`` must be a module-level function
  (it is pickled by reference) and ``args`` picklable (trust anchors are sent as DER).
- One pool per process, started on first use: up to ``DOCEXCHANGE_ANALYSIS_WORKERS`` worker processes (default:
  the CPU count, at least 2). Workers are forked from a small fork server (a ``python -c`` that imported the engine
  once), so a worker costs a fork, not an interpreter start, and then serves many jobs; only a worker killed at
  the limit is replaced. Not ``multiprocessing``: its ``forkserver``/``spawn`` re-run the caller's ``__main__`` in
  every worker, and plain ``fork`` is unsafe in a threaded server (waitress, the exchange supervisor). The CLI,
  single-threaded with the engine imported, forks its one worker itself (``forked_child()``).
- Waiting for a free worker does not count against the limit; the limit runs from the moment the job is handed
  to a worker until its answer arrives.
- A worker also arms ``alarm(limit + grace)`` around each job (default action: the process ends), so it cannot
  outlive its limit for long even if the process that gave it the job is gone.
- ``in_process()`` runs analyses in the calling thread with no limit: for tests that monkeypatch engine
  internals and for the in-process benchmark; never in a service.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import math
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

log = logging.getLogger(__name__)
PRELOAD = ["docexchange.signing.validation.engine"]
_IN_WORKER = False
_PICKLE_ERRORS = (pickle.PicklingError, TypeError, AttributeError)


@dataclass(frozen=True)
class Outcome:
    """What came back: ``value`` (the function's result), or ``error``, or ``timed_out`` (the worker was killed)."""

    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False


class AnalysisError(Exception):
    """An exception raised in a worker, carried back by type name and message (exceptions do not all pickle)."""


class WorkerLost(AnalysisError):
    """The worker process ended without an answer (killed by the OS for memory, or crashed in a C library)."""


_REMOTE_TYPES: dict[str, type[AnalysisError]] = {}


def _remote_error(name: str, message: str) -> AnalysisError:
    """An exception whose type name is the worker's (the engine's report quotes ``type(err).__name__``)."""
    if name not in _REMOTE_TYPES:
        _REMOTE_TYPES[name] = type(name, (AnalysisError,), {})
    return _REMOTE_TYPES[name](message)


def _load_der_certificate(der: bytes) -> Any:
    from cryptography import x509

    return x509.load_der_x509_certificate(der)


def _reduce_certificate(cert: Any) -> tuple[Any, tuple[bytes]]:
    from cryptography.hazmat.primitives import serialization

    return _load_der_certificate, (cert.public_bytes(serialization.Encoding.DER),)


def _register_reducers() -> None:
    """``cryptography`` certificates (in ``ValidationPolicy.trust_anchors``) do not pickle; send them as DER. The
    registration is multiprocessing's own table, not the global ``copyreg``."""
    from cryptography import x509

    ForkingPickler.register(x509.Certificate, _reduce_certificate)  # the concrete (Rust) class since cryptography 35


# ---- the worker process -------------------------------------------------------------------------------------
_SERVER = "import sys; from docexchange.signing.validation.bounded import _server_main; _server_main(sys.argv[1:])"


def _server_main(argv: list[str]) -> None:
    """The fork server (``python -c``): import the engine once, then fork one worker per request and hand the
    caller its end of a fresh socket pair (SCM_RIGHTS) with the worker's pid. Single-threaded, so fork is safe."""
    control = socket.socket(fileno=int(argv[0]))
    grace_s = float(argv[1])
    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers; the caller sees their EOF
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control.sendall(b"R")
    while True:
        try:
            request = control.recv(1)
        except OSError:
            return
        if not request:  # the caller is gone
            return
        ours, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the worker
            code = 0
            try:
                control.close()
                ours.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the worker waits for its own renderers
                _serve(Connection(theirs.detach()), grace_s)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        try:
            socket.send_fds(control, [pid.to_bytes(8, "big")], [ours.fileno()])
        except OSError:
            return
        finally:
            ours.close()


class _ForkServer:
    """The caller's handle on ``_server_main``."""

    def __init__(self, grace_s: float, start_timeout_s: float) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)  # the caller's import path
        try:
            self.popen = subprocess.Popen([sys.executable, "-c", _SERVER, str(theirs.fileno()), repr(grace_s)],
                                          pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env,
                                          start_new_session=True)
        finally:
            theirs.close()
        self.sock = ours
        self.sock.settimeout(start_timeout_s)
        self.lock = threading.Lock()
        try:
            ready = self.sock.recv(1) == b"R"
        except OSError:
            ready = False
        if not ready:
            self.close()
            raise WorkerStartFailed("the analysis fork server did not start")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def fork(self) -> tuple[int, Connection]:
        with self.lock:
            try:
                self.sock.sendall(b"F")
                msg, fds, _flags, _addr = socket.recv_fds(self.sock, 8, 1)
            except OSError as exc:  # gone, or too slow: a late answer would be read as the next one's, so stop it
                self.popen.kill()
                raise WorkerStartFailed(f"the analysis fork server did not answer: {exc}") from exc
        if len(msg) != 8 or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            self.popen.kill()
            raise WorkerStartFailed("the analysis fork server gave a malformed answer")
        return int.from_bytes(msg, "big"), Connection(fds[0])

    def close(self) -> None:
        self.sock.close()  # EOF: the server exits
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class _Collect(logging.Handler):
    """In a worker: keep the job's log records (at most ``MAX_RECORDS``) to send back with the answer."""

    MAX_RECORDS = 200

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) >= self.MAX_RECORDS:
            self.dropped += 1
            return
        d = dict(record.__dict__)
        d["msg"], d["args"] = record.getMessage(), None  # arguments may not pickle: send the text
        if record.exc_info:
            d["exc_text"] = logging.Formatter().formatException(record.exc_info)
        d["exc_info"] = None
        self.records.append(d)

    def take(self) -> list[dict[str, Any]]:
        out, self.records = self.records, []
        if self.dropped:
            out.append(logging.LogRecord(__name__, logging.WARNING, __file__, 0,
                                         f"{self.dropped} more log records of this analysis were dropped",
                                         None, None).__dict__)
            self.dropped = 0
        return out


def _replay(records: list[dict[str, Any]]) -> None:
    """In the caller: hand the worker's log records to the caller's own loggers (its levels and handlers)."""
    for d in records:
        record = logging.makeLogRecord(d)
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


def _serve(conn: Connection, grace_s: float) -> None:
    """Worker main loop: one job at a time, until the connection closes or ``None`` arrives."""
    global _IN_WORKER
    _IN_WORKER = True
    try:
        os.setpgid(0, 0)  # own process group (already so when spawned): the kill reaches pdftoppm & co.
    except OSError:
        pass
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the backstop alarm ends the process
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the caller's: it ends us through the pool
    collect = _Collect()
    root = logging.getLogger()
    root.handlers = [collect]  # records go back to the caller, which logs them as if the analysis ran there
    try:
        conn.send(("ready", os.getpid()))
    except OSError:
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args, env, limit, level = job
        if env != dict(os.environ):  # the caller's environment, as if the analysis ran in its process
            os.environ.clear()
            os.environ.update(env)
        root.setLevel(level)
        signal.alarm(max(1, math.ceil(limit + grace_s)))
        try:
            reply: tuple[str, Any, Any] = ("ok", fn(*args), None)
        except BaseException as exc:  # noqa: BLE001 - any failure of the analysis is the caller's verdict
            reply = ("error", (type(exc).__name__, str(exc)), None)
        signal.alarm(0)
        reply = (reply[0], reply[1], collect.take())
        try:
            try:
                conn.send(reply)
            except _PICKLE_ERRORS as exc:
                conn.send(("error", (type(exc).__name__, f"result cannot be returned: {exc}"), []))
        except OSError:
            return


# ---- the pool -----------------------------------------------------------------------------------------------
class WorkerStartFailed(WorkerLost):
    """A worker could not be started (or did not become ready)."""


@dataclass(eq=False)
class _Worker:
    pid: int
    conn: Connection
    child: bool  # True: our own child (forked by the CLI), reaped with waitpid; else the fork server's
    pidfd: int | None = None  # the fork server's child: a pidfd tells when it has ended (Linux >= 5.3)
    jobs: int = 0
    exitcode: int | None = None
    done: bool = False

    def kill(self) -> int | None:
        try:  # the worker and what it started (a process-group id is not reused while the group has members)
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:  # the worker itself, if it had not made its group yet; a pidfd cannot hit a recycled pid
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            elif not self.done:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.wait(None)
        return self.exitcode

    def wait(self, timeout: float | None) -> bool:
        """Wait until the process has ended (``False`` if it still runs after ``timeout`` seconds)."""
        if self.done:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.child:
            while True:
                try:
                    pid, status = os.waitpid(self.pid, 0 if deadline is None else os.WNOHANG)
                except ChildProcessError:
                    break
                if pid:
                    self.exitcode = os.waitstatus_to_exitcode(status)
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
        elif self.pidfd is not None:  # the fork server's child: its pidfd turns readable when it has ended
            poller = select.poll()  # not select(): a busy server may hold descriptors above FD_SETSIZE
            poller.register(self.pidfd, select.POLLIN)
            if not poller.poll(None if timeout is None else max(0, int(timeout * 1000))):
                return False
            os.close(self.pidfd)
            self.pidfd = None
        else:  # without pidfd: it has ended (or is ending) when its end of the socket is closed
            while True:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    if not self.conn.poll(remaining):
                        return False
                    self.conn.recv_bytes()
                except (EOFError, OSError):
                    break
        self.done = True
        self.conn.close()
        return True


class AnalysisPool:
    """A small pool of worker processes; a job past its limit is killed with its worker, which is replaced.

    ``start_method``: ``"forkserver"`` (default) forks workers from a ``python -c`` that has imported the engine
    once; ``"fork"`` forks the calling process, which must be single-threaded and have the engine imported (the
    CLI). A worker serves many jobs; only one killed at the limit (or retired) is replaced."""

    def __init__(self, size: int = 2, *, start_method: str = "forkserver", max_jobs_per_worker: int = 500,
                 grace_s: float = 10.0, start_timeout_s: float = 300.0) -> None:
        if size < 1:
            raise ValueError("an analysis pool needs at least one worker")
        if start_method not in ("forkserver", "fork"):
            raise ValueError(f"unknown start method {start_method!r}")
        _register_reducers()
        self.size = size
        self.start_method = start_method
        self.max_jobs_per_worker = max_jobs_per_worker
        self.grace_s = grace_s
        self.start_timeout_s = start_timeout_s
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._starting = 0
        self._closed = False
        self._owner = os.getpid()
        self._server: _ForkServer | None = None
        self._server_lock = threading.Lock()
        # accounting (tests, logs): workers started, jobs answered, jobs killed at the limit, workers lost
        self.started = self.completed = self.killed = self.lost = 0

    # -- public ----------------------------------------------------------------------------------------------
    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], limit: float) -> Outcome:
        try:
            worker = self._acquire()
        except WorkerStartFailed as exc:
            return Outcome(error=exc)
        try:
            worker.conn.send((fn, args, dict(os.environ), limit, logging.getLogger().getEffectiveLevel()))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            self._discard(worker, lost=True)
            return Outcome(error=WorkerLost("the analysis worker ended before taking the job"))
        except BaseException as exc:  # the job itself does not pickle: the worker is untouched
            self._release(worker)
            if isinstance(exc, Exception):
                return Outcome(error=exc)
            raise
        try:
            ready = worker.conn.poll(max(0.0, limit))
        except (OSError, ValueError) as exc:  # the pool was closed meanwhile (the process is exiting)
            self._discard(worker, lost=True)
            return Outcome(error=WorkerLost(f"the analysis worker was stopped: {exc}"))
        except BaseException:  # interrupted (Ctrl-C, a caller's alarm): do not leave the job running
            self._discard(worker, killed=True)
            raise
        if not ready:
            self._discard(worker, killed=True)
            return Outcome(timed_out=True)
        try:
            kind, payload, records = worker.conn.recv()
        except (EOFError, OSError):
            code = self._discard(worker, lost=True)
            return Outcome(error=WorkerLost(f"the analysis worker ended without an answer (exit code {code})"))
        except Exception as exc:  # an answer that does not unpickle
            self._discard(worker, killed=True)
            return Outcome(error=exc)
        worker.jobs += 1
        with self._cond:
            self.completed += 1
        self._release(worker)
        _replay(records)
        if kind == "ok":
            return Outcome(value=payload)
        return Outcome(error=_remote_error(*payload))

    def pids(self) -> list[int]:
        """Process ids of the live workers (idle or busy)."""
        with self._cond:
            return sorted(w.pid for w in self._workers)

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {"size": self.size, "alive": len(self._workers), "idle": len(self._idle),
                    "busy": len(self._workers) - len(self._idle), "started": self.started,
                    "completed": self.completed, "killed": self.killed, "lost": self.lost}

    def warm(self) -> None:
        """Start one worker now so that the first analysis does not wait for it."""
        self._release(self._acquire())

    def close(self) -> None:
        with self._cond:
            self._closed = True
            mine = os.getpid() == self._owner
            workers = list(self._workers) if mine else []
            idle = set(self._idle)
            self._idle.clear()
            self._workers.clear()
            self._cond.notify_all()
        for w in workers:
            if w in idle:
                self._stop(w)
            else:
                w.kill()
        with self._server_lock:
            server, self._server = (self._server if mine else None), None
        if server is not None:
            server.close()

    # -- internals -------------------------------------------------------------------------------------------
    def _acquire(self) -> _Worker:
        if os.getpid() != self._owner:  # this process was forked after the pool started: the workers are the
            self._cond = threading.Condition()  # parent's; start our own
            self._idle, self._workers, self._starting = [], set(), 0
            self._server, self._server_lock = None, threading.Lock()
            self._owner = os.getpid()
        with self._cond:
            while True:
                if self._closed:
                    raise WorkerStartFailed("the analysis pool is closed")
                if self._idle:
                    return self._idle.pop()
                if len(self._workers) + self._starting < self.size:
                    self._starting += 1
                    break
                self._cond.wait()
        try:
            worker = self._start()
        except WorkerStartFailed:
            raise
        except Exception as exc:  # fork/exec failed (no memory, too many processes)
            raise WorkerStartFailed(f"the analysis worker cannot be started: {exc}") from exc
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify()
        with self._cond:
            self._workers.add(worker)
            self.started += 1
        return worker

    def _start(self) -> _Worker:
        if self.start_method == "fork":
            ours, theirs = socket.socketpair()
            try:
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child
                    code = 0
                    try:
                        ours.close()
                        _serve(Connection(theirs.detach()), self.grace_s)
                    except BaseException:  # noqa: BLE001
                        code = 1
                    finally:
                        os._exit(code)
                worker = _Worker(pid, Connection(ours.detach()), child=True)
            finally:
                theirs.close()
                ours.close()
        else:
            pid, conn = self._fork_server().fork()
            try:
                pidfd: int | None = os.pidfd_open(pid)
            except (AttributeError, OSError):
                pidfd = None
            worker = _Worker(pid, conn, child=False, pidfd=pidfd)
        try:
            ready = worker.conn.poll(self.start_timeout_s) and worker.conn.recv() == ("ready", worker.pid)
        except (EOFError, OSError):
            ready = False
        if not ready:
            status = worker.kill()
            raise WorkerStartFailed(f"the analysis worker did not start (exit code {status})")
        return worker

    def _fork_server(self) -> _ForkServer:
        with self._server_lock:
            if self._server is None or not self._server.alive():
                if self._server is not None:
                    self._server.close()
                self._server = _ForkServer(self.grace_s, self.start_timeout_s)
            return self._server

    def _release(self, worker: _Worker) -> None:
        retire = worker.jobs >= self.max_jobs_per_worker
        with self._cond:
            if self._closed or retire or worker not in self._workers:
                self._workers.discard(worker)
                stop = True
            else:
                self._idle.append(worker)
                stop = False
            self._cond.notify()
        if stop:
            self._stop(worker)

    def _discard(self, worker: _Worker, *, killed: bool = False, lost: bool = False) -> int | None:
        code = worker.kill()
        with self._cond:
            self._workers.discard(worker)
            self.killed += killed
            self.lost += lost
            self._cond.notify()
        return code

    @staticmethod
    def _stop(worker: _Worker) -> None:
        try:
            worker.conn.send(None)
        except OSError:
            pass
        if not worker.wait(5):
            worker.kill()


# ---- the process-wide pool ----------------------------------------------------------------------------------
_pool: AnalysisPool | None = None
_pool_lock = threading.Lock()
_inline = 0
_override: AnalysisPool | None = None


def _setting(name: str, default: float) -> float:
    """A positive number from the environment; anything else is logged and replaced by the default (an analysis
    must still get a verdict, so a typo here cannot be allowed to raise)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value > 0 and math.isfinite(value):
        return value
    log.warning("%s=%r is not a positive number; using %g", name, raw, default)
    return default


def default_workers() -> int:
    """``DOCEXCHANGE_ANALYSIS_WORKERS`` (default: the CPU count, at least 2)."""
    return max(1, int(_setting("DOCEXCHANGE_ANALYSIS_WORKERS", float(max(2, os.cpu_count() or 1)))))


def default_time_limit() -> float:
    """``DOCEXCHANGE_ANALYSIS_TIME_LIMIT`` seconds (default 60): ``ValidationPolicy.time_limit_s``'s default."""
    return _setting("DOCEXCHANGE_ANALYSIS_TIME_LIMIT", 60.0)


def pool() -> AnalysisPool:
    """The process's pool (started on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = AnalysisPool(default_workers())
        return _pool


def shutdown() -> None:
    global _pool
    with _pool_lock:
        old, _pool = _pool, None
    if old is not None:
        old.close()


atexit.register(shutdown)


@contextmanager
def forked_child() -> Iterator[None]:
    """For a command-line run: analyses inside the block run in one child forked from this process (which has the
    engine imported, so the child starts at once) and killed at the limit; the child ends with the block. Only when
    this process is single-threaded (fork is unsafe otherwise); else the block uses the process's pool."""
    global _override
    if threading.active_count() > 1 or _override is not None:
        yield
        return
    _override = AnalysisPool(1, start_method="fork")
    try:
        yield
    finally:
        own, _override = _override, None
        own.close()


@contextmanager
def in_process() -> Iterator[None]:
    """Run analyses in the calling thread, with no limit (tests that monkeypatch the engine; the benchmark). It
    applies to the whole process while the block runs."""
    global _inline
    _inline += 1
    try:
        yield
    finally:
        _inline -= 1


def run_analysis(fn: Callable[..., Any], args: tuple[Any, ...], limit: float) -> Outcome:
    """Run ``fn(*args)`` in a worker process; past ``limit`` seconds the worker is killed (``timed_out``)."""
    if _IN_WORKER or _inline:
        try:
            return Outcome(value=fn(*args))
        except Exception as exc:  # noqa: BLE001 - the caller turns it into a verdict
            return Outcome(error=exc)
    return (_override or pool()).run(fn, args, limit)
