"""PostgreSQL pool health: idle connections are pinged before use, busy ones are not."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import app.platform.storage.sql.engine as engine_module
from app.platform.storage.sql.engine import create_engine
from tests.conftest import POSTGRES_ADMIN_URL, _exec_autocommit, make_settings

pytestmark = pytest.mark.integration


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def kill(pid: int) -> None:
    """The server drops the connection, as on a restart or an idle timeout in between."""
    await _exec_autocommit(POSTGRES_ADMIN_URL, f"SELECT pg_terminate_backend({pid})")


def engine_for(postgres_url: str, tmp_path: Path, ping_idle_s: float) -> AsyncEngine:
    settings = make_settings(
        tmp_path,
        database_url=postgres_url,
        database_pool_size=1,
        database_ping_idle_s=ping_idle_s,
    )
    return create_engine(settings)


@pytest.mark.parametrize("ping_idle_s", [0.0, 30.0])
async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ping_idle_s: float,
) -> None:
    engine = engine_for(postgres_url, tmp_path, ping_idle_s)
    try:
        dead = await backend_pid(engine)
        await kill(dead)
        # The connection has now been idle for longer than the threshold (a clock moved ahead
        # rather than a real wait): the checkout pings it, finds it dead and replaces it.
        real: Callable[[], float] = time.monotonic
        monkeypatch.setattr(engine_module, "monotonic", lambda: real() + ping_idle_s + 1)
        assert await backend_pid(engine) != dead
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(postgres_url: str, tmp_path: Path) -> None:
    """The cost side of the trade: no ping when busy, so a connection that died between two
    uses fails that one transaction; the pool then replaces it."""
    engine = engine_for(postgres_url, tmp_path, 30.0)
    try:
        dead = await backend_pid(engine)
        await kill(dead)
        with pytest.raises(DBAPIError) as failed:
            await backend_pid(engine)
        assert failed.value.connection_invalidated
        assert await backend_pid(engine) != dead
    finally:
        await engine.dispose()
