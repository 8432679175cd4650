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
    String,
    Table,
    Text,
)

from app.storage.sql.metadata import metadata

# --- platform ------------------------------------------------------------------
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
