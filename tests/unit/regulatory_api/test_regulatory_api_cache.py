"""AI-result cache: keys, hit/miss counting, TTL, LRU bound, prefix invalidation."""

from __future__ import annotations

import pytest

from app.platform.storage.kv.memory import MemoryKeyValueStore
from app.regulatory.cache import AICache, cache_key, cache_status_header

pytestmark = pytest.mark.unit


def test_key_ignores_spelling_noise_but_not_meaning() -> None:
    base = cache_key(
        provider="rules", model="m", endpoint="classify", payload={"concept": "폐결절 검출"}
    )
    same = cache_key(
        provider="rules", model="m", endpoint="classify", payload={"concept": "  폐결절\n\t검출 "}
    )
    nfd = cache_key(
        provider="rules",
        model="m",
        endpoint="classify",
        payload={"concept": "폐결절 검출".encode().decode()},
    )
    assert base == same == nfd
    assert base.startswith("ai:classify:")
    other_model = cache_key(
        provider="rules", model="m2", endpoint="classify", payload={"concept": "폐결절 검출"}
    )
    other_text = cache_key(
        provider="rules", model="m", endpoint="classify", payload={"concept": "폐암 검출"}
    )
    other_endpoint = cache_key(
        provider="rules", model="m", endpoint="purpose", payload={"concept": "폐결절 검출"}
    )
    assert len({base, other_model, other_text, other_endpoint}) == 4


def test_nfc_and_nfd_hangul_share_a_key() -> None:
    import unicodedata

    text = "폐결절"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    k1 = cache_key(provider="p", model="m", endpoint="classify", payload={"concept": text})
    k2 = cache_key(provider="p", model="m", endpoint="classify", payload={"concept": nfd})
    assert k1 == k2


async def test_hits_misses_and_size() -> None:
    cache = AICache(MemoryKeyValueStore(), ttl_s=60, backend="memory", max_entries=10)
    assert await cache.get("ai:classify:x") is None
    await cache.set("ai:classify:x", {"a": "한국어"})
    assert await cache.get("ai:classify:x") == {"a": "한국어"}
    stats = await cache.stats()
    assert (stats["hits"], stats["misses"], stats["size"]) == (1, 1, 1)
    assert stats["hit_ratio"] == 0.5


async def test_ttl_zero_disables_the_cache() -> None:
    cache = AICache(MemoryKeyValueStore(), ttl_s=0, backend="memory")
    await cache.set("ai:classify:x", {"a": 1})
    assert await cache.get("ai:classify:x") is None
    assert (await cache.stats())["size"] == 0


async def test_entries_expire() -> None:
    now = [1000.0]
    cache = AICache(MemoryKeyValueStore(clock=lambda: now[0]), ttl_s=10, backend="memory")
    await cache.set("ai:purpose:x", {"a": 1})
    now[0] += 9
    assert await cache.get("ai:purpose:x") == {"a": 1}
    now[0] += 2
    assert await cache.get("ai:purpose:x") is None


async def test_lru_bound_evicts_least_recently_used() -> None:
    cache = AICache(MemoryKeyValueStore(max_entries=2), ttl_s=60, backend="memory", max_entries=2)
    await cache.set("ai:c:1", 1)
    await cache.set("ai:c:2", 2)
    assert await cache.get("ai:c:1") == 1  # 1 is now the most recent
    await cache.set("ai:c:3", 3)
    assert await cache.get("ai:c:2") is None
    assert await cache.get("ai:c:1") == 1
    assert await cache.size() == 2


async def test_invalidate_by_prefix() -> None:
    kv = MemoryKeyValueStore()
    await kv.set("idempotency:k", "keep")  # another area's key in the same store
    cache = AICache(kv, ttl_s=60, backend="memory")
    await cache.set("ai:classify:1", 1)
    await cache.set("ai:classify:2", 2)
    await cache.set("ai:purpose:1", 3)
    assert await cache.invalidate("classify") == 2
    assert await cache.get("ai:purpose:1") == 3
    assert await cache.invalidate("") == 1
    assert await kv.get("idempotency:k") == "keep"


def test_cache_status_header_values() -> None:
    assert cache_status_header("hit") == "raidesk; hit"
    assert cache_status_header("miss").startswith("raidesk; fwd=miss")
    assert cache_status_header("bypass") == "raidesk; fwd=bypass"
