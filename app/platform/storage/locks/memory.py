"""In-process locks with the same semantics as the Redis ones (the embedded default)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from app.platform.storage.base import Lease, check_lock_args


class MemoryLockStore:
    """Holders and fencing counters in dicts; every method runs without awaiting, so on one
    event loop each is atomic. Only correct within one process (one uvicorn worker)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._holders: dict[str, tuple[str, float]] = {}
        self._fences: dict[str, int] = {}
        self._clock = clock

    def _holder(self, name: str) -> str | None:
        item = self._holders.get(name)
        if item is None:
            return None
        token, expires_at = item
        if expires_at <= self._clock():
            del self._holders[name]
            return None
        return token

    async def ping(self) -> None:
        """Always answers: it lives in this process."""

    async def try_acquire(self, name: str, *, ttl_ms: int) -> Lease | None:
        check_lock_args(name, ttl_ms)
        if self._holder(name) is not None:
            return None
        token = secrets.token_hex(16)
        self._holders[name] = (token, self._clock() + ttl_ms / 1000)
        fence = self._fences.get(name, 0) + 1
        self._fences[name] = fence
        return Lease(name=name, token=token, fencing_token=fence, ttl_ms=ttl_ms)

    async def release(self, lease: Lease) -> bool:
        if self._holder(lease.name) != lease.token:
            return False
        del self._holders[lease.name]
        return True

    async def extend(self, lease: Lease, *, ttl_ms: int) -> bool:
        check_lock_args(lease.name, ttl_ms)
        if self._holder(lease.name) != lease.token:
            return False
        self._holders[lease.name] = (lease.token, self._clock() + ttl_ms / 1000)
        return True
