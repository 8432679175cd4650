"""Purchases in the `purchases` table; under the SQL strategy also the stock decrement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.commerce.adapters.sql.products import money
from app.commerce.repository import BuyRequest, BuyResult, DuplicatePurchase, PurchaseRecord
from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.retry import retry_read
from app.platform.storage.sql.tables import products, purchases, stock_events
from app.platform.storage.sql.values import aware


def purchase_record(row: Row[Any]) -> PurchaseRecord:
    """Map a `purchases` row."""
    purchased_at = aware(row.purchased_at)
    return PurchaseRecord(
        id=row.id,
        product_id=int(row.product_id),
        user_id=row.user_id,
        quantity=int(row.quantity),
        unit_price=money(row.unit_price),
        total_price=money(row.total_price),
        idempotency_key=row.idempotency_key,
        purchased_at=purchased_at,
    )


def purchase_values(purchase: PurchaseRecord) -> dict[str, Any]:
    """Column values of a purchase."""
    return {
        "id": purchase.id,
        "product_id": purchase.product_id,
        "user_id": purchase.user_id,
        "quantity": purchase.quantity,
        "unit_price": purchase.unit_price,
        "total_price": purchase.total_price,
        "idempotency_key": purchase.idempotency_key,
        "purchased_at": purchase.purchased_at,
    }


class SqlPurchaseRepository:
    """Many rows per transaction: the group-commit batcher hands whole batches in."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def insert_many(self, purchases_: Sequence[PurchaseRecord]) -> None:
        if not purchases_:
            return
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(purchases), [purchase_values(p) for p in purchases_])
        except IntegrityError as exc:
            raise DuplicatePurchase(str(exc.orig)[:200]) from None

    async def buy_many(
        self, requests: Sequence[BuyRequest], *, events: bool = True
    ) -> list[BuyResult]:
        results: list[BuyResult] = []
        event_rows: list[dict[str, Any]] = []
        async with self._engine.begin() as conn:
            for request in requests:
                result = await self._buy_one(conn, request)
                results.append(result)
                if result.outcome == "ok" and events:
                    p = request.purchase
                    event_rows.append(
                        {
                            "product_id": p.product_id,
                            "kind": "purchase",
                            "delta": -p.quantity,
                            "stock_after": result.stock,
                            "purchase_id": p.id,
                            "user_id": p.user_id,
                            "created_at": p.purchased_at,
                        }
                    )
            if event_rows:
                await conn.execute(insert(stock_events), event_rows)
        return results

    @staticmethod
    async def _buy_one(conn: AsyncConnection, request: BuyRequest) -> BuyResult:
        p = request.purchase
        # The product row is locked first (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE
        # already serialises writers and has no such clause), so every check below sees what
        # earlier buyers of this product committed. Checked before the lock, two concurrent
        # buys by one user could both pass the per-user limit under READ COMMITTED.
        locked = await conn.execute(
            select(products.c.stock).where(products.c.id == p.product_id).with_for_update()
        )
        stock = locked.scalar_one_or_none()
        if stock is None:
            return BuyResult("insufficient", stock=0)
        if p.idempotency_key is not None:
            existing = await conn.execute(
                select(purchases).where(
                    purchases.c.product_id == p.product_id,
                    purchases.c.user_id == p.user_id,
                    purchases.c.idempotency_key == p.idempotency_key,
                )
            )
            row = existing.first()
            if row is not None:
                return BuyResult("duplicate", existing=purchase_record(row))
        if request.per_user_limit is not None:
            bought_q = await conn.execute(
                select(func.coalesce(func.sum(purchases.c.quantity), 0)).where(
                    purchases.c.product_id == p.product_id, purchases.c.user_id == p.user_id
                )
            )
            bought = int(bought_q.scalar_one())
            if bought + p.quantity > request.per_user_limit:
                return BuyResult("limit", already_bought=bought)
        # The condition is the whole oversell guard: two writers can never both pass it for the
        # last unit, because the row is updated (and locked) by the first one.
        updated = await conn.execute(
            update(products)
            .where(products.c.id == p.product_id, products.c.stock >= p.quantity)
            .values(stock=products.c.stock - p.quantity)
            .returning(products.c.stock)
        )
        row = updated.first()
        if row is None:
            # The row is locked: what the first read saw is still the stock.
            return BuyResult("insufficient", stock=int(stock))
        await conn.execute(insert(purchases).values(**purchase_values(p)))
        return BuyResult("ok", stock=int(row[0]))

    @retry_read
    async def get(self, purchase_id: str) -> PurchaseRecord | None:
        async with reader(self._engine).connect() as conn:
            row = (
                await conn.execute(select(purchases).where(purchases.c.id == purchase_id))
            ).first()
        return None if row is None else purchase_record(row)

    @retry_read
    async def get_by_idempotency_key(
        self, *, product_id: int, user_id: str, key: str
    ) -> PurchaseRecord | None:
        async with reader(self._engine).connect() as conn:
            row = (
                await conn.execute(
                    select(purchases).where(
                        purchases.c.product_id == product_id,
                        purchases.c.user_id == user_id,
                        purchases.c.idempotency_key == key,
                    )
                )
            ).first()
        return None if row is None else purchase_record(row)

    @retry_read
    async def list_page(
        self, *, user_id: str | None, product_id: int | None, limit: int, offset: int
    ) -> list[PurchaseRecord]:
        query = select(purchases)
        if user_id is not None:
            query = query.where(purchases.c.user_id == user_id)
        if product_id is not None:
            query = query.where(purchases.c.product_id == product_id)
        query = query.order_by(purchases.c.purchased_at.desc(), purchases.c.id.desc())
        async with reader(self._engine).connect() as conn:
            rows = await conn.execute(query.limit(limit).offset(offset))
            return [purchase_record(r) for r in rows]

    @retry_read
    async def existing_ids(self, purchase_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(dict.fromkeys(purchase_ids))
        async with reader(self._engine).connect() as conn:
            # Chunks keep the IN list under SQLite's bound-parameter limit.
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                rows = await conn.execute(select(purchases.c.id).where(purchases.c.id.in_(chunk)))
                found.update(str(r[0]) for r in rows)
        return found

    async def delete(self, purchase_id: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(purchases).where(purchases.c.id == purchase_id))
            return bool(result.rowcount)
