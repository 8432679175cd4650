"""Distributed locks for services: bounded waits with jittered exponential backoff, and a
leader-election loop so a periodic task runs on one instance at a time.

The primitives (token, TTL, compare-and-delete, fencing) live in a `LockStore` adapter
(`app/storage/{redis,memory}/lock.py`); this module adds waiting, metrics and leadership.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from app.platform.errors import LockTimeoutError
from app.platform.logging import get_logger
from app.platform.metrics import LOCK_ACQUIRE, LOCK_WAIT
from app.platform.storage.base import Lease, LockStore, check_lock_args

_log = get_logger("app.locks")


def lock_family(name: str) -> str:
    """The metric label of a lock: `purchase:42` counts as `purchase` (bounded cardinality)."""
    return name.split(":", 1)[0]


class LockManager:
    """Acquire named locks with a bounded wait; every lease has a mandatory TTL."""

    def __init__(
        self,
        store: LockStore,
        *,
        base_delay_ms: float = 2.0,
        max_delay_ms: float = 50.0,
        rng: random.Random | None = None,
    ) -> None:
        if base_delay_ms <= 0 or max_delay_ms < base_delay_ms:
            raise ValueError("need 0 < base_delay_ms <= max_delay_ms")
        self.store = store
        self._base_s = base_delay_ms / 1000
        self._max_s = max_delay_ms / 1000
        self._rng = rng or random.Random()

    def backoff_s(self, attempt: int) -> float:
        """Full-jitter exponential backoff: uniform over [0, min(max, base * 2**attempt)].

        Jitter spreads waiters apart so they do not retry in lockstep against the holder.
        """
        cap = min(self._max_s, self._base_s * (2 ** min(attempt, 30)))
        return self._rng.uniform(0, cap)

    async def try_acquire(self, name: str, *, ttl_ms: int) -> Lease | None:
        """One attempt: the lease, or None when the lock is held."""
        lease = await self.store.try_acquire(name, ttl_ms=ttl_ms)
        if lease is not None and _cancel_pending():
            await self.store.release(lease)  # asked to stop meanwhile: do not keep the lock
        _stop_if_cancel_was_swallowed()
        return lease

    async def acquire(self, name: str, *, ttl_ms: int, wait_ms: int) -> Lease:
        """Retry with backoff until the lock is ours or `wait_ms` passed (LockTimeoutError)."""
        check_lock_args(name, ttl_ms)
        if wait_ms < 0:
            raise ValueError(f"wait_ms must be >= 0, got {wait_ms!r}")
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + wait_ms / 1000
        family = lock_family(name)
        attempt = 0
        while True:
            lease = await self.try_acquire(name, ttl_ms=ttl_ms)
            if lease is not None:
                LOCK_WAIT.labels(family).observe(loop.time() - started)
                LOCK_ACQUIRE.labels(family, "acquired").inc()
                return lease
            remaining = deadline - loop.time()
            if remaining <= 0:
                waited = loop.time() - started
                LOCK_WAIT.labels(family).observe(waited)
                LOCK_ACQUIRE.labels(family, "timeout").inc()
                raise LockTimeoutError(
                    "The resource is busy with another request; try again shortly.",
                    details={"waited_ms": round(waited * 1000)},
                    headers={"Retry-After": "1"},
                )
            # Never sleep past the deadline: the last attempt happens right at it.
            await asyncio.sleep(min(self.backoff_s(attempt), remaining))
            attempt += 1

    async def release(self, lease: Lease) -> bool:
        """Free the lock if `lease` still holds it."""
        return await self.store.release(lease)

    async def extend(self, lease: Lease, *, ttl_ms: int) -> bool:
        """Push the expiry out to `ttl_ms` from now if `lease` still holds the lock."""
        ok = await self.store.extend(lease, ttl_ms=ttl_ms)
        _stop_if_cancel_was_swallowed()
        return ok

    @asynccontextmanager
    async def hold(self, name: str, *, ttl_ms: int, wait_ms: int) -> AsyncIterator[Lease]:
        """`async with locks.hold(name, ttl_ms=..., wait_ms=...) as lease:` — released on exit."""
        lease = await self.acquire(name, ttl_ms=ttl_ms, wait_ms=wait_ms)
        try:
            yield lease
        finally:
            await self._release_after_use(lease)

    async def _release_after_use(self, lease: Lease) -> None:
        # A failed release must not hide the block's own outcome: the TTL frees the lock anyway.
        try:
            released = await self.store.release(lease)
        except Exception as exc:
            _log.warning("lock_release_failed", lock=lease.name, error=type(exc).__name__)
            return
        if not released:
            # The TTL ran out inside the block: another holder may have overlapped with it.
            _log.warning("lock_lost_before_release", lock=lease.name, ttl_ms=lease.ttl_ms)


LeaderJob = Callable[[], Awaitable[object]]


async def run_as_leader(
    manager: LockManager,
    name: str,
    interval_s: float,
    job: LeaderJob,
    *,
    ttl_ms: int | None = None,
    wait_first: bool = False,
) -> None:
    """Run `job` every `interval_s` on whichever instance holds lock `name`; until cancelled.
    With `wait_first` a new leader waits one interval before its first run.

    The leader renews its lease every third of `ttl_ms` (default: 3 intervals, at least 3 s).
    A renewal that fails means leadership is lost: the running job is cancelled and the loop
    goes back to polling. Followers poll every `interval_s`, so a crashed leader is replaced
    within `ttl_ms + interval_s`. Cancelling the task releases the lease at once.
    """
    if interval_s <= 0:
        raise ValueError("interval_s must be positive")
    ttl = ttl_ms if ttl_ms is not None else max(int(interval_s * 3000), 3000)
    check_lock_args(name, ttl)
    while True:
        try:
            lease = await manager.try_acquire(name, ttl_ms=ttl)
        except Exception as exc:
            _log.warning("leader_poll_failed", lock=name, error=type(exc).__name__)
            lease = None
        if lease is None:
            await asyncio.sleep(interval_s * random.uniform(0.8, 1.2))
            continue
        _log.info("leader_elected", lock=name, fence=lease.fencing_token)
        try:
            await _lead(manager, lease, interval_s=interval_s, job=job, wait_first=wait_first)
        finally:
            try:
                await manager.release(lease)
            except Exception as exc:
                _log.warning("lock_release_failed", lock=name, error=type(exc).__name__)
        _log.warning("leadership_lost", lock=name)


def _cancel_pending() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _stop_if_cancel_was_swallowed() -> None:
    """Raise CancelledError if this task was asked to stop but the store call it made returned.

    redis-py can lose a cancellation that arrives inside one of its calls (the call then retries
    and returns normally): a leader loop would go on renewing its lease forever and whoever
    cancelled it (shutdown, a test) would wait forever. The request is still counted by the task
    (`cancelling()`), so the calls that loops make (`try_acquire`, `extend`) honour it.
    `release` does not: it is what runs *because* of a cancel.
    """
    if _cancel_pending():
        raise asyncio.CancelledError


async def _lead(
    manager: LockManager, lease: Lease, *, interval_s: float, job: LeaderJob, wait_first: bool
) -> None:
    """Run the job loop beside a renewal loop; return when a renewal fails."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease.ttl_ms / 3000)
            try:
                ok = await manager.extend(lease, ttl_ms=lease.ttl_ms)
            except Exception as exc:
                # Cannot prove we still hold it: step down rather than risk two leaders.
                _log.warning("leader_renew_failed", lock=lease.name, error=type(exc).__name__)
                return
            if not ok:
                return

    async def work() -> None:
        if wait_first:
            await asyncio.sleep(interval_s)
        while True:
            try:
                await job()
            except Exception:
                _log.exception("leader_job_failed", lock=lease.name)
            await asyncio.sleep(interval_s)

    renewer = asyncio.create_task(renew())
    worker = asyncio.create_task(work())
    try:
        await asyncio.wait({renewer, worker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (renewer, worker):
            task.cancel()
        await asyncio.gather(renewer, worker, return_exceptions=True)
