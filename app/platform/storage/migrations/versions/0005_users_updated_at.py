"""auth change feed: index users by updated_at

Revision ID: 0005_users_updated_at
Revises: 0004_commerce
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0005_users_updated_at"
down_revision = "0004_commerce"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every worker asks "who changed since t?" about once a second (app/accounts/service.py).
    op.create_index("ix_users_updated_at", "users", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_users_updated_at", table_name="users")
