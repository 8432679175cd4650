"""Every table, in one place: what the migrations create and what the SQL adapters query."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, Index, String, Table, Text

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
