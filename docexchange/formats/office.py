"""A small pool of long-lived LibreOffice processes converting text documents to PDF/A-2b over UNO.

Each slot is one ``soffice`` (private profile dir, listening on a private UNO pipe) plus one driver process
(``_uno_worker.py`` under the system python3 that has Debian's ``python3-uno``). A conversion takes a slot,
so at most ``size`` run at once. A conversion that exceeds its time limit gets both processes of its slot
killed (whole process groups) and a clear error; the slot restarts on its next use, so later conversions
still work.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

from docexchange.errors import BadInput, Unavailable

__all__ = ["IMPORT_FILTERS", "ConversionTimeout", "OfficePool", "get_office_pool", "shutdown_office_pool"]

#: LibreOffice import filter per sniffed kind (explicit, so a file is never opened as another kind).
IMPORT_FILTERS = {
    "docx": "MS Word 2007 XML",
    "doc": "MS Word 97",
    "odt": "writer8",
    "rtf": "Rich Text Format",
}

_WORKER = Path(__file__).with_name("_uno_worker.py")


class ConversionTimeout(BadInput):
    status = 422
    code = "conversion_timeout"


def _kill_group(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
        pass


class _Slot:
    def __init__(self, pool: OfficePool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.office: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.profile: Path | None = None
        self._buf = b""
        self.conversions = 0

    @property
    def alive(self) -> bool:
        return (self.office is not None and self.office.poll() is None
                and self.worker is not None and self.worker.poll() is None)

    def start(self) -> None:
        self.kill()
        self.profile = Path(tempfile.mkdtemp(prefix=f"lo-profile-{self.index}-", dir=self.pool.workdir))
        pipe = f"docexchange-{os.getpid()}-{self.index}-{uuid.uuid4().hex[:8]}"
        env = dict(os.environ, HOME=str(self.profile))
        self.office = subprocess.Popen(
            [self.pool.soffice, f"-env:UserInstallation={self.profile.as_uri()}", "--headless", "--invisible",
             "--nologo", "--norestore", "--nodefault", "--nolockcheck", "--nofirststartwizard",
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )
        self.worker = subprocess.Popen(
            [self.pool.python, str(_WORKER), pipe, str(self.pool.start_timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )
        self._buf = b""
        reply = self._read(self.pool.start_timeout + 5)
        if reply is None or not reply.get("ready"):
            self.kill()
            raise Unavailable("LibreOffice did not start", "Không khởi động được LibreOffice",
                              code="converter_unavailable")

    def _read(self, timeout: float) -> dict[str, object] | None:
        """One JSON line from the worker, or None on time-out / worker exit."""
        assert self.worker is not None and self.worker.stdout is not None
        fd = self.worker.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        value: dict[str, object] = json.loads(line)
        return value

    def convert(self, src: Path, dst: Path, import_filter: str, timeout: float) -> None:
        if not self.alive:
            self.start()
        assert self.worker is not None and self.worker.stdin is not None
        request = {"src": str(src), "dst": str(dst), "filter": import_filter}
        self.worker.stdin.write((json.dumps(request) + "\n").encode())
        self.worker.stdin.flush()
        started = time.monotonic()
        reply = self._read(timeout)
        if reply is None:
            hung = self.worker.poll() is None
            self.kill()
            if hung:
                raise ConversionTimeout(
                    f"Conversion took longer than {timeout:g} s and was stopped",
                    f"Chuyển đổi vượt quá {timeout:g} giây và đã bị dừng",
                    elapsed=round(time.monotonic() - started, 3))
            raise Unavailable("The document converter stopped unexpectedly",
                              "Bộ chuyển đổi văn bản dừng bất thường", code="converter_crashed")
        self.conversions += 1
        if not reply.get("ok"):
            raise BadInput(f"The document could not be converted: {reply.get('error')}",
                           "Không chuyển đổi được văn bản sang PDF", code="conversion_failed")

    def kill(self) -> None:
        for proc in (self.worker, self.office):
            _kill_group(proc)
        for proc in (self.worker, self.office):
            if proc is not None:
                for stream in (proc.stdin, proc.stdout):
                    if stream is not None:
                        stream.close()
        self.worker = self.office = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None


class OfficePool:
    """At most ``size`` concurrent conversions, each bounded by ``timeout`` seconds."""

    def __init__(self, size: int = 2, *, timeout: float = 60.0, start_timeout: float = 60.0,
                 soffice: str | None = None, python: str | None = None, workdir: Path | None = None) -> None:
        self.size = size
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.soffice = (soffice or os.environ.get("DOCEXCHANGE_SOFFICE") or shutil.which("soffice")
                        or "soffice")
        self.python = python or os.environ.get("DOCEXCHANGE_UNO_PYTHON", "/usr/bin/python3")
        self.workdir = workdir
        self._slots: queue.Queue[_Slot] = queue.Queue()
        self._all = [_Slot(self, i) for i in range(size)]
        for slot in self._all:
            self._slots.put(slot)
        self._closed = False

    def warm(self) -> None:
        """Start every slot now (in parallel) instead of on first use."""
        taken = [self._slots.get() for _ in self._all]
        try:
            threads = [threading.Thread(target=s.start) for s in taken if not s.alive]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            for s in taken:
                self._slots.put(s)

    def convert(self, src: Path, dst: Path, kind: str, *, timeout: float | None = None) -> None:
        """Convert ``src`` (a sniffed ``kind``: docx, doc, odt, rtf) to PDF/A-2b at ``dst``."""
        if self._closed:
            raise Unavailable("The document converter is shut down", "Bộ chuyển đổi đã dừng",
                              code="converter_unavailable")
        import_filter = IMPORT_FILTERS[kind]
        slot = self._slots.get()
        try:
            dst.unlink(missing_ok=True)
            limit = self.timeout if timeout is None else timeout
            slot.convert(src.resolve(), dst.resolve(), import_filter, limit)
        except BaseException:
            dst.unlink(missing_ok=True)  # never leave a partial PDF behind
            raise
        finally:
            self._slots.put(slot)
        if not dst.is_file() or dst.stat().st_size == 0:
            raise BadInput("LibreOffice produced no PDF", "LibreOffice không tạo được tệp PDF",
                           code="conversion_failed")

    def close(self) -> None:
        self._closed = True
        for slot in self._all:
            slot.kill()

    def __enter__(self) -> OfficePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_default: OfficePool | None = None
_default_lock = threading.Lock()


def get_office_pool() -> OfficePool:
    """The process-wide pool (2 slots; ``DOCEXCHANGE_OFFICE_POOL_SIZE`` / ``_TIMEOUT`` override)."""
    global _default
    with _default_lock:
        if _default is None or _default._closed:
            _default = OfficePool(
                int(os.environ.get("DOCEXCHANGE_OFFICE_POOL_SIZE", "2")),
                timeout=float(os.environ.get("DOCEXCHANGE_OFFICE_TIMEOUT", "60")),
            )
        return _default


def shutdown_office_pool() -> None:
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
            _default = None


atexit.register(shutdown_office_pool)
