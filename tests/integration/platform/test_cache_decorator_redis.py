"""`@cached` on a real redis-server, as the app builds it: entries shared by every client of
the store, expiry by Redis's own TTL, prefix invalidation by SCAN, and the server gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.platform.cache import Cache, cache_invalidate, cached, install_cache
from app.platform.storage.kv.redis import RedisKeyValueStore
from app.platform.storage.redis.client import create_redis
from tests.conftest import make_settings
from tests.support.servers import RedisServer

pytestmark = pytest.mark.integration

ran: list[str] = []


@cached(0.5, "standards:")
async def standards_for(category: str) -> list[str]:
    ran.append(category)
    return [f"IEC 62304 ({category})", "ISO 14971"]


async def test_cached_on_real_redis_then_redis_gone(tmp_path: Path) -> None:
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    server.start()
    settings = make_settings(
        tmp_path, redis_url=server.url, redis_socket_timeout_s=0.5, redis_connect_timeout_s=0.5
    )
    first, second = create_redis(settings), create_redis(settings)
    try:
        # Two workers' caches on one Redis: what one stored, the other reads.
        one, other = Cache(RedisKeyValueStore(first)), Cache(RedisKeyValueStore(second))
        uninstall = install_cache(one)
        assert await standards_for("SaMD") == ["IEC 62304 (SaMD)", "ISO 14971"]
        uninstall()
        uninstall = install_cache(other)
        assert await standards_for("SaMD") == ["IEC 62304 (SaMD)", "ISO 14971"]
        assert ran == ["SaMD"] and other.stats()["standards:"]["hits"] == 1
        keys = [k async for k in second.scan_iter(match="*cache:standards:*")]
        assert len(keys) == 1
        ttl_ms = await second.pttl(keys[0])
        assert 0 < ttl_ms <= 500  # Redis expires it: no sweep in the app
        assert await cache_invalidate("standards:") == 1
        await standards_for("SaMD")
        assert ran == ["SaMD", "SaMD"]

        server.stop()  # the store is gone: the call still answers, counted as an error
        assert await standards_for("IVD") == ["IEC 62304 (IVD)", "ISO 14971"]
        assert other.stats()["standards:"]["errors"] == 1
        uninstall()
    finally:
        await first.aclose(close_connection_pool=True)
        await second.aclose(close_connection_pool=True)
        server.stop()
