"""Blocks and per-user quotas through the whole app in-process (SQLite, in-process limiter):
the 429 CLIENT_BLOCKED answer, and `/api/admin/blocks` and `/api/admin/quotas`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.limits.service import LimitsService
from tests.conftest import AppFactory
from tests.support.servers import eventually

pytestmark = pytest.mark.unit

ADMIN_PASSWORD = "root pass phrase 4 tests"
USER_PASSWORD = "violet meadow phrase 26"
SETTINGS: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 1024,
    "admin_username": "admin",
    "admin_password": ADMIN_PASSWORD,
    "rate_limit_enabled": True,
    "rate_limit_default": "4/minute",
    "rate_limit_authenticated": "2/minute",
    "rate_limit_admin": "40/minute",
    "rate_limit_login": "",
    "rate_limit_login_address": "",
    "rate_limit_block_after": 2,
    "rate_limit_block_window_s": 60,
    "rate_limit_block_seconds": 30,
}


async def login(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    r = await client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body


def limits_of(app: FastAPI) -> LimitsService:
    service: LimitsService = app.state.limits
    return service


async def test_repeated_rejections_block_a_client_until_an_admin_lifts_it(
    app_factory: AppFactory,
) -> None:
    async with app_factory(**SETTINGS) as (app, client):
        # Everything anonymous this test needs, before the address is used up.
        r = await client.post(
            "/api/auth/register", json={"username": "carol", "password": USER_PASSWORD}
        )
        assert r.status_code == 201, r.text
        admin = await login(client, "admin", ADMIN_PASSWORD)
        carol = await login(client, "carol", USER_PASSWORD)
        carol_id = await user_id(client, admin, "carol")

        assert (await client.get("/ping")).status_code == 200  # the address's 4th request
        problem(await client.get("/ping"), 429, "RATE_LIMIT_EXCEEDED")
        placed = problem(await client.get("/ping"), 429, "CLIENT_BLOCKED")  # 2nd rejection
        assert placed["error_code"] == "ERR_5003"
        assert placed["details"] == {"retry_after_s": 30}
        blocked = await client.get("/ping")
        problem(blocked, 429, "CLIENT_BLOCKED")
        assert 1 <= int(blocked.headers["retry-after"]) <= 30
        assert "x-ratelimit-limit" not in blocked.headers  # nothing was read or counted

        # A user is blocked by id, not by address: carol is judged by her own limits.
        assert (await client.get("/ping", headers=carol)).status_code == 200
        listed = await client.get("/api/admin/blocks", headers=admin)
        assert listed.status_code == 200, listed.text
        [entry] = listed.json()
        assert entry["client"] == "ip:127.0.0.1" and entry["level"] == 1
        assert entry["reason"] == "2 rate-limit rejections within 60 s"
        assert 1 <= entry["retry_after_s"] <= 30
        assert entry["blocked_at"] < entry["expires_at"]
        problem(await client.get("/api/admin/blocks", headers=carol), 403, "PERMISSION_DENIED")
        scraped = (await client.get("/metrics")).text  # exempt: a blocked address may scrape
        assert "rate_limit_blocks_active 1.0" in scraped

        # Carol used up her 2/minute: two rejections block her too.
        problem(await client.get("/ping", headers=carol), 429, "RATE_LIMIT_EXCEEDED")
        problem(await client.get("/ping", headers=carol), 429, "CLIENT_BLOCKED")
        listed = await client.get("/api/admin/blocks", headers=admin)
        assert sorted(b["client"] for b in listed.json()) == ["ip:127.0.0.1", f"u:{carol_id}"]

        # Each block is a monitoring event too (the limiter's block listener).
        async def block_events() -> list[str] | None:
            r = await client.get("/api/monitoring/events?type=blocked", headers=admin)
            assert r.status_code == 200, r.text
            clients = sorted(e["client"] for e in r.json()["items"])
            return clients if len(clients) == 2 else None

        assert await eventually(block_events, what="two block events") == [
            "ip:127.0.0.1",
            f"u:{carol_id}",
        ]

        released = await client.delete("/api/admin/blocks/ip:127.0.0.1", headers=admin)
        assert released.status_code == 204 and released.content == b""
        assert [b.client for b in await limits_of(app).list_blocks(limit=10)] == [f"u:{carol_id}"]
        # Released: the address is judged by its (still used-up) window again, not blocked.
        problem(await client.get("/ping"), 429, "RATE_LIMIT_EXCEEDED")
        missing = problem(
            await client.delete("/api/admin/blocks/ip:127.0.0.1", headers=admin),
            404,
            "BLOCK_NOT_FOUND",
        )
        assert missing["error_code"] == "ERR_5004"
        assert missing["details"] == {"resource": "block", "id": "ip:127.0.0.1"}
        problem(
            await client.delete("/api/admin/blocks/not-a-client", headers=admin),
            400,
            "VALIDATION_ERROR",
        )

        # An admin is never blocked (they must stay able to lift blocks); their limit holds.
        answers = [await client.get("/ping", headers=admin) for _ in range(45)]
        assert {r.status_code for r in answers} == {200, 429}
        assert {r.json()["code"] for r in answers if r.status_code == 429} == {
            "RATE_LIMIT_EXCEEDED"
        }
        assert [b.client for b in await limits_of(app).list_blocks(limit=10)] == [f"u:{carol_id}"]


async def user_id(client: httpx.AsyncClient, admin: dict[str, str], username: str) -> str:
    users = (await client.get("/api/auth/users", headers=admin)).json()
    found: str = next(u["id"] for u in users if u["username"] == username)
    return found


async def test_admins_set_read_and_clear_a_users_quota_and_it_replaces_the_tier(
    app_factory: AppFactory,
) -> None:
    quota_settings = {
        **SETTINGS,
        "rate_limit_authenticated": "5/minute",
        "rate_limit_block_after": 0,
    }
    async with app_factory(**quota_settings) as (
        app,
        client,
    ):
        r = await client.post(
            "/api/auth/register", json={"username": "dave", "password": USER_PASSWORD}
        )
        assert r.status_code == 201, r.text
        admin = await login(client, "admin", ADMIN_PASSWORD)
        dave = await login(client, "dave", USER_PASSWORD)
        dave_id = await user_id(client, admin, "dave")
        quotas = app.state.resources.rate_limiter.quotas
        reads = counting(quotas)
        # Anonymous traffic never looks at quotas.
        assert (await client.get("/ping")).status_code == 200 and reads == [0]

        tier = await client.get(f"/api/admin/quotas/{dave_id}", headers=admin)
        assert tier.status_code == 200, tier.text
        assert tier.json() == {
            "user_id": dave_id,
            "custom": False,
            "requests_per_minute": None,
            "requests_per_hour": None,
            "requests_per_day": None,
            "limits": ["5/minute"],
            "updated_by": None,
            "updated_at": None,
        }
        before = await client.get("/ping", headers=dave)
        assert before.headers["ratelimit-policy"] == '"user-60s";q=5;w=60'  # the tier, 1 used
        put = await client.put(
            f"/api/admin/quotas/{dave_id}",
            headers=admin,
            json={"requests_per_minute": 2, "requests_per_hour": None},
        )
        assert put.status_code == 200, put.text
        admin_id = await user_id(client, admin, "admin")
        body = put.json()
        assert body["custom"] is True and body["limits"] == ["2/minute"]
        assert (body["requests_per_minute"], body["requests_per_hour"]) == (2, None)
        assert body["updated_by"] == admin_id and body["updated_at"]
        stored = await limits_of(app).quotas.get(dave_id)
        assert stored is not None
        assert (stored.requests_per_minute, stored.requests_per_day) == (2, None)
        assert stored.updated_by == admin_id

        # In force at once on this worker: 2/minute instead of the tier's 5, on the same count
        # (the tier's request before is one of the two).
        first = await client.get("/ping", headers=dave)
        assert first.status_code == 200
        assert first.headers["ratelimit-policy"] == ('"user-60s";q=2;w=60')
        problem(await client.get("/ping", headers=dave), 429, "RATE_LIMIT_EXCEEDED")
        assert (await client.get(f"/api/admin/quotas/{dave_id}", headers=admin)).json() == body

        for bad in ({}, {"requests_per_minute": 0}, {"requests_per_hour": "x"}, {"tier": "x"}):
            problem(
                await client.put(f"/api/admin/quotas/{dave_id}", headers=admin, json=bad),
                400,
                "VALIDATION_ERROR",
            )
        for method in ("GET", "PUT", "DELETE"):
            unknown = await client.request(
                method, "/api/admin/quotas/usr_nobody", headers=admin, json={"requests_per_hour": 9}
            )
            assert problem(unknown, 404, "USER_NOT_FOUND")["details"] == {
                "resource": "user",
                "id": "usr_nobody",
            }
        cleared = await client.delete(f"/api/admin/quotas/{dave_id}", headers=admin)
        assert cleared.status_code == 204 and await limits_of(app).quotas.get(dave_id) is None
        assert (await client.get(f"/api/admin/quotas/{dave_id}", headers=admin)).json() == (
            tier.json()
        )
        # The tier again (its minute window kept the count: 3 of 5 used).
        back = await client.get("/ping", headers=dave)
        assert back.status_code == 200 and back.headers["ratelimit-policy"] == (
            '"user-60s";q=5;w=60'
        )
        gone = problem(
            await client.delete(f"/api/admin/quotas/{dave_id}", headers=admin),
            404,
            "QUOTA_NOT_FOUND",
        )
        assert gone["details"] == {"resource": "quota", "id": dave_id}
        # Only admins (dave still has 2 of his 5 left: this is the role check's answer).
        problem(
            await client.put(
                f"/api/admin/quotas/{dave_id}", headers=dave, json={"requests_per_minute": 99}
            ),
            403,
            "PERMISSION_DENIED",
        )


def counting(quotas: Any) -> list[int]:
    """Count the quota table reads of a `QuotaCache` from now on."""
    reads = [0]
    load = quotas._load

    async def counted() -> Any:
        reads[0] += 1
        return await load()

    quotas._load = counted
    return reads
