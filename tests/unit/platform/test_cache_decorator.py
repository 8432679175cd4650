"""`@cached` (app/platform/cache.py) over the in-process store and fakeredis: hits, misses,
expiry, prefix invalidation, per-prefix counts and metrics, a failing store, no cache installed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
from prometheus_client import REGISTRY
from redis.exceptions import ConnectionError as RedisConnectionError

from app.platform.cache import Cache, cache_invalidate, cached, get_cache, install_cache
from app.platform.metrics import CACHE_LOOKUPS
from app.platform.storage.kv.memory import MemoryKeyValueStore
from app.platform.storage.kv.redis import RedisKeyValueStore

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


calls: list[tuple[str, Any]] = []


@cached(60, "template:")
async def render_template(name: str, *, lang: str = "ko") -> dict[str, Any]:
    calls.append(("template", (name, lang)))
    return {"name": name, "lang": lang, "body": f"<{name}/{lang}>"}


@cached(60, "fees:")
async def fee(tier: str) -> float:
    calls.append(("fee", tier))
    return {"fast": 2.5, "normal": 1.0}[tier]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "fakeredis"])
def cache(request: pytest.FixtureRequest, clock: Clock) -> Iterator[Cache]:
    calls.clear()
    if request.param == "memory":
        kv: Any = MemoryKeyValueStore(clock=clock)
    else:
        kv = RedisKeyValueStore(fakeredis.FakeAsyncRedis(decode_responses=True))
    made = Cache(kv)
    uninstall = install_cache(made)
    yield made
    uninstall()


def lookups(prefix: str, outcome: str) -> float:
    CACHE_LOOKUPS.labels(prefix, outcome)  # the sample exists from the first label use
    value = REGISTRY.get_sample_value("cache_lookups_total", {"prefix": prefix, "outcome": outcome})
    assert value is not None
    return value


async def test_a_second_call_with_the_same_arguments_is_a_hit(cache: Cache) -> None:
    first = await render_template("intro", lang="en")
    again = await render_template("intro", lang="en")
    assert first == again == {"name": "intro", "lang": "en", "body": "<intro/en>"}
    assert calls == [("template", ("intro", "en"))]
    await render_template("intro")  # other arguments: another entry
    assert calls[-1] == ("template", ("intro", "ko"))
    assert cache.stats()["template:"] == {
        "hits": 1,
        "misses": 2,
        "errors": 0,
        "hit_rate": round(1 / 3, 4),
        "miss_rate": round(2 / 3, 4),
    }


async def test_prefix_invalidation_drops_only_that_prefix(cache: Cache) -> None:
    await render_template("intro")
    await fee("fast")
    assert await cache_invalidate("template:") == 1
    await render_template("intro")
    await fee("fast")
    assert calls == [("template", ("intro", "ko")), ("fee", "fast"), ("template", ("intro", "ko"))]
    assert await cache.clear() == 2
    await fee("fast")
    assert calls[-1] == ("fee", "fast")


async def test_entries_expire_after_their_ttl(clock: Clock) -> None:
    calls.clear()
    uninstall = install_cache(Cache(MemoryKeyValueStore(clock=clock)))
    try:
        await fee("normal")
        clock.now += 59.9
        await fee("normal")
        assert calls == [("fee", "normal")]
        clock.now += 0.2
        await fee("normal")
        assert calls == [("fee", "normal"), ("fee", "normal")]
    finally:
        uninstall()


async def test_a_failing_store_never_fails_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    calls.clear()
    kv = MemoryKeyValueStore()

    async def down(*_args: Any, **_kwargs: Any) -> Any:
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(kv, "get", down)
    monkeypatch.setattr(kv, "set", down)
    made = Cache(kv)
    uninstall = install_cache(made)
    before = lookups("fees:", "error")
    try:
        assert await fee("fast") == 2.5
        assert await fee("fast") == 2.5
    finally:
        uninstall()
    assert calls == [("fee", "fast"), ("fee", "fast")]
    assert made.stats()["fees:"]["errors"] == 2 and made.stats()["fees:"]["miss_rate"] == 1.0
    assert lookups("fees:", "error") == before + 2


async def test_without_an_installed_cache_the_function_just_runs() -> None:
    calls.clear()
    assert get_cache() is None
    await fee("fast")
    await fee("fast")
    assert calls == [("fee", "fast"), ("fee", "fast")]
    assert await cache_invalidate("fees:") == 0


async def test_arguments_that_are_not_json_are_refused(cache: Cache) -> None:
    with pytest.raises(TypeError, match="arguments must be JSON values"):
        await render_template(object())  # type: ignore[arg-type]


async def test_hits_and_misses_reach_prometheus(cache: Cache) -> None:
    hits, misses = lookups("fees:", "hit"), lookups("fees:", "miss")
    await fee("normal")
    await fee("normal")
    await fee("normal")
    assert (lookups("fees:", "hit"), lookups("fees:", "miss")) == (hits + 2, misses + 1)


def test_a_ttl_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive ttl_s"):
        cached(0, "x:")
