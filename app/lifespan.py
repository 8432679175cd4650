"""Create every client in the lifespan and close it on shutdown (never at import time)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from app.accounts.adapters.sql.api_keys import SqlApiKeyRepository
from app.accounts.adapters.sql.users import SqlUserRepository
from app.accounts.service import AuthService
from app.batch.factory import build_batch
from app.commerce.factory import build_commerce, start_reconciler
from app.platform.config import Settings
from app.platform.logging import get_logger
from app.platform.metrics import METRICS_BUFFER, mark_process_dead
from app.platform.ratelimit.limiter import RateLimiter
from app.platform.ratelimit.stores.memory import MemoryRateLimitStore
from app.platform.ratelimit.stores.redis import RedisRateLimitStore
from app.platform.storage.locks.manager import LockManager, run_as_leader
from app.platform.storage.locks.memory import MemoryLockStore
from app.platform.storage.locks.redis import RedisLockStore
from app.platform.storage.migrate import is_up_to_date, run_migrations
from app.platform.storage.redis.client import create_redis
from app.platform.storage.sql.engine import create_engine
from app.regulatory.factory import build_kv_store
from app.regulatory.service import build_regulatory_service
from app.resources import HealthCheck, Resources

# Seconds shutdown waits for the cancelled background tasks (reconciler, change feed).
BACKGROUND_STOP_S = 5.0
# gen0 allocations, gen0 passes per gen1 pass, gen1 passes per full pass (CPython: 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 100)
# Whoever holds this lock sweeps expired sessions out of SQL (SESSION_PURGE_INTERVAL_S).
SESSION_PURGE_LOCK = "session-purge"
# Whoever holds this lock deletes batch jobs finished longer ago than BATCH_RETENTION_DAYS.
BATCH_PURGE_LOCK = "batch-purge"
BATCH_PURGE_INTERVAL_S = 3600.0
_log = get_logger("app.lifespan")


async def build_resources(settings: Settings) -> Resources:
    """Open clients, migrate SQLite, and wire stores; nothing here runs at import time."""
    engine = create_engine(settings)
    redis = create_redis(settings) if settings.redis_url else None
    resources = Resources(
        settings=settings,
        engine=engine,
        redis=redis,
        kv=build_kv_store(settings, redis=redis, engine=engine),
        locks=LockManager(RedisLockStore(redis) if redis is not None else MemoryLockStore()),
    )
    resources.regulatory = build_regulatory_service(
        settings, engine=engine, redis=redis, kv=resources.kv
    )
    if settings.ai_provider != "rules":
        # Not critical: with the model down the rest of the API (and AI_FALLBACK) still works.
        resources.health_checks.append(
            HealthCheck("ai_model", resources.regulatory.probe_model, critical=False)
        )
    resources.rate_limiter = RateLimiter(
        store=RedisRateLimitStore(redis) if redis is not None else MemoryRateLimitStore(),
        fail_open_reads=settings.rate_limit_fail_open,
        fail_open_writes=settings.rate_limit_fail_open_writes,
        store_retry_s=settings.rate_limit_store_retry_s,
    )
    if settings.is_sqlite and settings.run_migrations_on_startup:
        await run_migrations(engine)
        resources.migrations_applied = True
    else:
        # PostgreSQL is migrated by `python -m app migrate`; readiness waits for it.
        with contextlib.suppress(Exception):
            resources.migrations_applied = await is_up_to_date(engine)
    # Users are durable: always SQL. Several workers may bootstrap the admin at once (upsert).
    resources.auth = AuthService.from_settings(
        settings, users=SqlUserRepository(engine), api_keys=SqlApiKeyRepository(engine)
    )
    try:
        await resources.auth.start(settings, schema_ready=resources.migrations_applied)
    except Exception:
        await close_resources(resources)  # e.g. a weak ADMIN_PASSWORD: refuse to start, cleanly
        raise
    resources.commerce = build_commerce(
        settings, engine=engine, redis=redis, kv=resources.kv, locks=resources.locks
    )
    if resources.migrations_applied and settings.auth_changes_poll_s > 0:
        resources.background_tasks.append(
            asyncio.create_task(resources.auth.run_change_feed(), name="auth-change-feed")
        )
    reconciler = start_reconciler(
        resources.commerce, locks=resources.locks, interval_s=settings.reconcile_interval_s
    )
    if reconciler is not None:
        resources.background_tasks.append(reconciler)
    if resources.migrations_applied and settings.session_purge_interval_s > 0:
        purge = run_as_leader(
            resources.locks,
            SESSION_PURGE_LOCK,
            settings.session_purge_interval_s,
            resources.regulatory.sessions.purge_expired,
            # Nothing is urgent about a sweep: not at startup, beside the reconciler's first run.
            wait_first=True,
        )
        resources.background_tasks.append(asyncio.create_task(purge, name="session-purge"))
    resources.batch = build_batch(settings, engine=engine, regulatory=resources.regulatory)
    if settings.batch_workers > 0:
        # Started even before PostgreSQL is migrated: its claims back off until the schema is.
        resources.background_tasks.append(
            asyncio.create_task(resources.batch.runner.run(), name="batch-runner")
        )
    if resources.migrations_applied and settings.batch_retention_days > 0:
        purge_jobs = run_as_leader(
            resources.locks,
            BATCH_PURGE_LOCK,
            BATCH_PURGE_INTERVAL_S,
            resources.batch.service.purge_expired,
            wait_first=True,
        )
        resources.background_tasks.append(asyncio.create_task(purge_jobs, name="batch-purge"))
    resources.health_checks.append(HealthCheck("database", _database_probe(resources)))
    if redis is not None:
        resources.health_checks.append(HealthCheck("redis", _redis_probe(resources)))
    return resources


def _database_probe(resources: Resources) -> Any:
    async def probe() -> dict[str, Any] | None:
        async with resources.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        if not resources.migrations_applied:
            resources.migrations_applied = await is_up_to_date(resources.engine)
        return {"migrations_applied": resources.migrations_applied}

    return probe


def _redis_probe(resources: Resources) -> Any:
    async def probe() -> dict[str, Any] | None:
        assert resources.redis is not None
        await resources.redis.ping()
        return None

    return probe


async def close_resources(resources: Resources) -> None:
    """Stop background work, then close clients; each step runs even if another fails."""
    if resources.commerce is not None:
        with contextlib.suppress(Exception):
            await resources.commerce.aclose()  # purchases in progress finish first
    for task in resources.background_tasks:
        task.cancel()
    if resources.background_tasks:
        # Bounded: a task whose cancellation a client library swallowed must not hold the
        # shutdown (and every client after it) open forever.
        done, stuck = await asyncio.wait(resources.background_tasks, timeout=BACKGROUND_STOP_S)
        for task in done:
            if not task.cancelled():
                task.exception()  # retrieved: an error on the way out is not re-reported
        for task in stuck:
            _log.error("background_task_did_not_stop", task=task.get_name())
    if resources.regulatory is not None:
        with contextlib.suppress(Exception):
            await resources.regulatory.aclose()
    if resources.rate_limiter is not None:
        with contextlib.suppress(Exception):
            await resources.rate_limiter.aclose()
    if resources.redis is not None:
        with contextlib.suppress(Exception):
            await resources.redis.aclose(close_connection_pool=True)
    await resources.engine.dispose()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build resources on startup, close them on shutdown."""
    settings: Settings = app.state.settings
    started = time.perf_counter()
    resources = await build_resources(settings)
    app.state.resources = resources
    if resources.auth is not None:
        app.state.principal_resolver = resources.auth.resolve_principal
    # Everything built so far (modules, routes, models, clients) lives as long as the process:
    # moved out of the collector's generations, the full collections that request garbage
    # triggers no longer walk it again and again (docs/decisions/0004-one-edge-layer.md).
    gc.collect()
    gc.freeze()
    # Young collections far apart: every one of them promotes the requests in flight at that
    # moment, and each 25 % growth of the old generation (the auth, token and rate-limit caches
    # fill as callers arrive) then costs a full collection that walks all of it, which measured
    # 15-25 ms per pass, nothing freed, during a flash sale. The garbage a request leaves is
    # almost all freed by reference counting; cycles are still collected, just in larger steps.
    gc.set_threshold(*GC_THRESHOLDS)
    _log.info(
        "startup",
        environment=settings.environment,
        database="sqlite" if settings.is_sqlite else "postgresql",
        redis=bool(settings.redis_url),
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    try:
        yield
    finally:
        await close_resources(resources)
        METRICS_BUFFER.flush()  # its feeders first: the request log's tallies and access lines
        mark_process_dead(os.getpid())
        _log.info("shutdown")
