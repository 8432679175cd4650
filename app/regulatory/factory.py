"""Choose each store's adapter from settings: Redis when configured, else memory or SQL."""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.platform.config import Settings
from app.platform.storage.base import KeyValueStore, PlanRepository, SessionStore
from app.platform.storage.kv.memory import MemoryKeyValueStore
from app.platform.storage.kv.redis import RedisKeyValueStore
from app.regulatory.adapters.redis.sessions import RedisSessionStore
from app.regulatory.adapters.sql.plans import SqlPlanRepository
from app.regulatory.adapters.sql.sessions import SqlSessionStore


def build_kv_store(
    settings: Settings, *, redis: Redis | None, engine: AsyncEngine
) -> KeyValueStore:
    """Shared state that must be seen by every worker goes to Redis when there is one."""
    del settings, engine  # the in-process store suffices without Redis (one process's cache)
    if redis is not None:
        return RedisKeyValueStore(redis)
    return MemoryKeyValueStore()


def build_session_store(
    settings: Settings, *, redis: Redis | None, engine: AsyncEngine
) -> SessionStore:
    """SESSION_STORAGE decides; the default is Redis when REDIS_URL is set, else SQL."""
    if settings.effective_session_storage == "redis" and redis is not None:
        return RedisSessionStore(redis)
    return SqlSessionStore(engine)


def build_plan_repository(engine: AsyncEngine) -> PlanRepository:
    """Plans are durable records: always SQL."""
    return SqlPlanRepository(engine)


def build_ai_cache_kv(
    settings: Settings, *, kv: KeyValueStore, redis: Redis | None
) -> KeyValueStore:
    """The shared Redis store, or a private in-process LRU so cache entries can never evict
    other in-memory state (idempotency records, ...)."""
    if redis is not None:
        return kv
    return MemoryKeyValueStore(max_entries=settings.cache_max_entries)


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
