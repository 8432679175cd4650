"""The service over real HTTP (uvicorn on a port), one and several workers."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_make_run_shape_answers_health_docs_and_openapi(live_server_factory) -> None:  # type: ignore[no-untyped-def]
    server = live_server_factory()
    with httpx.Client(base_url=server.url, timeout=5) as http:
        health = http.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "healthy"
        assert health.json()["checks"]["database"]["status"] == "up"
        assert http.get("/health/live").json() == {"status": "alive"}
        assert http.get("/health/ready").status_code == 200
        docs = http.get("/docs")
        assert docs.status_code == 200 and "swagger-ui" in docs.text
        spec = http.get("/openapi.json").json()
        assert spec["info"]["title"] == "RAiDesk server"
        assert "/health" in spec["paths"]
        index = http.get("/").json()
        assert index["docs"] == "/docs" and index["backends"]["database"] == "sqlite"


def _counter(text: str, route: str) -> float:
    pattern = re.compile(
        r'^http_requests_total\{method="GET",route="'
        + re.escape(route)
        + r'",status="200"\} (\S+)$',
        re.M,
    )
    return sum(float(v) for v in pattern.findall(text))


async def test_metrics_add_up_across_two_workers(live_server_factory) -> None:  # type: ignore[no-untyped-def]
    import time

    server = live_server_factory(workers=2)
    # Fresh connections per request so the kernel can hand them to either worker; keep going
    # (bounded) until both workers have answered, since which one accepts is up to the kernel.
    async with httpx.AsyncClient(
        base_url=server.url, timeout=10, limits=httpx.Limits(max_keepalive_connections=0)
    ) as http:
        pids: set[int] = set()
        sent = 0
        deadline = time.monotonic() + 60
        while len(pids) < 2 and time.monotonic() < deadline:
            pings = [http.get("/ping") for _ in range(40)]
            probes = [http.get("/health/detailed") for _ in range(10)]
            responses = await asyncio.gather(*pings, *probes)
            assert all(r.status_code == 200 for r in responses)
            sent += len(pings)
            pids.update(r.json()["process"]["pid"] for r in responses[len(pings) :])
        assert len(pids) == 2, "both workers should have served requests"
        # Each worker writes its tallies at least once a second (MetricsBuffer), so the sum
        # must reach exactly `sent` within a few seconds and never pass it.
        counted = -1.0
        deadline = time.monotonic() + 10
        while counted != sent and time.monotonic() < deadline:
            counted = _counter((await http.get("/metrics")).text, "/ping")
            assert counted <= sent
    assert counted == sent


async def test_health_turns_unhealthy_when_redis_dies(
    live_server_factory,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    from tests.support.servers import RedisServer

    redis = RedisServer(tmp_path / "redis-health")
    (tmp_path / "redis-health").mkdir()
    redis.start()
    try:
        server = live_server_factory(REDIS_URL=redis.url)
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            up = await http.get("/health")
            assert up.status_code == 200
            assert up.json()["checks"]["redis"]["status"] == "up"
            redis.stop()
            down = await http.get("/health")
            assert down.status_code == 503
            assert down.json()["status"] == "unhealthy"
            assert down.json()["checks"]["redis"]["status"] == "down"
            assert (await http.get("/health/ready")).status_code == 503
            assert (await http.get("/health/live")).status_code == 200
            redis.start()
            assert (await http.get("/health")).status_code == 200
    finally:
        redis.stop()


def test_python_m_app_serve_is_what_make_run_starts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    from tests.support.servers import ROOT, free_port, http_status, wait_until

    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "REDIS_URL": "",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def up() -> bool:
            return http_status(f"http://127.0.0.1:{port}/health") == 200

        wait_until(up, timeout=120, what="python -m app serve")
        assert httpx.get(f"http://127.0.0.1:{port}/openapi.json").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert (tmp_path / "run.db").exists()
