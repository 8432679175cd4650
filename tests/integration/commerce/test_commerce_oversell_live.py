"""Zero oversell with real concurrency: two uvicorn workers, real Redis, real SQLite,
500+ buyers at once against 100 units."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import SharedRedis
from tests.integration.commerce.live_shop import (
    create_live_product,
    live_env,
    seed_users,
    sql_sales,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BUYERS = 520
STOCK = 100


async def _sale(
    url: str, headers: list[dict[str, str]], admin: dict[str, str], **product: Any
) -> tuple[int, list[httpx.Response]]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as setup:
        pid = await create_live_product(setup, admin, initial_stock=STOCK, **product)
    limits = httpx.Limits(max_connections=BUYERS + 20, max_keepalive_connections=BUYERS + 20)
    # Retries cover only failed connection attempts (no request was sent), never a purchase.
    transport = httpx.AsyncHTTPTransport(retries=3, limits=limits)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=60) as client:
        start = asyncio.Event()

        async def buy(h: dict[str, str]) -> httpx.Response:
            await start.wait()
            return await client.post(f"/api/purchase/{pid}", json={"quantity": 1}, headers=h)

        tasks = [asyncio.create_task(buy(h)) for h in headers]
        await asyncio.sleep(0)  # every buyer is waiting on the same starting gun
        start.set()
        return pid, await asyncio.gather(*tasks)


def _check_answers(responses: list[httpx.Response]) -> list[dict[str, Any]]:
    receipts = []
    for r in responses:
        if r.status_code == 201:
            receipts.append(r.json())
            continue
        assert r.status_code in (400, 409), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] in ("INSUFFICIENT_STOCK", "PURCHASE_LIMIT_REACHED")
    return receipts


async def test_two_workers_500_buyers_sell_exactly_the_stock_with_lua(
    live_server_factory: Any, shared_redis: SharedRedis, tmp_path: Path
) -> None:
    """On one Redis server and on a 3-master Redis Cluster."""
    db = tmp_path / "oversell.db"
    server = live_server_factory(
        workers=2,
        **live_env(db, REDIS_URL=shared_redis.url, RECONCILE_INTERVAL_S="0"),
    )
    admin = (await seed_users(db, 1, role="admin"))[0]
    buyers = await seed_users(db, BUYERS)
    pid, responses = await _sale(server.url, buyers, admin, per_user_limit=1)
    receipts = _check_answers(responses)
    assert len(receipts) == STOCK
    assert Counter(r.status_code for r in responses)[400] == BUYERS - STOCK
    assert len({r["purchase_id"] for r in receipts}) == STOCK
    # Every unit was seen leaving once: the remaining counts are 99 … 0, each exactly once.
    assert sorted(r["remaining_stock"] for r in receipts) == list(range(STOCK))
    sales = await sql_sales(db, pid)
    assert sales.units == STOCK
    assert sales.ids == {r["purchase_id"] for r in receipts}
    async with httpx.AsyncClient(base_url=server.url) as client:
        level = (await client.get(f"/api/inventory/{pid}")).json()
        assert (level["stock"], level["sold"], level["reserved"]) == (0, STOCK, 0)
        report = (await client.post("/api/inventory/reconcile", headers=admin)).json()
        assert report["drifted"] == 0


async def test_two_workers_500_buyers_sell_exactly_the_stock_with_sql_stock(
    live_server_factory: Any, tmp_path: Path
) -> None:
    db = tmp_path / "oversell-sql.db"
    server = live_server_factory(workers=2, **live_env(db, RECONCILE_INTERVAL_S="0"))
    admin = (await seed_users(db, 1, role="admin"))[0]
    buyers = await seed_users(db, BUYERS)
    pid, responses = await _sale(server.url, buyers, admin)
    receipts = _check_answers(responses)
    assert len(receipts) == STOCK
    sales = await sql_sales(db, pid)
    assert sales.units == STOCK
    assert sales.ids == {r["purchase_id"] for r in receipts}
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get(f"/api/inventory/{pid}")).json()["stock"] == 0
