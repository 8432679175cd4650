"""Commerce integration fixtures: SQL repositories on SQLite and PostgreSQL, real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.servers import RedisServer
from tests.unit.commerce.shop_helpers import header_principal

ShopFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


# The stock store's contract runs on the client the app itself builds (create_redis), the one
# path production uses.
@pytest.fixture
def redis_client(app_redis_client: Redis) -> Redis:
    """The app-built client (overrides the plain one of tests/conftest.py here)."""
    return app_redis_client


# Sync on purpose: it pulls async fixtures with getfixturevalue, which cannot run inside a loop.
@pytest.fixture(params=("sqlite", "postgres"))
def sql_engine(request: pytest.FixtureRequest) -> AsyncEngine:
    """Each durable backend in turn (the SQL adapters are the only durable ones)."""
    engine: AsyncEngine = request.getfixturevalue(f"{request.param}_engine")
    return engine


@pytest.fixture
def shop_factory(app_factory: Any, redis_client: Redis, redis_server: RedisServer) -> ShopFactory:
    """`async with shop_factory(**settings) as (app, client)`: real Redis (emptied), callers
    named by X-Test-User; the lua strategy unless told otherwise."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        overrides.setdefault("redis_url", redis_server.url)
        overrides.setdefault("reconcile_interval_s", 0)
        overrides.setdefault("argon2_time_cost", 1)
        overrides.setdefault("argon2_memory_cost", 1024)
        async with app_factory(**overrides) as (app, client):
            app.state.principal_resolver = header_principal
            yield app, client

    return make
