"""The rate limiter's store Protocol: one atomic check-and-count per request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.platform.ratelimit.items import LimitCheck, StoreDecision


class RateLimitStore(Protocol):
    """Sliding-window counters: every limit of a request checked and counted in one atomic step."""

    async def ping(self) -> None:
        """Return when the backend answers; raise otherwise."""

    async def hit(self, checks: Sequence[LimitCheck], *, cost: int = 1) -> StoreDecision:
        """Check every limit; count the request in all of them only if all allow it."""
