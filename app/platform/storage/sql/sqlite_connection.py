"""aiosqlite connections that survive SQLAlchemy's terminate-on-cancel path.

When a task is cancelled inside a query, SQLAlchemy closes the connection gracefully in a
shielded task; if the task is cancelled again meanwhile, it also force-stops the connection.
aiosqlite's worker thread ends at the first stop request, but the graceful close then asks for
a second stop and waits for a thread that is gone: that close never finishes, and whoever later
waits for every task (shutdown, `asyncio.run`) waits forever. Here a second stop waits for the
first one instead (aiosqlite 0.22, SQLAlchemy 2.1; tests/unit/platform/test_sqlite_connection.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import aiosqlite


class SqliteConnection(aiosqlite.Connection):
    """An aiosqlite connection whose `stop()` may be called more than once."""

    _first_stop: asyncio.Future[Any] | None = None

    def stop(self) -> asyncio.Future[Any] | None:
        """Ask the worker thread to close and end; later calls wait for that same request."""
        if not self._running:
            return self._first_stop
        self._first_stop = super().stop()
        return self._first_stop


def connect_sqlite(database: str, **kwargs: Any) -> SqliteConnection:
    """What `aiosqlite.connect` does, with `SqliteConnection` (SQLAlchemy's `async_creator_fn`)."""

    def connector() -> sqlite3.Connection:
        opened: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return opened

    connection = SqliteConnection(connector, 64)
    # A daemon worker, as SQLAlchemy makes aiosqlite's own: a leaked connection never holds
    # the interpreter open at exit.
    connection._thread.daemon = True
    return connection
