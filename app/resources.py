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
from app.services.auth import AuthService
from app.storage.base import KeyValueStore

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
    # Accounts: users, tokens, API keys; `auth.resolve_principal` is the app's principal resolver.
    auth: AuthService | None = None
