"""One contract, both rate-limit stores: in-process memory and Redis (the Lua script)."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.platform.ratelimit.blocks import BlockCheck, BlockRule
from app.platform.ratelimit.items import (
    ALREADY_BLOCKED,
    NEWLY_BLOCKED,
    NOT_BLOCKED,
    LimitCheck,
    RateLimitItem,
)
from app.platform.ratelimit.store import RateLimitStore
from app.platform.ratelimit.stores.memory import MemoryRateLimitStore
from app.platform.ratelimit.stores.redis import RedisRateLimitStore
from app.platform.storage.redis.client import create_redis
from tests.conftest import make_settings
from tests.support.servers import RedisServer

pytestmark = pytest.mark.integration


def production_client(url: str, tmp_path: Path, **overrides: object) -> Any:
    """A client built as the app builds it (`create_redis`: bounded blocking pool, timeouts)."""
    return create_redis(make_settings(tmp_path, redis_url=url, **overrides))


# "redis" is the app's own path: its client (create_redis) and the store the lifespan builds;
# "cluster" the same on a 3-master Redis Cluster. The keys of one call share a hash tag, as the
# policy builds them (docs/rate-limits.md): the store's one precondition on a cluster.
@pytest.fixture(params=["memory", "redis", "cluster"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RateLimitStore]:
    if request.param == "memory":
        yield MemoryRateLimitStore()
        return
    if request.param == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        cluster_client = production_client(cluster.url, tmp_path, redis_max_connections=64)
        await cluster_client.initialize()  # as the lifespan does
        yield RedisRateLimitStore(cluster_client)
        await cluster_client.aclose()
        return
    server = request.getfixturevalue("redis_server")
    if server.process is None or server.process.poll() is not None:
        server.start()
    # 200 callers in the concurrency test wait for this pool's sockets, as in the app.
    client = production_client(server.url, tmp_path, redis_max_connections=64)
    await client.flushall()
    yield RedisRateLimitStore(client)
    await client.aclose(close_connection_pool=True)


def check(key: str, amount: int, window_s: int) -> LimitCheck:
    return LimitCheck(key=key, item=RateLimitItem(amount, window_s), policy=key)


async def test_allows_exactly_the_limit_then_rejects(store: RateLimitStore) -> None:
    limits = [check("{a}:60", 5, 60)]
    remaining = []
    for _ in range(5):
        decision = await store.hit(limits)
        assert decision.allowed
        remaining.append(decision.results[0].remaining)
    assert remaining == [4, 3, 2, 1, 0]
    rejected = await store.hit(limits)
    assert not rejected.allowed
    assert rejected.results[0].remaining == 0
    assert 0 < rejected.results[0].retry_ms <= 120_000
    assert 0 < rejected.results[0].rollover_ms <= 60_000
    other = await store.hit([check("{b}:60", 5, 60)])
    assert other.allowed and other.results[0].remaining == 4


async def test_a_rejected_request_consumes_nothing_in_any_limit(store: RateLimitStore) -> None:
    minute, hour = check("{a}:60", 10, 60), check("{a}:3600", 3, 3600)
    outcomes = [(await store.hit([minute, hour])).allowed for _ in range(8)]
    assert outcomes == [True] * 3 + [False] * 5
    # The five requests the hourly limit blocked left the minute limit untouched.
    decision = await store.hit([minute])
    assert decision.allowed and decision.results[0].remaining == 10 - 3 - 1


async def test_all_or_nothing_across_keys(store: RateLimitStore) -> None:
    await store.hit([check("{x}:u1:60", 1, 60)])  # the user's limit is now used up
    both = [check("{x}:60", 5, 60), check("{x}:u1:60", 1, 60)]
    decision = await store.hit(both)
    assert not decision.allowed
    assert decision.results[0].remaining == 5  # nothing was counted for the IP
    assert decision.results[1].retry_ms > 0


async def test_two_hundred_concurrent_requests_pass_exactly_fifty(store: RateLimitStore) -> None:
    limits = [check("{burst}:60", 50, 60), check("{burst}:3600", 1000, 3600)]
    decisions = await asyncio.gather(*(store.hit(limits) for _ in range(200)))
    assert sum(d.allowed for d in decisions) == 50
    remaining = sorted(d.results[0].remaining for d in decisions if d.allowed)
    assert remaining == list(range(50))  # every pass saw a distinct count: no lost update
    hour = await store.hit([check("{burst}:3600", 1000, 3600)])
    assert hour.results[0].remaining == 1000 - 50 - 1


async def test_cost_counts_several_units_and_an_impossible_cost_never_passes(
    store: RateLimitStore,
) -> None:
    limits = [check("k:60", 10, 60)]
    assert (await store.hit(limits, cost=4)).results[0].remaining == 6
    assert (await store.hit(limits, cost=6)).allowed
    assert not (await store.hit(limits, cost=1)).allowed
    huge = await store.hit([check("k2:60", 10, 60)], cost=11)
    assert not huge.allowed and huge.results[0].retry_ms == 120_000


async def test_the_window_slides_with_time(store: RateLimitStore) -> None:
    limits = [check("ip:slide:1", 4, 1)]
    for _ in range(4):
        assert (await store.hit(limits)).allowed
    rejected = await store.hit(limits)
    assert not rejected.allowed
    wait_ms = rejected.results[0].retry_ms
    assert 0 < wait_ms <= 2000
    # Waiting out the reported time is the behaviour under test, not a synchronisation.
    await asyncio.sleep(wait_ms / 1000 + 0.02)
    assert (await store.hit(limits)).allowed


async def test_long_run_rate_never_exceeds_the_limit_per_window(store: RateLimitStore) -> None:
    """Saturate a 20/s limit for 2.5 s: the weighted window admits at most one extra window's
    worth in total (cold start), and never more than twice the limit in any 1-s span."""
    limits = [check("ip:sat:1", 20, 1)]
    allowed_at: list[float] = []
    started = time.monotonic()
    while time.monotonic() - started < 2.5:
        if (await store.hit(limits)).allowed:
            allowed_at.append(time.monotonic())
        await asyncio.sleep(0.002)
    span = allowed_at[-1] - started
    assert len(allowed_at) <= 20 * (span + 1) + 1
    worst = max(sum(1 for t in allowed_at if start <= t < start + 1.0) for start in allowed_at)
    # At most twice the limit in any second (the weighted window's bound, whatever the load);
    # a full window's worth is admitted (a busy machine may not send more than that).
    assert worst <= 40
    assert len(allowed_at) >= 20


async def test_redis_keys_expire_after_two_windows(redis_client) -> None:  # type: ignore[no-untyped-def]
    store = RedisRateLimitStore(redis_client)
    await store.hit([check("ip:ttl:60", 5, 60)])
    ttl = await redis_client.pttl("rl:ip:ttl:60")
    assert 60_000 < ttl <= 120_000
    assert await redis_client.hgetall("rl:ip:ttl:60") == {
        "w": str(int(time.time() * 1000) // 60_000),
        "c": "1",
        "p": "0",
    }
    # Later hits in the same bucket only move the count; the expiry set for the bucket holds.
    # (A one-day window: its bucket cannot roll over between these two hits.)
    day = [check("ip:ttl:86400", 5, 86_400)]
    await store.hit(day)
    first = await redis_client.pttl("rl:ip:ttl:86400")
    await store.hit(day)
    assert 86_400_000 < await redis_client.pttl("rl:ip:ttl:86400") <= first
    assert (await redis_client.hgetall("rl:ip:ttl:86400"))["c"] == "2"


async def test_redis_script_survives_a_script_flush(redis_client) -> None:  # type: ignore[no-untyped-def]
    store = RedisRateLimitStore(redis_client)
    assert (await store.hit([check("k:60", 5, 60)])).allowed
    await redis_client.script_flush()
    assert (await store.hit([check("k:60", 5, 60)])).results[0].remaining == 3


async def test_redis_store_uses_the_configured_db_and_password(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        admin = Redis.from_url(server.url, decode_responses=True)
        await admin.config_set("requirepass", "s3cret-pass")
        await admin.aclose()
        url = f"redis://:s3cret-pass@127.0.0.1:{server.port}/5"
        client = production_client(url, tmp_path)
        store = RedisRateLimitStore(client)
        assert (await store.hit([check("k:60", 5, 60)])).results[0].remaining == 4
        assert await client.hget("rl:k:60", "c") == "1"  # written to db 5
        wrong = production_client(url.replace("s3cret", "wrong"), tmp_path)
        bad = RedisRateLimitStore(wrong)
        with pytest.raises(RedisConnectionError):  # redis-py's AuthenticationError is one
            await bad.hit([check("k:60", 5, 60)])
        await client.aclose(close_connection_pool=True)
        await wrong.aclose(close_connection_pool=True)
    finally:
        server.stop()


async def test_redis_store_fails_fast_and_reconnects(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        client = production_client(server.url, tmp_path, redis_socket_timeout_s=1.0)
        store = RedisRateLimitStore(client)
        assert (await store.hit([check("k:60", 5, 60)])).allowed
        server.stop()
        with pytest.raises(RedisConnectionError):
            await store.hit([check("k:60", 5, 60)])
        server.start()
        decision = await store.hit([check("k:60", 5, 60)])
        assert decision.results[0].remaining == 4  # a new, empty server
        await client.aclose(close_connection_pool=True)
    finally:
        server.stop()


async def test_redis_store_times_out_on_a_hung_server_and_recovers(tmp_path: Path) -> None:
    """A frozen Redis (SIGSTOP) fails every waiting call after the socket timeout, not
    forever; once it answers again, the next call works."""
    server = RedisServer(tmp_path)
    server.start()
    assert server.process is not None
    try:
        client = production_client(server.url, tmp_path, redis_socket_timeout_s=0.3)
        store = RedisRateLimitStore(client)
        assert (await store.hit([check("k:60", 5, 60)])).allowed
        server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            outcomes = await asyncio.gather(
                *(store.hit([check(f"k{i}:60", 5, 60)]) for i in range(20)),
                return_exceptions=True,
            )
            waited = time.monotonic() - started
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert all(isinstance(o, RedisTimeoutError) for o in outcomes), outcomes
        # Not before the timeout; no upper bound (a loaded machine answers late, and a call
        # that never fails is caught by the pytest timeout).
        assert waited >= 0.3
        decision = await store.hit([check("k:60", 5, 60)])
        assert decision.results[0].remaining == 3  # the same server, counted once before
        await client.aclose(close_connection_pool=True)
    finally:
        server.stop()


def test_redis_store_works_on_uvloop(redis_server: RedisServer, tmp_path: Path) -> None:
    """uvicorn runs on uvloop."""
    import uvloop

    async def run() -> list[int]:
        client = production_client(redis_server.url, tmp_path)
        store = RedisRateLimitStore(client)
        try:
            limits = [check("uvloop:60", 3, 60)]
            decisions = await asyncio.gather(*(store.hit(limits) for _ in range(5)))
            await client.delete("rl:uvloop:60")
            return [d.results[0].remaining for d in decisions if d.allowed]
        finally:
            await client.aclose(close_connection_pool=True)

    loop = uvloop.new_event_loop()
    try:
        assert sorted(loop.run_until_complete(run())) == [0, 1, 2]
    finally:
        loop.close()


async def test_a_block_is_placed_listed_refuses_and_is_released(store: RateLimitStore) -> None:
    """Blocks on every store, a Redis Cluster included: the block's keys share the counters'
    slot, and the index of blocks (its own slot) is written outside the script."""
    rule = BlockRule(after=2, window_s=60, block_s=60, max_block_s=600)
    limits = [check("{u:9}:60", 1, 60)]
    block = BlockCheck("u:9", rule)
    assert (await store.hit(limits, block=block)).allowed
    first = await store.hit(limits, block=block)
    assert (first.allowed, first.block_state) == (False, NOT_BLOCKED)
    placed = await store.hit(limits, block=block)
    assert (placed.allowed, placed.block_state, placed.block_level) == (False, NEWLY_BLOCKED, 1)
    assert 59_000 < placed.block_ms <= 60_000
    refused = await store.hit(limits, block=block)
    assert (refused.block_state, refused.results) == (ALREADY_BLOCKED, ())
    # Another client is untouched.
    assert (await store.hit([check("{u:10}:60", 1, 60)], block=BlockCheck("u:10", rule))).allowed
    listed = await store.list_blocks(limit=10)
    assert [(b.client, b.level) for b in listed] == [("u:9", 1)]
    assert await store.count_blocks() == 1
    assert await store.release_block("u:9") is True
    assert await store.list_blocks(limit=10) == [] and await store.count_blocks() == 0
    assert await store.release_block("u:9") is False
    after = await store.hit(limits, block=block)  # counted again: a plain rejection
    assert (after.allowed, after.block_state) == (False, NOT_BLOCKED)
