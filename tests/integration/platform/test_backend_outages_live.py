"""Backend outages on real servers: a private redis-server killed or frozen (SIGSTOP), and
PostgreSQL behind a relay that freezes (accepts, never answers) or goes down (refused port).
Every operation of the OpenAPI document is called with the backend away: none answers 500 or
hangs; the routes that need the backend answer 503 with `Retry-After` and a code naming it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI

from app.platform.config import Settings
from tests.conftest import make_settings, running_app
from tests.support.regulatory_samples import PLAN_BODY
from tests.support.servers import RedisServer, TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN_PASSWORD = "outage admin pass 2026"
# The test's own bound on one answer: far above every configured timeout (0.5 s here), far
# below "hangs with the backend". A request that needs it has hung.
ANSWER_BOUND_S = 20.0
FAST = {
    "admin_username": "root",
    "admin_password": ADMIN_PASSWORD,
    "argon2_time_cost": 1,
    "argon2_memory_cost": 1024,
    "batch_workers": 0,
    "reconcile_interval_s": 0,
    "session_purge_interval_s": 0,
    "auth_changes_poll_s": 0,
    "auth_cache_ttl_s": 0,
}
PLAN = {**PLAN_BODY, "pros": [], "cons": [], "recommendations": []}


async def call(client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response:
    return await asyncio.wait_for(client.request(method, url, **kw), ANSWER_BOUND_S)


async def prepare(client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, str]]:
    """Admin credentials and the ids of one of everything, made while the backends are up."""
    login = await call(
        client, "POST", "/api/auth/login", json={"username": "root", "password": ADMIN_PASSWORD}
    )
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    product = await call(
        client,
        "POST",
        "/api/products",
        json={"name": "outage", "price": "1.00", "initial_stock": 10},
        headers=auth,
    )
    assert product.status_code == 201, product.text
    session = await call(client, "POST", "/api/sessions", json={"data": {"a": 1}}, headers=auth)
    assert session.status_code == 201, session.text
    plan = await call(
        client,
        "POST",
        "/api/plans",
        json={"plan": PLAN, "sessionId": session.json()["id"]},
        headers=auth,
    )
    assert plan.status_code == 201, plan.text
    ids = {
        "product_id": str(product.json()["id"]),
        "session_id": session.json()["id"],
        "plan_id": plan.json()["id"],
    }
    return auth, ids


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _example_body(doc: dict[str, Any], op: dict[str, Any]) -> Any:
    content = (op.get("requestBody") or {}).get("content") or {}
    media = content.get("application/json")
    if media is None:
        return None
    if "example" in media:
        return media["example"]
    schema = _resolve(doc, media.get("schema") or {})
    examples = schema.get("examples") or []
    return examples[0] if examples else {}


def operations(app: FastAPI, ids: dict[str, str]) -> list[tuple[str, str, Any]]:
    """(method, url, JSON body) of every operation, with known ids and the schema's example."""
    doc = app.openapi()
    found = []
    for path, ops in doc["paths"].items():
        url = path
        for name in [p.strip("{}") for p in path.split("/") if p.startswith("{")]:
            url = url.replace("{" + name + "}", ids.get(name, "1"))
        for method, op in ops.items():
            found.append((method.upper(), url, _example_body(doc, op)))
    return found


async def walk(
    app: FastAPI, client: httpx.AsyncClient, auth: dict[str, str], ids: dict[str, str]
) -> dict[tuple[str, str], httpx.Response]:
    """Call every operation; none may hang or answer a 5xx other than a 503 problem."""
    answers = {}
    for method, url, body in operations(app, ids):
        headers = {**auth, "Idempotency-Key": str(uuid.uuid4())}
        r = await call(client, method, url, json=body, headers=headers)
        answers[(method, url)] = r
        if r.status_code >= 500:
            assert r.status_code == 503, (method, url, r.status_code, r.text)
            if url.startswith("/health"):
                continue  # readiness reports the backend's state in its own documented body
            assert r.headers["content-type"] == "application/problem+json", (method, url)
            assert int(r.headers["retry-after"]) >= 1, (method, url)
    assert len(answers) >= 50  # the whole document was walked
    return answers


def assert_503(
    answers: dict[tuple[str, str], httpx.Response], key: tuple[str, str], code: str
) -> None:
    r = answers[key]
    assert r.status_code == 503, (key, r.status_code, r.text)
    assert r.json()["code"] == code, (key, r.text)
    assert int(r.headers["retry-after"]) >= 1


def redis_settings(tmp_path: Path, redis: RedisServer, *, timeout_s: float) -> Settings:
    """An app on our own Redis whose routes themselves meet an outage (the limiter fails open)."""
    return make_settings(
        tmp_path,
        redis_url=redis.url,
        redis_socket_timeout_s=timeout_s,
        redis_connect_timeout_s=timeout_s,
        rate_limit_fail_open_writes=True,
        **FAST,
    )


@pytest.fixture
async def redis_app(
    tmp_path: Path,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, RedisServer]]:
    own = RedisServer(tmp_path)  # ours to kill and freeze
    own.start()
    settings = redis_settings(tmp_path, own, timeout_s=0.5)
    try:
        async with running_app(settings) as (app, client):
            yield app, client, own
    finally:
        own.stop()


@pytest.mark.parametrize("fault", ["killed", "frozen"])
async def test_redis_away_every_operation_answers_without_500(
    redis_app: tuple[FastAPI, httpx.AsyncClient, RedisServer], fault: str
) -> None:
    app, client, redis = redis_app
    auth, ids = await prepare(client)
    if fault == "killed":
        redis.stop()
    else:
        redis.freeze()
    try:
        answers = await walk(app, client, auth, ids)
    finally:
        if fault == "frozen":
            redis.thaw()
    session = ids["session_id"]
    for key in (
        ("GET", f"/api/sessions/{session}"),
        ("POST", "/api/sessions"),
        ("GET", "/api/sessions"),
    ):
        assert_503(answers, key, "REDIS_UNAVAILABLE")
    purchase = answers[("POST", f"/api/purchase/{ids['product_id']}")]
    assert purchase.status_code == 503 and purchase.json()["code"] == "STOCK_STORE_UNAVAILABLE"
    # Not Redis-bound: accounts and plans live in SQL; classify's cache is only skipped.
    assert answers[("GET", "/api/auth/me")].status_code == 200
    assert answers[("GET", f"/api/plans/{ids['plan_id']}")].status_code == 200
    classify = answers[("POST", "/api/classify")]
    assert classify.status_code == 200, classify.text


async def test_redis_restart_costs_no_500(tmp_path: Path) -> None:
    """Pooled connections to the old server are dead after a restart: the first command on
    each fails with a connection error and is sent once more on a fresh connection."""
    redis = RedisServer(tmp_path)
    redis.start()
    # Timeouts far above any wait a loaded machine causes: this test is about dead pooled
    # connections (a connection error, retried), not about a server that is slow to answer.
    settings = redis_settings(tmp_path, redis, timeout_s=15)
    try:
        async with running_app(settings) as (_app, client):
            await _restart_costs_no_500(client, redis)
    finally:
        redis.stop()


async def _restart_costs_no_500(client: httpx.AsyncClient, redis: RedisServer) -> None:
    auth, ids = await prepare(client)
    session = ids["session_id"]
    warm = await asyncio.gather(
        *(call(client, "GET", "/api/sessions", headers=auth) for _ in range(30))
    )
    assert {r.status_code for r in warm} == {200}
    redis.restart_empty()
    after = await asyncio.gather(
        *(call(client, "GET", f"/api/sessions/{session}", headers=auth) for _ in range(30))
    )
    # The restarted Redis is empty: the session is gone (404), and nothing failed.
    assert {r.status_code for r in after} == {404}, [r.text for r in after if r.status_code != 404]


@pytest.fixture
async def pg_app(
    tmp_path: Path, postgres_url: str, postgres_engine: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, TcpProxy]]:
    parts = urlsplit(postgres_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.start()
    netloc = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    relayed = urlunsplit(parts._replace(netloc=f"{netloc}:{proxy.port}"))
    settings = make_settings(
        tmp_path,
        database_url=relayed,
        database_connect_timeout_s=0.5,
        database_statement_timeout_s=0.5,
        database_pool_timeout_s=0.5,
        database_ping_idle_s=0,
        **FAST,
    )
    try:
        async with running_app(settings) as (app, client):
            yield app, client, proxy
    finally:
        proxy.stop()


@pytest.mark.parametrize("fault", ["frozen", "down"])
async def test_postgres_away_every_operation_answers_without_500(
    pg_app: tuple[FastAPI, httpx.AsyncClient, TcpProxy], fault: str
) -> None:
    app, client, proxy = pg_app
    auth, ids = await prepare(client)
    if fault == "frozen":
        proxy.freeze()
    else:
        proxy.down()
    answers = await walk(app, client, auth, ids)
    session = ids["session_id"]
    for key in (
        ("GET", "/api/auth/me"),
        ("GET", f"/api/sessions/{session}"),
        ("GET", "/api/sessions"),
        ("POST", "/api/sessions"),
        ("GET", f"/api/plans/{ids['plan_id']}"),
        ("GET", "/api/plans"),
    ):
        assert_503(answers, key, "DATABASE_UNAVAILABLE")
    login = await call(
        client, "POST", "/api/auth/login", json={"username": "root", "password": ADMIN_PASSWORD}
    )
    assert login.status_code == 503 and login.json()["code"] == "DATABASE_UNAVAILABLE"
    purchase = answers[("POST", f"/api/purchase/{ids['product_id']}")]
    assert purchase.status_code == 503, purchase.text
    # Not database-bound: the rules engine classifies with no account (AUTH_REQUIRED=false).
    classify = await call(client, "POST", "/api/classify", json={"concept": "CT 폐결절 검출 AI"})
    assert classify.status_code == 200, classify.text


async def test_postgres_restart_costs_no_failed_read(
    tmp_path: Path, postgres_url: str, postgres_engine: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every pooled connection dies at once (the server restarted): reads are sent once more
    on a fresh connection, so none fails. No idle ping here: the connections are in use."""
    parts = urlsplit(postgres_url)
    proxy = TcpProxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    proxy.start()
    netloc = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    relayed = urlunsplit(parts._replace(netloc=f"{netloc}:{proxy.port}"))
    settings = make_settings(tmp_path, database_url=relayed, database_ping_idle_s=3600, **FAST)
    try:
        async with running_app(settings) as (_app, client):
            auth, ids = await prepare(client)
            reads = [
                "/api/auth/me",
                "/api/sessions",
                f"/api/sessions/{ids['session_id']}",
                f"/api/plans/{ids['plan_id']}",
                "/api/purchases",
                "/api/auth/users?limit=5",
                "/api/auth/api-keys",
            ]

            async def read_all() -> list[httpx.Response]:
                return await asyncio.gather(
                    *(call(client, "GET", path, headers=auth) for path in reads * 3)
                )

            warm = await read_all()
            assert {r.status_code for r in warm} == {200}, [r.text for r in warm]
            capsys.readouterr()
            proxy.restart()
            after = await read_all()
            assert [r.status_code for r in after] == [200] * len(after), [
                r.text for r in after if r.status_code != 200
            ]
            assert [r.json() for r in after] == [r.json() for r in warm]
            assert "sql_read_retried" in capsys.readouterr().out
    finally:
        proxy.stop()
