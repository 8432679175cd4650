"""Automatic blocks in both stores (in-process, and the Lua script on fakeredis), the limiter's
listeners and metrics, and the per-user quota cache."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import fakeredis
import pytest
from prometheus_client import REGISTRY

from app.platform.ratelimit.blocks import BlockCheck, BlockRecord, BlockRule
from app.platform.ratelimit.items import (
    ALREADY_BLOCKED,
    NEWLY_BLOCKED,
    NOT_BLOCKED,
    LimitCheck,
    RateLimitItem,
)
from app.platform.ratelimit.limiter import RateLimiter
from app.platform.ratelimit.quotas import QuotaCache
from app.platform.ratelimit.store import RateLimitStore
from app.platform.ratelimit.stores.memory import MemoryRateLimitStore
from app.platform.ratelimit.stores.redis import RedisRateLimitStore

pytestmark = pytest.mark.unit

LIMIT = [LimitCheck(key="global:ip:a:60", item=RateLimitItem(1, 60), policy="global-60s")]
OTHER = [LimitCheck(key="global:ip:b:60", item=RateLimitItem(1, 60), policy="global-60s")]
RULE = BlockRule(after=3, window_s=60, block_s=30, max_block_s=100)


class Clock:
    """Epoch milliseconds the memory store reads; tests move it."""

    def __init__(self) -> None:
        self.now = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now


@pytest.fixture(params=["memory", "fakeredis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[RateLimitStore]:
    if request.param == "memory":
        yield MemoryRateLimitStore()
        return
    redis = fakeredis.FakeAsyncRedis()
    yield RedisRateLimitStore(redis)
    await redis.aclose()


async def _block(store: RateLimitStore, block: BlockCheck) -> list[int]:
    """Use the limit up, then get rejected until a block is placed; the block states seen."""
    assert (await store.hit(LIMIT, block=block)).allowed
    states = []
    for _ in range(block.rule.after):
        decision = await store.hit(LIMIT, block=block)
        assert not decision.allowed
        states.append(decision.block_state)
    return states


async def test_rejections_place_a_block_that_refuses_without_counting_until_released(
    store: RateLimitStore,
) -> None:
    block = BlockCheck("ip:a", RULE)
    assert await _block(store, block) == [NOT_BLOCKED, NOT_BLOCKED, NEWLY_BLOCKED]
    refused = await store.hit(LIMIT, block=block)
    assert (refused.allowed, refused.block_state, refused.results) == (False, ALREADY_BLOCKED, ())
    assert 0 < refused.block_ms <= 30_000 and refused.block_level == 1
    # Another client is not touched, nor is the blocked one's other traffic counted anywhere.
    assert (await store.hit(OTHER, block=BlockCheck("ip:b", RULE))).allowed

    [listed] = await store.list_blocks(limit=10)
    assert listed.client == "ip:a" and listed.level == 1
    assert listed.reason == "3 rate-limit rejections within 60 s"
    assert (listed.expires_at - listed.blocked_at).total_seconds() == 30
    assert await store.count_blocks() == 1

    assert await store.release_block("ip:a") is True
    assert await store.release_block("ip:a") is False
    assert await store.list_blocks(limit=10) == [] and await store.count_blocks() == 0
    # Released: judged by its limits again, with its rejection count started over.
    after = await store.hit(LIMIT, block=block)
    assert (after.allowed, after.block_state, len(after.results)) == (False, NOT_BLOCKED, 1)


async def test_repeat_blocks_double_up_to_the_longest(store: RateLimitStore) -> None:
    rule = BlockRule(after=1, window_s=60, block_s=1, max_block_s=3)
    block = BlockCheck("u:42", rule)
    lengths = []
    assert (await store.hit(LIMIT, block=block)).allowed
    for _ in range(3):
        placed = await store.hit(LIMIT, block=block)
        assert placed.block_state == NEWLY_BLOCKED
        lengths.append((placed.block_level, placed.block_ms))
        # End the block itself (not the memory of it), as its expiry would: a repeat follows.
        if isinstance(store, MemoryRateLimitStore):
            store._blocks.clear()
        else:
            await store._redis.delete("rl:block:{u:42}")  # type: ignore[attr-defined]
    assert lengths == [(1, 1000), (2, 2000), (3, 3000)]


async def test_without_a_block_check_nothing_is_counted_towards_a_block(
    store: RateLimitStore,
) -> None:
    assert (await store.hit(LIMIT)).allowed
    for _ in range(10):
        decision = await store.hit(LIMIT)
        assert (decision.allowed, decision.block_state) == (False, NOT_BLOCKED)
    assert await store.list_blocks(limit=10) == []
    if isinstance(store, RedisRateLimitStore):
        keys = sorted(k.decode() for k in await store._redis.keys("*"))  # type: ignore[attr-defined]
        assert keys == ["rl:global:ip:a:60"]  # no block, rejection or index key at all


async def test_memory_blocks_end_by_themselves_when_their_time_is_up() -> None:
    clock = Clock()
    store = MemoryRateLimitStore(clock_ms=clock)
    block = BlockCheck("ip:a", RULE)
    await _block(store, block)
    clock.now += 29_999
    assert (await store.hit(LIMIT, block=block)).block_state == ALREADY_BLOCKED
    clock.now += 1
    assert await store.list_blocks(limit=10) == [] and await store.count_blocks() == 0
    assert await store.release_block("ip:a") is False
    assert (await store.hit(LIMIT, block=block)).block_state == NOT_BLOCKED


async def test_redis_blocks_end_by_themselves_on_the_key_ttl() -> None:
    redis = fakeredis.FakeAsyncRedis()
    store = RedisRateLimitStore(redis)
    # A 1 s first block, remembered for 60 s after it ends (max_block_s): the repeat below is a
    # repeat however long a loaded machine takes to notice the block is gone.
    block = BlockCheck("ip:a", BlockRule(after=1, window_s=60, block_s=1, max_block_s=60))
    assert (await store.hit(LIMIT, block=block)).allowed
    assert (await store.hit(LIMIT, block=block)).block_state == NEWLY_BLOCKED
    assert 0 < await redis.pttl("rl:block:{ip:a}") <= 1000
    deadline = time.monotonic() + 30
    while await store.list_blocks(limit=10):  # no hits meanwhile: only the TTL can end it
        assert time.monotonic() < deadline, "the block never expired"
        await asyncio.sleep(0.05)
    assert await redis.exists("rl:block:{ip:a}") == 0 and await store.count_blocks() == 0
    # Rejected again while the first block is remembered: a repeat, twice as long.
    again = await store.hit(LIMIT, block=block)
    assert (again.block_state, again.block_level) == (NEWLY_BLOCKED, 2)
    await redis.aclose()


async def test_limiter_counts_blocks_and_tells_every_listener() -> None:
    limiter = RateLimiter(store=MemoryRateLimitStore(), block_rule=RULE)
    heard: list[BlockRecord] = []

    async def recorder(record: BlockRecord) -> None:
        heard.append(record)

    def broken(record: BlockRecord) -> None:
        raise RuntimeError("listener bug")

    limiter.block_listeners += [broken, heard.append, recorder]
    before = REGISTRY.get_sample_value("rate_limit_blocks_total") or 0.0
    block = limiter.block_check("ip:a")
    assert block == BlockCheck("ip:a", RULE) and limiter.block_check(None) is None
    outcomes = [(await limiter.hit(LIMIT, block=block)).outcome for _ in range(5)]
    assert outcomes == ["allowed", "rejected", "rejected", "blocked", "blocked"]
    assert REGISTRY.get_sample_value("rate_limit_blocks_total") == before + 1
    assert [r.client for r in heard] == ["ip:a", "ip:a"]  # once each, the broken one aside
    assert heard[0].level == 1 and (heard[0].expires_at - heard[0].blocked_at).seconds == 30
    last = await limiter.hit(LIMIT, block=block)
    assert last.retry_after_s > 0 and not last.allowed
    await limiter.refresh_metrics()
    assert REGISTRY.get_sample_value("rate_limit_blocks_active") == 1
    assert await limiter.release_block("ip:a") is True
    await limiter.refresh_metrics()
    assert REGISTRY.get_sample_value("rate_limit_blocks_active") == 0
    # Blocks off: no block check is ever made.
    assert RateLimiter(store=MemoryRateLimitStore()).block_check("ip:a") is None


# --- per-user quotas: the limiter's snapshot --------------------------------------------
ITEMS = (RateLimitItem(5, 60),)


class Loader:
    """A quota table read that the test can hold open or make fail."""

    def __init__(self) -> None:
        self.snapshot: dict[str, tuple[RateLimitItem, ...]] = {}
        self.reads = 0
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> dict[str, tuple[RateLimitItem, ...]]:
        self.reads += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ConnectionError("database down")
        return dict(self.snapshot)


def cache_with(loader: Loader, now: list[float]) -> QuotaCache:
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    return QuotaCache(loader, ttl_s=0.5, clock=clock)


async def test_quota_snapshot_is_read_at_most_once_per_ttl_and_at_once_after_a_change() -> None:
    loader, now = Loader(), [100.0]
    cache = cache_with(loader, now)
    assert await cache.get("u1") is None and loader.reads == 1
    loader.snapshot["u1"] = ITEMS
    now[0] += 0.49
    assert await cache.get("u1") is None and loader.reads == 1  # still fresh: no query
    now[0] += 0.01
    assert await cache.get("u1") == ITEMS and loader.reads == 2
    del loader.snapshot["u1"]
    cache.invalidate()  # this worker changed it: no wait for the TTL
    assert await cache.get("u1") is None and loader.reads == 3


async def test_concurrent_lookups_share_one_read() -> None:
    loader, now = Loader(), [100.0]
    loader.snapshot["u1"] = ITEMS
    loader.gate = asyncio.Event()
    cache = cache_with(loader, now)
    waiting = [asyncio.create_task(cache.get("u1")) for _ in range(20)]
    await asyncio.sleep(0)  # let the loop run one round: every lookup is now waiting
    loader.gate.set()
    assert await asyncio.gather(*waiting) == [ITEMS] * 20
    assert loader.reads == 1


async def test_a_failing_read_keeps_the_last_snapshot_and_stops_making_requests_wait() -> None:
    loader, now = Loader(), [100.0]
    loader.snapshot["u1"] = ITEMS
    cache = cache_with(loader, now)
    assert await cache.get("u1") == ITEMS
    loader.fail = True
    now[0] += 1
    assert await cache.get("u1") == ITEMS  # the failed read: the old snapshot stands
    # From now on lookups do not wait for the (slow, failing) database: held open here.
    loader.gate = asyncio.Event()
    now[0] += 1
    assert await asyncio.wait_for(cache.get("u1"), timeout=30) == ITEMS
    reads = loader.reads
    loader.fail = False
    loader.snapshot = {}
    loader.gate.set()
    for _ in range(100):  # the background read finishes within a few loop rounds
        if loader.reads == reads and cache._loading is None:
            break
        await asyncio.sleep(0)
    now[0] += 1
    assert await cache.get("u1") is None  # recovered: reads are awaited again
