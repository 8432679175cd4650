"""Real processes: two uvicorn workers sharing one Redis, and a Redis that dies and comes back."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from app.platform.metrics import METRICS_BUFFER
from tests.conftest import TEST_SECRET, AppFactory, SharedRedis
from tests.support.servers import LiveServer, RedisServer

pytestmark = pytest.mark.integration


def start_server(tmp_path: Path, **env: str) -> LiveServer:
    """uvicorn with 2 workers; like `live_server_factory`, with a start timeout that survives
    a machine shared by many test runs (worker start-up alone took 30 s under load)."""
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    server = LiveServer(
        env={
            "ENVIRONMENT": "test",
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
            "LOG_FORMAT": "json",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            **env,
        },
        workers=2,
        log_path=tmp_path / "server.log",
    )
    try:
        server.start(timeout=120)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.mark.slow
async def test_two_workers_and_200_concurrent_clients_let_exactly_50_through(
    tmp_path: Path, shared_redis: SharedRedis
) -> None:
    """On one Redis server and on a 3-master Redis Cluster (emptied first)."""
    server = start_server(
        tmp_path,
        REDIS_URL=shared_redis.url,
        RATE_LIMIT_ENABLED="true",
        RATE_LIMIT_DEFAULT="50/minute",
    )
    try:
        await _burst(server, shared_redis.client)
    finally:
        server.stop()


async def _burst(server: LiveServer, redis_client: Any) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
        responses = await asyncio.gather(*(client.get("/ping") for _ in range(200)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 50, 429: 150}
    for response in responses:
        assert response.headers["x-ratelimit-limit"] == "50"
        assert response.headers["ratelimit-policy"] == '"global-60s";q=50;w=60'
        if response.status_code == 429:
            body = response.json()
            assert response.headers["content-type"] == "application/problem+json"
            assert body["error_code"] == "ERR_1009" and body["status"] == 429
            assert int(response.headers["retry-after"]) >= 1
            assert response.headers["x-ratelimit-remaining"] == "0"
    remaining = sorted(int(r.headers["x-ratelimit-remaining"]) for r in responses if r.is_success)
    assert remaining == list(range(50))
    # The counter lives in Redis, not in either worker.
    assert await redis_client.hget("rl:{ip:127.0.0.1}:global:60", "c") == "50"


def decisions(route: str, outcome: str) -> float:
    METRICS_BUFFER.flush()  # this process's tallies reach the instruments once a second
    value = REGISTRY.get_sample_value(
        "rate_limit_decisions_total", {"route": route, "outcome": outcome}
    )
    return value or 0.0


async def test_redis_down_fails_reads_open_writes_closed_and_recovers(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    own = RedisServer(tmp_path)  # ours to kill: the session's Redis stays up for others
    own.start()
    try:
        async with app_factory(
            redis_url=own.url,
            rate_limit_enabled=True,
            rate_limit_default="100/minute",
            rate_limit_store_retry_s=0.2,
            redis_socket_timeout_s=0.5,
        ) as (_app, client):
            up = await client.get("/ping")
            assert up.status_code == 200 and up.headers["x-ratelimit-remaining"] == "99"
            own.stop()
            opened, closed = decisions("global", "error_open"), decisions("login", "error_closed")
            down = await client.get("/ping")
            assert down.status_code == 200
            assert "ratelimit" not in down.headers
            write = await client.post("/api/auth/login", json={"username": "a", "password": "b"})
            assert write.status_code == 503
            assert write.json()["code"] == "RATE_LIMITER_UNAVAILABLE"
            assert decisions("global", "error_open") == opened + 1
            assert decisions("login", "error_closed") == closed + 1
            own.start()  # same port, empty: the limiter must find it again by itself
            deadline = time.monotonic() + 10
            while True:
                r = await client.get("/ping")
                assert r.status_code == 200
                if "x-ratelimit-remaining" in r.headers:
                    break
                assert time.monotonic() < deadline, "limiter never used Redis again"
                await asyncio.sleep(0.05)
            assert r.headers["x-ratelimit-remaining"] == "99"  # a fresh, empty Redis
    finally:
        own.stop()


async def test_guesses_from_many_addresses_never_lock_the_owner_out(
    app_factory: AppFactory, redis_server: RedisServer, redis_client: Redis
) -> None:
    """Counters in a real Redis: each attacking address is stopped by its own (address,
    username) limit; the username's budget only slows attempts down, so the owner's right
    password from a fresh address is a 200, never a 429."""
    async with app_factory(
        redis_url=redis_server.url,
        rate_limit_enabled=True,
        rate_limit_login="3/minute",
        rate_limit_login_address="50/minute",
        rate_limit_login_username="5/minute",
        login_slowdown_s=0.001,
        trusted_proxies=["127.0.0.1"],
    ) as (_app, client):
        password = "correct horse battery staple 42"
        reg = await client.post(
            "/api/auth/register", json={"username": "owner", "password": password}
        )
        assert reg.status_code == 201, reg.text
        slowed = decisions("login-user", "rejected")
        statuses: Counter[int] = Counter()
        for n in range(4):
            address = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
            for _ in range(4):
                r = await client.post(
                    "/api/auth/login",
                    json={"username": "owner", "password": "wrong guess 1234"},
                    headers=address,
                )
                statuses[r.status_code] += 1
                if r.status_code == 429:
                    assert r.json()["code"] == "RATE_LIMIT_EXCEEDED"
                    assert '"login-60s";r=0' in r.headers["ratelimit"]
        # Each address: three 401s, then its own limit; 12 attempts counted for "owner".
        assert statuses == {401: 12, 429: 4}
        assert decisions("login-user", "rejected") == slowed + 7  # 12 - 5: slowed, not refused
        owner = {"X-Forwarded-For": "192.0.2.77"}
        r = await client.post(
            "/api/auth/login", json={"username": "owner", "password": password}, headers=owner
        )
        assert r.status_code == 200, r.text
        assert "access_token" in r.json()
        assert decisions("login-user", "rejected") == slowed + 8
        keys = await redis_client.keys("*")
        assert keys and not any("owner" in key for key in keys)  # names are hashed
