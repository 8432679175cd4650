"""Key-value store in Redis (keys under one namespace prefix)."""

from __future__ import annotations

from app.platform.storage.redis.client import RedisClient


class RedisKeyValueStore:
    """Plain strings with PX expiry; prefix deletion walks SCAN, never KEYS."""

    def __init__(self, redis: RedisClient, *, namespace: str = "kv:") -> None:
        self._redis = redis
        self._ns = namespace

    async def ping(self) -> None:
        await self._redis.ping()

    async def get(self, key: str) -> str | None:
        value = await self._redis.get(self._ns + key)
        return None if value is None else str(value)

    async def set(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        await self._redis.set(self._ns + key, value, px=px)

    async def set_if_absent(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        px = None if ttl_s is None else max(1, int(ttl_s * 1000))
        return bool(await self._redis.set(self._ns + key, value, px=px, nx=True))

    async def delete(self, key: str) -> bool:
        return bool(await self._redis.delete(self._ns + key))

    def _match(self, prefix: str) -> str:
        escaped = "".join("\\" + c if c in "*?[]\\" else c for c in self._ns + prefix)
        return escaped + "*"

    async def delete_prefix(self, prefix: str) -> int:
        removed = 0
        batch: list[str] = []
        async for key in self._redis.scan_iter(match=self._match(prefix), count=500):
            batch.append(key)
            if len(batch) >= 500:
                removed += int(await self._redis.unlink(*batch))
                batch.clear()
        if batch:
            removed += int(await self._redis.unlink(*batch))
        return removed

    async def count(self, prefix: str = "") -> int:
        return sum([1 async for _ in self._redis.scan_iter(match=self._match(prefix), count=500)])
