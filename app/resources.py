"""Everything the lifespan creates (clients, stores, services), reached through `app.deps`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.ratelimit.limiter import RateLimiter
from app.services.auth import AuthService
from app.services.batch import BatchServices
from app.services.commerce import CommerceServices
from app.services.locks import LockManager
from app.services.regulatory_service import RegulatoryService
from app.storage.base import KeyValueStore
from app.storage.memory.lock import MemoryLockStore

HealthProbe = Callable[[], Awaitable[dict[str, Any] | None]]


@dataclass(slots=True)
class HealthCheck:
    """A named dependency probe; `critical` failures make the service unhealthy."""

    name: str
    probe: HealthProbe
    critical: bool = True


@dataclass
class Resources:
    """The process's clients and stores; built once per app in the lifespan."""

    settings: Settings
    engine: AsyncEngine
    redis: Redis | None
    kv: KeyValueStore
    started_at: float = field(default_factory=time.time)
    migrations_applied: bool = False
    health_checks: list[HealthCheck] = field(default_factory=list)
    # Long-running tasks started by the lifespan (reconcilers, workers); cancelled on shutdown.
    background_tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    # Each product area adds its typed stores / services below (built in app.lifespan).
    # Rate limiting: Redis when REDIS_URL is set, else in-process (see docs/rate-limits.md).
    rate_limiter: RateLimiter | None = None
    # Named locks (Redis when REDIS_URL is set, else in-process): `async with locks.hold(...)`.
    locks: LockManager = field(default_factory=lambda: LockManager(MemoryLockStore()))
    # Accounts: users, tokens, API keys; `auth.resolve_principal` is the app's principal resolver.
    auth: AuthService | None = None
    # Regulatory: sessions, plans, AI provider and its cache (app.services.regulatory_service).
    regulatory: RegulatoryService | None = None
    # Commerce: products, inventory, purchases, reconciler (app.services.commerce).
    commerce: CommerceServices | None = None
    # Batch jobs: the API's service and this process's workers (app.services.batch).
    batch: BatchServices | None = None
