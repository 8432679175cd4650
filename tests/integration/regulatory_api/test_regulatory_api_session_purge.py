"""The lifespan sweeps expired sessions out of SQL every SESSION_PURGE_INTERVAL_S."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.lifespan import Resources, build_resources, close_resources
from app.platform.storage.sql.tables import sessions
from app.regulatory.repository import SessionStore
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


def _store(resources: Resources) -> SessionStore:
    assert resources.regulatory is not None
    return resources.regulatory.sessions.store


async def _session_ids(resources: Resources) -> list[str]:
    async with resources.engine.connect() as conn:
        return list((await conn.execute(select(sessions.c.id))).scalars().all())


async def test_expired_sessions_are_swept_while_the_app_runs(tmp_path: Path) -> None:
    resources = await build_resources(make_settings(tmp_path, session_purge_interval_s=0.05))
    try:
        assert "session-purge" in {task.get_name() for task in resources.background_tasks}
        store = _store(resources)
        await store.create(session_id="sess_live", owner_id=None, data={}, ttl_s=60)
        for i in range(3):
            await store.create(session_id=f"sess_dead{i}", owner_id=None, data={}, ttl_s=0.01)
        # No count of the rows here: the sweep runs every 50 ms and may already have taken the
        # dead ones (on a loaded machine it did). That expired rows stay without the sweep is
        # test_zero_turns_the_sweep_off's part.
        assert "sess_live" in await _session_ids(resources)

        deadline = time.monotonic() + 10
        while (ids := await _session_ids(resources)) != ["sess_live"]:
            assert time.monotonic() < deadline, f"expired rows never swept: {ids}"
            await asyncio.sleep(0.02)  # polling the table for the background task's effect
    finally:
        await close_resources(resources)


async def test_zero_turns_the_sweep_off(tmp_path: Path) -> None:
    resources = await build_resources(make_settings(tmp_path, session_purge_interval_s=0))
    try:
        assert "session-purge" not in {task.get_name() for task in resources.background_tasks}
        store = _store(resources)
        await store.create(session_id="sess_dead", owner_id=None, data={}, ttl_s=0.01)
        await asyncio.sleep(0.05)  # waiting out the TTL is the behaviour under test
        assert await store.get("sess_dead") is None  # reads ignore it
        async with resources.engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(sessions))).scalar() == 1
    finally:
        await close_resources(resources)
