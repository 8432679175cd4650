"""Two uvicorn workers on one real Redis: an event recorded by one worker is read through the
other (by trace id), API_KEYS service keys work on both (a wrong key is a 401 problem), and
`active_users_total` counts users whichever worker served them."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.support.servers import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICE_KEY = "live-service-key-0123456789"
PASSWORD = "correct horse battery"


async def _eventually(
    check: Callable[[], Awaitable[Any]], *, what: str, timeout: float = 30.0
) -> Any:
    """Poll `check` until it returns something truthy (a generous deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _pid(http: httpx.AsyncClient) -> int:
    detailed = await http.get("/health/detailed")
    assert detailed.status_code == 200
    return int(detailed.json()["process"]["pid"])


async def _one_connection_per_worker(
    stack: AsyncExitStack, url: str
) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    """Two clients, each held to one kept-alive connection, served by different workers (the
    kernel picks the worker per connection: open connections until both have answered)."""
    by_pid: dict[int, httpx.AsyncClient] = {}
    deadline = time.monotonic() + 60
    while len(by_pid) < 2:
        assert time.monotonic() < deadline, "both workers should accept connections"
        http = await stack.enter_async_context(
            httpx.AsyncClient(base_url=url, timeout=10, limits=httpx.Limits(max_connections=1))
        )
        by_pid.setdefault(await _pid(http), http)
    first, second = by_pid.values()
    return first, second


def _active_users(metrics: str) -> float | None:
    found = re.search(r"^active_users_total (\S+)$", metrics, re.M)
    return None if found is None else float(found.group(1))


async def test_events_service_keys_and_active_users_across_two_workers(
    live_server_factory: Any,
    redis_server: RedisServer,
    redis_client: Redis,  # empties the shared Redis first
) -> None:
    server = live_server_factory(
        workers=2,
        REDIS_URL=redis_server.url,
        API_KEYS=f"ci:{SERVICE_KEY}",
        # Connections stay with their worker for the whole test.
        KEEP_ALIVE_TIMEOUT_S="300",
    )
    async with AsyncExitStack() as stack:
        one, other = await _one_connection_per_worker(stack, server.url)
        pid_one, pid_other = await _pid(one), await _pid(other)
        assert pid_one != pid_other

        # --- an event recorded by one worker, read through the other ---------------------
        trace = f"live-{uuid.uuid4().hex}"
        missing = await one.get("/api/sessions/sess_missing", headers={"X-Request-ID": trace})
        assert missing.status_code == 404 and missing.json()["trace_id"] == trace

        async def read_through_other() -> list[dict[str, Any]]:
            response = await other.get("/api/monitoring/events", params={"trace_id": trace})
            assert response.status_code == 200, response.text
            return list(response.json()["items"])

        (event,) = await _eventually(read_through_other, what="the event on the other worker")
        assert (event["type"], event["status"], event["code"]) == (
            "client_error",
            404,
            "SESSION_NOT_FOUND",
        )
        assert (event["method"], event["path"], event["client"]) == (
            "GET",
            "/api/sessions/sess_missing",
            "127.0.0.1",
        )
        stored = await redis_client.xrange("monitoring:events")
        assert [f for _, f in stored if trace in f["e"]], "the event is in the shared stream"

        login_trace = f"live-{uuid.uuid4().hex}"
        failed = await other.post(
            "/api/auth/login",
            json={"username": "nobody", "password": PASSWORD},
            headers={"X-Request-ID": login_trace},
        )
        assert failed.status_code == 401

        async def login_failure_on_one() -> list[dict[str, Any]]:
            response = await one.get(
                "/api/monitoring/events", params={"type": "login_failed", "trace_id": login_trace}
            )
            return list(response.json()["items"])

        (login_event,) = await _eventually(login_failure_on_one, what="the failed login")
        assert login_event["code"] == "INVALID_CREDENTIALS"
        assert PASSWORD not in str(stored) + str(login_event)

        # --- API_KEYS on both workers ---------------------------------------------------
        service = {"X-API-Key": SERVICE_KEY}
        created = await one.post("/api/sessions", headers=service)
        assert created.status_code == 201, created.text
        listed = await other.get("/api/sessions", headers=service)
        assert listed.status_code == 200
        assert [s["id"] for s in listed.json()["items"]] == [created.json()["id"]]
        for http in (one, other):
            wrong = await http.get("/api/sessions", headers={"X-API-Key": SERVICE_KEY + "0"})
            assert wrong.status_code == 401
            assert wrong.headers["content-type"] == "application/problem+json"
            assert wrong.json()["code"] == "AUTHENTICATION_REQUIRED"

        # --- active_users_total: one user per worker, counted by both ---------------------
        for http, name in ((one, "ann"), (other, "ben")):
            body = {"username": name, "password": PASSWORD}
            assert (await http.post("/api/auth/register", json=body)).status_code == 201
            login = await http.post("/api/auth/login", json=body)
            assert login.status_code == 200
            bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert (await http.get("/api/sessions", headers=bearer)).status_code == 200

        for http in (one, other):

            async def two_active(http: httpx.AsyncClient = http) -> bool:
                return _active_users((await http.get("/metrics")).text) == 2.0

            await _eventually(two_active, what="active_users_total 2 on each worker")
        marked = await redis_client.zrange("monitoring:active_users", 0, -1)
        assert len(marked) == 2 and not any(m.startswith("service:") for m in marked)
        # Every request above stayed on its worker.
        assert (await _pid(one), await _pid(other)) == (pid_one, pid_other)
