"""Choose each store's adapter from settings: Redis when configured, else memory or SQL."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.storage.base import KeyValueStore
from app.storage.memory.kv import MemoryKeyValueStore
from app.storage.redis.kv import RedisKeyValueStore


def build_kv_store(
    settings: Settings, *, redis: Redis | None, engine: AsyncEngine
) -> KeyValueStore:
    """Shared state that must be seen by every worker goes to Redis when there is one."""
    del settings, engine  # the in-process store suffices without Redis (one process's cache)
    if redis is not None:
        return RedisKeyValueStore(redis)
    return MemoryKeyValueStore()


def backends_in_use(settings: Settings) -> dict[str, str]:
    """Which backend serves each concern (shown at `GET /`)."""
    sql = "sqlite" if settings.is_sqlite else "postgresql"
    shared = "redis" if settings.redis_url else "memory"
    return {
        "database": sql,
        "sessions": settings.effective_session_storage,
        "stock": "redis" if settings.redis_url else sql,
        "rate_limits": shared,
        "cache": shared,
        "locks": shared,
        "idempotency": shared,
    }
