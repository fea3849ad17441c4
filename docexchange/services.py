"""The node's long-lived objects, built once per process and shared by the web app, the CLI and workers."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .blobstore import BlobStore
from .config import Settings
from .db import Database
from .ledger import Ledger
from .pki.ca import DevCA
from .pki.responders import TimeStampAuthority


def load_secrets(instance_dir: Path) -> dict[str, str]:
    """Instance secrets (git-ignored ``instance/secrets.json``, mode 0600), generated on first use.
    Environment variables ``DOCEXCHANGE_SECRET_KEY`` / ``DOCEXCHANGE_CA_PASSWORD`` take precedence."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secrets.json"
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for name in ("secret_key", "ca_password", "demo_password", "demo_pin"):
        if name not in data:
            data[name] = secrets.token_urlsafe(9) if name.startswith("demo") else secrets.token_urlsafe(32)
            changed = True
    if changed:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
    for name in ("secret_key", "ca_password"):
        env = os.environ.get(f"DOCEXCHANGE_{name.upper()}")
        if env:
            data[name] = env
    return data


@dataclass
class Services:
    settings: Settings

    @cached_property
    def secrets(self) -> dict[str, str]:
        return load_secrets(self.settings.instance_dir)

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database_url)

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.settings.blob_dir, self.settings.max_blob_bytes)

    @cached_property
    def ca(self) -> DevCA:
        return DevCA(self.settings.certs_dir, self.secrets["ca_password"].encode(), self.settings.public_url)

    @cached_property
    def tsa(self) -> TimeStampAuthority:
        return TimeStampAuthority(self.ca)

    @cached_property
    def ledger(self) -> Ledger:
        timestamper = self.tsa.stamp if self.ca.is_initialised() else None
        return Ledger(timestamper, self.settings.ledger_anchor_every, self.settings.ledger_anchor_seconds)
