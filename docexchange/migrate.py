"""Schema migrations (Alembic). The app refuses to start on a database that is not at the head revision."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class NotMigrated(RuntimeError):
    pass


def alembic_config(url: str, script_location: Path = MIGRATIONS) -> Config:
    """An Alembic configuration for ``url`` (the node's migrations unless another script location is given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    command.upgrade(alembic_config(url), "head")


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current(engine: Engine, wait_seconds: float | None = None) -> None:
    """Refuse a database that is not at the head revision, after waiting ``wait_seconds`` (default
    ``DOCEXCHANGE_DB_WAIT_SECONDS``) for it to accept connections."""
    from .db import at_startup

    current, head = at_startup(engine, lambda: current_revision(engine), wait_seconds), head_revision()
    if current != head:
        raise NotMigrated(
            f"database {engine.url.render_as_string(hide_password=True)} is at revision {current or 'none'}, "
            f"code expects {head}: run `docexchange db upgrade` (or the README run command, which migrates) / "
            f"cơ sở dữ liệu chưa được cập nhật cấu trúc: hãy chạy `docexchange db upgrade`")
