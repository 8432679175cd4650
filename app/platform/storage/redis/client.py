"""The Redis client (made in the lifespan: one server's bounded pool, or a Redis Cluster client)
and Lua scripts that survive NOSCRIPT."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.platform.config import Settings

# What redis-py's cluster client (8.1) lets escape when a topology refresh (a failover) closes a
# connection another command is using, or a command races the client's first topology read:
# the socket is gone under the command (`'NoneType' object has no attribute 'writelines'`,
# uvloop's "handler is closed"; redis/redis-py#3835 is a relative). The command failed like one
# on a lost connection, so it is reported as one: a ConnectionError, a 503 for the caller.
_TORN_CONNECTION = (AttributeError, RuntimeError)


def _torn(exc: Exception) -> RedisConnectionError:
    return RedisConnectionError(f"cluster connection closed under a command ({type(exc).__name__})")


# When a topology read reaches no node, redis-py raises its generic RedisClusterException
# ("Redis Cluster cannot be connected"), caused by the last node's own error. Caused by a
# refused, reset or silent socket it is an outage (a master just killed, its replica not yet
# promoted, the other nodes' pools busy): a ConnectionError, a 503. Caused by anything else
# ("Cluster mode is not enabled on this node") it is a misconfiguration and stays as it is.
_UNREACHABLE_CAUSES = (RedisConnectionError, RedisTimeoutError, OSError, *_TORN_CONNECTION)


def _unreachable(exc: RedisClusterException) -> RedisConnectionError | None:
    if isinstance(exc.__cause__, _UNREACHABLE_CAUSES):
        return RedisConnectionError(f"no Redis Cluster node reachable ({exc.__cause__})")
    return None


class ClusterClient(RedisCluster):
    """redis-py's RedisCluster, with torn connections and an unreachable cluster raised as
    ConnectionError (an outage: 503), like a lost single server."""

    async def initialize(self, *args: Any, **kwargs: Any) -> RedisCluster:
        try:
            return await super().initialize(*args, **kwargs)
        except RedisClusterException as exc:
            if (outage := _unreachable(exc)) is not None:
                raise outage from exc
            raise

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except _TORN_CONNECTION as exc:
            raise _torn(exc) from exc

    def pipeline(
        self, transaction: Any | None = None, shard_hint: Any | None = None
    ) -> ClusterPipeline:
        if shard_hint:  # as RedisCluster.pipeline
            raise RedisClusterException("shard_hint is deprecated in cluster mode")
        # As redis-py builds its own (its typing marks an attribute abstract that it sets).
        return _ClusterPipeline(self, transaction)  # type: ignore[abstract]


class _ClusterPipeline(ClusterPipeline):
    async def execute(
        self, raise_on_error: bool = True, allow_redirections: bool = True
    ) -> list[Any]:
        try:
            return await super().execute(raise_on_error, allow_redirections)
        except _TORN_CONNECTION as exc:
            raise _torn(exc) from exc
        except RedisClusterException as exc:  # a transaction's own topology re-read
            if (outage := _unreachable(exc)) is not None:
                raise outage from exc
            raise


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
    return ClusterClient.from_url(
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


async def close_redis(redis: RedisClient) -> None:
    """Close the client and every connection it holds (a cluster client: every node's)."""
    if isinstance(redis, RedisCluster):
        await redis.aclose()
    else:
        await redis.aclose(close_connection_pool=True)


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
