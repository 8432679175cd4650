"""Every table, in one place: what the migrations create and what the SQL adapters query."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from app.platform.storage.sql.metadata import metadata

# --- platform ------------------------------------------------------------------
# No adapter uses it (shared state lives in Redis or in process); migration 0001 creates it,
# so it stays until a migration drops it.
kv_entries = Table(
    "kv_entries",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("value", Text, nullable=False),
    # Unix seconds; NULL = never expires. A float keeps sub-second TTLs exact.
    Column("expires_at", Float, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_kv_entries_expires_at", "expires_at"),
)


# --- accounts --------------------------------------------------------------------
users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    # Stored lower-case: usernames are case-insensitive and the unique index enforces it.
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("role IN ('user', 'admin')", name="role"),
    # The auth change feed reads recently changed users every second (migration 0005).
    Index("ix_users_updated_at", "updated_at"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    # SHA-256 hex of the whole key; every authenticated request looks keys up by it.
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("rotated_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_api_keys_user_id", "user_id"),
)

# Per-user rate limits set by admins (docs/rate-limits.md "Per-user quotas"): each window that
# is not NULL replaces the user's tier; every worker reads the whole table about twice a second.
user_quotas = Table(
    "user_quotas",
    metadata,
    Column("user_id", String(40), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("requests_per_minute", Integer, nullable=True),
    Column("requests_per_hour", Integer, nullable=True),
    Column("requests_per_day", Integer, nullable=True),
    # The admin who set it last (a user id).
    Column("updated_by", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# --- commerce --------------------------------------------------------------------
products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("price", Numeric(12, 2), nullable=False),
    Column("initial_stock", Integer, nullable=False),
    # Sum of every restock; the ledger is `restocks`, this copy keeps inventory reads cheap.
    Column("restocked", Integer, nullable=False, server_default="0"),
    # Live stock under PURCHASE_STRATEGY=sql only (Redis holds it under lua/lock).
    Column("stock", Integer, nullable=False),
    Column("per_user_limit", Integer, nullable=True),
    Column("starts_at", DateTime(timezone=True), nullable=True),
    Column("ends_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("price > 0", name="price_positive"),
    CheckConstraint("initial_stock >= 0", name="initial_stock_nonnegative"),
    # The last line of defence against oversell on the SQL strategy.
    CheckConstraint("stock >= 0", name="stock_nonnegative"),
)

restocks = Table(
    "restocks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("created_by", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    Index("ix_restocks_product_id", "product_id"),
)

purchases = Table(
    "purchases",
    metadata,
    # Chosen by the service before the stock is reserved: it is also the reservation's id.
    Column("id", String(40), primary_key=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    # No foreign key to users: a purchase is a financial record that outlives its account.
    Column("user_id", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Numeric(12, 2), nullable=False),
    Column("total_price", Numeric(12, 2), nullable=False),
    Column("idempotency_key", String(255), nullable=True),
    Column("purchased_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    # NULL keys never collide, so purchases without a key are unconstrained; with a key this
    # is the durable exactly-once guard that survives a Redis that lost its idempotency keys.
    UniqueConstraint("product_id", "user_id", "idempotency_key", name="uq_purchases_idempotency"),
    Index("ix_purchases_product_user", "product_id", "user_id"),
    Index("ix_purchases_user_purchased_at", "user_id", "purchased_at"),
    Index("ix_purchases_purchased_at", "purchased_at"),
)

stock_events = Table(
    "stock_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("product_id", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("stock_after", Integer, nullable=True),
    Column("purchase_id", String(40), nullable=True),
    Column("user_id", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_stock_events_product_id", "product_id", "id"),
)


# --- regulatory ------------------------------------------------------------------
# No foreign key from owner_id to users: anonymous rows have none, and the accounts area
# owns the users table's lifecycle.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(64), nullable=True),
    Column("data", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Unix seconds (a float compares the same on SQLite and PostgreSQL); TTL since last write.
    Column("expires_at", Float, nullable=False),
    Index("ix_sessions_owner_id", "owner_id"),
    Index("ix_sessions_expires_at", "expires_at"),
)

plans = Table(
    "plans",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("session_id", String(64), nullable=True),
    Column("owner_id", String(64), nullable=True),
    Column("tier", String(20), nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_plans_session_id", "session_id"),
    Index("ix_plans_owner_id", "owner_id"),
)

plan_versions = Table(
    "plan_versions",
    metadata,
    Column("plan_id", String(64), ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    # Part of the primary key: two concurrent refines can never both write version n+1.
    Column("version", Integer, primary_key=True),
    Column("data", Text, nullable=False),
    Column("modifications", Text, nullable=True),
    Column("applied_changes", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("version >= 1", name="version_positive"),
)


# --- batch jobs ------------------------------------------------------------------
# No foreign key from owner_id to users, as for the regulatory tables: an owner's jobs are
# purged by age, not by the accounts area.
batch_jobs = Table(
    "batch_jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner_id", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    # Copies of the item counts, changed in the same transaction as the items they count.
    Column("total", Integer, nullable=False, server_default="0"),
    Column("processed", Integer, nullable=False, server_default="0"),
    Column("succeeded", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    Column("idempotency_key", String(255), nullable=True),
    Column("request_hash", String(64), nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("run_started_at", DateTime(timezone=True), nullable=True),
    Column("run_processed_at_start", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=True),
    # NULL keys never collide (SQLite and PostgreSQL alike): jobs without a key are unconstrained.
    UniqueConstraint("owner_id", "idempotency_key", name="uq_batch_jobs_idempotency"),
    Index("ix_batch_jobs_owner_created", "owner_id", "created_at"),
    # Workers look for the oldest queued (or lease-expired running) job.
    Index("ix_batch_jobs_status_created", "status", "created_at"),
    # The purge looks for final jobs by age.
    Index("ix_batch_jobs_status_finished", "status", "finished_at"),
)

batch_items = Table(
    "batch_items",
    metadata,
    Column(
        "job_id",
        String(40),
        ForeignKey("batch_jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    Column("ref", String(200), nullable=True),
    Column("input", Text, nullable=False),
    Column("status", String(12), nullable=False),
    Column("result", Text, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # The next pending items of a job, and a job's items of one status, by position.
    Index("ix_batch_items_job_status_position", "job_id", "status", "position"),
)
