"""Rate-limit counters in this process (the embedded default): same window as the Lua script."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from app.platform.ratelimit import window as sw
from app.platform.ratelimit.items import LimitCheck, StoreDecision, WindowResult

# Every EVICT_EVERY-th counted request looks at up to EVICT_SWEEP of the coldest keys.
EVICT_EVERY = 8
EVICT_SWEEP = 64


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class MemoryRateLimitStore:
    """Per-key `[bucket, count, previous count, expires at]`; checks and counts with no await in between,
    so one event loop makes it atomic. Least recently used keys go first beyond `max_keys`."""

    def __init__(self, *, max_keys: int = 200_000, clock_ms: Callable[[], int] = _wall_ms):
        self._data: OrderedDict[str, list[int]] = OrderedDict()
        self._max_keys = max_keys
        self._clock_ms = clock_ms
        self._writes = 0

    async def ping(self) -> None:
        """Always answers: it lives in this process."""

    async def hit(self, checks: Sequence[LimitCheck], *, cost: int = 1) -> StoreDecision:
        """Check every limit; count the request in all of them only if all allow it."""
        # The arithmetic of `app/platform/ratelimit/window.py`, inlined in the same order (the same
        # floats as the Lua script): this runs on every request of the embedded default.
        now = self._clock_ms()
        data = self._data
        rows: list[tuple[LimitCheck, int, int, int, int, int]] = []
        allowed = True
        for check in checks:
            item = check.item
            window = item.window_s * 1000
            bucket = now // window
            prev = curr = 0
            entry = data.get(check.key)
            if entry is not None:
                if entry[0] == bucket:
                    curr, prev = entry[1], entry[2]
                elif entry[0] == bucket - 1:
                    prev = entry[1]
            elapsed = now - bucket * window
            if allowed and (
                prev * (window - elapsed) / window + curr + cost > item.amount + sw.EPSILON
            ):
                allowed = False
            rows.append((check, window, bucket, prev, curr, elapsed))

        results = []
        for check, window, bucket, prev, curr, elapsed in rows:
            limit = check.item.amount
            if allowed:
                curr += cost
                data[check.key] = [bucket, curr, prev, (bucket + 2) * window]
                data.move_to_end(check.key)
            left = limit - (prev * (window - elapsed) / window + curr) + sw.EPSILON
            remaining = int(left) if left > 0 else 0  # floor, for a non-negative number
            # `remaining >= cost` is exactly `fits(...)`: then the retry wait is 0.
            wait = 0 if remaining >= cost else sw.retry_ms(prev, curr, elapsed, window, limit, cost)
            results.append(WindowResult(allowed, remaining, wait, window - elapsed))
        if allowed:
            self._writes += 1
            if len(data) > self._max_keys or not self._writes % EVICT_EVERY:
                self._evict(now)
        return StoreDecision(allowed, tuple(results))

    def _evict(self, now: int) -> None:
        while len(self._data) > self._max_keys:
            self._data.popitem(last=False)
        # The coldest entries are the likeliest to have expired: drop a few now and then, so
        # the dict shrinks back after a burst of one-off clients without a sweeper task.
        for _ in range(EVICT_SWEEP):
            key, entry = next(iter(self._data.items()))
            if entry[3] > now:
                break
            del self._data[key]
