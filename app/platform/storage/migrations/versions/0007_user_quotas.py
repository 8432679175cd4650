"""per-user rate-limit quotas set by admins

Revision ID: 0007_user_quotas
Revises: 0006_batch
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_user_quotas"
down_revision = "0006_batch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_quotas",
        sa.Column("user_id", sa.String(40), nullable=False),
        sa.Column("requests_per_minute", sa.Integer, nullable=True),
        sa.Column("requests_per_hour", sa.Integer, nullable=True),
        sa.Column("requests_per_day", sa.Integer, nullable=True),
        sa.Column("updated_by", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_quotas"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_quotas_user_id_users", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("user_quotas")
