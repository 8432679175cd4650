"""The flash-sale and health seeds' paths (app/compat.py) over real HTTP: same handlers, same
limits, absent from the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.integration.commerce.live_shop import (
    create_live_product,
    live_env,
    seed_users,
    sql_sales,
)
from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

Factory = Callable[..., LiveServer]
PASSWORD = "seed-Passw0rd-long"


async def test_seed_aliases(live_server_factory: Factory, tmp_path: Path) -> None:
    db = tmp_path / "alias.db"
    server = live_server_factory(
        **live_env(db, RATE_LIMIT_ENABLED="true", RATE_LIMIT_PURCHASE="2/minute")
    )
    admin = (await seed_users(db, 1, role="admin"))[0]
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        r = await client.post("/register", json={"username": "seeduser", "password": PASSWORD})
        assert r.status_code == 201, r.text
        assert r.json()["username"] == "seeduser"
        r = await client.post("/login", json={"username": "seeduser", "password": PASSWORD})
        assert r.status_code == 200, r.text
        buyer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await client.post("/login", json={"username": "seeduser", "password": "wrong-one-x"})
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")

        pid = await create_live_product(client, admin, initial_stock=5)
        r = await client.post(f"/purchase/{pid}", headers=buyer)  # no body: one unit
        assert r.status_code == 200, r.text
        assert r.json()["quantity"] == 1 and r.json()["remaining_stock"] == 4
        # The seeds' per-window headers beside the standard ones (the purchase limit is tightest).
        assert r.headers["x-ratelimit-limit-minute"] == "2"
        assert r.headers["x-ratelimit-remaining-minute"] == "1"
        assert r.headers["x-ratelimit-remaining"] == "1"
        r = await client.post(f"/purchase/{pid}", json={"quantity": 2}, headers=buyer)
        assert r.status_code == 200 and r.json()["remaining_stock"] == 2
        # The alias counts against the purchase limit like /api/purchase.
        r = await client.post(f"/purchase/{pid}", headers=buyer)
        assert r.status_code == 429, r.text
        assert r.json()["code"] == "RATE_LIMIT_EXCEEDED"
        assert r.json()["remaining"]["minute"] == 0
        assert r.headers["x-ratelimit-remaining-minute"] == "0"
        r = await client.post(f"/purchase/{pid}")
        assert r.status_code == 401

        r = await client.get("/api/health")
        assert r.status_code == 200 and r.json()["status"] == "healthy"

        paths = (await client.get("/openapi.json")).json()["paths"]
        assert "/api/purchase/{product_id}" in paths
        assert not {"/register", "/login", "/purchase/{product_id}", "/api/health"} & set(paths)

    sales = await sql_sales(db, pid)
    assert sales.units == 3 and len(sales.ids) == 2
