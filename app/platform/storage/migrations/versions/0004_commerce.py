"""commerce (products, purchases, stock events, reservations)

Revision ID: 0004_commerce
Revises: 0003_regulatory
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_commerce"
down_revision = "0003_regulatory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("initial_stock", sa.Integer, nullable=False),
        sa.Column("restocked", sa.Integer, nullable=False, server_default="0"),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("per_user_limit", sa.Integer, nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_products"),
        sa.CheckConstraint("price > 0", name="ck_products_price_positive"),
        sa.CheckConstraint("initial_stock >= 0", name="ck_products_initial_stock_nonnegative"),
        sa.CheckConstraint("stock >= 0", name="ck_products_stock_nonnegative"),
    )
    op.create_table(
        "restocks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_restocks"),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_restocks_product_id_products"
        ),
        sa.CheckConstraint("quantity > 0", name="ck_restocks_quantity_positive"),
    )
    op.create_index("ix_restocks_product_id", "restocks", ["product_id"])
    op.create_table(
        "purchases",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("total_price", sa.Numeric(12, 2), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("purchased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_purchases"),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name="fk_purchases_product_id_products"
        ),
        sa.CheckConstraint("quantity > 0", name="ck_purchases_quantity_positive"),
        sa.UniqueConstraint(
            "product_id", "user_id", "idempotency_key", name="uq_purchases_idempotency"
        ),
    )
    op.create_index("ix_purchases_product_user", "purchases", ["product_id", "user_id"])
    op.create_index("ix_purchases_user_purchased_at", "purchases", ["user_id", "purchased_at"])
    op.create_index("ix_purchases_purchased_at", "purchases", ["purchased_at"])
    op.create_table(
        "stock_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("product_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("delta", sa.Integer, nullable=False),
        sa.Column("stock_after", sa.Integer, nullable=True),
        sa.Column("purchase_id", sa.String(40), nullable=True),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stock_events"),
    )
    op.create_index("ix_stock_events_product_id", "stock_events", ["product_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_stock_events_product_id", table_name="stock_events")
    op.drop_table("stock_events")
    op.drop_index("ix_purchases_purchased_at", table_name="purchases")
    op.drop_index("ix_purchases_user_purchased_at", table_name="purchases")
    op.drop_index("ix_purchases_product_user", table_name="purchases")
    op.drop_table("purchases")
    op.drop_index("ix_restocks_product_id", table_name="restocks")
    op.drop_table("restocks")
    op.drop_table("products")
