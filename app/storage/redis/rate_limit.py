"""Rate-limit counters in Redis: every limit of a request in one Lua call, on Redis's clock.

The limiter runs on every request, so its Redis call goes over the shared pipelined connection
(`app/storage/redis/pipelined.py`); TLS connections (and `pipelined=False`) use redis-py.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from app.ratelimit.items import LimitCheck, StoreDecision, WindowResult
from app.storage.redis.client import lua_source, register_script
from app.storage.redis.pipelined import PipelinedScript, can_pipeline


class RedisRateLimitStore:
    """One EVALSHA per request: check all limits, count in all or none (see rate_limit.lua)."""

    def __init__(
        self,
        redis: Redis,
        *,
        namespace: str = "rl:",
        pipelined: bool = True,
        timeout_s: float = 2.0,
    ) -> None:
        self._redis = redis
        self._ns = namespace
        self._pipe = (
            PipelinedScript(redis, lua_source("rate_limit"), timeout_s=timeout_s)
            if pipelined and can_pipeline(redis)
            else None
        )
        self._script = register_script(redis, "rate_limit")

    @property
    def pipelined(self) -> bool:
        """Whether calls go over the shared pipelined connection (else through redis-py)."""
        return self._pipe is not None

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
        if self._pipe is not None:
            reply = await self._pipe(keys, args)
        else:
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

    async def aclose(self) -> None:
        """Close the pipelined connection (the redis-py pool is closed by its owner)."""
        if self._pipe is not None:
            await self._pipe.aclose()
