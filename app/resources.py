"""Everything the lifespan creates (clients, stores, services), reached through `app.deps`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.service import AuthService
from app.batch.factory import BatchServices
from app.commerce.factory import CommerceServices
from app.platform.config import Settings
from app.platform.ratelimit.limiter import RateLimiter
from app.platform.storage.base import KeyValueStore
from app.platform.storage.locks.manager import LockManager
from app.platform.storage.locks.memory import MemoryLockStore
from app.regulatory.service import RegulatoryService

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
    # Regulatory: sessions, plans, AI provider and its cache (app.regulatory.service).
    regulatory: RegulatoryService | None = None
    # Commerce: products, inventory, purchases, reconciler (app.commerce.factory).
    commerce: CommerceServices | None = None
    # Batch jobs: the API's service and this process's workers (app.batch.factory).
    batch: BatchServices | None = None
