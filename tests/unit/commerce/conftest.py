"""Commerce unit fixtures: an in-process app whose callers are named by a test header."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.unit.commerce.shop_helpers import header_principal

ShopFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def shop_factory(app_factory: Any) -> ShopFactory:
    """`async with shop_factory(**settings) as (app, client)`: callers named by X-Test-User."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        overrides.setdefault("reconcile_interval_s", 0)
        # Nobody logs in here: the cheapest password hashing keeps app start-up fast.
        overrides.setdefault("argon2_time_cost", 1)
        overrides.setdefault("argon2_memory_cost", 1024)
        async with app_factory(**overrides) as (app, client):
            app.state.principal_resolver = header_principal
            yield app, client

    return make


@pytest.fixture
async def shop(shop_factory: ShopFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the embedded default (SQL stock strategy)."""
    async with shop_factory() as (_app, client):
        yield client
