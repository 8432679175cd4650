"""Regulatory API test helpers: an app with cheap argon2 and an admin, and user logins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

ADMIN_PASSWORD = "root pass phrase 4 tests"
USER_PASSWORD = "correct horse battery staple"
FAST_AUTH: dict[str, Any] = {
    "argon2_time_cost": 1,
    "argon2_memory_cost": 1024,
    "admin_username": "admin",
    "admin_password": ADMIN_PASSWORD,
}

LUNG = "CT 영상에서 폐결절을 검출하는 AI 소프트웨어"
LUNG_CATEGORY = {
    "code": "SW-CADE-LUNG",
    "name": "의료영상 검출보조 소프트웨어 (폐결절 CADe)",
    "description": "CT 영상에서 폐결절 후보를 표시해 판독을 보조",
    "regulatoryPath": "MFDS 2등급 기술문서 심사",
}
STANDARDS_BODY: dict[str, Any] = {
    "classification": {
        "isMedicalDevice": True,
        "riskClass": "II",
        "category": LUNG_CATEGORY["name"],
    },
    "category": LUNG_CATEGORY,
    "purposeMechanism": "딥러닝 기반 폐결절 검출 보조",
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
