"""Storage plumbing: SQLite pragmas, migrations and readiness, lifespan-owned clients."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import app.lifespan as lifespan_module
from app.lifespan import build_resources, close_resources
from app.platform.storage.migrate import current_revision, head_revision, run_migrations
from app.platform.storage.sql.engine import create_engine
from tests.conftest import POSTGRES_ADMIN_URL, _exec_autocommit, make_settings, running_app

pytestmark = pytest.mark.integration


async def test_sqlite_runs_wal_with_busy_timeout_and_foreign_keys(
    sqlite_engine: AsyncEngine,
) -> None:
    async with sqlite_engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 5000


async def test_migrations_reach_head_and_are_idempotent(sqlite_engine: AsyncEngine) -> None:
    assert await current_revision(sqlite_engine) == head_revision()
    await run_migrations(sqlite_engine)
    assert await current_revision(sqlite_engine) == head_revision()


async def test_startup_migrates_sqlite(tmp_path: Path) -> None:
    async with running_app(make_settings(tmp_path)) as (_app, client):
        ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["migrations_applied"] is True


async def test_postgres_is_not_ready_until_migrated(tmp_path: Path) -> None:
    name = f"raidesk_unmigrated_{secrets.token_hex(4)}"
    await _exec_autocommit(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        async with running_app(make_settings(tmp_path, database_url=url)) as (_app, client):
            before = await client.get("/health/ready")
            assert before.status_code == 503
            assert before.json()["migrations_applied"] is False
            engine = create_engine(make_settings(tmp_path, database_url=url))
            await run_migrations(engine)
            await engine.dispose()
            after = await client.get("/health/ready")
            assert after.status_code == 200
            assert (await client.get("/")).json()["backends"]["database"] == "postgresql"
    finally:
        await _exec_autocommit(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_lifespan_closes_the_clients_it_opened(tmp_path: Path, redis_client) -> None:  # type: ignore[no-untyped-def]
    url = redis_client.connection_pool.connection_kwargs
    settings = make_settings(tmp_path, redis_url=f"redis://{url['host']}:{url['port']}/0")

    async def clients() -> int:
        return len(await redis_client.client_list())

    before = await clients()
    resources = await build_resources(settings)
    assert resources.redis is not None
    await resources.redis.ping()
    async with resources.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    assert await clients() > before
    await close_resources(resources)
    assert await clients() == before
    assert resources.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_detailed_health_reports_pools_disk_and_memory(tmp_path: Path, redis_server) -> None:  # type: ignore[no-untyped-def]
    async with running_app(make_settings(tmp_path, redis_url=redis_server.url)) as (_app, client):
        body = (await client.get("/health/detailed")).json()
    assert body["status"] == "healthy"
    assert set(body["checks"]) >= {"database", "redis"}
    assert body["checks"]["redis"]["latency_ms"] >= 0
    assert body["pools"]["redis"]["max"] == 100
    assert "checkedout" in body["pools"]["database"]
    assert body["disk"]["free_bytes"] > 0
    assert body["memory"]["rss_bytes"] > 0
    assert body["batch"] == {"workers": 1, "jobs_running_here": 0}


async def test_sqlite_reads_take_no_write_lock(sqlite_engine: AsyncEngine) -> None:
    from app.platform.storage.sql.engine import reader

    async with sqlite_engine.begin() as writer:
        await writer.execute(text("CREATE TABLE IF NOT EXISTS t_lock (x INTEGER)"))
    async with sqlite_engine.begin() as writer:
        await writer.execute(text("INSERT INTO t_lock VALUES (1)"))
        # A writer holds the lock; a read through `reader` still answers at once (WAL),
        # while an ordinary transaction would wait busy_timeout (5 s) for the lock.
        async with reader(sqlite_engine).connect() as conn:
            count = (await conn.execute(text("SELECT count(*) FROM t_lock"))).scalar()
        assert count == 0  # the uncommitted row is not visible
        assert reader(sqlite_engine) is reader(sqlite_engine)


async def test_shutdown_does_not_wait_forever_for_a_task_that_ignores_its_cancel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifespan_module, "BACKGROUND_STOP_S", 0.2)
    resources = await build_resources(make_settings(tmp_path))
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # what a client library that swallows cancellation looks like

    task = asyncio.create_task(stubborn(), name="stubborn")
    resources.background_tasks.append(task)
    await asyncio.wait_for(close_resources(resources), timeout=5)
    assert not task.done()  # left behind and logged, and the clients were still closed
    assert resources.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    release.set()
    await task


async def test_redis_pool_stats_count_idle_and_used_connections(redis_server) -> None:  # type: ignore[no-untyped-def]
    """The pool figures come from redis-py's public count: a connection is used while a command
    holds it and idle once it is back."""
    from redis.asyncio import Redis

    from app.platform.storage.redis.client import redis_pool_stats

    client = Redis.from_url(redis_server.url, max_connections=7)
    try:
        assert redis_pool_stats(client) == {"max": 7, "in_use": 0, "idle": 0}
        blocked = asyncio.create_task(client.blpop(["pool-stats-list"], timeout=30))
        while redis_pool_stats(client)["in_use"] == 0:
            await asyncio.sleep(0)
        assert redis_pool_stats(client) == {"max": 7, "in_use": 1, "idle": 0}
        await client.rpush("pool-stats-list", "x")
        await blocked
        # The push needed a second connection while the first was held: both are back now.
        assert redis_pool_stats(client) == {"max": 7, "in_use": 0, "idle": 2}
    finally:
        await client.aclose()
