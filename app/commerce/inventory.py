"""Inventory: stock levels, restocks and the stock event log."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.commerce.products import ProductService
from app.commerce.repository import (
    ProductRecord,
    StockEvent,
    StockEventLog,
    StockLevel,
    StockStoreUnavailable,
)
from app.commerce.stock import StockKeeper
from app.platform.errors import ProductNotFoundError, StockStoreUnavailableError
from app.platform.logging import get_logger
from app.platform.principal import Principal

_log = get_logger("app.commerce.inventory")

# Without a product filter the Redis event log is merged from this many products' streams.
MAX_PRODUCTS_IN_EVENT_MERGE = 200


@dataclass(frozen=True, slots=True)
class InventoryView:
    """A product's stock: `sold` counts units no longer available (reserved ones included)."""

    product_id: int
    stock: int
    initial_stock: int
    restocked: int
    sold: int
    reserved: int


def _view(level: StockLevel) -> InventoryView:
    return InventoryView(
        product_id=level.product_id,
        stock=level.stock,
        initial_stock=level.initial,
        restocked=level.restocked,
        sold=level.initial + level.restocked - level.stock,
        reserved=level.reserved,
    )


def _sql_view(product: ProductRecord) -> InventoryView:
    return InventoryView(
        product_id=product.id,
        stock=product.stock,
        initial_stock=product.initial_stock,
        restocked=product.restocked,
        sold=product.initial_stock + product.restocked - product.stock,
        reserved=0,
    )


def _unavailable() -> StockStoreUnavailableError:
    return StockStoreUnavailableError(
        "The stock store is not answering. Retry shortly.", headers={"Retry-After": "1"}
    )


class InventoryService:
    """Reads come from the stock store (Redis) or, under the SQL strategy, from `products`."""

    def __init__(
        self,
        *,
        products: ProductService,
        keeper: StockKeeper | None,
        events: StockEventLog,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._products = products
        self._keeper = keeper
        self._events = events
        self._clock = clock or (lambda: datetime.now(UTC))

    async def get(self, *, product_id: int) -> InventoryView:
        """One product's stock; 404 for an unknown product."""
        views, missing = await self.get_many(product_ids=[product_id])
        if missing:
            raise ProductNotFoundError.missing(product_id, f"Product {product_id} was not found.")
        return views[0]

    async def get_many(
        self, *, product_ids: Sequence[int]
    ) -> tuple[list[InventoryView], list[int]]:
        """Stock of many products in one round trip; (views in the order asked, unknown ids)."""
        ids = list(dict.fromkeys(product_ids))
        if self._keeper is None:
            found = await self._products.repository.get_many(ids)
            return [_sql_view(found[i]) for i in ids if i in found], [
                i for i in ids if i not in found
            ]
        try:
            levels = await self._keeper.store.levels(ids)
            not_loaded = [i for i in ids if levels.get(i) is None]
            unknown: list[int] = []
            if not_loaded:
                for pid in not_loaded:
                    if await self._keeper.rehydrate(pid) is None:
                        unknown.append(pid)
                reloaded = await self._keeper.store.levels(
                    [i for i in not_loaded if i not in unknown]
                )
                levels.update(reloaded)
        except StockStoreUnavailable as exc:
            raise _unavailable() from exc
        views = [_view(level) for i in ids if (level := levels.get(i)) is not None]
        return views, [i for i in ids if levels.get(i) is None]

    async def restock(
        self, *, principal: Principal, product_id: int, quantity: int
    ) -> InventoryView:
        """Add units: recorded in SQL first, then added to the stock store exactly once."""
        now = self._clock()
        result = await self._products.repository.add_restock(
            product_id=product_id, quantity=quantity, created_by=principal.user_id, created_at=now
        )
        if result is None:
            raise ProductNotFoundError.missing(product_id, f"Product {product_id} was not found.")
        restock_id, product = result
        _log.info("restocked", product_id=product_id, quantity=quantity, restock_id=restock_id)
        if self._keeper is None:
            await self._events.append(
                [
                    StockEvent(
                        id="",
                        product_id=product_id,
                        kind="restock",
                        delta=quantity,
                        stock_after=product.stock,
                        purchase_id=None,
                        user_id=principal.user_id,
                        created_at=now,
                    )
                ]
            )
            return _sql_view(product)
        try:
            reply = await self._keeper.store.restock(
                product_id=product_id,
                restock_id=restock_id,
                quantity=quantity,
                now_ms=int(now.timestamp() * 1000),
            )
            if reply.status == "MISSING":
                # The rebuild reads the restock from SQL and marks it applied.
                await self._keeper.rehydrate(product_id)
        except StockStoreUnavailable:
            # Recorded in SQL: a rebuild or the reconciler adds it to the stock store later.
            _log.warning("restock_not_applied_yet", product_id=product_id, restock_id=restock_id)
            raise _unavailable() from None
        return await self.get(product_id=product_id)

    async def events(
        self, *, product_id: int | None, limit: int, before: str | None = None
    ) -> list[StockEvent]:
        """The stock event log, newest first (one product, or every product merged)."""
        if product_id is not None:
            await self._products.get_or_raise(product_id=product_id)
        if self._keeper is None:
            return await self._events.recent(product_id=product_id, limit=limit, before=before)
        store = self._keeper.store
        try:
            if product_id is not None:
                return await store.events(product_id=product_id, limit=limit, before=before)
            ids = (await self._products.repository.all_ids())[-MAX_PRODUCTS_IN_EVENT_MERGE:]
            streams = await asyncio.gather(
                *(store.events(product_id=pid, limit=limit, before=before) for pid in ids)
            )
        except StockStoreUnavailable as exc:
            raise _unavailable() from exc
        # Stream ids are "<ms>-<seq>": newest first across products by (time, id).
        merged = heapq.merge(*streams, key=lambda e: (e.created_at, _seq(e.id)), reverse=True)
        return [e for _, e in zip(range(limit), merged, strict=False)]


def _seq(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        return 0, 0
