"""Follow-ups: what a purchase could not tell the stock store while it stalled, sent again as
soon as the store answers.

During a Redis stall (frozen, restarting) a purchase may not know whether its reserve script
ran at all (the command timed out, and a frozen Redis runs it when it wakes), or may have
committed its row but not confirmed its reservation (the row is then deleted and the buyer
answered 503). Left alone, both hold units and keep the buyer's Idempotency-Key "in flight"
until the reservation expires and the reconciler's next pass (half a minute to minutes). Queued
here, they are settled within one retry interval of the store answering again. The reconciler stays the safety net for a worker that dies meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from app.commerce.metrics import FOLLOWUPS
from app.commerce.repository import Reservation, StockStoreUnavailable
from app.platform.logging import get_logger

_log = get_logger("app.commerce.followups")

# cancel: the reserve timed out; void: the row was deleted after its confirm timed out;
# confirm: the confirm timed out and the row could not be deleted either (SQL down too).
FollowUpKind = Literal["cancel", "void", "confirm"]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """One message for the stock store about a purchase it did not hear the end of."""

    kind: FollowUpKind
    reservation: Reservation
    fingerprint: str = ""
    response_json: str = ""
    queued_at: float = field(default_factory=time.monotonic)


class FollowUpQueue:
    """Follow-ups retried with backoff until the store answers; one drain task per worker.

    `apply` performs one follow-up and raises `StockStoreUnavailable` while the store is not
    answering (the item then stays queued, in order). Items are keyed by purchase id, so a
    purchase has at most one pending follow-up (the newest wins).
    """

    def __init__(
        self,
        *,
        apply: Callable[[FollowUp], Awaitable[None]],
        retry_initial_s: float = 0.1,
        retry_max_s: float = 1.0,
        max_pending: int = 10_000,
        max_age_s: float = 600.0,
    ) -> None:
        self._apply = apply
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._max_pending = max_pending
        self._max_age_s = max_age_s
        self._pending: OrderedDict[str, FollowUp] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Follow-ups not yet delivered."""
        return len(self._pending)

    def add(self, item: FollowUp) -> None:
        """Queue `item` and make sure the drain task runs."""
        key = item.reservation.purchase_id
        self._pending.pop(key, None)
        self._pending[key] = item
        FOLLOWUPS.labels(item.kind, "queued").inc()
        while len(self._pending) > self._max_pending:
            _, dropped = self._pending.popitem(last=False)
            FOLLOWUPS.labels(dropped.kind, "dropped").inc()
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def deliver(self) -> bool:
        """Try every pending follow-up once, oldest first; True when none is left."""
        now = time.monotonic()
        while self._pending:
            key, item = next(iter(self._pending.items()))
            if now - item.queued_at > self._max_age_s:
                # Long past its reservation: the reconciler has settled it from SQL by now.
                del self._pending[key]
                FOLLOWUPS.labels(item.kind, "dropped").inc()
                continue
            try:
                await self._apply(item)
            except StockStoreUnavailable:
                return False
            except Exception:
                # A bug or a SQL failure must not stop the queue: the reconciler settles it.
                _log.exception(
                    "stock_followup_failed",
                    kind=item.kind,
                    product_id=item.reservation.product_id,
                    purchase_id=key,
                )
                FOLLOWUPS.labels(item.kind, "failed").inc()
            else:
                FOLLOWUPS.labels(item.kind, "delivered").inc()
            # `add` may have replaced it meanwhile: only remove the item that was applied.
            if self._pending.get(key) is item:
                del self._pending[key]
        return True

    async def _drain(self) -> None:
        delay = self._retry_initial_s
        try:
            while not await self.deliver():
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)
        finally:
            self._task = None
            if self._pending and not self._closed:
                # Items added while the last delivery was finishing.
                self._task = asyncio.get_running_loop().create_task(self._drain())

    async def aclose(self) -> None:
        """Stop retrying after one last attempt; what is left goes to the reconciler."""
        self._closed = True
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._pending:
            await self.deliver()
        if self._pending:
            _log.warning("stock_followups_left_to_reconciler", count=len(self._pending))
