"""Rate-limit integration fixtures: the Redis store runs on the client the app builds."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis


# The rate-limit store's contract runs on the client the app itself builds (create_redis), the one
# path production uses.
@pytest.fixture
def redis_client(app_redis_client: Redis) -> Redis:
    """The app-built client (overrides the plain one of tests/conftest.py here)."""
    return app_redis_client
