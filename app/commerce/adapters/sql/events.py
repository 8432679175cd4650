"""The stock event log of the SQL strategy in the `stock_events` table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.commerce.repository import StockEvent
from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.retry import retry_read
from app.platform.storage.sql.tables import stock_events
from app.platform.storage.sql.values import aware


class SqlStockEventLog:
    """Append-only rows; ids are the table's increasing integer key (as strings)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def append(self, events: Sequence[StockEvent]) -> None:
        if not events:
            return
        rows = [
            {
                "product_id": e.product_id,
                "kind": e.kind,
                "delta": e.delta,
                "stock_after": e.stock_after,
                "purchase_id": e.purchase_id,
                "user_id": e.user_id,
                "created_at": e.created_at,
            }
            for e in events
        ]
        async with self._engine.begin() as conn:
            await conn.execute(insert(stock_events), rows)

    @retry_read
    async def recent(
        self, *, product_id: int | None, limit: int, before: str | None = None
    ) -> list[StockEvent]:
        query = select(stock_events)
        if product_id is not None:
            query = query.where(stock_events.c.product_id == product_id)
        if before is not None:
            try:
                query = query.where(stock_events.c.id < int(before))
            except ValueError:
                return []
        query = query.order_by(stock_events.c.id.desc()).limit(limit)
        async with reader(self._engine).connect() as conn:
            rows = await conn.execute(query)
            return [_event(r) for r in rows]


def _event(row: Any) -> StockEvent:
    created_at = aware(row.created_at)
    return StockEvent(
        id=str(row.id),
        product_id=int(row.product_id),
        kind=row.kind,
        delta=int(row.delta),
        stock_after=row.stock_after,
        purchase_id=row.purchase_id,
        user_id=row.user_id,
        created_at=created_at,
    )
