"""Regulatory API test helpers: an app with cheap argon2 and an admin, and user logins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.support.regulatory_samples import (  # noqa: F401 - re-exported to tests
    LUNG,
    LUNG_CATEGORY,
    STANDARDS_BODY,
    USER_PASSWORD,
)

ADMIN_PASSWORD = "root pass phrase 4 tests"
FAST_AUTH: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 1024,
    "admin_username": "admin",
    "admin_password": ADMIN_PASSWORD,
}


@pytest.fixture
async def reg(app_factory: Any) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """(app, client) with an admin account and cheap password hashing."""
    async with app_factory(**FAST_AUTH) as pair:
        yield pair


Login = Callable[[str], Awaitable[dict[str, str]]]


@pytest.fixture
def login(reg: tuple[FastAPI, httpx.AsyncClient]) -> Login:
    """Register (once) and log in `username`; the Authorization header to send."""
    _app, client = reg

    async def go(username: str) -> dict[str, str]:
        password = ADMIN_PASSWORD if username == "admin" else USER_PASSWORD
        if username != "admin":
            r = await client.post(
                "/api/auth/register", json={"username": username, "password": password}
            )
            assert r.status_code in (201, 409), r.text
        r = await client.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return go


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and code)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    if code is not None:
        assert body["code"] == code, body
    return body
