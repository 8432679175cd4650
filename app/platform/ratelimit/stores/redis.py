"""Rate-limit counters in Redis: every limit of a request in one Lua call, on Redis's clock.

The call is one EVALSHA on the app's redis-py client; the calls of one event-loop tick share a
pipeline (`BatchedScript`), so a burst does not queue for the pool's connections.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.platform.ratelimit.items import LimitCheck, StoreDecision, WindowResult
from app.platform.storage.redis.batched import BatchedScript
from app.platform.storage.redis.client import RedisClient, lua_source

# Keys and arguments kept for recent callers (see `RedisRateLimitStore.hit`).
COMMAND_CACHE_SIZE = 8192


LUA_DIR = Path(__file__).parent / "lua"


class RedisRateLimitStore:
    """One EVALSHA per request: check all limits, count in all or none (see rate_limit.lua)."""

    def __init__(self, redis: RedisClient, *, namespace: str = "rl:") -> None:
        self._redis = redis
        self._ns = namespace
        self._script = BatchedScript(redis, lua_source(LUA_DIR / "rate_limit.lua"))
        # The limiter hands the same checks tuple for the same caller again and again (its plan
        # memo): keep that tuple's keys and arguments. Keyed by identity, holding the tuple so
        # its id cannot be reused while the entry lives.
        self._commands: dict[int, tuple[Sequence[LimitCheck], int, list[str], list[int]]] = {}

    async def ping(self) -> None:
        await self._redis.ping()

    async def hit(self, checks: Sequence[LimitCheck], *, cost: int = 1) -> StoreDecision:
        """Check every limit; count the request in all of them only if all allow it."""
        if not checks:
            return StoreDecision(allowed=True, results=())
        cached = self._commands.get(id(checks))
        if cached is not None and cached[0] is checks and cached[1] == cost:
            _checks, _cost, keys, args = cached
        else:
            keys = [self._ns + check.key for check in checks]
            args = [cost]
            for check in checks:
                args.extend((check.item.amount, check.item.window_ms))
            if len(self._commands) >= COMMAND_CACHE_SIZE:
                self._commands.clear()  # one-off callers churn; a reset is O(1) amortised
            self._commands[id(checks)] = (checks, cost, keys, args)
        reply = await self._script(keys=keys, args=args)
        allowed = int(reply[0]) == 1
        results = tuple(
            [
                WindowResult(allowed, int(reply[i]), int(reply[i + 1]), int(reply[i + 2]))
                for i in range(1, 1 + 3 * len(checks), 3)
            ]
        )
        return StoreDecision(allowed, results)
