"""A force-stopped aiosqlite connection can still be closed: the shutdown hang it prevents.

Each test holds the connection's worker thread inside a query (a SQL function that waits on an
event) while it asks for the stops, so the order in which the worker sees them is fixed: the
outcome never depends on which thread runs first.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite
import pytest

from app.platform.config import Settings
from app.platform.storage.sql.engine import create_engine
from app.platform.storage.sql.sqlite_connection import SqliteConnection, connect_sqlite

pytestmark = pytest.mark.unit

# Only a deadline for a condition that holds at once when all is well (a thread ending, an
# event set); never a measure of speed.
DEADLINE_S = 30.0


@dataclass
class HeldWorker:
    """A SQL function that parks the connection's worker thread until released."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def hold(self) -> int:
        self.thread = threading.current_thread()
        self.entered.set()
        self.release.wait(DEADLINE_S)
        return 1

    async def park(self, connection: aiosqlite.Connection) -> asyncio.Task[object]:
        """Start a query that blocks the worker; return once the worker is inside it."""
        await connection.create_function("hold", 0, self.hold)
        query = asyncio.create_task(connection.execute_fetchall("SELECT hold()"))
        assert await asyncio.to_thread(self.entered.wait, DEADLINE_S)
        return query

    def release_and_join(self) -> None:
        """Let the worker run all it has queued and end, before the loop runs anything else.

        Blocking the loop here is the point: the close cannot resume while the worker runs its
        stop, so the two never race over the connection.
        """
        self.release.set()
        assert self.thread is not None
        self.thread.join(DEADLINE_S)

    async def worker_ended(self) -> bool:
        assert self.thread is not None
        await asyncio.to_thread(self.thread.join, DEADLINE_S)
        return not self.thread.is_alive()


@pytest.fixture
async def held() -> AsyncIterator[HeldWorker]:
    worker = HeldWorker()
    yield worker
    worker.release.set()


def after_the_close_starts(*steps: Callable[[], object]) -> None:
    """Run `steps` once the close task just created has run up to its first wait.

    The loop runs ready callbacks in the order they were scheduled, and `create_task` has
    scheduled the task's first step already: no sleep, no race.
    """
    loop = asyncio.get_running_loop()
    for step in steps:
        loop.call_soon(step)


async def test_a_close_after_a_force_stop_finishes_and_the_worker_ends(
    tmp_path: Path, held: HeldWorker
) -> None:
    connection = await connect_sqlite(str(tmp_path / "db.sqlite"))
    query = await held.park(connection)
    # SQLAlchemy's terminate path when a cancelled task is cancelled again: force-stop, while
    # its shielded graceful close is still to run.
    first = connection.stop()
    assert first is not None
    close = asyncio.create_task(connection.close())
    # The close asks for a second stop; that request is the first one, not a new one that
    # a finished worker would never answer.
    after_the_close_starts(held.release.set)
    with pytest.raises(ValueError, match="closed"):
        # The stop already closed the database, which the close reports.
        await asyncio.wait_for(close, timeout=DEADLINE_S)
    assert first.done()
    assert await query == [(1,)]
    assert await held.worker_ended()
    assert held.thread is not None and held.thread.daemon
    assert connection.stop() is first


async def test_a_force_stop_during_a_graceful_close_lets_the_close_finish(
    tmp_path: Path, held: HeldWorker
) -> None:
    connection = await connect_sqlite(str(tmp_path / "db.sqlite"))
    query = await held.park(connection)
    # The other order: the graceful close is queued, then the force-stop comes.
    close = asyncio.create_task(connection.close())
    stops: list[asyncio.Future[object] | None] = []
    after_the_close_starts(lambda: stops.append(connection.stop()), held.release_and_join)
    await asyncio.wait_for(close, timeout=DEADLINE_S)
    assert await query == [(1,)]
    assert stops[0] is not None and stops[0].done()
    assert await held.worker_ended()


@pytest.mark.parametrize(
    "force_stop_first", [True, False], ids=["stop-then-close", "close-then-stop"]
)
async def test_plain_aiosqlite_waits_forever_there(
    tmp_path: Path, held: HeldWorker, force_stop_first: bool
) -> None:
    # What SqliteConnection is for: if aiosqlite fixes this, the subclass can go.
    connection = await aiosqlite.connect(str(tmp_path / "db.sqlite"))
    query = await held.park(connection)
    if force_stop_first:
        connection.stop()
        close = asyncio.create_task(connection.close())
        after_the_close_starts(held.release.set)
    else:
        close = asyncio.create_task(connection.close())
        after_the_close_starts(connection.stop, held.release_and_join)
    await query
    # The worker ends at the first stop; the close's own stop request is never answered, so
    # the close cannot be done however long it is given (the wait only lets the loop run).
    assert await held.worker_ended()
    done, _ = await asyncio.wait({close}, timeout=0.2)
    assert not done
    close.cancel()
    with pytest.raises(asyncio.CancelledError):
        await close


async def test_a_plain_close_stops_once_and_ends_the_worker(
    tmp_path: Path, held: HeldWorker
) -> None:
    connection = connect_sqlite(str(tmp_path / "db.sqlite"))
    await connection
    query = await held.park(connection)
    held.release.set()
    assert await query == [(1,)]
    assert not connection.stop_requested
    await connection.close()
    assert connection.stop_requested
    assert await held.worker_ended()


async def test_the_sqlite_engine_opens_such_connections(tmp_path: Path) -> None:
    engine = create_engine(
        Settings(
            _env_file=None,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        )
    )
    try:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, SqliteConnection)
    finally:
        await engine.dispose()
