"""One contract for the SQL repositories of commerce, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.commerce.adapters.sql.events import SqlStockEventLog
from app.commerce.adapters.sql.products import SqlProductRepository
from app.commerce.adapters.sql.purchases import SqlPurchaseRepository
from app.commerce.repository import (
    BuyRequest,
    DuplicatePurchase,
    NewProduct,
    PurchaseRecord,
    StockEvent,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


def new_product(**overrides: object) -> NewProduct:
    values: dict[str, object] = {
        "name": "한정판",
        "price": Decimal("19.99"),
        "initial_stock": 10,
        "per_user_limit": None,
        "starts_at": None,
        "ends_at": None,
        "created_at": NOW,
    }
    values.update(overrides)
    return NewProduct(**values)  # type: ignore[arg-type]


def purchase(
    pid: str,
    product_id: int,
    user: str = "u1",
    qty: int = 1,
    key: str | None = None,
    at: datetime = NOW,
) -> PurchaseRecord:
    return PurchaseRecord(
        id=pid,
        product_id=product_id,
        user_id=user,
        quantity=qty,
        unit_price=Decimal("19.99"),
        total_price=Decimal("19.99") * qty,
        idempotency_key=key,
        purchased_at=at,
    )


async def test_products_round_trip_with_exact_money_and_utc_times(sql_engine: AsyncEngine) -> None:
    repo = SqlProductRepository(sql_engine)
    created = await repo.create(
        new_product(
            price=Decimal("12345678.90"),
            per_user_limit=2,
            starts_at=NOW,
            ends_at=NOW + timedelta(hours=1),
        )
    )
    assert created.id >= 1
    assert created.stock == created.initial_stock == 10
    got = await repo.get(created.id)
    assert got == created
    assert got is not None and got.price == Decimal("12345678.90")
    assert got.starts_at == NOW and got.starts_at.tzinfo is not None
    assert await repo.get(created.id + 100) is None
    other = await repo.create(new_product(name="b"))
    assert [p.id for p in await repo.list_page(limit=10, offset=0)] == [created.id, other.id]
    assert [p.id for p in await repo.list_page(limit=10, offset=1)] == [other.id]
    assert set(await repo.get_many([other.id, 999, created.id])) == {created.id, other.id}
    assert await repo.all_ids() == [created.id, other.id]


async def test_restock_and_ledger(sql_engine: AsyncEngine) -> None:
    products = SqlProductRepository(sql_engine)
    purchases = SqlPurchaseRepository(sql_engine)
    p = await products.create(new_product(initial_stock=5, per_user_limit=3))
    assert (
        await products.add_restock(product_id=999, quantity=1, created_by="a", created_at=NOW)
        is None
    )
    r1 = await products.add_restock(product_id=p.id, quantity=4, created_by="a", created_at=NOW)
    assert r1 is not None and r1[1].restocked == 4 and r1[1].stock == 9
    await purchases.insert_many(
        [
            purchase("old", p.id, "u1", 2, at=NOW - timedelta(hours=1)),
            purchase("new", p.id, "u2", 1, at=NOW),
            purchase("new2", p.id, "u1", 1, at=NOW),
        ]
    )
    ledger = await products.ledger(p.id, recent_since=NOW - timedelta(minutes=1), per_user=True)
    assert ledger is not None
    assert ledger.sold == 4
    assert ledger.available == 5 + 4 - 4
    assert ledger.restock_ids == [r1[0]]
    assert ledger.sold_by_user == {"u1": 3, "u2": 1}
    assert sorted(ledger.recent_purchase_ids) == ["new", "new2"]
    assert await products.ledger(999, recent_since=NOW, per_user=False) is None


async def test_insert_many_is_all_or_nothing_and_keys_are_unique(sql_engine: AsyncEngine) -> None:
    products = SqlProductRepository(sql_engine)
    purchases = SqlPurchaseRepository(sql_engine)
    p = await products.create(new_product())
    await purchases.insert_many([purchase("a", p.id, key="k1")])
    with pytest.raises(DuplicatePurchase):
        await purchases.insert_many([purchase("b", p.id), purchase("c", p.id, key="k1")])
    assert await purchases.existing_ids(["a", "b", "c", "zz"]) == {"a"}
    # NULL keys never collide; the same key by another user or for another product is fine.
    q = await products.create(new_product(name="q"))
    await purchases.insert_many(
        [
            purchase("d", p.id),
            purchase("e", p.id),
            purchase("f", p.id, user="u2", key="k1"),
            purchase("g", q.id, key="k1"),
        ]
    )
    found = await purchases.get_by_idempotency_key(product_id=p.id, user_id="u1", key="k1")
    assert found is not None and found.id == "a" and found.total_price == Decimal("19.99")
    assert await purchases.get_by_idempotency_key(product_id=p.id, user_id="u9", key="k1") is None
    assert {
        r.id for r in await purchases.list_page(user_id="u1", product_id=None, limit=50, offset=0)
    } == {"a", "d", "e", "g"}
    assert {
        r.id for r in await purchases.list_page(user_id=None, product_id=q.id, limit=50, offset=0)
    } == {"g"}
    assert await purchases.delete("a") is True
    assert await purchases.delete("a") is False
    assert await purchases.get("a") is None


async def test_existing_ids_handles_more_ids_than_one_statement_may_bind(
    sql_engine: AsyncEngine,
) -> None:
    products = SqlProductRepository(sql_engine)
    purchases = SqlPurchaseRepository(sql_engine)
    p = await products.create(new_product(initial_stock=0))
    await purchases.insert_many([purchase(f"p{i}", p.id) for i in range(1200)])
    asked = [f"p{i}" for i in range(0, 2400, 2)]
    assert await purchases.existing_ids(asked) == {f"p{i}" for i in range(0, 1200, 2)}


async def test_sql_stock_purchases_never_oversell_under_concurrency(
    sql_engine: AsyncEngine,
) -> None:
    products = SqlProductRepository(sql_engine)
    purchases = SqlPurchaseRepository(sql_engine)
    p = await products.create(new_product(initial_stock=25, per_user_limit=2))

    async def buy(i: int) -> list[str]:
        request = BuyRequest(purchase(f"s{i}", p.id, user=f"u{i % 20}"), per_user_limit=2)
        return [r.outcome for r in await purchases.buy_many([request])]

    # Many small transactions at once: the conditional UPDATE is what keeps them honest.
    outcomes = [o for batch in await asyncio.gather(*(buy(i) for i in range(60))) for o in batch]
    assert outcomes.count("ok") == 25
    assert set(outcomes) <= {"ok", "insufficient", "limit"}
    got = await products.get(p.id)
    assert got is not None and got.stock == 0
    ledger = await products.ledger(p.id, recent_since=NOW, per_user=True)
    assert ledger is not None and ledger.sold == 25
    assert max(ledger.sold_by_user.values()) <= 2


async def test_sql_stock_one_user_racing_with_itself_stays_within_its_limit(
    sql_engine: AsyncEngine,
) -> None:
    """Thirty concurrent transactions of one buyer, limit 1, stock to spare: exactly one wins.
    (Read before the product row was locked, the limit let several through on PostgreSQL.)"""
    products = SqlProductRepository(sql_engine)
    purchases = SqlPurchaseRepository(sql_engine)
    p = await products.create(new_product(initial_stock=100, per_user_limit=1))

    async def buy(i: int) -> str:
        request = BuyRequest(purchase(f"r{i}", p.id, user="racer"), per_user_limit=1)
        return (await purchases.buy_many([request]))[0].outcome

    outcomes = await asyncio.gather(*(buy(i) for i in range(30)))
    assert sorted(set(outcomes)) == ["limit", "ok"]
    assert outcomes.count("ok") == 1
    got = await products.get(p.id)
    assert got is not None and got.stock == 99


async def test_sql_stock_batch_reports_each_outcome(sql_engine: AsyncEngine) -> None:
    products = SqlProductRepository(sql_engine)
    purchases = SqlPurchaseRepository(sql_engine)
    p = await products.create(new_product(initial_stock=3, per_user_limit=2))
    results = await purchases.buy_many(
        [
            BuyRequest(purchase("a", p.id, "u1", 2, key="k"), per_user_limit=2),
            BuyRequest(purchase("b", p.id, "u1", 1), per_user_limit=2),
            BuyRequest(purchase("c", p.id, "u2", 2), per_user_limit=2),
            BuyRequest(purchase("d", p.id, "u1", 2, key="k"), per_user_limit=2),
            BuyRequest(purchase("e", p.id, "u3", 1), per_user_limit=2),
        ]
    )
    assert [(r.outcome, r.stock) for r in results] == [
        ("ok", 1),
        ("limit", 0),
        ("insufficient", 1),
        ("duplicate", 0),
        ("ok", 0),
    ]
    assert results[1].already_bought == 2
    assert results[3].existing is not None and results[3].existing.id == "a"
    events = await SqlStockEventLog(sql_engine).recent(product_id=p.id, limit=10)
    assert [(e.kind, e.delta, e.stock_after, e.purchase_id) for e in events] == [
        ("purchase", -1, 0, "e"),
        ("purchase", -2, 1, "a"),
    ]


async def test_reconcile_sql_stock_repairs_the_column(sql_engine: AsyncEngine) -> None:
    products = SqlProductRepository(sql_engine)
    purchases = SqlPurchaseRepository(sql_engine)
    p = await products.create(new_product(initial_stock=10))
    await products.add_restock(product_id=p.id, quantity=5, created_by=None, created_at=NOW)
    # A row written without the stock decrement (as the Redis strategies do): SQL is behind.
    await purchases.insert_many([purchase("x", p.id, qty=4)])
    assert await products.recount_stock(p.id) == (11, 15)
    got = await products.get(p.id)
    assert got is not None and got.stock == 11
    assert await products.recount_stock(p.id) == (11, 11)
    assert await products.recount_stock(999) is None


async def test_event_log_pages_backwards(sql_engine: AsyncEngine) -> None:
    log = SqlStockEventLog(sql_engine)
    await log.append(
        [
            StockEvent("", pid, "restock", i, i, None, None, NOW + timedelta(seconds=i))
            for i, pid in enumerate([1, 2, 1, 1, 2], start=1)
        ]
    )
    first = await log.recent(product_id=1, limit=2)
    assert [e.delta for e in first] == [4, 3]
    more = await log.recent(product_id=1, limit=2, before=first[-1].id)
    assert [e.delta for e in more] == [1]
    assert [e.delta for e in await log.recent(product_id=None, limit=10)] == [5, 4, 3, 2, 1]
    assert await log.recent(product_id=None, limit=10, before="not-a-number") == []
    assert first[0].created_at == NOW + timedelta(seconds=4)
