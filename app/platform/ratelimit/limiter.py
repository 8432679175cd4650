"""The rate limiter service: one store call per request, the fail policy when the store is down,
and the decision metrics. No FastAPI here; the middleware turns outcomes into HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Literal, NamedTuple

from app.platform.logging import get_logger
from app.platform.metrics import METRICS_BUFFER, RATE_LIMIT_DECISIONS
from app.platform.ratelimit.items import LimitCheck, StoreDecision, WindowResult
from app.platform.ratelimit.store import RateLimitStore

Outcome = Literal["allowed", "rejected", "error_open", "error_closed"]
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
        """Seconds until every limit has room again (0 when allowed)."""
        if self.decision is None or self.decision.allowed:
            return 0.0
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.fail_open_reads = fail_open_reads
        self.fail_open_writes = fail_open_writes
        self.store_retry_s = store_retry_s
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
    ) -> LimitOutcome:
        """Count the request in every limit of `checks`, or in none if any limit is used up."""
        checks = tuple(checks)
        if self._down_until == 0.0 or not self.store_down:
            try:
                decision = await self.store.hit(checks, cost=cost)
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
                METRICS_BUFFER.count(RATE_LIMIT_DECISIONS, (route, outcome))
                return LimitOutcome(outcome, checks, decision)
        fail_open = self.fail_open_writes if write else self.fail_open_reads
        outcome = "error_open" if fail_open else "error_closed"
        METRICS_BUFFER.count(RATE_LIMIT_DECISIONS, (route, outcome))
        return LimitOutcome(outcome, checks)

    async def aclose(self) -> None:
        """Close the store's own connections, if it has any."""
        close = getattr(self.store, "aclose", None)
        if close is not None:
            await close()
