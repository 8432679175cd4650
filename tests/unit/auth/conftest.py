"""Accounts test helpers: cheap argon2 settings and a service over the memory adapters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from app.accounts.service import AuthService
from app.platform.security import PasswordHasher, TokenCodec
from tests.support.fakes.api_keys import MemoryApiKeyRepository
from tests.support.fakes.users import MemoryUserRepository

# argon2 at its cheapest: the suite tests the mechanism, not the cost.
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_cost": 1024}
SECRET = "unit-test-secret-key-with-more-than-32-chars"


class Clock:
    """A settable monotonic clock for cache-expiry tests."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def users() -> MemoryUserRepository:
    return MemoryUserRepository()


@pytest.fixture
def api_keys() -> MemoryApiKeyRepository:
    return MemoryApiKeyRepository()


@pytest.fixture
def make_service(
    users: MemoryUserRepository, api_keys: MemoryApiKeyRepository, clock: Clock
) -> Callable[..., AuthService]:
    """A service over the shared memory repositories (two calls = two 'workers')."""

    def make(**overrides: object) -> AuthService:
        values: dict[str, object] = {
            "users": users,
            "api_keys": api_keys,
            "passwords": PasswordHasher(time_cost=1, memory_cost=1024),
            "tokens": TokenCodec(secret_key=SECRET, expire_minutes=60),
            "cache_ttl_s": 5.0,
            "api_keys_per_user_max": 3,
            "now": lambda: datetime.now(UTC),
            "monotonic": clock,
        }
        values.update(overrides)
        return AuthService(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def service(make_service: Callable[..., AuthService]) -> AuthService:
    return make_service()
