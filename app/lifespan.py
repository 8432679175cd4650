"""The one composition root: open the connections, build every area through its factory, start
the background work, and close it all on shutdown (never at import time)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts import dependencies as accounts_deps
from app.accounts.factory import build_accounts
from app.accounts.service import AuthService
from app.batch import dependencies as batch_deps
from app.batch.factory import build_batch
from app.batch.service import BatchServices
from app.commerce import dependencies as commerce_deps
from app.commerce.batch_kinds import RestockKind
from app.commerce.factory import build_commerce
from app.commerce.service import CommerceServices, start_reconciler
from app.health import dependencies as health_deps
from app.health.service import HealthCheck, HealthService
from app.limits import dependencies as limits_deps
from app.limits.factory import build_limits
from app.limits.service import LimitsService
from app.platform.activity import ActiveUsers
from app.platform.cache import Cache, install_cache
from app.platform.config import Settings
from app.platform.events import EventRecorder
from app.platform.gc_tuning import tuned_gc
from app.platform.logging import get_logger
from app.platform.metrics import METRICS_BUFFER, mark_process_dead
from app.platform.principal import scope_resolver
from app.platform.ratelimit.limiter import RateLimiter
from app.platform.storage.base import KeyValueStore
from app.platform.storage.connections import Connections, open_connections
from app.platform.storage.factory import (
    build_active_users,
    build_event_recorder,
    build_kv_store,
    build_locks,
    build_rate_limiter,
)
from app.platform.storage.locks.manager import LockManager, run_as_leader
from app.platform.storage.redis.client import RedisClient
from app.platform.tracing import start_tracing, stop_tracing
from app.regulatory import dependencies as regulatory_deps
from app.regulatory.factory import build_regulatory
from app.regulatory.service import RegulatoryService

# Seconds shutdown waits for the cancelled background tasks (reconciler, change feed).
BACKGROUND_STOP_S = 5.0
# Whoever holds this lock sweeps expired sessions out of SQL (SESSION_PURGE_INTERVAL_S).
SESSION_PURGE_LOCK = "session-purge"
# Whoever holds this lock deletes batch jobs finished longer ago than BATCH_RETENTION_DAYS.
BATCH_PURGE_LOCK = "batch-purge"
BATCH_PURGE_INTERVAL_S = 3600.0
_log = get_logger("app.lifespan")


@dataclass
class Resources:
    """The process's connections, shared stores and every area's services; built once per app."""

    settings: Settings
    connections: Connections
    kv: KeyValueStore
    # What `@cached` functions use (app/platform/cache.py), over `kv`; installed while the app runs.
    cache: Cache
    # Named locks (Redis when REDIS_URL is set, else in-process): `async with locks.hold(...)`.
    locks: LockManager
    # Rate limiting: Redis when REDIS_URL is set, else in-process (see docs/rate-limits.md).
    rate_limiter: RateLimiter
    auth: AuthService
    regulatory: RegulatoryService
    commerce: CommerceServices
    batch: BatchServices
    health: HealthService
    # Rate-limit administration: blocks and per-user quotas (`/api/admin`).
    limits: LimitsService
    # The monitoring event log (GET /api/monitoring/events) and `active_users_total`'s marks.
    events: EventRecorder
    active_users: ActiveUsers
    # Long-running tasks started by the lifespan (reconcilers, workers); cancelled on shutdown.
    background_tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    uninstall_cache: Callable[[], None] = lambda: None

    @property
    def engine(self) -> AsyncEngine:
        """The SQL engine."""
        return self.connections.engine

    @property
    def redis(self) -> RedisClient | None:
        """The Redis client; None without REDIS_URL."""
        return self.connections.redis


async def build_resources(settings: Settings) -> Resources:
    """Open clients, migrate SQLite, build each area, start background work."""
    connections = open_connections(settings)
    kv = build_kv_store(connections)
    locks = build_locks(connections)
    regulatory = build_regulatory(settings, connections, kv=kv)
    rate_limiter = build_rate_limiter(settings, connections)
    events = build_event_recorder(settings, connections)
    active_users = build_active_users(settings, connections)
    health = HealthService(
        settings=settings, connections=connections, events=events, active_users=active_users
    )
    commerce = build_commerce(settings, connections, kv=kv, locks=locks)
    auth = build_accounts(settings, connections)
    resources = Resources(
        settings=settings,
        connections=connections,
        kv=kv,
        cache=Cache(kv),
        locks=locks,
        rate_limiter=rate_limiter,
        auth=auth,
        regulatory=regulatory,
        commerce=commerce,
        batch=build_batch(
            settings,
            connections,
            regulatory=regulatory,
            extra_kinds=[RestockKind(commerce.inventory)],
        ),
        health=health,
        limits=build_limits(settings, connections, limiter=rate_limiter, users=auth),
        events=events,
        active_users=active_users,
    )
    try:
        await connections.connect_redis()
        await connections.migrate(settings)
        # Users are durable: always SQL. Several workers may bootstrap the admin at once (upsert).
        await resources.auth.start(settings, schema_ready=connections.migrations_applied)
    except Exception:
        await close_resources(resources)  # e.g. a weak ADMIN_PASSWORD: refuse to start, cleanly
        raise
    if settings.ai_provider != "rules":
        # Not critical: with the model down the rest of the API (and AI_FALLBACK) still works.
        health.checks.append(HealthCheck("ai_model", regulatory.probe_model, critical=False))
    resources.uninstall_cache = install_cache(resources.cache)
    _start_background_work(resources)
    health.checks.append(HealthCheck("database", connections.probe_database))
    if connections.redis is not None:
        health.checks.append(HealthCheck("redis", connections.probe_redis))
    health.reports["batch"] = resources.batch.health_report
    health.metric_refreshers.append(rate_limiter.refresh_metrics)
    # Every automatic block is a monitoring event (GET /api/monitoring/events?type=blocked).
    rate_limiter.block_listeners.append(
        lambda block: events.record_block(client=block.client, reason=block.reason)
    )
    return resources


def _start_background_work(resources: Resources) -> None:
    settings, tasks = resources.settings, resources.background_tasks
    migrated = resources.connections.migrations_applied
    if migrated and settings.auth_changes_poll_s > 0:
        tasks.append(asyncio.create_task(resources.auth.run_change_feed(), name="auth-change-feed"))
    reconciler = start_reconciler(
        resources.commerce, locks=resources.locks, interval_s=settings.reconcile_interval_s
    )
    if reconciler is not None:
        tasks.append(reconciler)
    if migrated and settings.session_purge_interval_s > 0:
        purge = run_as_leader(
            resources.locks,
            SESSION_PURGE_LOCK,
            settings.session_purge_interval_s,
            resources.regulatory.sessions.purge_expired,
            # Nothing is urgent about a sweep: not at startup, beside the reconciler's first run.
            wait_first=True,
        )
        tasks.append(asyncio.create_task(purge, name="session-purge"))
    if settings.batch_workers > 0:
        # Started even before PostgreSQL is migrated: its claims back off until the schema is.
        tasks.append(asyncio.create_task(resources.batch.runner.run(), name="batch-runner"))
    if migrated and settings.batch_retention_days > 0:
        purge_jobs = run_as_leader(
            resources.locks,
            BATCH_PURGE_LOCK,
            BATCH_PURGE_INTERVAL_S,
            resources.batch.service.purge_expired,
            wait_first=True,
        )
        tasks.append(asyncio.create_task(purge_jobs, name="batch-purge"))


async def close_resources(resources: Resources) -> None:
    """Stop background work, then close clients; each step runs even if another fails."""
    resources.uninstall_cache()
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
    with contextlib.suppress(Exception):
        await resources.regulatory.aclose()
    with contextlib.suppress(Exception):
        await resources.rate_limiter.aclose()
    for flushed in (resources.events, resources.active_users):
        with contextlib.suppress(Exception):  # their store may be the Redis that is going away
            await flushed.aclose()
    await resources.connections.aclose()


def publish(app: FastAPI, resources: Resources) -> None:
    """Put each area's services where its routes' dependencies look for them."""
    app.state.resources = resources
    # Every user the resolver returns is marked for `active_users_total`.
    resolve = resources.active_users.noting(resources.auth.resolve_principal)
    app.state.principal_resolver = scope_resolver(resolve)
    # The edge layer records problem answers here (app/platform/middleware/edge.py).
    app.state.events = resources.events
    setattr(app.state, accounts_deps.STATE_KEY, resources.auth)
    setattr(app.state, regulatory_deps.STATE_KEY, resources.regulatory)
    setattr(app.state, commerce_deps.STATE_KEY, resources.commerce)
    setattr(app.state, batch_deps.STATE_KEY, resources.batch)
    setattr(app.state, health_deps.STATE_KEY, resources.health)
    setattr(app.state, limits_deps.STATE_KEY, resources.limits)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build resources on startup, close them on shutdown."""
    settings: Settings = app.state.settings
    started = time.perf_counter()
    resources = await build_resources(settings)
    # After the engine exists (its SQL is traced); None, and nothing imported, when off.
    try:
        # `app.state.span_exporter` (tests: the SDK's in-memory exporter) replaces OTLP.
        exporter = getattr(app.state, "span_exporter", None)
        traces = start_tracing(settings, engine=resources.connections.engine, exporter=exporter)
    except BaseException:
        await close_resources(resources)
        raise
    publish(app, resources)
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
        stop_tracing(traces)
        METRICS_BUFFER.flush()  # its feeders first: the request log's tallies and access lines
        mark_process_dead(os.getpid())
        _log.info("shutdown")


@asynccontextmanager
async def serving_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The lifespan of a served process (`python -m app serve`): the GC tuned after startup."""
    async with lifespan(app):
        with tuned_gc():
            yield
