"""A general cache for async functions: `@cached(ttl_s, key_prefix)` over the app's
KeyValueStore (Redis when REDIS_URL is set, else in process), with prefix invalidation and hit,
miss and error counts per key prefix.

The decorator looks up the app's `Cache` at call time: the lifespan installs one
(`install_cache`) and removes it at shutdown; with none installed (a script, a unit test of the
function itself) the function simply runs. Arguments and return values must be JSON values:
the arguments make the key (`cache:<key_prefix><sha256 of function and arguments>`), the value
is what is stored. A store that fails (Redis down or slow) never fails the call: the function
runs and the failure is counted as an `error` lookup.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from app.platform.logging import get_logger
from app.platform.metrics import CACHE_LOOKUPS
from app.platform.storage.base import KeyValueStore
from app.platform.storage.errors import BACKEND_OUTAGES

_log = get_logger("app.platform.cache")

NAMESPACE = "cache:"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class PrefixCounts:
    """Lookups of one key prefix in this process."""

    hits: int = 0
    misses: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, float]:
        """The counts with hit and miss rates (errors count as misses: the call ran)."""
        lookups = self.hits + self.misses + self.errors
        return {
            "hits": self.hits,
            "misses": self.misses,
            "errors": self.errors,
            "hit_rate": round(self.hits / lookups, 4) if lookups else 0.0,
            "miss_rate": round((self.misses + self.errors) / lookups, 4) if lookups else 0.0,
        }


class Cache:
    """JSON values by key over a KeyValueStore, counted per key prefix."""

    def __init__(self, kv: KeyValueStore, *, namespace: str = NAMESPACE) -> None:
        self.kv = kv
        self.namespace = namespace
        self.counts: defaultdict[str, PrefixCounts] = defaultdict(PrefixCounts)

    async def get_or_call(
        self, *, key_prefix: str, key: str, ttl_s: float, call: Callable[[], Awaitable[Any]]
    ) -> Any:
        """The stored value of `key_prefix + key`, or `call()`'s, stored for `ttl_s`."""
        full = self.namespace + key_prefix + key
        counts = self.counts[key_prefix]
        try:
            raw = await self.kv.get(full)
        except BACKEND_OUTAGES as exc:
            counts.errors += 1
            CACHE_LOOKUPS.labels(key_prefix, "error").inc()
            _log.warning("cache_unavailable", op="get", prefix=key_prefix, error=type(exc).__name__)
            return await call()
        if raw is not None:
            counts.hits += 1
            CACHE_LOOKUPS.labels(key_prefix, "hit").inc()
            return json.loads(raw)
        counts.misses += 1
        CACHE_LOOKUPS.labels(key_prefix, "miss").inc()
        value = await call()
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        try:
            await self.kv.set(full, encoded, ttl_s=ttl_s)
        except BACKEND_OUTAGES as exc:
            _log.warning("cache_unavailable", op="set", prefix=key_prefix, error=type(exc).__name__)
        return value

    async def invalidate(self, prefix: str) -> int:
        """Drop every entry whose key starts with `prefix` (on Redis: SCAN, every master of a
        cluster); how many were live."""
        return await self.kv.delete_prefix(self.namespace + prefix)

    async def clear(self) -> int:
        """Drop every entry of this cache."""
        return await self.invalidate("")

    def stats(self) -> dict[str, dict[str, float]]:
        """Per key prefix: hits, misses, errors, hit rate and miss rate of this process."""
        return {prefix: counts.as_dict() for prefix, counts in sorted(self.counts.items())}


# The installed caches, newest last: the lifespan pushes the app's and pops it at shutdown, so
# an app started after another (tests) never sees the first one's store.
_installed: list[Cache] = []


def install_cache(cache: Cache) -> Callable[[], None]:
    """Make `cache` the one `@cached` functions use; the returned function removes it."""
    _installed.append(cache)

    def uninstall() -> None:
        if cache in _installed:
            _installed.remove(cache)

    return uninstall


def get_cache() -> Cache | None:
    """The cache `@cached` functions use now, or None."""
    return _installed[-1] if _installed else None


async def cache_invalidate(prefix: str) -> int:
    """Drop the entries of every `@cached` function whose key_prefix starts with `prefix`."""
    cache = get_cache()
    return 0 if cache is None else await cache.invalidate(prefix)


def cached(
    ttl_s: float, key_prefix: str
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Cache an async function's JSON result for `ttl_s` seconds under `key_prefix`."""
    if ttl_s <= 0:
        raise ValueError("@cached needs a positive ttl_s")

    def decorate(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        name = f"{fn.__module__}.{fn.__qualname__}"

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            cache = get_cache()
            if cache is None:
                return await fn(*args, **kwargs)
            try:
                canonical = json.dumps(
                    [name, args, kwargs], sort_keys=True, separators=(",", ":"), ensure_ascii=False
                )
            except TypeError as exc:
                raise TypeError(f"@cached {name}: arguments must be JSON values") from exc
            key = hashlib.sha256(canonical.encode()).hexdigest()
            result: R = await cache.get_or_call(
                key_prefix=key_prefix, key=key, ttl_s=ttl_s, call=lambda: fn(*args, **kwargs)
            )
            return result

        return wrapper

    return decorate
