"""Accounts integration helpers: cheap argon2 for live servers and the CLI."""

from __future__ import annotations

# argon2 at its cheapest (the suite tests the mechanism, not the cost); ENVIRONMENT=test allows it.
FAST_HASH_ENV = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}
ADMIN_PASSWORD = "admin pass phrase 2026"
ADMIN_ENV = {"ADMIN_USERNAME": "root", "ADMIN_PASSWORD": ADMIN_PASSWORD}
