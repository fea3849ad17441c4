"""Configuration from the environment (``DOCEXCHANGE_*``), with embedded defaults for one machine."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DOCEXCHANGE_{name}", default)


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


@dataclass(frozen=True)
class Settings:
    """Every setting the node reads; see docs/configuration.md for each one."""

    instance_dir: Path
    database_url: str
    blob_dir: Path
    certs_dir: Path
    public_url: str
    secret_key: str
    max_upload_bytes: int = 250 * 1024 * 1024
    max_blob_bytes: int = 1024 * 1024 * 1024
    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    ledger_anchor_every: int = 100
    ledger_anchor_seconds: int = 3600
    log_json: bool = False
    offline_validation: bool = False
    hub_url: str = "http://127.0.0.1:8090"
    auto_register: bool = True

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        instance = Path(_env("INSTANCE_DIR", str(PROJECT_ROOT / "instance"))).resolve()
        values: dict[str, object] = dict(
            instance_dir=instance,
            database_url=_env("DATABASE_URL", f"sqlite:///{instance / 'docexchange.db'}"),
            blob_dir=Path(_env("BLOB_DIR", str(instance / "blobs"))),
            certs_dir=Path(_env("CERTS_DIR", str(PROJECT_ROOT / "certs"))),
            public_url=_env("PUBLIC_URL", "http://127.0.0.1:8080"),
            secret_key=_env("SECRET_KEY", ""),
            max_upload_bytes=_env_int("MAX_UPLOAD_BYTES", 250 * 1024 * 1024),
            max_blob_bytes=_env_int("MAX_BLOB_BYTES", 1024 * 1024 * 1024),
            login_max_failures=_env_int("LOGIN_MAX_FAILURES", 5),
            login_lockout_seconds=_env_int("LOGIN_LOCKOUT_SECONDS", 900),
            ledger_anchor_every=_env_int("LEDGER_ANCHOR_EVERY", 100),
            ledger_anchor_seconds=_env_int("LEDGER_ANCHOR_SECONDS", 3600),
            log_json=_env("LOG_JSON", "0") == "1",
            offline_validation=_env("OFFLINE_VALIDATION", "0") == "1",
            hub_url=_env("HUB_URL", "http://127.0.0.1:8090"),
            auto_register=_env("AUTO_REGISTER", "1") != "0",
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
