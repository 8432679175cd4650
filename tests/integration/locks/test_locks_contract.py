"""One contract, both LockStore adapters (in-process memory and real Redis), driven through
LockManager the way services use it; plus Redis-only checks (NOSCRIPT, TTL on the key, two
OS processes contending for one lock)."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from app.platform.errors import LockTimeoutError
from app.platform.storage.base import Lease, LockStore
from app.platform.storage.locks.manager import LockManager, run_as_leader
from app.platform.storage.locks.memory import MemoryLockStore
from app.platform.storage.locks.redis import RedisLockStore

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class LockBackend:
    kind: str
    redis: Any
    # A second, independent store on the same backend: another "instance" of the service.
    make_store: Callable[[], LockStore]


# Sync on purpose: it pulls the async redis fixture with getfixturevalue (as tests/conftest.py).
@pytest.fixture(params=("memory", "redis", "redis-cluster"))
def lock_backend(request: pytest.FixtureRequest) -> LockBackend:
    if request.param in ("redis", "redis-cluster"):
        fixture = "redis_client" if request.param == "redis" else "app_redis_cluster_client"
        redis: Any = request.getfixturevalue(fixture)
        return LockBackend(request.param, redis, lambda: RedisLockStore(redis))
    shared = MemoryLockStore()
    return LockBackend("memory", None, lambda: shared)


@pytest.fixture
def store(lock_backend: LockBackend) -> LockStore:
    return lock_backend.make_store()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_mutual_exclusion_under_50_concurrent_tasks(
    lock_backend: LockBackend, store: LockStore
) -> None:
    manager = LockManager(store)
    state = {"counter": 0, "inside": 0, "max_inside": 0}
    fences: list[int] = []

    async def critical(i: int) -> None:
        async with manager.hold("counter", ttl_ms=10_000, wait_ms=30_000) as lease:
            state["inside"] += 1
            state["max_inside"] = max(state["max_inside"], state["inside"])
            value = state["counter"]
            await asyncio.sleep(0)
            if lock_backend.redis is not None:
                await lock_backend.redis.ping()  # a real round trip inside the section
            await asyncio.sleep(0.001)
            state["counter"] = value + 1
            fences.append(lease.fencing_token)
            state["inside"] -= 1

    await asyncio.gather(*(critical(i) for i in range(50)))
    assert state["counter"] == 50
    assert state["max_inside"] == 1
    assert fences == sorted(fences) and len(set(fences)) == 50


async def test_ttl_expiry_frees_the_lock(store: LockStore) -> None:
    # Timed from before the acquisition, so the bound holds however slow the calls are; the
    # TTL leaves a loaded machine time for the second call to see the lock still held.
    loop = asyncio.get_running_loop()
    started = loop.time()
    lease = await store.try_acquire("job", ttl_ms=1000)
    assert lease is not None
    assert await store.try_acquire("job", ttl_ms=1000) is None

    async def free() -> bool:
        taken = await store.try_acquire("job", ttl_ms=10_000)
        return taken is not None

    await wait_for(free, timeout=60.0)
    # A little slack for clock granularity between this process and the server.
    assert loop.time() - started >= 0.98


async def test_release_with_a_stale_token_keeps_the_new_holders_lock(store: LockStore) -> None:
    stale = await store.try_acquire("res", ttl_ms=50)
    assert stale is not None

    holder: list[Lease] = []

    async def taken_over() -> bool:
        lease = await store.try_acquire("res", ttl_ms=10_000)
        if lease is not None:
            holder.append(lease)
        return lease is not None

    await wait_for(taken_over)
    assert await store.release(stale) is False
    assert await store.try_acquire("res", ttl_ms=10_000) is None, "stale release freed it"
    forged = Lease(name="res", token="not-the-token", fencing_token=999, ttl_ms=10)
    assert await store.release(forged) is False
    assert await store.try_acquire("res", ttl_ms=10_000) is None
    assert await store.release(holder[0]) is True
    assert await store.release(holder[0]) is False


async def test_only_the_holder_can_extend(store: LockStore) -> None:
    # A TTL long enough that the two calls below finish within it even on a loaded machine
    # (the extension must land before the lease expires); only its end is waited out.
    lease = await store.try_acquire("ext", ttl_ms=1000)
    assert lease is not None
    forged = Lease(name="ext", token="guess", fencing_token=lease.fencing_token, ttl_ms=1000)
    assert await store.extend(forged, ttl_ms=60_000) is False
    assert await store.extend(lease, ttl_ms=60_000) is True
    # Without the extension the lock would be free after 1 s; wait that out and check.
    await asyncio.sleep(1.1)  # waiting out the original TTL is the behaviour under test
    assert await store.try_acquire("ext", ttl_ms=100) is None
    assert await store.release(lease) is True
    assert await store.extend(lease, ttl_ms=60_000) is False, "extended a released lock"
    assert await store.try_acquire("ext", ttl_ms=100) is not None


async def test_extend_after_expiry_does_not_revive_the_lock(store: LockStore) -> None:
    lease = await store.try_acquire("rev", ttl_ms=50)
    assert lease is not None

    await asyncio.sleep(0.15)  # waiting out the TTL is the behaviour under test
    assert await store.extend(lease, ttl_ms=60_000) is False
    assert await store.try_acquire("rev", ttl_ms=1000) is not None


async def test_fencing_tokens_strictly_increase_across_releases_and_expiry(
    store: LockStore,
) -> None:
    tokens = []
    for _ in range(5):
        lease = await store.try_acquire("fence", ttl_ms=10_000)
        assert lease is not None
        tokens.append(lease.fencing_token)
        assert await store.release(lease)
    expiring = await store.try_acquire("fence", ttl_ms=30)
    assert expiring is not None
    tokens.append(expiring.fencing_token)
    after: list[int] = []

    async def regranted() -> bool:
        lease = await store.try_acquire("fence", ttl_ms=10_000)
        if lease is not None:
            after.append(lease.fencing_token)
        return lease is not None

    await wait_for(regranted)
    tokens.extend(after)
    assert all(b > a for a, b in itertools.pairwise(tokens)), tokens
    # Another name has a counter of its own.
    other = await store.try_acquire("fence-other", ttl_ms=1000)
    assert other is not None and other.fencing_token == 1


async def test_tokens_are_random_per_grant(store: LockStore) -> None:
    seen = set()
    for _ in range(20):
        lease = await store.try_acquire("tok", ttl_ms=10_000)
        assert lease is not None and len(lease.token) >= 32
        seen.add(lease.token)
        await store.release(lease)
    assert len(seen) == 20


async def test_bounded_wait_raises_lock_timeout(store: LockStore) -> None:
    holder = await store.try_acquire("busy", ttl_ms=10_000)
    assert holder is not None
    manager = LockManager(store)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(LockTimeoutError):
        async with manager.hold("busy", ttl_ms=1000, wait_ms=150):
            pytest.fail("entered a held lock")
    assert 0.15 <= loop.time() - started < 1.0
    assert await store.release(holder) is True


async def test_invalid_ttl_is_refused_before_touching_the_backend(store: LockStore) -> None:
    for ttl in (0, -5):
        with pytest.raises(ValueError):
            await store.try_acquire("bad", ttl_ms=ttl)
    assert await store.try_acquire("bad", ttl_ms=1000) is not None


async def test_unicode_and_brace_names_are_separate_locks(store: LockStore) -> None:
    a = await store.try_acquire("제품:{42}", ttl_ms=1000)
    b = await store.try_acquire("제품:{42", ttl_ms=1000)
    assert a is not None and b is not None
    assert await store.try_acquire("제품:{42}", ttl_ms=1000) is None


async def test_one_leader_across_two_instances_and_failover(lock_backend: LockBackend) -> None:
    runs: list[str] = []

    def job(instance: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            runs.append(instance)

        return run

    first = LockManager(lock_backend.make_store())
    second = LockManager(lock_backend.make_store())
    a = asyncio.create_task(run_as_leader(first, "reconciler", 0.02, job("a"), ttl_ms=300))

    async def ran(n: int) -> bool:
        return len(runs) >= n

    await wait_for(lambda: ran(1))
    b = asyncio.create_task(run_as_leader(second, "reconciler", 0.02, job("b"), ttl_ms=300))
    await wait_for(lambda: ran(25))  # > 1 renewal period (100 ms) and many follower polls
    assert set(runs) == {"a"}
    a.cancel()
    with pytest.raises(asyncio.CancelledError):
        await a

    async def b_leads() -> bool:
        return runs[-1] == "b"

    await wait_for(b_leads, timeout=2.0)
    b.cancel()
    with pytest.raises(asyncio.CancelledError):
        await b


# --- Redis only ----------------------------------------------------------------------
async def test_redis_lock_key_always_carries_a_ttl(redis_client: Redis) -> None:
    store = RedisLockStore(redis_client)
    lease = await store.try_acquire("p:42", ttl_ms=5000)
    assert lease is not None
    assert 0 < await redis_client.pttl("lock:{p:42}") <= 5000
    assert await store.extend(lease, ttl_ms=20_000)
    assert 5000 < await redis_client.pttl("lock:{p:42}") <= 20_000
    # The fencing counter is meant to live forever: no TTL.
    assert await redis_client.pttl("lock:{p:42}:fence") == -1


async def test_redis_scripts_survive_script_flush(redis_client: Redis) -> None:
    store = RedisLockStore(redis_client)
    lease = await store.try_acquire("ns", ttl_ms=5000)
    assert lease is not None and await store.release(lease)
    await redis_client.script_flush()
    lease = await store.try_acquire("ns", ttl_ms=5000)
    assert lease is not None
    await redis_client.script_flush()
    assert await store.extend(lease, ttl_ms=5000) is True
    await redis_client.script_flush()
    assert await store.release(lease) is True


_WORKER = """
import asyncio, os, sys
from redis.asyncio import Redis
from app.platform.storage.locks.manager import LockManager
from app.platform.storage.locks.redis import RedisLockStore

async def main(url: str, rounds: int) -> None:
    redis = Redis.from_url(url, decode_responses=True)
    manager = LockManager(RedisLockStore(redis))
    me = str(os.getpid())
    await redis.rpush("xp:ready", me)
    while await redis.llen("xp:ready") < 2:  # start together so the two really contend
        await asyncio.sleep(0.005)
    for _ in range(rounds):
        async with manager.hold("xproc", ttl_ms=10_000, wait_ms=60_000) as lease:
            await redis.rpush("xp:log", f"start {me} {lease.fencing_token}")
            value = int(await redis.get("xp:counter") or 0)
            await asyncio.sleep(0.001)
            await redis.set("xp:counter", value + 1)
            await redis.rpush("xp:log", f"end {me} {lease.fencing_token}")
        # Work outside the lock, so the other process's retries find it free now and then.
        await asyncio.sleep(0.003)
    await redis.aclose()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


@pytest.mark.slow
async def test_mutual_exclusion_across_two_os_processes(
    redis_client: Redis, redis_server: object
) -> None:
    rounds = 150
    url = redis_server.url  # type: ignore[attr-defined]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, str(rounds)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _out, err = await asyncio.to_thread(proc.communicate, timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]

    log = await redis_client.lrange("xp:log", 0, -1)
    assert int(await redis_client.get("xp:counter")) == 2 * rounds
    assert len(log) == 4 * rounds
    holders = []
    fences = []
    for start, end in zip(log[0::2], log[1::2], strict=True):
        s_kind, s_pid, s_fence = start.split()
        e_kind, e_pid, e_fence = end.split()
        assert (s_kind, e_kind) == ("start", "end"), "two holders overlapped"
        assert (s_pid, s_fence) == (e_pid, e_fence), "two holders overlapped"
        holders.append(s_pid)
        fences.append(int(s_fence))
    assert len(set(holders)) == 2
    switches = sum(1 for a, b in itertools.pairwise(holders) if a != b)
    assert switches >= 2, "the processes never contended"
    assert all(b > a for a, b in itertools.pairwise(fences))
