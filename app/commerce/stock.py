"""Keeping the Redis stock loaded: (re)build a product's stock from SQL's ledger.

A missing stock key (never loaded, or Redis restarted empty) is rebuilt from SQL as
`initial + restocks − Σ purchases − live reservations`, never from `initial_stock` alone.
Concurrent rebuilds in one worker share one SQL read; across workers the script's
"only if missing" makes exactly one of them count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from app.commerce.metrics import STOCK_REHYDRATIONS
from app.commerce.repository import ProductRepository, StockReply, StockStore
from app.platform.logging import get_logger

_log = get_logger("app.commerce.stock")


def now_ms(clock: Callable[[], datetime]) -> int:
    """Milliseconds since the epoch on `clock`."""
    return int(clock().timestamp() * 1000)


class StockKeeper:
    """Rebuilds stock keys; `settle_window_s` is how far back committed rows count as settled."""

    def __init__(
        self,
        *,
        store: StockStore,
        products: ProductRepository,
        settle_window_s: float,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self._products = products
        self._window = timedelta(seconds=settle_window_s)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._inflight: dict[int, asyncio.Task[StockReply | None]] = {}

    async def rehydrate(self, product_id: int) -> StockReply | None:
        """Load the product's stock if it is missing; None for an unknown product."""
        task = self._inflight.get(product_id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._rehydrate(product_id))
            self._inflight[product_id] = task
            task.add_done_callback(lambda done: self._forget(product_id, done))
        return await asyncio.shield(task)

    def _forget(self, product_id: int, task: asyncio.Task[StockReply | None]) -> None:
        if self._inflight.get(product_id) is task:
            del self._inflight[product_id]

    async def _rehydrate(self, product_id: int) -> StockReply | None:
        started = time.perf_counter()
        product = await self._products.get(product_id)
        if product is None:
            return None
        now = self._clock()
        ledger = await self._products.ledger(
            product_id,
            recent_since=now - self._window,
            per_user=product.per_user_limit is not None,
        )
        if ledger is None:
            return None
        reply = await self.store.rehydrate(ledger, now_ms=int(now.timestamp() * 1000))
        if reply.status == "OK":
            STOCK_REHYDRATIONS.inc()
            stock, live, short = (int(v) for v in reply.values[:3])
            log = _log.warning if short else _log.info
            log(
                "stock_rehydrated",
                product_id=product_id,
                stock=stock,
                sold=ledger.sold,
                live_reservations=live,
                short=short,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
        return reply
