"""At LOG_LEVEL=DEBUG (and with DATABASE_ECHO on) no log line carries a secret or stored data:
no password, password hash, token, API key or its hash, and no session contents, whatever the
SQL driver, SQLAlchemy or the app itself log at that level."""

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
SESSION_SECRET = "환자-정보-비공개-marker-7731"


@pytest.mark.parametrize("echo", ["false", "true"])
async def test_debug_logs_hold_no_sql_parameters_or_secrets(
    auth_server: Callable[..., LiveServer],
    postgres_url: str,
    postgres_engine: AsyncEngine,
    echo: str,
) -> None:
    server = auth_server(
        DATABASE_URL=postgres_url, LOG_LEVEL="DEBUG", DATABASE_ECHO=echo, **FAST_HASH_ENV
    )
    with httpx.Client(base_url=server.url, timeout=10) as http:
        created = http.post("/api/auth/register", json={"username": "dora", "password": PASSWORD})
        assert created.status_code == 201, created.text
        login = http.post("/api/auth/login", json={"username": "dora", "password": PASSWORD})
        token = login.json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        key = http.post("/api/auth/api-keys", json={"name": "svc"}, headers=bearer).json()["key"]
        assert http.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 200
        session = http.post(
            "/api/sessions", json={"data": {"concept": SESSION_SECRET}}, headers=bearer
        )
        assert session.status_code == 201, session.text
        assert http.get(f"/api/sessions/{session.json()['id']}", headers=bearer).status_code == 200
    async with postgres_engine.connect() as conn:
        password_hash = (
            await conn.execute(text("SELECT password_hash FROM users WHERE username = 'dora'"))
        ).scalar_one()
        key_hash = (await conn.execute(text("SELECT key_hash FROM api_keys"))).scalar_one()
    server.stop()  # flush and close the log
    assert server.log_path is not None
    lines = server.log_path.read_text(encoding="utf-8").splitlines()
    assert sum('"path": "/api/sessions' in line for line in lines) >= 2  # it did log requests
    statements = [line for line in lines if "INSERT INTO users" in line]
    # DATABASE_ECHO shows statements (parameters hidden); DEBUG alone does not turn it on.
    assert bool(statements) == (echo == "true")
    assert all("[SQL parameters hidden" in line for line in lines if "[generated in" in line)
    secrets = {
        "password": PASSWORD,
        "password hash": password_hash,
        "password hash body": password_hash.rsplit("$", 1)[-1],
        "token": token,
        "token signature": token.split(".")[2],
        "API key": key,
        "API key hash": key_hash,
        "session contents": SESSION_SECRET,
    }
    for line in lines:
        for what, secret in secrets.items():
            assert secret not in line, f"the {what} appears in a log line: {line[:120]}…"
