"""One contract, every KeyValueStore adapter a setting selects: memory and Redis."""

from __future__ import annotations

import asyncio

import pytest

from app.platform.storage.base import KeyValueStore
from app.platform.storage.kv.memory import MemoryKeyValueStore
from app.platform.storage.kv.redis import RedisKeyValueStore

pytestmark = pytest.mark.integration


@pytest.fixture(params=("memory", "redis", "redis-cluster"))
def store(request: pytest.FixtureRequest) -> KeyValueStore:
    if request.param == "memory":
        return MemoryKeyValueStore()
    if request.param == "redis-cluster":  # prefix deletion scans and unlinks on every master
        return RedisKeyValueStore(request.getfixturevalue("app_redis_cluster_client"))
    return RedisKeyValueStore(request.getfixturevalue("redis_client"))


async def test_set_get_delete_round_trip(store: KeyValueStore) -> None:
    assert await store.get("a") is None
    await store.set("a", "1")
    await store.set("a", "2")
    assert await store.get("a") == "2"
    assert await store.delete("a") is True
    assert await store.delete("a") is False
    assert await store.get("a") is None


async def test_unicode_values_survive(store: KeyValueStore) -> None:
    await store.set("k:한국어", "CT 영상에서 폐결절 🫁")
    assert await store.get("k:한국어") == "CT 영상에서 폐결절 🫁"


async def test_expired_values_are_gone(store: KeyValueStore) -> None:
    await store.set("short", "x", ttl_s=0.05)
    await store.set("long", "y", ttl_s=60)
    await asyncio.sleep(0.15)  # waiting out a TTL is the behaviour under test, not a sync
    assert await store.get("short") is None
    assert await store.get("long") == "y"
    assert await store.set_if_absent("short", "again", ttl_s=60) is True
    assert await store.get("short") == "again"


async def test_set_if_absent_has_one_winner_under_concurrency(store: KeyValueStore) -> None:
    results = await asyncio.gather(
        *(store.set_if_absent("claim", f"v{i}", ttl_s=60) for i in range(20))
    )
    assert results.count(True) == 1
    winner = results.index(True)
    assert await store.get("claim") == f"v{winner}"


async def test_prefix_count_and_delete_treat_wildcards_literally(store: KeyValueStore) -> None:
    for key in ("cache:a", "cache:b", "cache:c", "cachex", "other", "ca%_*"):
        await store.set(key, "v")
    assert await store.count("cache:") == 3
    assert await store.count("ca%_") == 1
    assert await store.delete_prefix("cache:") == 3
    assert await store.get("cachex") == "v"
    assert await store.get("ca%_*") == "v"
    assert await store.count("") == 3
