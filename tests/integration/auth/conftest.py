"""Accounts integration helpers: cheap argon2, and live servers that tolerate a busy machine."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.servers import LiveServer

# argon2 at its cheapest (the suite tests the mechanism, not the cost); ENVIRONMENT=test allows it.
FAST_HASH_ENV = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}
ADMIN_PASSWORD = "admin pass phrase 2026"
ADMIN_ENV = {"ADMIN_USERNAME": "root", "ADMIN_PASSWORD": ADMIN_PASSWORD}


@pytest.fixture
def auth_server(
    live_server_factory: Callable[..., LiveServer],
) -> Callable[..., LiveServer]:
    """The shared live-server factory (cheap argon2, 120 s start timeout, always stopped)."""
    return live_server_factory
