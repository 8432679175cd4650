"""LockManager and the in-process lock store: expiry on a fake clock, backoff, timeouts,
metrics, and leader election (no servers)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import pytest
from prometheus_client import REGISTRY

from app.platform.errors import LockTimeoutError, problem_body
from app.platform.storage.base import Lease
from app.platform.storage.locks.manager import LockManager, lock_family, run_as_leader
from app.platform.storage.locks.memory import MemoryLockStore

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_lease_expires_exactly_at_its_ttl() -> None:
    clock = FakeClock()
    store = MemoryLockStore(clock=clock)
    first = await store.try_acquire("job", ttl_ms=1000)
    assert first is not None
    clock.now += 0.999
    assert await store.try_acquire("job", ttl_ms=1000) is None
    clock.now += 0.001
    second = await store.try_acquire("job", ttl_ms=1000)
    assert second is not None
    assert second.fencing_token == first.fencing_token + 1
    # The expired holder can neither free nor extend the new holder's lock.
    assert await store.release(first) is False
    assert await store.extend(first, ttl_ms=60_000) is False
    assert await store.release(second) is True


async def test_memory_extend_moves_expiry_from_now() -> None:
    clock = FakeClock()
    store = MemoryLockStore(clock=clock)
    lease = await store.try_acquire("job", ttl_ms=1000)
    assert lease is not None
    clock.now += 0.9
    assert await store.extend(lease, ttl_ms=1000) is True
    clock.now += 0.9
    assert await store.try_acquire("job", ttl_ms=1000) is None
    clock.now += 0.1
    assert await store.try_acquire("job", ttl_ms=1000) is not None


@pytest.mark.parametrize("ttl_ms", [0, -1, 1.5, True])
async def test_a_lock_without_a_positive_ttl_is_refused(ttl_ms: object) -> None:
    store = MemoryLockStore()
    manager = LockManager(store)
    with pytest.raises(ValueError, match="ttl_ms"):
        await store.try_acquire("x", ttl_ms=ttl_ms)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ttl_ms"):
        async with manager.hold("x", ttl_ms=ttl_ms, wait_ms=10):  # type: ignore[arg-type]
            pass
    with pytest.raises(ValueError, match="name"):
        await store.try_acquire("", ttl_ms=100)


def test_lease_repr_hides_the_token() -> None:
    lease = Lease(name="x", token="s3cr3t-token-value", fencing_token=3, ttl_ms=10)
    assert "s3cr3t" not in repr(lease)
    assert "fencing_token=3" in repr(lease)


def test_backoff_is_jittered_exponential_and_capped() -> None:
    manager = LockManager(MemoryLockStore(), base_delay_ms=2, max_delay_ms=50, rng=random.Random(7))
    for attempt, cap in [(0, 0.002), (1, 0.004), (3, 0.016), (5, 0.050), (40, 0.050)]:
        samples = [manager.backoff_s(attempt) for _ in range(300)]
        assert all(0 <= s <= cap for s in samples)
        # Spread over the window, not a fixed delay: waiters must not retry in lockstep.
        assert max(samples) > cap * 0.8
        assert min(samples) < cap * 0.2


async def test_bounded_wait_times_out_with_a_409_problem_and_counts_it() -> None:
    store = MemoryLockStore()
    manager = LockManager(store)
    held = await store.try_acquire("purchase:42", ttl_ms=10_000)
    assert held is not None

    def sample(outcome: str) -> float:
        value = REGISTRY.get_sample_value(
            "lock_acquire_total", {"name": "purchase", "outcome": outcome}
        )
        return value or 0.0

    def waits() -> float:
        return REGISTRY.get_sample_value("lock_wait_seconds_count", {"name": "purchase"}) or 0.0

    timeouts, acquired, observed = sample("timeout"), sample("acquired"), waits()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(LockTimeoutError) as info:
        await manager.acquire("purchase:42", ttl_ms=1000, wait_ms=120)
    # It waited its wait_ms before giving up (how much longer depends on the machine's load,
    # so no upper bound: a wait that never ends is caught by the pytest timeout).
    assert loop.time() - started >= 0.12
    assert sample("timeout") == timeouts + 1
    body = problem_body(info.value, instance="/api/purchase/42")
    assert body["status"] == 409
    assert body["code"] == "LOCK_TIMEOUT"
    assert body["error_code"] == "ERR_4090"
    assert info.value.headers["Retry-After"] == "1"

    assert await store.release(held)
    async with manager.hold("purchase:42", ttl_ms=1000, wait_ms=0) as lease:
        assert lease.fencing_token == held.fencing_token + 1
    assert sample("acquired") == acquired + 1
    assert waits() == observed + 2


async def test_wait_of_zero_is_a_single_attempt() -> None:
    store = MemoryLockStore()
    manager = LockManager(store)
    assert await store.try_acquire("x", ttl_ms=10_000) is not None
    with pytest.raises(LockTimeoutError):
        await manager.acquire("x", ttl_ms=100, wait_ms=0)


async def test_waiter_gets_the_lock_soon_after_release() -> None:
    store = MemoryLockStore()
    manager = LockManager(store, base_delay_ms=1, max_delay_ms=10)
    first = await manager.acquire("x", ttl_ms=10_000, wait_ms=0)
    waiter = asyncio.create_task(manager.acquire("x", ttl_ms=10_000, wait_ms=5_000))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await manager.release(first)
    second = await asyncio.wait_for(waiter, timeout=60)
    assert second.fencing_token == first.fencing_token + 1


async def test_hold_releases_when_the_block_raises() -> None:
    store = MemoryLockStore()
    manager = LockManager(store)
    with pytest.raises(RuntimeError, match="boom"):
        async with manager.hold("x", ttl_ms=10_000, wait_ms=0):
            raise RuntimeError("boom")
    assert await store.try_acquire("x", ttl_ms=100) is not None


async def test_unlocked_read_modify_write_loses_updates_and_the_lock_prevents_it() -> None:
    """The control shows the critical section really races, so the locked run proves something."""
    manager = LockManager(MemoryLockStore(), base_delay_ms=0.5, max_delay_ms=5)
    state = {"plain": 0, "locked": 0}

    async def plain() -> None:
        value = state["plain"]
        await asyncio.sleep(0)
        state["plain"] = value + 1

    async def locked() -> None:
        async with manager.hold("counter", ttl_ms=10_000, wait_ms=30_000):
            value = state["locked"]
            await asyncio.sleep(0)
            state["locked"] = value + 1

    await asyncio.gather(*(plain() for _ in range(50)))
    await asyncio.gather(*(locked() for _ in range(50)))
    assert state["plain"] < 50
    assert state["locked"] == 50


def test_metric_label_is_the_lock_family() -> None:
    assert lock_family("purchase:42") == "purchase"
    assert lock_family("reconciler") == "reconciler"


async def _wait_for(predicate, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def test_a_leader_that_waits_first_runs_its_job_one_interval_after_election() -> None:
    runs: list[float] = []

    async def job() -> None:
        runs.append(time.monotonic())

    started = time.monotonic()
    task = asyncio.create_task(
        run_as_leader(LockManager(MemoryLockStore()), "sweeper", 0.2, job, wait_first=True)
    )
    await _wait_for(lambda: len(runs) >= 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The lock is free, so election is immediate: only the wait holds the first run back.
    assert runs[0] - started >= 0.2
    assert runs[1] - runs[0] >= 0.2


async def test_leader_election_runs_the_job_on_one_instance_and_fails_over() -> None:
    ttl_ms = 1500
    store = MemoryLockStore()
    runs: list[str] = []

    def job(instance: str):  # type: ignore[no-untyped-def]
        async def run() -> None:
            runs.append(instance)

        return run

    a = asyncio.create_task(
        run_as_leader(LockManager(store), "reconciler", 0.01, job("a"), ttl_ms=ttl_ms)
    )
    await _wait_for(lambda: len(runs) >= 1)
    b = asyncio.create_task(
        run_as_leader(LockManager(store), "reconciler", 0.01, job("b"), ttl_ms=ttl_ms)
    )
    # Several intervals and at least one renewal pass (every ttl_ms / 3; 100 runs take at
    # least 1 s): the follower must never run. The TTL leaves a loaded loop a second of stall
    # before a lease could lapse.
    await _wait_for(lambda: len(runs) >= 100)
    assert set(runs) == {"a"}
    a.cancel()
    with pytest.raises(asyncio.CancelledError):
        await a
    # Cancelling released the lease, so the follower takes over within a poll interval.
    await _wait_for(lambda: runs[-1] == "b")
    b.cancel()
    with pytest.raises(asyncio.CancelledError):
        await b
    assert await store.try_acquire("reconciler", ttl_ms=100) is not None


class SpyStore(MemoryLockStore):
    """Records every call's outcome so a test can wait on what the leader loop did."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.calls: list[tuple[str, bool]] = []

    async def try_acquire(self, name: str, *, ttl_ms: int) -> Lease | None:
        lease = await super().try_acquire(name, ttl_ms=ttl_ms)
        self.calls.append(("acquire", lease is not None))
        return lease

    async def extend(self, lease: Lease, *, ttl_ms: int) -> bool:
        ok = await super().extend(lease, ttl_ms=ttl_ms)
        self.calls.append(("extend", ok))
        return ok


async def test_leader_steps_down_when_its_lease_is_taken_away() -> None:
    clock = FakeClock()
    store = SpyStore(clock=clock)
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    task = asyncio.create_task(run_as_leader(LockManager(store), "r", 0.005, job, ttl_ms=60))
    await _wait_for(lambda: len(runs) >= 1 and ("extend", True) in store.calls)
    # Jump past the TTL and let someone else take the lock before the leader renews.
    clock.now += 1
    intruder = await store.try_acquire("r", ttl_ms=60_000)
    assert intruder is not None
    await _wait_for(lambda: ("extend", False) in store.calls)
    lost_at = store.calls.index(("extend", False))
    # Back to following: wait for three failed polls after the failed renewal.
    await _wait_for(lambda: store.calls[lost_at:].count(("acquire", False)) >= 3)
    count = len(runs)
    await _wait_for(lambda: store.calls[lost_at:].count(("acquire", False)) >= 6)
    assert len(runs) == count, "a leader whose lease was lost kept running its job"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.release(intruder) is True


async def test_a_failing_job_does_not_end_leadership() -> None:
    store = MemoryLockStore()
    calls: list[int] = []

    async def job() -> None:
        calls.append(1)
        raise RuntimeError("transient")

    task = asyncio.create_task(run_as_leader(LockManager(store), "r", 0.005, job))
    await _wait_for(lambda: len(calls) >= 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class CancelSwallowingStore(MemoryLockStore):
    """A store whose calls can lose a cancellation and return normally, as redis-py can."""

    def __init__(self, swallow: str) -> None:
        super().__init__()
        self.swallow = swallow
        self.inside = asyncio.Event()

    async def _hang_until_cancelled(self) -> None:
        self.inside.set()
        # A reply that never comes before the cancel, which is lost here: the call returns as
        # if it had completed.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()

    async def try_acquire(self, name: str, *, ttl_ms: int) -> Lease | None:
        if self.swallow == "acquire" and not self.inside.is_set():
            await self._hang_until_cancelled()
            return None
        return await super().try_acquire(name, ttl_ms=ttl_ms)

    async def extend(self, lease: Lease, *, ttl_ms: int) -> bool:
        if self.swallow == "extend" and not self.inside.is_set():
            await self._hang_until_cancelled()
        return await super().extend(lease, ttl_ms=ttl_ms)


@pytest.mark.parametrize("swallow", ["acquire", "extend"])
async def test_a_cancel_lost_inside_a_store_call_still_stops_the_leader_loop(
    swallow: str,
) -> None:
    """Shutdown cancels the reconciler's leader loop and waits for it: a cancellation the
    store's client swallowed must not keep the loop (and its lease) alive forever."""
    store = CancelSwallowingStore(swallow)

    async def job() -> None:
        return None

    leader = asyncio.create_task(
        run_as_leader(LockManager(store), "reconciler", 0.01, job, ttl_ms=60)
    )
    await store.inside.wait()
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(leader, timeout=5)
    # Stopped cleanly: the lease (if it was held) was released on the way out.
    assert await store.try_acquire("reconciler", ttl_ms=100) is not None
