"""regulatory (sessions, plans and versions)

Revision ID: 0003_regulatory
Revises: 0002_accounts
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_regulatory"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
