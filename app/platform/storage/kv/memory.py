"""In-process key-value store with TTL and an LRU bound (the embedded default)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class MemoryKeyValueStore:
    """A dict with expiry and least-recently-used eviction; one event loop, no locks needed."""

    def __init__(self, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self._data: OrderedDict[str, tuple[str, float | None]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    def _live(self, key: str) -> str | None:
        item = self._data.get(key)
        if item is None:
            return None
        value, expires_at = item
        if expires_at is not None and expires_at <= self._clock():
            del self._data[key]
            return None
        return value

    async def ping(self) -> None:
        """Always answers: it lives in this process."""

    async def get(self, key: str) -> str | None:
        value = self._live(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    async def set(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        expires_at = None if ttl_s is None else self._clock() + ttl_s
        self._data[key] = (value, expires_at)
        self._data.move_to_end(key)
        while len(self._data) > self._max_entries:
            self._data.popitem(last=False)

    async def set_if_absent(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        if self._live(key) is not None:
            return False
        await self.set(key, value, ttl_s=ttl_s)
        return True

    async def delete(self, key: str) -> bool:
        existed = self._live(key) is not None
        self._data.pop(key, None)
        return existed

    async def delete_prefix(self, prefix: str) -> int:
        keys = [k for k in self._data if k.startswith(prefix) and self._live(k) is not None]
        for key in keys:
            del self._data[key]
        return len(keys)

    async def count(self, prefix: str = "") -> int:
        return sum(
            1 for k in list(self._data) if k.startswith(prefix) and self._live(k) is not None
        )
