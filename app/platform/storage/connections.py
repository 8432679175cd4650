"""The process's database engine and Redis client (when REDIS_URL is set), opened once by the
lifespan: the one object the areas' factories build their adapters from."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import RedisCluster
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.platform.config import Settings
from app.platform.logging import get_logger
from app.platform.storage.migrate import is_up_to_date, run_migrations
from app.platform.storage.redis.client import (
    RedisClient,
    close_redis,
    create_redis,
    redis_pool_stats,
)
from app.platform.storage.sql.engine import create_engine, pool_stats

_log = get_logger("app.storage")


class RedisClusterNotOk(Exception):
    """The cluster answers but says it cannot serve every slot (`cluster_state:fail`)."""


@dataclass
class Connections:
    """An engine (always) and a Redis client (None without REDIS_URL), and the schema's state."""

    engine: AsyncEngine
    redis: RedisClient | None
    # True once the database is at the newest migration; readiness waits for it.
    migrations_applied: bool = False

    async def migrate(self, settings: Settings) -> None:
        """SQLite migrates itself at startup; PostgreSQL by `python -m app migrate`."""
        if settings.is_sqlite and settings.run_migrations_on_startup:
            await run_migrations(self.engine)
            self.migrations_applied = True
            return
        with contextlib.suppress(Exception):
            self.migrations_applied = await is_up_to_date(self.engine)

    async def connect_redis(self) -> None:
        """A cluster client reads the topology now, before requests arrive together: redis-py's
        cluster client (8.1) fails commands sent concurrently before its first topology read.
        An unreachable cluster is not fatal here (the first command tries again), as with one
        Redis server, whose pool connects on first use."""
        if isinstance(self.redis, RedisCluster):
            try:
                await self.redis.initialize()
            except Exception as exc:
                _log.warning("redis_cluster_not_reachable_at_startup", error=type(exc).__name__)

    async def probe_database(self) -> dict[str, Any] | None:
        """One `SELECT 1`; also notices a migration applied since startup."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        if not self.migrations_applied:
            self.migrations_applied = await is_up_to_date(self.engine)
        return {"migrations_applied": self.migrations_applied}

    async def probe_redis(self) -> dict[str, Any] | None:
        """One PING (only registered when there is a client); on a cluster, one to every master
        and the cluster's own verdict."""
        assert self.redis is not None
        if not isinstance(self.redis, RedisCluster):
            await self.redis.ping()
            return None
        # A cluster client's PING goes to one node; the service needs every master (each one
        # owns a third of the keys), so a dead or frozen master must fail the probe.
        await self.redis.ping(target_nodes=RedisCluster.PRIMARIES)
        info = await self.redis.cluster_info()
        state = str(info.get("cluster_state", "unknown"))
        if state != "ok":
            raise RedisClusterNotOk(state)
        return {"masters": len(self.redis.get_primaries()), "cluster_state": state}

    def pool_stats(self) -> dict[str, dict[str, Any]]:
        """Connections in use and idle, per pool."""
        pools: dict[str, dict[str, Any]] = {"database": pool_stats(self.engine)}
        if self.redis is not None:
            pools["redis"] = redis_pool_stats(self.redis)
        return pools

    async def aclose(self) -> None:
        """Close the Redis pool (errors ignored) and dispose of the engine."""
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await close_redis(self.redis)
        await self.engine.dispose()


def open_connections(settings: Settings) -> Connections:
    """The engine for DATABASE_URL and, when REDIS_URL is set, a pooled Redis client."""
    return Connections(
        engine=create_engine(settings),
        redis=create_redis(settings) if settings.redis_url else None,
    )
