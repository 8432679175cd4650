"""Cache of AI results on a KeyValueStore (in-process LRU + TTL, or Redis).

Keys are `ai:<endpoint>:<sha256>` where the hash covers provider, model, endpoint and the
normalised input, so a different model never answers from another model's entries and one
endpoint's entries can be dropped by prefix. Hit and miss counts are per process (each worker
counts its own lookups); the size is the store's, shared by every worker when it is Redis.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from app.platform.logging import get_logger
from app.platform.metrics import METRICS_BUFFER
from app.platform.storage.base import KeyValueStore
from app.platform.storage.errors import BACKEND_OUTAGES
from app.regulatory.metrics import AI_CACHE_LOOKUPS

_log = get_logger("app.cache")

NAMESPACE = "ai:"
_SPACES = str.maketrans({c: " " for c in "\t\n\r\x0b\x0c\u00a0\u3000"})

CacheOutcome = Literal["hit", "miss", "bypass"]


def nesting_depth(value: Any, *, stop_at: int = 1000) -> int:
    """How deeply lists/objects nest in a JSON value (iterative: safe on hostile input)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest >= stop_at:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def normalise_input(value: Any) -> Any:
    """The part of a request that decides the answer, with spelling noise removed: Unicode NFC,
    whitespace runs collapsed, ends stripped; dict keys sorted when serialised."""
    if isinstance(value, str):
        text = unicodedata.normalize("NFC", value).translate(_SPACES)
        return " ".join(text.split())
    if isinstance(value, dict):
        return {str(k): normalise_input(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise_input(v) for v in value]
    return value


def cache_key(*, provider: str, model: str, endpoint: str, payload: Any) -> str:
    """`ai:<endpoint>:<sha256 of provider, model, endpoint and normalised payload>`."""
    canonical = json.dumps(
        [provider, model, endpoint, normalise_input(payload)],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{NAMESPACE}{endpoint}:{digest}"


def cache_status_header(outcome: CacheOutcome) -> str:
    """RFC 9211 `Cache-Status` value for the outcome."""
    if outcome == "hit":
        return "raidesk; hit"
    if outcome == "miss":
        return "raidesk; fwd=miss; stored"
    return "raidesk; fwd=bypass"


@dataclass
class CacheCounters:
    """Lookups answered by this process."""

    hits: int = 0
    misses: int = 0


class AICache:
    """JSON values by key with one TTL; a TTL of 0 turns the cache off (every lookup bypasses)."""

    def __init__(
        self,
        kv: KeyValueStore,
        *,
        ttl_s: float,
        backend: str,
        max_entries: int | None = None,
    ) -> None:
        self.kv = kv
        self.ttl_s = ttl_s
        self.backend = backend
        self.max_entries = max_entries
        self.counters = CacheCounters()

    @property
    def enabled(self) -> bool:
        """Whether results are stored at all."""
        return self.ttl_s > 0

    async def get(self, key: str) -> Any | None:
        """The cached JSON value, counting a hit or a miss; None when absent or disabled."""
        if not self.enabled:
            return None
        endpoint = key[len(NAMESPACE) :].partition(":")[0]
        try:
            raw = await self.kv.get(key)
        except BACKEND_OUTAGES as exc:
            # The cache only saves work: with its store away the answer is computed afresh.
            _log.warning("ai_cache_unavailable", op="get", error=type(exc).__name__)
            self.counters.misses += 1
            METRICS_BUFFER.count(AI_CACHE_LOOKUPS, (endpoint, "miss"))
            return None
        if raw is None:
            self.counters.misses += 1
            METRICS_BUFFER.count(AI_CACHE_LOOKUPS, (endpoint, "miss"))
            return None
        self.counters.hits += 1
        METRICS_BUFFER.count(AI_CACHE_LOOKUPS, (endpoint, "hit"))
        return json.loads(raw)

    async def set(self, key: str, value: Any) -> None:
        """Store a JSON value for the configured TTL."""
        if self.enabled:
            raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            try:
                await self.kv.set(key, raw, ttl_s=self.ttl_s)
            except BACKEND_OUTAGES as exc:
                _log.warning("ai_cache_unavailable", op="set", error=type(exc).__name__)

    async def invalidate(self, prefix: str = "") -> int:
        """Drop every entry whose key (after `ai:`) starts with `prefix`; how many were live."""
        return await self.kv.delete_prefix(NAMESPACE + prefix)

    async def size(self) -> int:
        """Live entries in the store."""
        return await self.kv.count(NAMESPACE)

    async def stats(self) -> dict[str, Any]:
        """Hits, misses and ratio of this process, the store's size, and the settings."""
        hits, misses = self.counters.hits, self.counters.misses
        lookups = hits + misses
        return {
            "backend": self.backend,
            "enabled": self.enabled,
            "hits": hits,
            "misses": misses,
            "hit_ratio": round(hits / lookups, 4) if lookups else 0.0,
            # The seeds' names for the same figures (docs/seed-compatibility.md).
            "hit_rate": round(hits / lookups, 4) if lookups else 0.0,
            "miss_rate": round(misses / lookups, 4) if lookups else 0.0,
            "size": await self.size(),
            "ttl_s": self.ttl_s,
            "max_entries": self.max_entries,
            "counted_per": "process",
        }
