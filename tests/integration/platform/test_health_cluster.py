"""Health on a Redis Cluster: the probe reaches every master, not the one node a cluster
client sends a PING to by default."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from tests.conftest import make_settings, running_app
from tests.support.cluster import RedisClusterServers

pytestmark = pytest.mark.integration


def pings_served(port: int) -> int:
    """How many PINGs the node on `port` has answered since it started."""
    with redis.Redis(port=port, decode_responses=True) as node:
        stats = node.info("commandstats")
    return int(stats.get("cmdstat_ping", {}).get("calls", 0))


async def test_the_redis_probe_pings_every_master_and_reports_the_cluster_state(
    tmp_path: Path, redis_cluster: RedisClusterServers
) -> None:
    redis_cluster.wait_healthy()
    masters = sorted(redis_cluster.masters())
    before = {port: pings_served(port) for port in masters}
    settings = make_settings(tmp_path, redis_url=redis_cluster.url)
    async with running_app(settings) as (_app, client):
        body = (await client.get("/health/detailed")).json()
    redis_check = body["checks"]["redis"]
    assert redis_check["status"] == "up", redis_check
    assert redis_check["masters"] == len(masters) == 3
    assert redis_check["cluster_state"] == "ok"
    assert body["status"] == "healthy"
    after = {port: pings_served(port) for port in masters}
    assert all(after[port] > before[port] for port in masters), (before, after)
