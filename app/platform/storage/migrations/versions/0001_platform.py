"""platform: key-value table

Revision ID: 0001_platform
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_platform"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kv_entries",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_kv_entries"),
    )
    op.create_index("ix_kv_entries_expires_at", "kv_entries", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_kv_entries_expires_at", table_name="kv_entries")
    op.drop_table("kv_entries")
