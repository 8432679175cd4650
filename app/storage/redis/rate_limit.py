"""Rate-limit counters in Redis: every limit of a request in one Lua call, on Redis's clock."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from app.ratelimit.items import LimitCheck, StoreDecision, WindowResult
from app.storage.redis.client import register_script


class RedisRateLimitStore:
    """One EVALSHA per request: check all limits, count in all or none (see rate_limit.lua)."""

    def __init__(self, redis: Redis, *, namespace: str = "rl:") -> None:
        self._redis = redis
        self._ns = namespace
        self._script = register_script(redis, "rate_limit")

    async def ping(self) -> None:
        await self._redis.ping()

    async def hit(self, checks: Sequence[LimitCheck], *, cost: int = 1) -> StoreDecision:
        """Check every limit; count the request in all of them only if all allow it."""
        if not checks:
            return StoreDecision(allowed=True, results=())
        keys = [self._ns + check.key for check in checks]
        args: list[int] = [cost]
        for check in checks:
            args.extend((check.item.amount, check.item.window_ms))
        reply = await self._script(keys=keys, args=args)
        allowed = int(reply[0]) == 1
        results = tuple(
            WindowResult(
                allowed=allowed,
                remaining=int(reply[1 + 3 * i]),
                retry_ms=int(reply[2 + 3 * i]),
                rollover_ms=int(reply[3 + 3 * i]),
            )
            for i in range(len(checks))
        )
        return StoreDecision(allowed=allowed, results=results)
