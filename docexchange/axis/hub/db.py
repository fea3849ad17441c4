"""The hub's own database: engine, sessions and Alembic migration to head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from docexchange.db import Database, at_startup
from docexchange.migrate import alembic_config as node_alembic_config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    return node_alembic_config(url, MIGRATIONS)


def migrate(db: Database) -> None:
    """Bring the hub schema to head (idempotent). Version table: ``hub_alembic_version``."""
    if db.url.startswith("sqlite:///"):
        Path(db.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(db.url)

    def upgrade() -> None:
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    at_startup(db.engine, upgrade)  # waits for the database, and starts over if it restarts meanwhile
