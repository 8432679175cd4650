"""accounts (users, API keys)

Revision ID: 0002_accounts
Revises: 0001_platform
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002_accounts"
down_revision = "0001_platform"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
