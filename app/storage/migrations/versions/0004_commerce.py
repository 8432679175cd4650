"""commerce (products, purchases, stock events, reservations)

Revision ID: 0004_commerce
Revises: 0003_regulatory
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_commerce"
down_revision = "0003_regulatory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
