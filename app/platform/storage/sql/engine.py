"""The async SQL engine: SQLite (WAL, busy timeout, foreign keys) by default, PostgreSQL to scale."""

from __future__ import annotations

import weakref
from pathlib import Path
from time import monotonic
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.platform.config import Settings
from app.platform.storage.sql.sqlite_connection import connect_sqlite


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a SQLite URL (None for in-memory or non-SQLite URLs)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the engine for `DATABASE_URL`; nothing connects until first use.

    `hide_parameters`: statement parameters (password and key hashes, session contents) never
    reach a log line or an exception message, whatever DATABASE_ECHO or LOG_LEVEL say.
    """
    if settings.is_sqlite:
        path = sqlite_path(settings.database_url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            settings.database_url,
            echo=settings.database_echo,
            hide_parameters=True,
            connect_args={
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
                "async_creator_fn": connect_sqlite,
            },
            pool_size=settings.database_pool_size,
            max_overflow=0,
        )
        _install_sqlite_pragmas(engine, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        return engine
    connect_args: dict[str, Any] = {"timeout": settings.database_connect_timeout_s}
    statement_s = settings.database_statement_timeout_s
    if statement_s > 0:
        connect_args["server_settings"] = {"statement_timeout": str(int(statement_s * 1000))}
        # A frozen server enforces nothing: the client gives up a second after the server would.
        connect_args["command_timeout"] = statement_s + 1
    engine = create_async_engine(
        settings.database_url,
        echo=settings.database_echo,
        hide_parameters=True,
        connect_args=connect_args,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
        pool_timeout=settings.database_pool_timeout_s,
        pool_pre_ping=settings.database_ping_idle_s == 0,
    )
    if settings.database_ping_idle_s > 0:
        _install_idle_ping(engine, idle_s=settings.database_ping_idle_s)
    _install_unreachable_as_operational(engine)
    return engine


def _install_unreachable_as_operational(engine: AsyncEngine) -> None:
    """Report an unreachable or silent server as `OperationalError`, like every other outage.

    asyncpg raises the socket's own `OSError` (refused, reset) or `TimeoutError` (connect or
    command timeout), which SQLAlchemy passes through unwrapped; the HTTP layer maps SQLAlchemy's
    `OperationalError` family to 503 DATABASE_UNAVAILABLE (app/platform/error_handlers.py) and must not
    guess at bare OS errors from anywhere.
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as exc:  # TimeoutError and ConnectionError are OSErrors
            raise OperationalError("connect", None, exc) from exc

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        original = context.original_exception
        if context.sqlalchemy_exception is None and isinstance(original, OSError):
            # The socket under this connection is gone (reset, closed, timed out): say so, so
            # the pool drops it and a read may be retried on a fresh one (`retry_read`).
            context.is_disconnect = True
            raise OperationalError(
                context.statement, None, original, connection_invalidated=True
            ) from original


def _install_idle_ping(engine: AsyncEngine, *, idle_s: float) -> None:
    """Ping a pooled connection on checkout only if it sat idle `idle_s` or longer.

    `pool_pre_ping` pings on every checkout: one more round trip per transaction, which the
    purchase group committer (a transaction per batch) paid on every batch. A connection in
    steady use has just proved itself; one that idled may have been dropped (server restart,
    idle timeouts in between). A failed ping raises DisconnectionError, which makes the pool
    replace the connection and retry the checkout.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = monotonic()

    @event.listens_for(pool, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or monotonic() - checked_in_at < idle_s:
            return  # new, or in steady use
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("pooled connection failed its idle ping") from exc
        if not alive:
            raise DisconnectionError("pooled connection failed its idle ping")


def _install_sqlite_pragmas(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that every transaction starts with
        # BEGIN IMMEDIATE: a deferred transaction that reads and then writes can fail at once
        # with SQLITE_BUSY instead of waiting for busy_timeout.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Reads (see `reader`) take no write lock: in WAL mode they never block writers.
        if connection.get_execution_options().get(_READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


_READ_ONLY_OPTION = "raidesk_read_only"
_readers: weakref.WeakKeyDictionary[Any, AsyncEngine] = weakref.WeakKeyDictionary()


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool for read-only work (`async with reader(e).connect()`).

    On SQLite its transactions start deferred instead of BEGIN IMMEDIATE, so lookups on the
    hot path (callers, products, sessions) do not queue behind writers for the write lock.
    Only statements that do not write may run through it.
    """
    cached = _readers.get(engine.sync_engine)
    if cached is None:
        cached = engine.execution_options(**{_READ_ONLY_OPTION: True})
        _readers[engine.sync_engine] = cached
    return cached


def pool_stats(engine: AsyncEngine) -> dict[str, int]:
    """Connections in use and idle in the engine's pool."""
    pool: Any = engine.pool
    stats = {}
    for name in ("size", "checkedin", "checkedout", "overflow"):
        method = getattr(pool, name, None)
        if callable(method):
            stats[name] = int(method())
    return stats
