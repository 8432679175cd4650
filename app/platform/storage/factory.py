"""The platform's shared stores, each picked from settings: Redis when there is a client, else
in-process (one worker's view, which suffices for one process)."""

from __future__ import annotations

from app.platform.activity import ActiveUsers
from app.platform.config import Settings
from app.platform.events import EventRecorder
from app.platform.ratelimit.blocks import BlockRule
from app.platform.ratelimit.limiter import RateLimiter
from app.platform.ratelimit.stores.memory import MemoryRateLimitStore
from app.platform.ratelimit.stores.redis import RedisRateLimitStore
from app.platform.storage.base import KeyValueStore
from app.platform.storage.connections import Connections
from app.platform.storage.kv.memory import MemoryKeyValueStore
from app.platform.storage.kv.redis import RedisKeyValueStore
from app.platform.storage.locks.manager import LockManager
from app.platform.storage.locks.memory import MemoryLockStore
from app.platform.storage.locks.redis import RedisLockStore
from app.platform.storage.monitoring.memory import MemoryActivityStore, MemoryEventStore
from app.platform.storage.monitoring.redis import RedisActivityStore, RedisEventStore


def build_kv_store(connections: Connections) -> KeyValueStore:
    """Shared state that must be seen by every worker goes to Redis when there is one."""
    if connections.redis is not None:
        return RedisKeyValueStore(connections.redis)
    return MemoryKeyValueStore()


def build_private_kv_store(
    connections: Connections, *, shared: KeyValueStore, max_entries: int
) -> KeyValueStore:
    """The shared Redis store, or a private in-process LRU of its own so its entries can never
    evict other in-memory state (idempotency records, ...)."""
    if connections.redis is not None:
        return shared
    return MemoryKeyValueStore(max_entries=max_entries)


def build_locks(connections: Connections) -> LockManager:
    """Named locks: Redis when there is a client, else in-process."""
    store = (
        RedisLockStore(connections.redis) if connections.redis is not None else MemoryLockStore()
    )
    return LockManager(store)


def build_rate_limiter(settings: Settings, connections: Connections) -> RateLimiter:
    """The limiter over Redis when there is a client, else in-process (docs/rate-limits.md)."""
    store = (
        RedisRateLimitStore(connections.redis)
        if connections.redis is not None
        else MemoryRateLimitStore()
    )
    block_rule = None
    if settings.rate_limit_block_after > 0:
        block_rule = BlockRule(
            after=settings.rate_limit_block_after,
            window_s=settings.rate_limit_block_window_s,
            block_s=settings.rate_limit_block_seconds,
            max_block_s=settings.rate_limit_block_max_seconds,
        )
    return RateLimiter(
        store=store,
        fail_open_reads=settings.rate_limit_fail_open,
        fail_open_writes=settings.rate_limit_fail_open_writes,
        store_retry_s=settings.rate_limit_store_retry_s,
        block_rule=block_rule,
    )


def build_event_recorder(settings: Settings, connections: Connections) -> EventRecorder:
    """The monitoring event log: a Redis stream every worker shares, else an in-process ring."""
    max_len = settings.monitoring_events_max
    store = (
        RedisEventStore(connections.redis, max_len=max_len)
        if connections.redis is not None
        else MemoryEventStore(max_len=max_len)
    )
    return EventRecorder(store, enabled=settings.monitoring_events_enabled)


def build_active_users(settings: Settings, connections: Connections) -> ActiveUsers:
    """`active_users_total`'s marks: a Redis sorted set every worker shares, else in-process."""
    store = (
        RedisActivityStore(connections.redis)
        if connections.redis is not None
        else MemoryActivityStore()
    )
    return ActiveUsers(store, window_s=settings.active_users_window_minutes * 60.0)


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
        "monitoring_events": shared,
    }
