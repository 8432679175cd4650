"""Driver exception families become 503 problems naming the backend, for any route; a bug
(constraint violation) stays a 500."""

from __future__ import annotations

import httpx
import pytest
import redis.exceptions
from fastapi import FastAPI
from sqlalchemy import exc as sql_errors

from app.main import create_bare_app
from app.platform.config import load_settings

pytestmark = pytest.mark.unit

RAISES: dict[str, BaseException] = {
    "redis-refused": redis.exceptions.ConnectionError("Error 111 connecting"),
    "redis-timeout": redis.exceptions.TimeoutError("Timeout reading from socket"),
    "sql-operational": sql_errors.OperationalError("SELECT 1", None, OSError("refused")),
    "sql-pool": sql_errors.TimeoutError("QueuePool limit reached"),
    "sql-cancelled": sql_errors.DBAPIError("SELECT 1", None, Exception("statement timeout")),
    "sql-integrity": sql_errors.IntegrityError("INSERT", None, Exception("duplicate key")),
}


def app_raising() -> FastAPI:
    app = create_bare_app(load_settings(_env_file=None, environment="test"))
    for name, error in RAISES.items():
        app.add_api_route(f"/t/{name}", _raiser(error))
    return app


def _raiser(error: BaseException):  # type: ignore[no-untyped-def]
    async def route() -> None:
        raise error

    return route


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("redis-refused", "REDIS_UNAVAILABLE"),
        ("redis-timeout", "REDIS_UNAVAILABLE"),
        ("sql-operational", "DATABASE_UNAVAILABLE"),
        ("sql-pool", "DATABASE_UNAVAILABLE"),
        ("sql-cancelled", "DATABASE_UNAVAILABLE"),
    ],
)
async def test_outages_are_503_with_retry_after(name: str, code: str) -> None:
    transport = httpx.ASGITransport(app=app_raising())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get(f"/t/{name}")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    assert int(r.headers["retry-after"]) >= 1
    assert "111" not in r.text and "SELECT" not in r.text  # driver text stays in the log


async def test_a_constraint_violation_is_still_a_500() -> None:
    transport = httpx.ASGITransport(app=app_raising(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/t/sql-integrity")
    assert r.status_code == 500
