"""The weighted two-bucket sliding window (see docs/decisions/0001-rate-limit-window.md).

The window of W ms is split into fixed buckets aligned on the epoch. A limit keeps the count of
the current bucket and of the one before it; the requests in the sliding window ending now are
estimated as `prev * (W - elapsed) / W + curr`. The Lua script in
`app/platform/ratelimit/stores/lua/rate_limit.lua` computes exactly the same numbers in the same order, so
both stores answer alike; these functions are the reference the unit tests check.
"""

from __future__ import annotations

import math

# Float slack so that a request arriving exactly at its computed retry time passes.
EPSILON = 1e-9


def weighted_count(prev: int, curr: int, elapsed_ms: int, window_ms: int) -> float:
    """Estimated requests in the sliding window that ends `elapsed_ms` into the current bucket."""
    return prev * (window_ms - elapsed_ms) / window_ms + curr


def fits(prev: int, curr: int, elapsed_ms: int, window_ms: int, limit: int, cost: int) -> bool:
    """Whether `cost` more requests stay within `limit`."""
    return weighted_count(prev, curr, elapsed_ms, window_ms) + cost <= limit + EPSILON


def remaining(prev: int, curr: int, elapsed_ms: int, window_ms: int, limit: int) -> int:
    """Whole requests still allowed right now."""
    used = weighted_count(prev, curr, elapsed_ms, window_ms)
    return max(0, math.floor(limit - used + EPSILON))


def retry_ms(prev: int, curr: int, elapsed_ms: int, window_ms: int, limit: int, cost: int) -> int:
    """Milliseconds until `cost` more requests would fit (0 when they fit now)."""
    if cost > limit:
        return 2 * window_ms  # never fits; point past the longest memory of the window
    if fits(prev, curr, elapsed_ms, window_ms, limit, cost):
        return 0
    if curr + cost <= limit:
        # The previous bucket's weight falls linearly until this bucket ends.
        wait = window_ms - elapsed_ms - (limit - cost - curr) * window_ms / prev
        return max(1, math.ceil(wait))
    # Not before the next bucket, where today's count becomes the decaying previous one.
    wait = window_ms - elapsed_ms + window_ms - (limit - cost) * window_ms / curr
    return max(1, math.ceil(wait))
