"""Redis restarted empty in the middle of a sale (two workers, real uvicorn): the stock is
rebuilt from SQL, no unit is sold twice, and afterwards SQL and the stock agree."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.commerce.live_shop import (
    create_live_product,
    live_env,
    seed_users,
    sql_sales,
)
from tests.support.servers import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STOCK = 400
CLIENTS = 40


async def test_redis_restarted_empty_mid_sale_keeps_the_invariant(
    live_server_factory: Any, tmp_path: Path
) -> None:
    # A Redis of our own: restarting it must not disturb other tests.
    redis = RedisServer(tmp_path / "redis-restart")
    (tmp_path / "redis-restart").mkdir()
    redis.start()
    try:
        db = tmp_path / "restart.db"
        server = live_server_factory(
            workers=2,
            **live_env(
                db,
                REDIS_URL=redis.url,
                RESERVATION_TTL_S="5",
                RECONCILE_INTERVAL_S="1",
                REDIS_SOCKET_TIMEOUT_S="1",
            ),
        )
        admin = (await seed_users(db, 1, role="admin"))[0]
        buyers = await seed_users(db, CLIENTS)
        limits = httpx.Limits(max_connections=CLIENTS + 10)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as client:
            pid = await create_live_product(client, admin, initial_stock=STOCK)
            receipts: list[dict[str, Any]] = []
            statuses: dict[int, int] = {}
            restarted = asyncio.Event()

            async def buyer(headers: dict[str, str]) -> None:
                # Buy until sold out; a 503 during the restart is an honest "retry later".
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    r = await client.post(
                        f"/api/purchase/{pid}", json={"quantity": 1}, headers=headers
                    )
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                    if r.status_code == 201:
                        receipts.append(r.json())
                        continue
                    assert r.status_code in (400, 503), r.text
                    body = r.json()
                    if r.status_code == 503:
                        assert body["code"] in ("STOCK_STORE_UNAVAILABLE", "PURCHASE_NOT_RECORDED")
                        await asyncio.sleep(0.05)
                        continue
                    assert body["code"] == "INSUFFICIENT_STOCK"
                    if restarted.is_set():
                        return
                    await asyncio.sleep(0.05)

            async def chaos() -> None:
                while len(receipts) < STOCK // 3:
                    await asyncio.sleep(0.005)
                await asyncio.to_thread(redis.restart_empty)
                restarted.set()

            # A task group: one failing buyer cancels the others (no client left running).
            async with asyncio.TaskGroup() as group:
                group.create_task(chaos())
                for h in buyers:
                    group.create_task(buyer(h))
            assert restarted.is_set()
            assert statuses.get(500, 0) == 0

            # Quiet now: let reservations settle, then the invariant must hold exactly.
            sales = await sql_sales(db, pid)
            ids = [r["purchase_id"] for r in receipts]
            assert len(ids) == len(set(ids))
            assert set(ids) == sales.ids  # every 201 is durable, and nothing else was sold
            assert sales.units == len(receipts) <= STOCK

            level: dict[str, Any] = {}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                await client.post("/api/inventory/reconcile", headers=admin)
                level = (await client.get(f"/api/inventory/{pid}")).json()
                if level["reserved"] == 0 and level["stock"] == STOCK - sales.units:
                    break
                await asyncio.sleep(0.2)
            assert level["reserved"] == 0
            assert level["stock"] == STOCK - sales.units
            report = (await client.post("/api/inventory/reconcile", headers=admin)).json()
            assert report["products"][0]["drift"] == 0
            assert report["products"][0]["expected"] == STOCK - sales.units
    finally:
        redis.stop()
