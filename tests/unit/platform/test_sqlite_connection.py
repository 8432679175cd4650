"""A force-stopped aiosqlite connection can still be closed: the shutdown hang it prevents."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
import pytest

from app.platform.config import Settings
from app.platform.storage.sql.engine import create_engine
from app.platform.storage.sql.sqlite_connection import SqliteConnection, connect_sqlite

pytestmark = pytest.mark.unit


async def test_a_close_after_a_force_stop_finishes_and_the_worker_ends(tmp_path: Path) -> None:
    connection = await connect_sqlite(str(tmp_path / "db.sqlite"))
    assert await (await connection.execute("SELECT 1")).fetchone() == (1,)
    # SQLAlchemy's terminate path when a cancelled task is cancelled again: force-stop, while
    # its shielded graceful close is still to run.
    first = connection.stop()
    # The close ends (the stop already closed the database, which it reports) instead of
    # waiting for a worker thread that is gone.
    with pytest.raises(ValueError, match="closed"):
        await asyncio.wait_for(connection.close(), timeout=5)
    assert first is not None and first.done()
    await asyncio.to_thread(connection._thread.join, 5)
    assert not connection._thread.is_alive()
    assert connection._thread.daemon


async def test_plain_aiosqlite_waits_forever_there(tmp_path: Path) -> None:
    # What SqliteConnection is for: if aiosqlite fixes this, the subclass can go.
    connection = aiosqlite.connect(str(tmp_path / "db.sqlite"))
    connection._thread.daemon = True
    await connection
    connection.stop()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(connection.close(), timeout=0.5)


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
