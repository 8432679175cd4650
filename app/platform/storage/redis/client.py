"""The Redis client (made in the lifespan: one server's bounded pool, or a Redis Cluster client)
and Lua scripts that survive NOSCRIPT."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError

from app.platform.config import Settings

# What the adapters are given: both clients speak the same commands, scripts and pipelines.
# On a cluster every multi-key script and transaction must name keys of one slot (hash tags,
# docs/operations.md "Redis Cluster"); pipelines without a transaction may span slots.
RedisClient = Redis | RedisCluster


def create_redis(settings: Settings) -> RedisClient:
    """The client for REDIS_URL: a cluster client when it names a cluster, else one server's."""
    if settings.redis_is_cluster:
        return create_redis_cluster(settings)
    return create_redis_server(settings)


def create_redis_cluster(settings: Settings) -> RedisCluster:
    """A Redis Cluster client from one node's address; it learns the others (CLUSTER SLOTS).

    `REDIS_MAX_CONNECTIONS` bounds each node's pool; past it a command fails at once
    (redis-py's MaxConnectionsError, a ConnectionError: 503) instead of waiting. A connection
    error or timeout makes the client re-read the topology before its next try, which is how a
    promoted replica is found after a failover; redis-py retries such a command up to three
    times (its default), and a command that still fails answers 503 like a lost single server.
    """
    return RedisCluster.from_url(
        settings.redis_node_url,
        max_connections=settings.redis_max_connections,
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_connect_timeout_s,
        health_check_interval=settings.redis_health_check_interval_s,
        decode_responses=True,
    )


def create_redis_server(settings: Settings) -> Redis:
    """A client over a bounded pool: waits for a free connection instead of opening more.

    A command that fails with a connection error (a pooled connection the server closed, e.g.
    after a Redis restart) is sent once more on a fresh connection: the error means the old
    socket was dead, so the command most likely never ran. Timeouts are not retried (the command
    may have run, and a frozen server would double the wait)."""
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_socket_timeout_s,
        socket_timeout=settings.redis_socket_timeout_s,
        socket_connect_timeout=settings.redis_connect_timeout_s,
        health_check_interval=settings.redis_health_check_interval_s,
        retry=Retry(NoBackoff(), retries=1, supported_errors=(RedisConnectionError,)),
        decode_responses=True,
    )
    return Redis(connection_pool=pool)


@cache
def lua_source(path: Path) -> str:
    """The text of a Lua script (each adapter keeps its scripts in a `lua/` beside it)."""
    return path.read_text(encoding="utf-8")


def register_script(redis: RedisClient, path: Path) -> AsyncScript:
    """An EVALSHA-first script object; redis-py reloads it when the server answers NOSCRIPT."""
    return redis.register_script(lua_source(path))


def redis_pool_stats(redis: RedisClient) -> dict[str, Any]:
    """Connections in use and idle in the client's pool (summed over a cluster's nodes)."""
    if isinstance(redis, RedisCluster):
        # redis-py's cluster client has no public per-node connection count: the bound only.
        nodes = redis.get_nodes()
        return {"max": sum(node.max_connections for node in nodes), "nodes": len(nodes)}
    pool: Any = redis.connection_pool
    # redis-py's public count (8.1+): one (count, attributes) pair per connection state.
    counts = {
        attributes.get("db.client.connection.state"): count
        for count, attributes in pool.get_connection_count()
    }
    return {
        "max": pool.max_connections,
        "in_use": counts.get("used", 0),
        "idle": counts.get("idle", 0),
    }
