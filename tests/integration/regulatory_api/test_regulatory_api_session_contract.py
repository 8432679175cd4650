"""One contract, every SessionStore adapter: memory, SQLite, PostgreSQL, Redis (one server
and a cluster)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from app.platform.storage.sql.tables import sessions
from app.regulatory.adapters.redis.sessions import RedisSessionStore
from app.regulatory.adapters.sql.sessions import SqlSessionStore
from app.regulatory.repository import SessionStore
from app.regulatory.sessions import merge_patch
from tests.support.fakes.sessions import MemorySessionStore

pytestmark = pytest.mark.integration


@pytest.fixture
def store(backend) -> SessionStore:  # type: ignore[no-untyped-def]
    if backend.kind == "memory":
        return MemorySessionStore()
    if backend.redis is not None:
        return RedisSessionStore(backend.redis)
    return SqlSessionStore(backend.engine)


def merging(patch: dict[str, Any]) -> Any:
    return lambda old: merge_patch(old, patch)


async def test_create_get_update_delete(store: SessionStore) -> None:
    created = await store.create(
        session_id="sess_a", owner_id=None, data={"concept": "폐결절 🫁", "n": {"a": 1}}, ttl_s=60
    )
    assert created.data == {"concept": "폐결절 🫁", "n": {"a": 1}}
    got = await store.get("sess_a")
    assert got is not None and got.data == created.data and got.owner_id is None
    assert got.expires_at > got.updated_at

    updated = await store.update(
        "sess_a", mutate=merging({"n": {"b": 2}, "concept": None}), ttl_s=60
    )
    assert updated is not None and updated.data == {"n": {"a": 1, "b": 2}}
    assert updated.created_at == got.created_at and updated.updated_at >= got.updated_at
    assert (await store.get("sess_a")).data == {"n": {"a": 1, "b": 2}}  # type: ignore[union-attr]

    assert await store.delete("sess_a") is True
    assert await store.delete("sess_a") is False
    assert await store.get("sess_a") is None
    assert await store.update("sess_a", mutate=merging({"x": 1}), ttl_s=60) is None


async def test_expired_is_gone_and_ttl_restarts_on_update(store: SessionStore) -> None:
    # sess_kept first: when sess_short (same TTL, created after it) is gone, sess_kept's first
    # TTL is over too, and only the restart on update keeps it. The TTL is long enough for the
    # two calls in between to finish within it on a loaded machine; no upper bound is waited on.
    await store.create(session_id="sess_kept", owner_id=None, data={}, ttl_s=1.0)
    await store.create(session_id="sess_short", owner_id=None, data={}, ttl_s=1.0)
    assert await store.update("sess_kept", mutate=merging({"v": 1}), ttl_s=60) is not None
    await asyncio.sleep(1.1)  # waiting out a TTL is the behaviour under test
    assert await store.get("sess_short") is None
    kept = await store.get("sess_kept")
    assert kept is not None and kept.data == {"v": 1}
    assert await store.update("sess_short", mutate=merging({"v": 1}), ttl_s=60) is None
    assert await store.delete("sess_short") is False


async def test_purge_frees_expired_sessions_in_batches_and_keeps_live_ones(
    store: SessionStore,
    backend,  # type: ignore[no-untyped-def]
) -> None:
    for i in range(5):
        await store.create(session_id=f"sess_dead{i}", owner_id="u1", data={"i": i}, ttl_s=0.2)
    await store.create(session_id="sess_alive", owner_id="u1", data={"v": 1}, ttl_s=60)
    await asyncio.sleep(0.3)  # waiting out a TTL is the behaviour under test

    purged = await store.purge_expired(batch=2)  # three transactions on SQL: 2, 2, 1

    # Redis expires keys itself: nothing is left for a sweep to free.
    assert purged == (0 if backend.redis is not None else 5)
    assert await store.purge_expired(batch=2) == 0
    alive = await store.get("sess_alive")
    assert alive is not None and alive.data == {"v": 1}
    assert [r.id for r in await store.list_by_owner("u1", limit=10)] == ["sess_alive"]
    if backend.engine is not None:  # the rows are gone, not just hidden
        async with backend.engine.connect() as conn:
            ids = (await conn.execute(select(sessions.c.id))).scalars().all()
        assert ids == ["sess_alive"]


async def test_a_failing_mutation_changes_nothing(store: SessionStore) -> None:
    await store.create(session_id="sess_f", owner_id=None, data={"keep": 1}, ttl_s=60)

    def boom(old: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("too big")

    with pytest.raises(ValueError, match="too big"):
        await store.update("sess_f", mutate=boom, ttl_s=60)
    assert (await store.get("sess_f")).data == {"keep": 1}  # type: ignore[union-attr]


async def test_concurrent_merges_are_not_lost(store: SessionStore) -> None:
    await store.create(session_id="sess_c", owner_id=None, data={}, ttl_s=60)
    results = await asyncio.gather(
        *(store.update("sess_c", mutate=merging({f"k{i}": i}), ttl_s=60) for i in range(25))
    )
    assert all(r is not None for r in results)
    final = await store.get("sess_c")
    assert final is not None and final.data == {f"k{i}": i for i in range(25)}


async def test_list_by_owner(store: SessionStore) -> None:
    await store.create(session_id="sess_1", owner_id="u1", data={}, ttl_s=60)
    await store.create(session_id="sess_2", owner_id="u1", data={}, ttl_s=60)
    await store.create(session_id="sess_3", owner_id="u2", data={}, ttl_s=60)
    await store.create(session_id="sess_4", owner_id=None, data={}, ttl_s=60)
    await store.create(session_id="sess_dead", owner_id="u1", data={}, ttl_s=0.05)
    await asyncio.sleep(0.1)
    await store.update("sess_1", mutate=merging({"touched": True}), ttl_s=60)
    listed = await store.list_by_owner("u1", limit=10)
    assert [s.id for s in listed] == ["sess_1", "sess_2"]  # most recently updated first
    assert [s.id for s in await store.list_by_owner("u1", limit=1)] == ["sess_1"]
    assert [s.id for s in await store.list_by_owner("u2", limit=10)] == ["sess_3"]
    assert await store.list_by_owner("nobody", limit=10) == []


async def test_returned_data_is_a_copy(store: SessionStore) -> None:
    created = await store.create(session_id="sess_copy", owner_id=None, data={"a": [1]}, ttl_s=60)
    created.data["a"].append(2)
    got = await store.get("sess_copy")
    assert got is not None and got.data == {"a": [1]}
