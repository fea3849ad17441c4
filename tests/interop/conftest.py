"""Interop fixtures: the real VNPT VDXP SDK and EdXML102 jars, read in place from ``../shared/vendor/vdxp/``
(never copied into the repository), driven by ``VdxpDriver.java`` compiled with ``javac`` into a temporary
directory. Everything skips, saying why, where ``../shared``, Java or a Debian jar is missing
(``scripts/setup-system.sh`` installs them)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED_DIR
from tests.hub._hubutil import HubProcess

HERE = Path(__file__).resolve().parent
VENDOR = SHARED_DIR / "vendor" / "vdxp"
JARS = ("SDKVXP-2.0.0.jar", "EdXML102-0.0.3.jar")
# the SDK's dependencies as Debian installs them (../shared/vendor/vdxp/README.md)
DEBIAN_JARS = ("httpclient", "httpcore", "httpmime", "gson", "commons-codec", "commons-logging", "guava",
               "com.android.json", "jsoup", "xercesImpl", "jdom2", "guice", "slf4j-api", "commons-io")
DEBIAN_DIR = Path("/usr/share/java")
ZONE = "Asia/Ho_Chi_Minh"


@dataclass
class DriverRun:
    results: list[dict[str, Any]]
    stdout: str
    stderr: str

    def one(self, op: str) -> dict[str, Any]:
        found = [r for r in self.results if r["op"] == op]
        assert len(found) == 1, (op, self.results, self.stderr[-3000:])
        return found[0]


class Driver:
    def __init__(self, classes: Path, classpath: str) -> None:
        self.classes = classes
        self.classpath = classpath

    def run(self, commands: list[list[str]], endpoint: str = "", system_id: str = "", secret: str = "",
            store: Path | None = None, timeout: float = 120) -> DriverRun:
        argv = ["java", f"-Duser.timezone={ZONE}", "-Dfile.encoding=UTF-8", "-cp",
                f"{self.classes}:{self.classpath}", "VdxpDriver"]
        if endpoint:
            argv += [endpoint, system_id, secret, str(store)]
        proc = subprocess.run(argv, input="\n".join("\t".join(c) for c in commands) + "\n", capture_output=True,
                              text=True, timeout=timeout, check=False)
        results = [json.loads(line[3:]) for line in proc.stdout.splitlines() if line.startswith("@@ ")]
        assert proc.returncode == 0, proc.stderr[-3000:]
        return DriverRun(results, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Driver:
    if not VENDOR.is_dir() or not all((VENDOR / j).is_file() for j in JARS):
        pytest.skip(f"the VDXP jars are not at {VENDOR} (../shared absent; set DOCEXCHANGE_SHARED_DIR)")
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("Java (javac) is not installed: run scripts/setup-system.sh")
    missing = [j for j in DEBIAN_JARS if not (DEBIAN_DIR / f"{j}.jar").is_file()]
    if missing:
        pytest.skip(f"Debian jars missing in {DEBIAN_DIR}: {', '.join(missing)} (run scripts/setup-system.sh)")
    classpath = ":".join([*(str(VENDOR / j) for j in JARS), *(str(DEBIAN_DIR / f"{j}.jar") for j in DEBIAN_JARS)])
    classes = tmp_path_factory.mktemp("vdxp-driver")
    proc = subprocess.run(["javac", "-nowarn", "-encoding", "UTF-8", "-d", str(classes), "-cp", classpath,
                           str(HERE / "VdxpDriver.java")], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Driver(classes, classpath)


@pytest.fixture(scope="module")
def vdxp_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A real hub process (waitress) for the SDK."""
    proc = HubProcess(tmp_path_factory.mktemp("vdxp-hub")).start()
    yield proc
    proc.stop()


def vdxp_credentials(hub: HubProcess, code: str) -> tuple[str, str]:
    data = hub.admin("POST", "/admin/systems", json={"agencyCode": code, "scheme": "vdxp"})
    assert data["scheme"] == "vdxp"
    return data["systemId"], data["secret"]
