"""Shared fixtures: settings and in-process apps for unit tests; real Redis, SQLite,
PostgreSQL and uvicorn for integration tests. A missing real server fails the run loudly."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.main import create_app
from app.platform.config import Settings, load_settings
from app.platform.storage.migrate import run_migrations
from app.platform.storage.redis.client import create_redis
from app.platform.storage.sql.engine import create_engine
from bench.harness import release_port_claims
from tests.support.cluster import RedisClusterServers
from tests.support.cluster import redis_cluster as redis_cluster  # the session fixture
from tests.support.servers import LiveServer, RedisServer

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
TEST_SECRET = "test-secret-key-with-more-than-32-characters!"


# --- suite rules --------------------------------------------------------------------
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test says what it needs: `unit` or `integration` (docs/testing.md)."""
    unmarked = [
        item.nodeid
        for item in items
        if item.get_closest_marker("unit") is None
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "tests without a unit or integration marker: " + ", ".join(unmarked[:20])
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Give back the ports this process claimed for its servers."""
    release_port_claims()


# --- settings and in-process apps ----------------------------------------------------
def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings isolated from the machine's `.env`: a private SQLite file, limits off."""
    values: dict[str, Any] = {
        "environment": "test",
        "secret_key": TEST_SECRET,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'test.db'}",
        "redis_url": "",
        "log_level": "INFO",
        "rate_limit_enabled": False,
        # A busy test machine can keep a private redis-server off the CPU for over a second:
        # tests that are not about timeouts must not turn that into a 503. Fault tests set
        # their own short timeouts.
        "redis_connect_timeout_s": 10.0,
        "redis_socket_timeout_s": 10.0,
    }
    values.update(overrides)
    known = set(Settings.model_fields)
    return load_settings(_env_file=None, **{k: v for k, v in values.items() if k in known})


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    """Build settings for this test, with overrides."""
    return lambda **overrides: make_settings(tmp_path, **overrides)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app with its lifespan running and an httpx client speaking ASGI to it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


AppFactory = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
def app_factory(settings_factory: Callable[..., Settings]) -> AppFactory:
    """`async with app_factory(**overrides) as (app, client)` for tests that tune settings."""
    return lambda **overrides: running_app(settings_factory(**overrides))


@pytest.fixture
async def client(app_factory: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app on the embedded default (SQLite file + in-process stores)."""
    async with app_factory() as (_app, http):
        yield http


# --- real Redis ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One private redis-server for the run (fails the run if none can be started)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
async def redis_client(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A client to the private Redis, emptied before the test."""
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()  # a fault test may have left it stopped
    client = Redis.from_url(redis_server.url, decode_responses=True)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
async def app_redis_client(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Redis]:
    """A client to the private Redis built as the app builds its own (`create_redis`: the
    bounded blocking pool and timeouts of the settings), emptied before the test."""
    if redis_server.process is None or redis_server.process.poll() is not None:
        redis_server.start()
    client = create_redis(make_settings(tmp_path, redis_url=redis_server.url))
    await client.flushall()
    yield client
    await client.aclose(close_connection_pool=True)


@pytest.fixture
async def app_redis_cluster_client(
    redis_cluster: RedisClusterServers, tmp_path: Path
) -> AsyncIterator[RedisCluster]:
    """A client to the private Redis Cluster built as the app builds it (`create_redis` on a
    `redis+cluster://` URL), every master emptied before the test."""
    redis_cluster.flush()
    client = create_redis(make_settings(tmp_path, redis_url=redis_cluster.url))
    assert isinstance(client, RedisCluster)
    await client.initialize()  # as the lifespan does (Connections.connect_redis)
    yield client
    await client.aclose()


@dataclass
class SharedRedis:
    """The Redis a live test's servers share: one server or a cluster, and a client to it."""

    kind: str  # "redis" | "redis-cluster"
    url: str  # REDIS_URL for the app
    client: Any  # emptied before the test


# Sync on purpose: it pulls async fixtures with getfixturevalue.
@pytest.fixture(params=("redis", "redis-cluster"))
def shared_redis(request: pytest.FixtureRequest) -> SharedRedis:
    """One redis-server, then the 3-master Redis Cluster: for live tests that must hold on both."""
    if request.param == "redis-cluster":
        cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
        client = request.getfixturevalue("app_redis_cluster_client")
        return SharedRedis(request.param, cluster.url, client)
    server: RedisServer = request.getfixturevalue("redis_server")
    return SharedRedis(request.param, server.url, request.getfixturevalue("redis_client"))


# --- real SQL -----------------------------------------------------------------------
async def _exec_autocommit(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the run, dropped afterwards."""
    name = f"raidesk_test_{secrets.token_hex(4)}"
    try:
        asyncio.run(_exec_autocommit(POSTGRES_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL at {POSTGRES_ADMIN_URL} is needed by the integration tests and "
            f"could not be used: {exc}",
            pytrace=False,
        )
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    async def migrate() -> None:
        engine = create_async_engine(url)
        try:
            await run_migrations(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    yield url
    asyncio.run(
        _exec_autocommit(POSTGRES_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    )


async def _truncate_all(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        rows = await conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        )
        names = [r[0] for r in rows]
        if names:
            await conn.execute(
                text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
            )


@pytest.fixture
async def postgres_engine(postgres_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on the run's PostgreSQL database, every table emptied first."""
    engine = create_engine(make_settings(tmp_path, database_url=postgres_url))
    await _truncate_all(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh, migrated SQLite file."""
    engine = create_engine(make_settings(tmp_path))
    await run_migrations(engine)
    yield engine
    await engine.dispose()


# --- contract suites: one test body, every backend ------------------------------------
@dataclass
class Backend:
    """The real resources one adapter kind needs; a contract test picks its adapter by `kind`."""

    kind: str
    engine: AsyncEngine | None = None
    redis: Redis | RedisCluster | None = None


ALL_BACKENDS = ("memory", "sqlite", "postgres", "redis", "redis-cluster")


def _backend(request: pytest.FixtureRequest, kind: str) -> Backend:
    if kind == "sqlite":
        return Backend(kind, engine=request.getfixturevalue("sqlite_engine"))
    if kind == "postgres":
        return Backend(kind, engine=request.getfixturevalue("postgres_engine"))
    if kind == "redis":
        return Backend(kind, redis=request.getfixturevalue("redis_client"))
    if kind == "redis-cluster":
        return Backend(kind, redis=request.getfixturevalue("app_redis_cluster_client"))
    return Backend(kind)


# Sync on purpose: it pulls async fixtures with getfixturevalue, which cannot run inside a loop.
@pytest.fixture(params=ALL_BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Every backend in turn: memory, SQLite, PostgreSQL, Redis, Redis Cluster."""
    return _backend(request, request.param)


@pytest.fixture(params=("memory", "sqlite", "postgres"))
def sql_backend(request: pytest.FixtureRequest) -> Backend:
    """Backends of the durable stores (no Redis adapter): memory, SQLite, PostgreSQL."""
    return _backend(request, request.param)


# --- real HTTP ----------------------------------------------------------------------
SERVER_LOGS = pytest.StashKey[list[Path]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failed live-server test shows the server's error lines (the 500's traceback is there)."""
    report = yield
    if report.when == "call" and report.failed:
        for path in item.stash.get(SERVER_LOGS, []):
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            errors = [line for line in lines if '"level": "error"' in line][-20:]
            if errors:
                report.sections.append((f"server errors ({path.name})", "\n".join(errors)))
    return report


@pytest.fixture
def live_server_factory(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., LiveServer]]:
    """Start uvicorn (optionally several workers) with env overrides; stopped after the test."""
    started: list[LiveServer] = []

    def start(workers: int = 1, argv: list[str] | None = None, **env: str) -> LiveServer:
        base = {
            "ENVIRONMENT": "test",
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
            "REDIS_URL": "",
            "RATE_LIMIT_ENABLED": "false",
            "LOG_FORMAT": "json",
            # argon2 at its cheapest: tests check the mechanism, not its cost (test env allows it).
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "1024",
            # As in make_settings: load on the test machine is not a Redis outage.
            "REDIS_CONNECT_TIMEOUT_S": "10",
            "REDIS_SOCKET_TIMEOUT_S": "10",
            # A test client's pool may send a request on a kept-alive connection at the very
            # moment uvicorn closes it for idling (5 s by default): the request then fails with
            # a ReadError, a race of the machine's load, not of the code. Tests of the idle
            # cut-off start their own server (test_slow_clients_live.py).
            "UVICORN_TIMEOUT_KEEP_ALIVE": "600",
            "KEEP_ALIVE_TIMEOUT_S": "300",  # the same for `python -m app serve` (argv)
            # And its header deadline: a connection opened by a client the load then keeps off
            # the CPU must not be cut before its first request is written.
            "HEADER_READ_TIMEOUT_S": "300",
        }
        if workers > 1:
            metrics_dir = tmp_path / f"prom-{len(started)}"
            metrics_dir.mkdir()
            base["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        log_path = tmp_path / f"server-{len(started)}.log"
        server = LiveServer(env={**base, **env}, workers=workers, log_path=log_path, argv=argv)
        started.append(server)
        request.node.stash.setdefault(SERVER_LOGS, []).append(log_path)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()
