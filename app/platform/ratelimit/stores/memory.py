"""Rate-limit counters in this process (the embedded default): same window as the Lua script."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from app.platform.ratelimit import window as sw
from app.platform.ratelimit.blocks import MAX_LEVEL, BlockCheck, BlockRecord
from app.platform.ratelimit.items import (
    ALREADY_BLOCKED,
    NEWLY_BLOCKED,
    LimitCheck,
    StoreDecision,
    WindowResult,
)

# Every EVICT_EVERY-th counted request looks at up to EVICT_SWEEP of the coldest keys.
EVICT_EVERY = 8
EVICT_SWEEP = 64
# Clients with rejections on record (or repeat levels) kept at most; the oldest go first.
MAX_BLOCK_ENTRIES = 100_000


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
        # client → [blocked at, expires at, level, reason]; rejections: client → [count, expires
        # at]; repeat levels: client → [level, expires at]. All in epoch ms, like the counters.
        self._blocks: dict[str, tuple[int, int, int, str]] = {}
        self._strikes: dict[str, list[int]] = {}
        self._levels: dict[str, list[int]] = {}

    async def ping(self) -> None:
        """Always answers: it lives in this process."""

    async def hit(
        self, checks: Sequence[LimitCheck], *, cost: int = 1, block: BlockCheck | None = None
    ) -> StoreDecision:
        """Check every limit; count the request in all of them only if all allow it."""
        # The arithmetic of `app/platform/ratelimit/window.py`, inlined in the same order (the same
        # floats as the Lua script): this runs on every request of the embedded default.
        now = self._clock_ms()
        if block is not None:
            held = self._blocks.get(block.client)
            if held is not None:
                if held[1] > now:
                    return StoreDecision(False, (), ALREADY_BLOCKED, held[1] - now, held[2])
                del self._blocks[block.client]
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
        elif block is not None:
            return self._strike(block, now, tuple(results))
        return StoreDecision(allowed, tuple(results))

    def _strike(
        self, block: BlockCheck, now: int, results: tuple[WindowResult, ...]
    ) -> StoreDecision:
        """Count a rejection towards a block; place the block when the rule says so."""
        client, rule = block
        strikes = self._strikes.get(client)
        if strikes is None or strikes[1] <= now:
            strikes = self._strikes[client] = [0, now + rule.window_s * 1000]
            _bound(self._strikes, now)
        strikes[0] += 1
        if strikes[0] < rule.after:
            return StoreDecision(False, results)
        del self._strikes[client]
        previous = self._levels.get(client)
        level = 1 if previous is None or previous[1] <= now else min(previous[0] + 1, MAX_LEVEL)
        duration = rule.duration_ms(level)
        self._levels[client] = [level, now + duration + rule.memory_ms]
        _bound(self._levels, now)
        blocks = self._blocks
        blocks[client] = (now, now + duration, level, rule.reason())
        if len(blocks) > MAX_BLOCK_ENTRIES or not len(blocks) % EVICT_SWEEP:
            self._sweep_blocks(now)  # now and then, not per block: a sweep reads every block
            while len(blocks) > MAX_BLOCK_ENTRIES:
                del blocks[next(iter(blocks))]
        return StoreDecision(False, results, NEWLY_BLOCKED, duration, level)

    def _sweep_blocks(self, now: int) -> None:
        for client in [c for c, held in self._blocks.items() if held[1] <= now]:
            del self._blocks[client]

    async def list_blocks(self, *, limit: int) -> list[BlockRecord]:
        """Active blocks, soonest to expire first, at most `limit`."""
        now = self._clock_ms()
        self._sweep_blocks(now)
        ordered = sorted(self._blocks.items(), key=lambda item: (item[1][1], item[0]))[:limit]
        return [
            BlockRecord.from_ms(client, reason, blocked_at, expires_at, level)
            for client, (blocked_at, expires_at, level, reason) in ordered
        ]

    async def count_blocks(self) -> int:
        """How many blocks are active."""
        self._sweep_blocks(self._clock_ms())
        return len(self._blocks)

    async def release_block(self, client: str) -> bool:
        """Lift a client's block (and forget its repeats); False when it had none."""
        held = self._blocks.pop(client, None)
        self._levels.pop(client, None)
        self._strikes.pop(client, None)
        return held is not None and held[1] > self._clock_ms()

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


def _bound(entries: dict[str, list[int]], now: int) -> None:
    """Keep a per-client table bounded: expired entries first, then the oldest."""
    if len(entries) <= MAX_BLOCK_ENTRIES:
        return
    for client in [c for c, entry in entries.items() if entry[1] <= now]:
        del entries[client]
    while len(entries) > MAX_BLOCK_ENTRIES:
        del entries[next(iter(entries))]
