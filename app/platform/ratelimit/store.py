"""The rate limiter's store Protocol: one atomic check-and-count per request, and the blocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.platform.ratelimit.blocks import BlockCheck, BlockRecord
from app.platform.ratelimit.items import LimitCheck, StoreDecision


class RateLimitStore(Protocol):
    """Sliding-window counters: every limit of a request checked and counted in one atomic step."""

    async def ping(self) -> None:
        """Return when the backend answers; raise otherwise."""

    async def hit(
        self, checks: Sequence[LimitCheck], *, cost: int = 1, block: BlockCheck | None = None
    ) -> StoreDecision:
        """Check every limit; count the request in all of them only if all allow it. With
        `block`: refuse a blocked client without counting, and count a rejection towards a
        block (placing it when the rule says so), in the same atomic step."""

    async def list_blocks(self, *, limit: int) -> list[BlockRecord]:
        """Active blocks, soonest to expire first, at most `limit`."""

    async def count_blocks(self) -> int:
        """How many blocks are active."""

    async def release_block(self, client: str) -> bool:
        """Lift a client's block (and forget its repeats); False when it had none."""
