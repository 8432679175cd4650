"""The rate limiter service: one store call per request, the fail policy when the store is down,
and the decision metrics. No FastAPI here; the middleware turns outcomes into HTTP."""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, NamedTuple

from app.platform.logging import get_logger
from app.platform.metrics import (
    METRICS_BUFFER,
    RATE_LIMIT_BLOCKS,
    RATE_LIMIT_BLOCKS_ACTIVE,
    RATE_LIMIT_DECISIONS,
)
from app.platform.ratelimit.blocks import BlockCheck, BlockRecord, BlockRule
from app.platform.ratelimit.items import (
    NEWLY_BLOCKED,
    NOT_BLOCKED,
    LimitCheck,
    StoreDecision,
    WindowResult,
)
from app.platform.ratelimit.store import RateLimitStore

if TYPE_CHECKING:
    from app.platform.ratelimit.quotas import QuotaCache

Outcome = Literal["allowed", "rejected", "blocked", "error_open", "error_closed"]
# Called with the new block each time one is placed (e.g. a monitoring-events recorder); may
# return an awaitable, which is awaited. A failing listener is logged, never the request's error.
BlockListener = Callable[[BlockRecord], object]
_log = get_logger("app.ratelimit")


class LimitOutcome(NamedTuple):
    """What happened to one request; `decision` is None when the store could not answer."""

    # A NamedTuple, not a frozen dataclass: one is built per request, at a third of the cost.

    outcome: Outcome
    checks: tuple[LimitCheck, ...]
    decision: StoreDecision | None = None

    @property
    def allowed(self) -> bool:
        """Whether the request may go on."""
        return self.outcome in ("allowed", "error_open")

    def tightest(self) -> tuple[LimitCheck, WindowResult] | None:
        """The limit that rejected (longest wait) or, when allowed, the one with least left."""
        if self.decision is None or not self.checks:
            return None
        best: tuple[LimitCheck, WindowResult] | None = None
        for check, result in zip(self.checks, self.decision.results, strict=True):
            if best is None:
                best = (check, result)
                continue
            other = best[1]
            if not self.decision.allowed:
                if result.retry_ms > other.retry_ms:
                    best = (check, result)
            elif result.remaining < other.remaining or (
                result.remaining == other.remaining and result.rollover_ms > other.rollover_ms
            ):
                best = (check, result)
        return best

    @property
    def retry_after_s(self) -> float:
        """Seconds until every limit has room again, or the block ends (0 when allowed)."""
        if self.decision is None or self.decision.allowed:
            return 0.0
        if self.decision.block_state != NOT_BLOCKED:
            return self.decision.block_ms / 1000
        return max(r.retry_ms for r in self.decision.results) / 1000


class RateLimiter:
    """Check a request's limits in one atomic store call; fail open or closed when it is down."""

    def __init__(
        self,
        *,
        store: RateLimitStore,
        fail_open_reads: bool = True,
        fail_open_writes: bool = False,
        store_retry_s: float = 1.0,
        block_rule: BlockRule | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.fail_open_reads = fail_open_reads
        self.fail_open_writes = fail_open_writes
        self.store_retry_s = store_retry_s
        # None: no automatic blocks (RATE_LIMIT_BLOCK_AFTER=0), and no block keys in any call.
        self.block_rule = block_rule
        self.block_listeners: list[BlockListener] = []
        # Per-user limits set by admins (docs/rate-limits.md "Per-user quotas"); the lifespan
        # sets it when the quota table is there.
        self.quotas: QuotaCache | None = None
        self._clock = clock
        # While the store is failing, skip it until this time (no 2 s timeout on every request).
        self._down_until = 0.0

    @property
    def store_down(self) -> bool:
        """Whether the last store call failed less than `store_retry_s` ago."""
        return self._clock() < self._down_until

    async def hit(
        self,
        checks: Sequence[LimitCheck],
        *,
        route: str = "global",
        write: bool = False,
        cost: int = 1,
        block: BlockCheck | None = None,
    ) -> LimitOutcome:
        """Count the request in every limit of `checks`, or in none if any limit is used up.
        With `block` (see `block_check`): a blocked client is refused without being counted,
        and a rejection counts towards a block, in the same store call."""
        checks = tuple(checks)
        if self._down_until == 0.0 or not self.store_down:
            try:
                decision = await self.store.hit(checks, cost=cost, block=block)
            except Exception as exc:  # any store failure is a policy decision, never a 500
                self._down_until = self._clock() + self.store_retry_s
                _log.warning(
                    "rate_limit_store_unavailable",
                    error=type(exc).__name__,
                    retry_in_s=self.store_retry_s,
                )
            else:
                self._down_until = 0.0
                outcome: Outcome = "allowed" if decision.allowed else "rejected"
                if decision.block_state != NOT_BLOCKED:
                    outcome = "blocked"
                    if decision.block_state == NEWLY_BLOCKED and block is not None:
                        await self._blocked(block, decision)
                METRICS_BUFFER.count(RATE_LIMIT_DECISIONS, (route, outcome))
                return LimitOutcome(outcome, checks, decision)
        fail_open = self.fail_open_writes if write else self.fail_open_reads
        outcome = "error_open" if fail_open else "error_closed"
        METRICS_BUFFER.count(RATE_LIMIT_DECISIONS, (route, outcome))
        return LimitOutcome(outcome, checks)

    def block_check(self, client: str | None) -> BlockCheck | None:
        """The block part of a client's store calls; None when blocks are off or no client."""
        if self.block_rule is None or client is None:
            return None
        return BlockCheck(client, self.block_rule)

    async def _blocked(self, block: BlockCheck, decision: StoreDecision) -> None:
        """A block was just placed: count it, log it, tell the listeners."""
        RATE_LIMIT_BLOCKS.inc()  # rare: straight to the instrument, not via the buffer
        now = datetime.now(UTC)
        record = BlockRecord(
            client=block.client,
            reason=block.rule.reason(),
            blocked_at=now,
            expires_at=now + timedelta(milliseconds=decision.block_ms),
            level=decision.block_level,
        )
        _log.warning(
            "rate_limit_client_blocked",
            client=block.client,
            block_s=decision.block_ms / 1000,
            level=decision.block_level,
        )
        for listener in tuple(self.block_listeners):
            try:
                result = listener(record)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # a listener never turns a 429 into a 500
                _log.warning("rate_limit_block_listener_failed", error=type(exc).__name__)

    async def list_blocks(self, *, limit: int = 100) -> list[BlockRecord]:
        """Active blocks, soonest to expire first; store errors propagate (the caller's 503)."""
        blocks = await self.store.list_blocks(limit=limit)
        if len(blocks) < limit:
            RATE_LIMIT_BLOCKS_ACTIVE.set(len(blocks))
        return blocks

    async def release_block(self, client: str) -> bool:
        """Lift a block at once (every worker, on Redis); False when the client had none."""
        released = await self.store.release_block(client)
        if released:
            _log.info("rate_limit_block_released", client=client)
        return released

    async def refresh_metrics(self) -> None:
        """Set `rate_limit_blocks_active` from the store (before a scrape); a failing store
        leaves the last figure."""
        try:
            RATE_LIMIT_BLOCKS_ACTIVE.set(await self.store.count_blocks())
        except Exception as exc:
            _log.warning("rate_limit_blocks_count_failed", error=type(exc).__name__)

    async def aclose(self) -> None:
        """Close the store's own connections, if it has any."""
        close = getattr(self.store, "aclose", None)
        if close is not None:
            await close()
