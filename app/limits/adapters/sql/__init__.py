"""Per-user quotas in SQL (SQLite or PostgreSQL)."""
