"""Hub configuration from ``DOCEXCHANGE_HUB_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from docexchange.config import Settings


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DOCEXCHANGE_HUB_{name}", default)


@dataclass(frozen=True)
class HubSettings:
    """Everything the hub reads. The hub has its own database and blob directory, never the node's."""

    database_url: str
    blob_dir: Path
    max_package_bytes: int = 250 * 1024 * 1024
    clock_skew_seconds: int = 300
    retention_days: int = 30
    admin_token: str = ""
    max_list: int = 1000
    vdxp_base_path: str = "/XrdAdapter/adapter"  # the VDXP face answers here, and at the root by its headers
    vdxp_timezone: str = "Asia/Ho_Chi_Minh"  # the SDK's timestamps carry no offset: read them in this zone
    vdxp_max_age_seconds: int = 300  # how old a VDXP timestamp may be (0: no limit; see docs/hub.md)
    center_code: str = "docexchange"  # centerCode in getSynchronizeUnit rows

    @classmethod
    def from_env(cls, base: Settings | None = None, **overrides: object) -> HubSettings:
        base = base or Settings.from_env()
        instance = base.instance_dir
        values: dict[str, object] = dict(
            database_url=_env("DATABASE_URL", f"sqlite:///{instance / 'hub.db'}"),
            blob_dir=Path(_env("BLOB_DIR", str(instance / "hub-blobs"))),
            max_package_bytes=int(_env("MAX_PACKAGE_BYTES", str(250 * 1024 * 1024))),
            clock_skew_seconds=int(_env("CLOCK_SKEW_SECONDS", "300")),
            retention_days=int(_env("RETENTION_DAYS", "30")),
            admin_token=_env("ADMIN_TOKEN", ""),
            vdxp_base_path=_env("VDXP_BASE_PATH", "/XrdAdapter/adapter"),
            vdxp_timezone=_env("VDXP_TIMEZONE", "Asia/Ho_Chi_Minh"),
            vdxp_max_age_seconds=int(_env("VDXP_MAX_AGE_SECONDS", "300")),
            center_code=_env("CENTER_CODE", "docexchange"),
        )
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
