"""Products and their restock ledger in the `products` / `restocks` tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from app.commerce.repository import NewProduct, ProductRecord, StockLedger
from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.retry import retry_read
from app.platform.storage.sql.tables import products, purchases, restocks
from app.platform.storage.sql.values import aware, maybe_aware


def money(value: Any) -> Decimal:
    """Money as a Decimal with exactly two places, whatever the driver returned."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def product_record(row: Row[Any]) -> ProductRecord:
    """Map a `products` row."""
    created_at = aware(row.created_at)
    return ProductRecord(
        id=int(row.id),
        name=row.name,
        price=money(row.price),
        initial_stock=int(row.initial_stock),
        restocked=int(row.restocked),
        stock=int(row.stock),
        per_user_limit=row.per_user_limit,
        starts_at=maybe_aware(row.starts_at),
        ends_at=maybe_aware(row.ends_at),
        created_at=created_at,
    )


class SqlProductRepository:
    """Products live only in SQL; their Redis copy (stock, limits, window) is derived from here."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, product: NewProduct) -> ProductRecord:
        values = {
            "name": product.name,
            "price": product.price,
            "initial_stock": product.initial_stock,
            "restocked": 0,
            "stock": product.initial_stock,
            "per_user_limit": product.per_user_limit,
            "starts_at": product.starts_at,
            "ends_at": product.ends_at,
            "created_at": product.created_at,
        }
        async with self._engine.begin() as conn:
            result = await conn.execute(insert(products).values(**values).returning(*products.c))
            return product_record(result.one())

    @retry_read
    async def get(self, product_id: int) -> ProductRecord | None:
        async with reader(self._engine).connect() as conn:
            row = (await conn.execute(select(products).where(products.c.id == product_id))).first()
        return None if row is None else product_record(row)

    @retry_read
    async def get_many(self, product_ids: Sequence[int]) -> dict[int, ProductRecord]:
        if not product_ids:
            return {}
        async with reader(self._engine).connect() as conn:
            rows = await conn.execute(select(products).where(products.c.id.in_(set(product_ids))))
            return {int(r.id): product_record(r) for r in rows}

    @retry_read
    async def list_page(self, *, limit: int, offset: int) -> list[ProductRecord]:
        async with reader(self._engine).connect() as conn:
            rows = await conn.execute(
                select(products).order_by(products.c.id).limit(limit).offset(offset)
            )
            return [product_record(r) for r in rows]

    @retry_read
    async def all_ids(self) -> list[int]:
        async with reader(self._engine).connect() as conn:
            rows = await conn.execute(select(products.c.id).order_by(products.c.id))
            return [int(r[0]) for r in rows]

    async def add_restock(
        self, *, product_id: int, quantity: int, created_by: str | None, created_at: datetime
    ) -> tuple[int, ProductRecord] | None:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(products)
                .where(products.c.id == product_id)
                .values(
                    restocked=products.c.restocked + quantity,
                    stock=products.c.stock + quantity,
                )
                .returning(*products.c)
            )
            row = result.first()
            if row is None:
                return None
            restock = await conn.execute(
                insert(restocks)
                .values(
                    product_id=product_id,
                    quantity=quantity,
                    created_by=created_by,
                    created_at=created_at,
                )
                .returning(restocks.c.id)
            )
            return int(restock.scalar_one()), product_record(row)

    async def ledger(
        self, product_id: int, *, recent_since: datetime, per_user: bool
    ) -> StockLedger | None:
        # One transaction, but not one snapshot: the statements are ordered so that a row
        # committed while they run can only make the stock come out low, never high.
        async with self._engine.begin() as conn:
            row = (await conn.execute(select(products).where(products.c.id == product_id))).first()
            if row is None:
                return None
            product = product_record(row)
            restock_rows = await conn.execute(
                select(restocks.c.id, restocks.c.quantity).where(
                    restocks.c.product_id == product_id
                )
            )
            restock_list = list(restock_rows)
            # The ids a rebuild counts as settled are read before the sums: under PostgreSQL
            # READ COMMITTED each statement sees the rows committed before it ran (SQLite holds
            # the write lock here, so nothing commits in between). A row committing between
            # the two is then sold but not settled, so its confirm takes its units again
            # (stock low, raised by the reconciler), instead of settled but not sold (stock
            # high: its units sold twice).
            recent = await conn.execute(
                select(purchases.c.id).where(
                    purchases.c.product_id == product_id,
                    purchases.c.purchased_at >= recent_since,
                )
            )
            recent_ids = [str(r[0]) for r in recent]
            sold = await conn.execute(
                select(func.coalesce(func.sum(purchases.c.quantity), 0)).where(
                    purchases.c.product_id == product_id
                )
            )
            sold_total = int(sold.scalar_one())
            by_user: dict[str, int] = {}
            if per_user:
                rows = await conn.execute(
                    select(purchases.c.user_id, func.sum(purchases.c.quantity))
                    .where(purchases.c.product_id == product_id)
                    .group_by(purchases.c.user_id)
                )
                by_user = {str(r[0]): int(r[1]) for r in rows}
        # The ledger of restocks is the truth; `restocked` is a cached sum of it.
        restocked = sum(int(r.quantity) for r in restock_list)
        if restocked != product.restocked:
            product = replace(product, restocked=restocked)
        return StockLedger(
            product=product,
            sold=sold_total,
            restock_ids=[int(r.id) for r in restock_list],
            sold_by_user=by_user,
            recent_purchase_ids=recent_ids,
        )

    async def recount_stock(self, product_id: int) -> tuple[int, int] | None:
        async with self._engine.begin() as conn:
            # FOR UPDATE holds the row on PostgreSQL, so no purchase moves the stock between the
            # sums and the write; SQLite's BEGIN IMMEDIATE already excludes other writers.
            row = (
                await conn.execute(
                    select(products).where(products.c.id == product_id).with_for_update()
                )
            ).first()
            if row is None:
                return None
            restocked = await conn.execute(
                select(func.coalesce(func.sum(restocks.c.quantity), 0)).where(
                    restocks.c.product_id == product_id
                )
            )
            sold = await conn.execute(
                select(func.coalesce(func.sum(purchases.c.quantity), 0)).where(
                    purchases.c.product_id == product_id
                )
            )
            expected = int(row.initial_stock) + int(restocked.scalar_one()) - int(sold.scalar_one())
            old = int(row.stock)
            if expected != old:
                await conn.execute(
                    update(products)
                    .where(products.c.id == product_id)
                    .values(stock=max(expected, 0))
                )
            return expected, old
