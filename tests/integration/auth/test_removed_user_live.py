"""A user removed from PostgreSQL behind the service's back (an operator's DELETE) is a 401 on
every route at once, for tokens and API keys alike; never a 404 or a foreign-key 500."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.auth.conftest import FAST_HASH_ENV
from tests.support.servers import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASSWORD = "correct horse battery staple"


async def test_removed_user_is_401_everywhere(
    auth_server: Callable[..., LiveServer], postgres_url: str, postgres_engine: AsyncEngine
) -> None:
    # AUTH_CACHE_TTL_S=0: every request reads the account (the default 5 s bounds the delay).
    server = auth_server(DATABASE_URL=postgres_url, AUTH_CACHE_TTL_S="0", **FAST_HASH_ENV)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        created = http.post("/api/auth/register", json={"username": "gone", "password": PASSWORD})
        assert created.status_code == 201, created.text
        login = http.post("/api/auth/login", json={"username": "gone", "password": PASSWORD})
        token = {"Authorization": f"Bearer {login.json()['access_token']}"}
        key = http.post("/api/auth/api-keys", json={"name": "k"}, headers=token)
        assert key.status_code == 201, key.text
        api_key = {"X-API-Key": key.json()["key"]}
        session = http.post("/api/sessions", json={"data": {"concept": "x"}}, headers=token)
        assert session.status_code == 201, session.text
        assert http.get("/api/auth/me", headers=token).status_code == 200

        async with postgres_engine.begin() as conn:
            await conn.execute(text("DELETE FROM users WHERE username = 'gone'"))

        calls = [
            ("GET", "/api/auth/me", None),
            ("POST", "/api/auth/api-keys", {"name": "k2"}),
            ("GET", "/api/auth/api-keys", None),
            ("GET", "/api/sessions", None),
            ("POST", "/api/sessions", {"data": {"concept": "y"}}),
            ("GET", f"/api/sessions/{session.json()['id']}", None),
            ("GET", "/api/plans", None),
        ]
        for credentials in (token, api_key):
            for method, path, body in calls:
                r = http.request(method, path, json=body, headers=credentials)
                assert r.status_code == 401, (method, path, r.status_code, r.text)
                assert r.headers["content-type"] == "application/problem+json"
                assert r.json()["code"] in ("INVALID_CREDENTIALS", "AUTHENTICATION_REQUIRED")
        async with postgres_engine.connect() as conn:
            left = await conn.execute(text("SELECT count(*) FROM api_keys"))
            assert left.scalar_one() == 0  # nothing was written for the removed user
