"""The Redis stock scripts against a real Redis: every status, and the rebuild formula."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis

from app.commerce.adapters.redis.stock import ProductKeys, RedisStockStore
from app.commerce.repository import ProductRecord, Reservation, StockLedger

pytestmark = pytest.mark.integration


# Sync on purpose: it pulls async fixtures with getfixturevalue (as tests/conftest.py). Every
# script runs on one server and on a 3-master cluster (the keys of a product share `{p:<id>}`).
@pytest.fixture(params=("redis", "redis-cluster"))
def redis_client(request: pytest.FixtureRequest) -> Any:
    """The app-built client to one server, then to a cluster (overrides the commerce one)."""
    if request.param == "redis-cluster":
        return request.getfixturevalue("app_redis_cluster_client")
    return request.getfixturevalue("app_redis_client")


NOW_MS = 1_800_000_000_000


def product(
    pid: int = 1, *, initial: int = 10, restocked: int = 0, limit: int | None = None, **kw: datetime
) -> ProductRecord:
    return ProductRecord(
        id=pid,
        name="p",
        price=Decimal("1.00"),
        initial_stock=initial,
        restocked=restocked,
        stock=initial,
        per_user_limit=limit,
        starts_at=kw.get("starts_at"),
        ends_at=kw.get("ends_at"),
        created_at=datetime.now(UTC),
    )


def ledger(
    p: ProductRecord,
    *,
    sold: int = 0,
    recent: list[str] | None = None,
    by_user: dict[str, int] | None = None,
    restock_ids: list[int] | None = None,
) -> StockLedger:
    return StockLedger(
        product=p,
        sold=sold,
        restock_ids=restock_ids or [],
        sold_by_user=by_user or {},
        recent_purchase_ids=recent or [],
    )


def resv(
    pid: str,
    *,
    user: str = "u1",
    qty: int = 1,
    product_id: int = 1,
    idem: str = "",
    expires: int = NOW_MS + 30_000,
) -> Reservation:
    return Reservation(pid, product_id, user, qty, expires, idem)


async def load(store: RedisStockStore, p: ProductRecord, **kw: object) -> None:
    reply = await store.rehydrate(ledger(p, **kw), now_ms=NOW_MS)  # type: ignore[arg-type]
    assert reply.status == "OK", reply


async def reserve(
    store: RedisStockStore, r: Reservation, fp: str = "f1", now: int = NOW_MS
) -> tuple[str, tuple[str, ...]]:
    reply = await store.reserve(reservation=r, fingerprint=fp, now_ms=now, in_flight_ttl_ms=30_000)
    return reply.status, reply.values


async def confirm(store: RedisStockStore, r: Reservation, response: str = "{}") -> str:
    reply = await store.confirm(
        reservation=r,
        now_ms=NOW_MS,
        fingerprint="f1",
        response_json=response,
        idempotency_ttl_ms=60_000,
    )
    return reply.status


async def test_missing_until_loaded_then_reserve_decrements(redis_client: Redis) -> None:
    store = RedisStockStore(redis_client)
    assert (await reserve(store, resv("a")))[0] == "MISSING"
    await load(store, product(initial=3))
    assert await reserve(store, resv("a", qty=2)) == ("OK", ("1",))
    # The same purchase id again (a retried call) does not take stock twice.
    assert await reserve(store, resv("a", qty=2)) == ("OK", ("1",))
    assert await reserve(store, resv("b", qty=2)) == ("INSUFFICIENT", ("1",))
    levels = await store.levels([1, 2])
    assert levels[2] is None
    level = levels[1]
    assert level is not None and (level.stock, level.initial, level.reserved) == (1, 3, 1)
    events = await store.events(product_id=1, limit=10)
    assert [(e.kind, e.delta, e.stock_after) for e in events] == [
        ("purchase", -2, 1),
        ("rehydrate", 0, 3),
    ]
    older = await store.events(product_id=1, limit=10, before=events[0].id)
    assert [e.kind for e in older] == ["rehydrate"]
    assert await store.events(product_id=1, limit=10, before="garbage") == []


async def test_sale_window_and_per_user_limit(redis_client: Redis) -> None:
    store = RedisStockStore(redis_client)
    start = datetime.fromtimestamp(NOW_MS / 1000, tz=UTC)
    await load(
        store, product(initial=10, limit=2, starts_at=start, ends_at=start + timedelta(hours=1))
    )
    assert (await reserve(store, resv("a"), now=NOW_MS - 1))[0] == "NOT_ACTIVE"
    assert (await reserve(store, resv("a"), now=NOW_MS + 3_600_000))[0] == "NOT_ACTIVE"
    assert (await reserve(store, resv("a", qty=2)))[0] == "OK"
    assert await reserve(store, resv("b")) == ("LIMIT", ("2", "2"))
    assert (await reserve(store, resv("c", user="u2", qty=2)))[0] == "OK"
    # Giving units back gives the allowance back too.
    released = await store.release(
        product_id=1, purchase_id="a", idempotency_hash="", now_ms=NOW_MS, reason="release"
    )
    assert released.status == "RELEASED" and released.values == ("8",)
    assert (await reserve(store, resv("d")))[0] == "OK"


async def test_idempotency_in_flight_replay_mismatch_and_release(redis_client: Redis) -> None:
    store = RedisStockStore(redis_client)
    await load(store, product(initial=5))
    first = resv("a", idem="abc123")
    assert (await reserve(store, first))[0] == "OK"
    assert (await reserve(store, resv("b", idem="abc123")))[0] == "IDEM_IN_FLIGHT"
    assert (await reserve(store, resv("b", idem="abc123"), fp="f2"))[0] == "IDEM_MISMATCH"
    assert await confirm(store, first, response='{"purchase_id":"a"}') == "CONFIRMED"
    assert await reserve(store, resv("b", idem="abc123")) == ("REPLAY", ('{"purchase_id":"a"}',))
    assert (await reserve(store, resv("b", idem="abc123"), fp="f2"))[0] == "IDEM_MISMATCH"
    # A released purchase frees its key, so the buyer can retry with it.
    second = resv("c", idem="def456")
    assert (await reserve(store, second))[0] == "OK"
    rel = await store.release(
        product_id=1, purchase_id="c", idempotency_hash="def456", now_ms=NOW_MS, reason="release"
    )
    assert rel.status == "RELEASED"
    again = await store.release(
        product_id=1, purchase_id="c", idempotency_hash="def456", now_ms=NOW_MS, reason="release"
    )
    assert again.status == "GONE"
    assert (await reserve(store, resv("d", idem="def456")))[0] == "OK"
    level = (await store.levels([1]))[1]
    assert level is not None and level.stock == 3


async def test_confirm_after_lost_reservation_retakes_or_reports_oversold(
    redis_client: Redis,
) -> None:
    store = RedisStockStore(redis_client)
    await load(store, product(initial=2))
    r = resv("a")
    assert (await reserve(store, r))[0] == "OK"
    assert await confirm(store, r) == "CONFIRMED"
    assert await confirm(store, r) == "COUNTED"  # a retried confirm is harmless
    # A reservation the store never saw (lost with a Redis restart): its units are taken again.
    ghost = resv("ghost")
    assert await confirm(store, ghost) == "RETAKEN"
    assert (await store.levels([1]))[1].stock == 0  # type: ignore[union-attr]
    assert await confirm(store, ghost) == "COUNTED"
    assert await confirm(store, resv("ghost2")) == "OVERSOLD"
    await redis_client.delete(ProductKeys(1).stock)
    assert await confirm(store, resv("ghost3")) == "MISSING"


async def test_rehydrate_counts_sql_and_live_reservations_once(redis_client: Redis) -> None:
    store = RedisStockStore(redis_client)
    p = product(initial=10, restocked=5, limit=3)
    await load(store, p)
    for pid, user in (("a", "u1"), ("b", "u2"), ("c", "u1")):
        assert (await reserve(store, resv(pid, user=user)))[0] == "OK"
    # Only the stock key is lost; SQL has committed a and b, c is still in flight.
    await redis_client.delete(ProductKeys(1).stock)
    reply = await store.rehydrate(
        ledger(p, sold=2, recent=["a", "b"], by_user={"u1": 1, "u2": 1}, restock_ids=[7]),
        now_ms=NOW_MS,
    )
    assert reply.status == "OK"
    assert reply.values[:2] == ("12", "1")  # 10 + 5 - 2 sold - 1 live (c)
    assert await confirm(store, resv("a")) == "CONFIRMED"
    assert await confirm(store, resv("b")) == "CONFIRMED"
    assert (await store.levels([1]))[1].stock == 12  # type: ignore[union-attr]
    # u1 holds a (sold) and c (live): 2 of 3.
    assert (await reserve(store, resv("d", user="u1", qty=2)))[0] == "LIMIT"
    # The restock the ledger counted is not added twice; an unseen one is.
    assert (
        await store.restock(product_id=1, restock_id=7, quantity=5, now_ms=NOW_MS)
    ).status == "DUPLICATE"
    added = await store.restock(product_id=1, restock_id=8, quantity=5, now_ms=NOW_MS)
    assert added.status == "OK" and added.values == ("17",)
    assert (
        await store.restock(product_id=1, restock_id=8, quantity=5, now_ms=NOW_MS)
    ).status == "DUPLICATE"
    # Present stock is never overwritten.
    assert (await store.rehydrate(ledger(p), now_ms=NOW_MS)).status == "EXISTS"
    assert (await store.levels([1]))[1].stock == 17  # type: ignore[union-attr]


async def test_rebuild_after_total_loss_marks_recent_rows_settled(redis_client: Redis) -> None:
    store = RedisStockStore(redis_client)
    p = product(initial=4)
    await load(store, p)
    r = resv("a")
    assert (await reserve(store, r))[0] == "OK"
    await redis_client.flushall()
    # SQL already has row a: the rebuild counts it, and its late confirm must not take again.
    reply = await store.rehydrate(ledger(p, sold=1, recent=["a"]), now_ms=NOW_MS)
    assert reply.values[:2] == ("3", "0")
    assert await confirm(store, r) == "COUNTED"
    assert (await store.levels([1]))[1].stock == 3  # type: ignore[union-attr]


async def test_repair_only_applies_to_an_unchanged_snapshot(redis_client: Redis) -> None:
    store = RedisStockStore(redis_client)
    await load(store, product(initial=10))
    snap = await store.snapshot(1)
    assert snap.stock == 10 and snap.reservations == []
    assert (await reserve(store, resv("a", qty=2, user="x|y")))[0] == "OK"
    busy = await store.repair(product_id=1, version=snap.version, stock=5, now_ms=NOW_MS)
    assert busy.status == "BUSY"
    snap = await store.snapshot(1)
    assert snap.stock == 8
    assert [(r.purchase_id, r.user_id, r.quantity) for r in snap.reservations] == [("a", "x|y", 2)]
    fixed = await store.repair(product_id=1, version=snap.version, stock=5, now_ms=NOW_MS)
    assert fixed.status == "REPAIRED" and fixed.values == ("8",)
    assert (await store.levels([1]))[1].stock == 5  # type: ignore[union-attr]
    events = await store.events(product_id=1, limit=1)
    assert (events[0].kind, events[0].delta) == ("reconcile", -3)


async def test_lock_strategy_primitives(redis_client: Redis) -> None:
    store = RedisStockStore(redis_client)
    assert await store.peek(product_id=1, user_id="u1") == (None, 0, 0)
    await load(store, product(initial=2, limit=5))
    assert await store.peek(product_id=1, user_id="u1") == (2, 0, 5)
    taken = await store.take(reservation=resv("a", qty=2), now_ms=NOW_MS, fencing_token=3)
    assert taken.status == "OK" and taken.values == ("0",)
    assert await store.peek(product_id=1, user_id="u1") == (0, 2, 5)
    # Even a holder whose lock expired cannot push the stock below zero.
    refused = await store.take(reservation=resv("b"), now_ms=NOW_MS, fencing_token=4)
    assert refused.status == "INSUFFICIENT"
    assert await confirm(store, resv("a", qty=2)) == "CONFIRMED"
