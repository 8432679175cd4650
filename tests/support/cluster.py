"""The test suite's Redis Cluster: three masters with one replica each, on free ports, started
once per xdist worker (`redis_cluster`, session-scoped like `redis_server`). The cluster itself is
bench/cluster.py's, which the scale bench uses too."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from bench.cluster import RedisClusterServers

__all__ = ["RedisClusterServers", "redis_cluster"]


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """One private 3-master, 3-replica Redis Cluster for the run (per xdist worker)."""
    cluster = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
    except (RuntimeError, subprocess.SubprocessError, TimeoutError) as exc:
        cluster.stop()
        pytest.fail(f"a Redis Cluster could not be started: {exc}", pytrace=False)
    yield cluster
    cluster.stop()
