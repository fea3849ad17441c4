"""Helpers for the hub tests: build edXML packages, run the hub as a real process, sign requests."""

from __future__ import annotations

import base64
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import requests

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
ADMIN_TOKEN = "test-operator-token"
_codes = itertools.count(100)


def next_code(level1: str = "H41") -> str:
    """A fresh legacy-format agency code (unique within the test session)."""
    n = next(_codes)
    return f"{n % 1000:03d}.{(n // 1000) % 100:02d}.{os.getpid() % 100:02d}.{level1}"


def _organ(tag: str, code: str) -> str:
    return (
        f"<edXML:{tag}><edXML:OrganId>{escape(code)}</edXML:OrganId>"
        f"<edXML:OrganName>Cơ quan {escape(code)}</edXML:OrganName></edXML:{tag}>"
    )


def edoc(
    sender: str,
    recipients: list[str],
    document_id: str,
    payload: bytes = b"%PDF-1.7 test",
    business_doc_type: int = 0,
) -> bytes:
    """A small but structurally real edXML document package."""
    head = _edoc_head(sender, recipients, document_id, business_doc_type)
    return head + base64.b64encode(payload) + _EDOC_TAIL


def _edoc_head(sender: str, recipients: list[str], document_id: str, business_doc_type: int = 0) -> bytes:
    tos = "".join(_organ("To", r) for r in recipients)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="{NS}">'
        f'<edXML:edXMLEnvelope xmlns:edXML="{NS}"><edXML:edXMLHeader><edXML:MessageHeader>'
        f"{_organ('From', sender)}{tos}<edXML:DocumentId>{escape(document_id)}</edXML:DocumentId>"
        f"<edXML:Subject>Thử nghiệm trục</edXML:Subject></edXML:MessageHeader>"
        f"<edXML:TraceHeaderList><edXML:Bussiness><edXML:BussinessDocType>{business_doc_type}"
        f"</edXML:BussinessDocType></edXML:Bussiness></edXML:TraceHeaderList></edXML:edXMLHeader>"
        f'<edXML:edXMLBody><edXML:edXMLManifest version="1.0"><edXML:Reference>'
        f"<edXML:ContentId>cid:1</edXML:ContentId></edXML:Reference></edXML:edXMLManifest></edXML:edXMLBody>"
        f"</edXML:edXMLEnvelope><AttachmentEncoded><Attachment><ContentId>cid:1</ContentId>"
        f"<AttachmentName>main.pdf</AttachmentName><ContentType>application/pdf</ContentType>"
        f"<ContentTransferEncoded>"
    ).encode()


_EDOC_TAIL = b"</ContentTransferEncoded></Attachment></AttachmentEncoded></edXML>"


def write_big_edoc(path: Path, sender: str, recipient: str, document_id: str, size: int) -> None:
    """An edoc whose base64 attachment makes the file about ``size`` bytes, written in chunks."""
    block = base64.b64encode(os.urandom(3 * 256 * 1024))  # 1 MiB of base64
    with open(path, "wb") as out:
        out.write(_edoc_head(sender, [recipient], document_id))
        written = 0
        while written < size:
            part = block[: size - written]
            out.write(part)
            written += len(part)
        out.write(_EDOC_TAIL)


def status(sender: str, original_sender: str, document_id: str, code: str, timestamp: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<edXML xmlns="{NS}">'
        f'<edXML:edXMLEnvelope xmlns:edXML="{NS}"><edXML:edXMLHeader><edXML:MessageHeader>'
        f"{_organ('From', sender)}<edXML:ResponseFor><edXML:OrganId>{original_sender}</edXML:OrganId>"
        f"<edXML:DocumentId>{escape(document_id)}</edXML:DocumentId></edXML:ResponseFor>"
        f"<edXML:StatusCode>{code}</edXML:StatusCode><edXML:Description>Đã đến</edXML:Description>"
        f"<edXML:Timestamp>{timestamp}</edXML:Timestamp></edXML:MessageHeader></edXML:edXMLHeader>"
        f"</edXML:edXMLEnvelope></edXML>"
    ).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HubProcess:
    """``python -m docexchange.axis.hub`` on a loopback port with its own DB and blob dir."""

    def __init__(
        self, workdir: Path, database_url: str | None = None, *, cli: bool = False, **env: str
    ) -> None:
        self.workdir = workdir
        self.cli = cli
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update(
            {
                "DOCEXCHANGE_INSTANCE_DIR": str(workdir),
                "DOCEXCHANGE_HUB_DATABASE_URL": database_url or f"sqlite:///{workdir / 'hub.db'}",
                "DOCEXCHANGE_HUB_BLOB_DIR": str(workdir / "blobs"),
                "DOCEXCHANGE_HUB_ADMIN_TOKEN": ADMIN_TOKEN,
            }
        )
        self.env.update(env)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> HubProcess:
        log = open(self.workdir / "hub.log", "ab")  # noqa: SIM115 - lives as long as the process
        if self.cli:  # the documented command: docexchange axis serve --host --port
            argv = [sys.executable, "-c", "from docexchange.cli import main; main()", "axis", "serve"]
        else:
            argv = [sys.executable, "-m", "docexchange.axis.hub"]
        argv += ["--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub exited: {(self.workdir / 'hub.log').read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("hub did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def vm(self, field: str) -> int:
        """A /proc/<pid>/status memory figure in KiB (VmHWM, VmRSS)."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    # operator calls
    def admin(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        resp = requests.request(
            method, self.url + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30, **kw
        )
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data

    def register(self, code: str, name: str | None = None, cert_pem: str | None = None) -> None:
        self.admin(
            "POST",
            "/registerAgency",
            json={"code": code, "name": name or f"Cơ quan {code}", "sealCertificatePem": cert_pem},
        )

    def credentials(self, code: str, expires_at: str | None = None) -> tuple[str, str]:
        data = self.admin("POST", "/admin/systems", json={"agencyCode": code, "expiresAt": expires_at})
        return data["systemId"], data["secret"]


class ThreadHub:
    """A hub app served in-process on a loopback port (waitress), so a test can reach into its
    ``HubService`` (e.g. swap its ``clock``). Shares nothing with ``HubProcess`` but the code."""

    def __init__(self, workdir: Path, database_url: str | None = None) -> None:
        from docexchange.axis.hub.app import create_hub_app
        from docexchange.axis.hub.settings import HubSettings

        self.settings = HubSettings(
            database_url=database_url or f"sqlite:///{workdir / 'hub.db'}",
            blob_dir=workdir / "hub-blobs",
            admin_token=ADMIN_TOKEN,
        )
        self.app = create_hub_app(self.settings)
        self.service = self.app.extensions["hub_service"]
        self._server: Any = None
        self.url = ""

    def start(self) -> ThreadHub:
        """Served by waitress, as in production (it keeps the app's own ``Date`` header)."""
        import threading

        from waitress.server import create_server

        server = create_server(self.app, host="127.0.0.1", port=0, threads=4)
        self._server = server
        self.url = f"http://127.0.0.1:{server.effective_port}"

        def run() -> None:
            try:
                server.run()
            except OSError:  # the socket closed under select() by stop()
                if self._server is server:
                    raise

        threading.Thread(target=run, daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def agency(self, code: str | None = None) -> tuple[str, str, str]:
        """Register a fresh agency; returns (code, system_id, secret)."""
        code = code or next_code()
        self.service.register_agency(code, f"Cơ quan {code}")
        system_id, secret = self.service.issue_credentials(code)
        return code, system_id, secret
