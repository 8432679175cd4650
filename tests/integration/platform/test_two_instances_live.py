"""Two separate app instances (two uvicorn servers of two workers each) on one PostgreSQL
database and one Redis, single node and cluster: what one instance does, the other sees
(sessions, blocks, quotas), a flash sale split between them sells exactly its stock, and each
instance's metrics count its own work."""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.integration.ratelimit.test_ratelimit_blocks_live import (
    ADMIN,
    PASSWORD,
    SETTINGS,
    Worker,
    pin,
    run,
)
from tests.support.servers import LiveServer, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

STOCK = 30
BUYERS = 4
TRIES_EACH = 15  # 60 tries in all for 30 units: the sale runs dry on both sides


def units_sold(metrics: str) -> float:
    """`commerce_units_sold_total`, summed over strategies, as one instance reports it."""
    found = re.findall(r"^commerce_units_sold_total\{[^}]*\} (\S+)$", metrics, re.M)
    return sum(float(v) for v in found)


def token(worker: Worker, username: str, password: str) -> str:
    login = worker.call(
        "POST", "/api/auth/login", json={"username": username, "password": password}
    )
    assert login.status_code == 200, login.text
    value: str = login.json()["access_token"]
    return value


@pytest.mark.parametrize("redis", ["redis", "redis-cluster"])
def test_two_instances_share_state_and_sell_exactly_the_stock(
    live_server_factory: Callable[..., LiveServer], request: pytest.FixtureRequest, redis: str
) -> None:
    request.getfixturevalue("postgres_engine")  # empties every table first
    if redis == "redis-cluster":
        cluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        redis_url = cluster.url
    else:
        request.getfixturevalue("redis_client")  # empties the shared Redis first
        redis_url = request.getfixturevalue("redis_server").url
    env = {
        **SETTINGS,
        **ADMIN,
        "DATABASE_URL": request.getfixturevalue("postgres_url"),
        "REDIS_URL": redis_url,
        "SESSION_STORAGE": "redis",
        "PURCHASE_STRATEGY": "lua",
        # The sale is about stock, not limits: every try must reach the stock.
        "RATE_LIMIT_PURCHASE": "1000/minute",
    }
    first = live_server_factory(workers=2, **env)
    second = live_server_factory(workers=2, **env)
    a, b = pin(first.url), pin(second.url)
    try:
        # Blocks and quotas placed through one instance hold on the other; each instance's
        # block counter counts only the block placed through it.
        run(a, b, one_instance=False)

        # A session made through one instance is read and changed through the other (by
        # fresh users: run() used up dave's quota and mallory's limits).
        for name in ("frank", "gina"):
            made = a.call(
                "POST", "/api/auth/register", json={"username": name, "password": PASSWORD}
            )
            assert made.status_code == 201, made.text
        frank = token(b, "frank", PASSWORD)
        gina = token(a, "gina", PASSWORD)
        body = {"data": {"concept": "CT 폐결절 검출 AI"}}
        made = a.call("POST", "/api/sessions", frank, json=body)
        assert made.status_code == 201, made.text
        sid = made.json()["session_id"]
        read = b.call("GET", f"/api/sessions/{sid}", frank)
        assert read.status_code == 200 and read.json()["data"]["concept"] == "CT 폐결절 검출 AI"
        changed = b.call("PUT", f"/api/sessions/{sid}", frank, json={"concept": "MRI AI"})
        assert changed.status_code == 200, changed.text
        assert a.call("GET", f"/api/sessions/{sid}", frank).json()["data"]["concept"] == "MRI AI"
        assert a.call("GET", f"/api/sessions/{sid}", gina).status_code == 404  # not hers

        # A flash sale split between the instances sells exactly its stock.
        admin = token(a, "root", ADMIN["ADMIN_PASSWORD"])
        product = a.call(
            "POST",
            "/api/products",
            admin,
            json={"name": "Hot item", "price": "9.99", "initial_stock": STOCK},
        )
        assert product.status_code == 201, product.text
        pid = product.json()["id"]
        buyers = []
        for n in range(BUYERS):
            name = f"buyer{n}"
            made = b.call(
                "POST", "/api/auth/register", json={"username": name, "password": PASSWORD}
            )
            assert made.status_code == 201, made.text
            buyers.append(token(b, name, PASSWORD))

        def buy(attempt: int) -> tuple[int, int]:
            """One try, through instance `attempt % 2`: (which instance, status)."""
            side = attempt % 2
            url = (first.url, second.url)[side]
            headers = {"Authorization": f"Bearer {buyers[attempt % BUYERS]}"}
            with httpx.Client(base_url=url, timeout=60) as http:
                r = http.post(f"/api/purchase/{pid}", json={"quantity": 1}, headers=headers)
            assert r.status_code in (201, 400), r.text
            if r.status_code == 400:
                assert r.json()["code"] == "INSUFFICIENT_STOCK", r.text
            return side, r.status_code

        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(buy, range(BUYERS * TRIES_EACH)))
        sold_through = [sum(1 for side, s in answers if side == i and s == 201) for i in (0, 1)]
        assert sum(sold_through) == STOCK
        for worker in (a, b):
            level = worker.call("GET", f"/api/inventory/{pid}").json()
            assert (level["stock"], level["sold"], level["reserved"]) == (0, STOCK, 0)
        listed = b.call("GET", f"/api/purchases?product_id={pid}&limit=200", admin)
        assert len(listed.json()["items"]) == STOCK  # every sale is one durable row

        # Each instance's metrics count the units it sold (its two workers added up). A worker
        # writes its tallies at most a second after a sale (MetricsBuffer), and the scrape is
        # answered by one of the two: wait for the other's flush, then the figure must be exact.
        for worker, sold in zip((a, b), sold_through, strict=True):
            wait_until(
                lambda w=worker, n=sold: units_sold(w.call("GET", "/metrics").text) >= n,
                timeout=60,
                what="both workers' sales in the instance's metrics",
            )
            assert units_sold(worker.call("GET", "/metrics").text) == sold
    finally:
        a.http.close()
        b.http.close()
