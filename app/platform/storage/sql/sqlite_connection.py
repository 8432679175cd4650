"""aiosqlite connections that survive SQLAlchemy's terminate-on-cancel path.

When a task is cancelled inside a query, SQLAlchemy closes the connection gracefully in a
shielded task; if the task is cancelled again meanwhile, it also force-stops the connection.
aiosqlite's worker thread ends at the first stop request, but the graceful close then asks for
a second stop and waits for a thread that is gone: that close never finishes, and whoever later
waits for every task (shutdown, `asyncio.run`) waits forever. Here a second stop waits for the
first one instead (aiosqlite 0.22, SQLAlchemy 2.1; tests/unit/platform/test_sqlite_connection.py).
Only aiosqlite's public API is used: the class keeps its own record of the first stop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import aiosqlite


class SqliteConnection(aiosqlite.Connection):
    """An aiosqlite connection whose `stop()` may be called more than once."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        # Our own state, not aiosqlite's: every stop request (close(), a failed connect,
        # SQLAlchemy's force-close, __del__) goes through stop() below.
        self.stop_requested = False
        self._first_stop: asyncio.Future[Any] | None = None

    def stop(self) -> asyncio.Future[Any] | None:
        """Ask the worker thread to close and end; later calls wait for that same request."""
        if self.stop_requested:
            return self._first_stop
        self.stop_requested = True
        self._first_stop = super().stop()
        return self._first_stop


def connect_sqlite(database: str, **kwargs: Any) -> SqliteConnection:
    """What `aiosqlite.connect` does, with `SqliteConnection` (SQLAlchemy's `async_creator_fn`)."""

    def connector() -> sqlite3.Connection:
        opened: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return opened

    # The worker should be a daemon, as SQLAlchemy makes aiosqlite's own, so that a leaked
    # connection never holds the interpreter open at exit. aiosqlite has no public way to say
    # so, but a thread inherits the daemon flag of the thread that creates it (threading
    # docs): create the connection (not yet started) on a short-lived daemon thread.
    built: list[SqliteConnection] = []
    builder = threading.Thread(
        target=lambda: built.append(SqliteConnection(connector, 64)),
        name="sqlite-connect",
        daemon=True,
    )
    builder.start()
    builder.join()
    return built[0]
