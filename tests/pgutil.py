"""A PostgreSQL server of a test's own (scripts/pg.sh on a free port and a temporary directory), which the test
may stop and start without disturbing the suite's shared server. Used by the worker-resilience tests, the API's
database-outage test and the chaos run (scripts/chaos.py)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from docexchange.netutil import free_port

ROOT = Path(__file__).resolve().parents[1]


def server_binaries_installed() -> bool:
    return bool(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


class PrivatePostgres:
    """Started on construction; ``url`` is a SQLAlchemy URL of a superuser role on database ``docexchange``."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="dxpg-"))  # short: the socket path has a length limit
        self.port = free_port()
        self.env = dict(os.environ, PGPORT=str(self.port), DOCEXCHANGE_PG_DIR=str(self.base))
        self.url = self._pg("start").strip().splitlines()[-1]

    def _pg(self, verb: str) -> str:
        return subprocess.run(["bash", str(ROOT / "scripts" / "pg.sh"), verb], env=self.env, check=True,
                              capture_output=True, text=True, timeout=120).stdout

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: every connection is closed at once."""
        self._pg("stop")

    def start(self) -> None:
        self._pg("start")

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
