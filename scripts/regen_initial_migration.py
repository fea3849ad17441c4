"""Regenerate the single initial node migration from the models (allowed until the first release, D7)."""

import tempfile
from pathlib import Path

from alembic import command

from docexchange.migrate import MIGRATIONS, alembic_config

for old in (MIGRATIONS / "versions").glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    command.revision(alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}"), message="initial schema",
                     autogenerate=True, rev_id="0001")
