"""Rate-limit counters in this process (the embedded default): same window as the Lua script."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from app.ratelimit import window as sw
from app.ratelimit.items import LimitCheck, StoreDecision, WindowResult


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class MemoryRateLimitStore:
    """Per-key `[bucket, count, previous count, expires at]`; checks and counts with no await in between,
    so one event loop makes it atomic. Least recently used keys go first beyond `max_keys`."""

    def __init__(self, *, max_keys: int = 200_000, clock_ms: Callable[[], int] = _wall_ms):
        self._data: OrderedDict[str, list[int]] = OrderedDict()
        self._max_keys = max_keys
        self._clock_ms = clock_ms

    async def ping(self) -> None:
        """Always answers: it lives in this process."""

    async def hit(self, checks: Sequence[LimitCheck], *, cost: int = 1) -> StoreDecision:
        """Check every limit; count the request in all of them only if all allow it."""
        now = self._clock_ms()
        states: list[tuple[int, int, int, int, int, int]] = []
        allowed = True
        for check in checks:
            window = check.item.window_ms
            bucket = math.floor(now / window)
            prev, curr = 0, 0
            entry = self._data.get(check.key)
            if entry is not None:
                if entry[0] == bucket:
                    curr, prev = entry[1], entry[2]
                elif entry[0] == bucket - 1:
                    prev = entry[1]
            elapsed = now - bucket * window
            if not sw.fits(prev, curr, elapsed, window, check.item.amount, cost):
                allowed = False
            states.append((check.item.amount, window, bucket, prev, curr, elapsed))

        results = []
        for check, (limit, window, bucket, prev, curr, elapsed) in zip(checks, states, strict=True):
            if allowed:
                curr += cost
                self._data[check.key] = [bucket, curr, prev, (bucket + 2) * window]
                self._data.move_to_end(check.key)
            results.append(
                WindowResult(
                    allowed=allowed,
                    remaining=sw.remaining(prev, curr, elapsed, window, limit),
                    retry_ms=sw.retry_ms(prev, curr, elapsed, window, limit, cost),
                    rollover_ms=window - elapsed,
                )
            )
        if allowed:
            self._evict(now)
        return StoreDecision(allowed=allowed, results=tuple(results))

    def _evict(self, now: int) -> None:
        while len(self._data) > self._max_keys:
            self._data.popitem(last=False)
        # The coldest entries are the likeliest to have expired: drop a few per write, so the
        # dict shrinks back after a burst of one-off clients without a sweeper task.
        for _ in range(8):
            key, entry = next(iter(self._data.items()))
            if entry[3] > now:
                break
            del self._data[key]
