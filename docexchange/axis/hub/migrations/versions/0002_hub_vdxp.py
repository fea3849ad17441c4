"""hub: credential scheme (dxhub1 | vdxp); package title and notation for delivery reports

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("hub_systems") as batch:
        batch.add_column(sa.Column("scheme", sa.String(length=16), nullable=False, server_default="dxhub1"))
    with op.batch_alter_table("hub_packages") as batch:
        batch.add_column(sa.Column("title", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("notation", sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_packages") as batch:
        batch.drop_column("notation")
        batch.drop_column("title")
    with op.batch_alter_table("hub_systems") as batch:
        batch.drop_column("scheme")
