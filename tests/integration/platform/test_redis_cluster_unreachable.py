"""A Redis Cluster the client cannot reach is an outage (ConnectionError: a 503 problem), as a
lost single server is; a node that is not in cluster mode stays a configuration error.

redis-py raises its generic RedisClusterException when a topology read reaches no node; the
failover test met it as a 500 when a killed master was the last node the client could try."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException

from app.platform.storage.errors import REDIS_OUTAGES
from app.platform.storage.redis.client import create_redis_cluster
from tests.conftest import make_settings
from tests.support.servers import RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port bound but not listening: every connection to it is refused, and no
    other server can take it while the test runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def test_a_cluster_with_no_reachable_node_raises_an_outage(
    refusing_port: int, tmp_path: Path
) -> None:
    settings = make_settings(
        tmp_path, redis_url=f"redis+cluster://127.0.0.1:{refusing_port}", redis_connect_timeout_s=2
    )
    client = create_redis_cluster(settings)
    try:
        with pytest.raises(RedisConnectionError, match="no Redis Cluster node reachable") as first:
            await client.initialize()
        assert isinstance(first.value, REDIS_OUTAGES)  # what the error handlers answer 503
        assert isinstance(first.value.__cause__, RedisClusterException)  # redis-py's own, kept
        # A command and a pipeline (the batched scripts' path) meet the same outage.
        with pytest.raises(RedisConnectionError, match="no Redis Cluster node reachable"):
            await client.get("{p:1}:stock")
        with pytest.raises(RedisConnectionError, match="no Redis Cluster node reachable"):
            async with client.pipeline(transaction=False) as pipe:
                pipe.get("{p:1}:stock")
                await pipe.execute()
    finally:
        await client.aclose()


async def test_a_node_not_in_cluster_mode_stays_a_configuration_error(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    url = redis_server.url.replace("redis://", "redis+cluster://", 1)
    client = create_redis_cluster(make_settings(tmp_path, redis_url=url))
    try:
        with pytest.raises(RedisClusterException) as raised:
            await client.initialize()
        assert not isinstance(raised.value, REDIS_OUTAGES)
        assert "Cluster mode is not enabled" in str(raised.value)
    finally:
        await client.aclose()
