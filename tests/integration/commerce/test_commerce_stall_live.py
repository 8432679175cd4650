"""A stock store that stalls mid-purchase (SIGSTOP on a real redis-server): once it answers
again the buyer's Idempotency-Key resolves and no unit stays held, without waiting for the
reservation TTL or the reconciler (issue: in-flight keys after a stall)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from app.commerce.adapters.redis.stock import ProductKeys, RedisStockStore
from app.commerce.repository import Reservation
from tests.support.servers import RedisServer, eventually
from tests.unit.commerce.shop_helpers import ADMIN, create_product, user

pytestmark = pytest.mark.integration

# Short Redis timeouts: the stall must cost the buyer well under a second per call.
STALL_SETTINGS = {"redis_socket_timeout_s": 0.5, "redis_connect_timeout_s": 0.5}


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server this test may freeze (SIGSTOP) without touching anyone else's."""
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = RedisServer(workdir)
    server.start()
    yield server
    server.stop()


async def level(client: httpx.AsyncClient, pid: int) -> tuple[int, int, int]:
    body = (await client.get(f"/api/inventory/{pid}")).json()
    return body["stock"], body["sold"], body["reserved"]


async def rows(client: httpx.AsyncClient, pid: int) -> list[dict[str, Any]]:
    listed = await client.get(f"/api/purchases?product_id={pid}&limit=200", headers=ADMIN)
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def test_a_reserve_sent_into_a_frozen_redis_is_undone_when_it_wakes(
    shop_factory: Any, private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    reserve = RedisStockStore.reserve

    async def reserve_into_a_freeze(self: RedisStockStore, **kwargs: Any) -> Any:
        monkeypatch.setattr(RedisStockStore, "reserve", reserve)  # this call only
        private_redis.freeze()  # the script is sent; Redis runs it when it wakes
        return await reserve(self, **kwargs)

    async with shop_factory(redis_url=private_redis.url, **STALL_SETTINGS) as (_app, client):
        pid = (await create_product(client, initial_stock=5))["id"]
        assert await level(client, pid) == (5, 0, 0)  # stock loaded into Redis
        monkeypatch.setattr(RedisStockStore, "reserve", reserve_into_a_freeze)
        buyer = {**user("a"), "Idempotency-Key": "stall-reserve"}

        first = await client.post(f"/api/purchase/{pid}", json={"quantity": 2}, headers=buyer)
        assert first.status_code == 503, first.text
        assert first.json()["code"] == "STOCK_STORE_UNAVAILABLE"
        private_redis.thaw()
        woke = time.monotonic()

        async def retry() -> httpx.Response | None:
            r = await client.post(f"/api/purchase/{pid}", json={"quantity": 2}, headers=buyer)
            assert r.status_code in (201, 409, 503), r.text
            return r if r.status_code == 201 else None

        bought = await eventually(retry, what="the key to resolve after the stall")
        print(f"key resolved {time.monotonic() - woke:.2f} s after Redis woke")
        # Sold once: the late reserve took nothing for good (released, or refused as cancelled).
        assert await level(client, pid) == (3, 2, 0)
        assert [r["purchase_id"] for r in await rows(client, pid)] == [bought.json()["purchase_id"]]
        replay = await client.post(f"/api/purchase/{pid}", json={"quantity": 2}, headers=buyer)
        assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["purchase_id"] == bought.json()["purchase_id"]


async def test_a_confirm_lost_to_a_frozen_redis_undoes_the_purchase_and_frees_the_key(
    shop_factory: Any, private_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No 201 for a sale that may not hold: the row is deleted, the buyer gets 503, and the
    void follow-up gives the units back (whichever runs first when Redis wakes: the late
    confirm sitting in its buffer, or the void)."""
    confirm = RedisStockStore.confirm

    async def confirm_into_a_freeze(self: RedisStockStore, **kwargs: Any) -> Any:
        monkeypatch.setattr(RedisStockStore, "confirm", confirm)
        private_redis.freeze()  # the row is committed; the stock store hears nothing
        return await confirm(self, **kwargs)

    async with shop_factory(redis_url=private_redis.url, **STALL_SETTINGS) as (_app, client):
        pid = (await create_product(client, initial_stock=5))["id"]
        assert await level(client, pid) == (5, 0, 0)
        monkeypatch.setattr(RedisStockStore, "confirm", confirm_into_a_freeze)
        buyer = {**user("b"), "Idempotency-Key": "stall-confirm"}

        first = await client.post(f"/api/purchase/{pid}", json={"quantity": 1}, headers=buyer)
        assert first.status_code == 503, first.text
        assert first.json()["code"] == "PURCHASE_NOT_RECORDED"
        assert first.headers["retry-after"] == "1"
        assert await rows(client, pid) == []  # the row is undone before the answer
        private_redis.thaw()
        woke = time.monotonic()

        async def retry() -> httpx.Response | None:
            r = await client.post(f"/api/purchase/{pid}", json={"quantity": 1}, headers=buyer)
            assert r.status_code in (201, 409, 503), r.text
            return r if r.status_code == 201 else None

        bought = await eventually(retry, what="the key to resolve after the stall")
        print(f"key resolved {time.monotonic() - woke:.2f} s after Redis woke")
        assert bought.headers.get("idempotent-replayed") != "true"  # a new sale, not the undone one

        async def settled() -> bool:
            return await level(client, pid) == (4, 1, 0)

        await eventually(settled, what="one unit sold, none held")
        assert [r["purchase_id"] for r in await rows(client, pid)] == [bought.json()["purchase_id"]]
        replay = await client.post(f"/api/purchase/{pid}", json={"quantity": 1}, headers=buyer)
        assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
        assert replay.json()["purchase_id"] == bought.json()["purchase_id"]


def held(purchase_id: str, quantity: int, digest: str) -> Reservation:
    return Reservation(
        purchase_id=purchase_id,
        product_id=7,
        user_id="u",
        quantity=quantity,
        expires_at_ms=2**40,
        idempotency_hash=digest,
    )


async def test_a_cancel_that_overtakes_its_reserve_makes_the_reserve_take_nothing(
    redis_client: Redis,
) -> None:
    """Order is not guaranteed when a frozen Redis wakes: the cancel may run first."""
    store = RedisStockStore(redis_client)
    keys = ProductKeys(7)
    await redis_client.set(keys.stock, 5)
    await redis_client.hset(keys.meta, mapping={"limit": 0})
    now_ms = int(time.time() * 1000)

    async def reserve(r: Reservation) -> str:
        reply = await store.reserve(
            reservation=r, fingerprint="f" * 32, now_ms=now_ms, in_flight_ttl_ms=60_000
        )
        return reply.status

    async def cancel(r: Reservation) -> str:
        reply = await store.release(
            product_id=7,
            purchase_id=r.purchase_id,
            idempotency_hash=r.idempotency_hash,
            now_ms=now_ms,
            reason="release",
            cancel_until_ms=now_ms + 60_000,
        )
        return reply.status

    late = held("pur_late", 2, "ab" * 20)
    assert await cancel(late) == "CANCELLED"
    assert await reserve(late) == "CANCELLED"
    assert await redis_client.get(keys.stock) == "5"
    assert await redis_client.hgetall(keys.reservations) == {}
    assert await redis_client.get(keys.idempotency(late.idempotency_hash)) is None
    # The same after a reserve that did run (a client retry may have sent it twice).
    twice = held("pur_twice", 1, "cd" * 20)
    assert await reserve(twice) == "OK" and await redis_client.get(keys.stock) == "4"
    assert await cancel(twice) == "RELEASED"
    assert await reserve(twice) == "CANCELLED"
    assert await redis_client.get(keys.stock) == "5"
    assert await redis_client.get(keys.idempotency(twice.idempotency_hash)) is None
    # The cancelled set expires with its newest deadline.
    assert 0 < await redis_client.pttl(keys.cancelled) <= 60_000


async def test_a_void_undoes_a_confirm_in_either_order_and_a_counted_row(
    redis_client: Redis,
) -> None:
    """The row of a purchase whose confirm timed out is deleted; when Redis answers again the
    void and the late confirm may run in either order, and a rebuild may have counted the row
    before it was deleted. Each way the units come back once and no answer for it is kept."""
    store = RedisStockStore(redis_client)
    keys = ProductKeys(7)
    await redis_client.set(keys.stock, 5)
    await redis_client.hset(keys.meta, mapping={"limit": 2})
    now_ms = int(time.time() * 1000)

    async def reserve(r: Reservation) -> None:
        reply = await store.reserve(
            reservation=r, fingerprint="f" * 32, now_ms=now_ms, in_flight_ttl_ms=60_000
        )
        assert reply.status == "OK"

    async def confirm(r: Reservation) -> str:
        reply = await store.confirm(
            reservation=r,
            now_ms=now_ms,
            fingerprint="f" * 32,
            response_json=f'{{"purchase_id": "{r.purchase_id}"}}',
            idempotency_ttl_ms=60_000,
        )
        return reply.status

    async def void(r: Reservation) -> str:
        reply = await store.void(reservation=r, now_ms=now_ms, cancel_until_ms=now_ms + 60_000)
        return reply.status

    async def stock_and_bought() -> tuple[str | None, str | None]:
        return await redis_client.get(keys.stock), await redis_client.hget(keys.buyers, "u")

    # The void first: the reservation is released, the late confirm then settles nothing.
    first = held("pur_void_first", 2, "ab" * 20)
    await reserve(first)
    assert await stock_and_bought() == ("3", "2")
    assert await void(first) == "RELEASED"
    assert await confirm(first) == "CANCELLED"
    assert await stock_and_bought() == ("5", "0")
    assert await redis_client.zscore(keys.settled, first.purchase_id) is None
    assert await redis_client.get(keys.idempotency(first.idempotency_hash)) is None

    # The late confirm first: it settled and stored an answer; the void undoes both.
    late = held("pur_confirm_first", 2, "cd" * 20)
    await reserve(late)
    assert await confirm(late) == "CONFIRMED"
    assert await redis_client.get(keys.idempotency(late.idempotency_hash)) is not None
    assert await void(late) == "RELEASED"
    assert await stock_and_bought() == ("5", "0")
    assert await redis_client.zscore(keys.settled, late.purchase_id) is None
    assert await redis_client.get(keys.idempotency(late.idempotency_hash)) is None
    assert await void(late) == "CANCELLED"  # a second delivery gives nothing back twice
    assert await stock_and_bought() == ("5", "0")

    # Redis restarted empty and the rebuild counted the row (settled) before it was deleted.
    counted = held("pur_counted", 1, "")
    await redis_client.set(keys.stock, 4)
    await redis_client.hset(keys.buyers, "u", 1)
    await redis_client.zadd(keys.settled, {counted.purchase_id: now_ms})
    assert await void(counted) == "RELEASED"
    assert await stock_and_bought() == ("5", "0")

    # Nothing holds it and nothing counted it: only the refusal is recorded.
    never = held("pur_never", 1, "ef" * 20)
    assert await void(never) == "CANCELLED"
    assert await stock_and_bought() == ("5", "0")
    assert await redis_client.zscore(keys.cancelled, never.purchase_id) is not None
