"""Alembic environment for the hub database (own script location, own version table)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from docexchange.axis.hub.models import HubBase
from docexchange.db import make_engine

VERSION_TABLE = "hub_alembic_version"
config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=HubBase.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
