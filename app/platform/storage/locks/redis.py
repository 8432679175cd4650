"""Locks in Redis: SET NX PX with a random token, compare-and-delete release, fencing counter."""

from __future__ import annotations

import secrets
from pathlib import Path

from app.platform.storage.base import Lease, check_lock_args
from app.platform.storage.redis.client import RedisClient, register_script

LUA_DIR = Path(__file__).parent / "lua"


class RedisLockStore:
    """Each lock is `lock:{name}` holding its holder's token; `lock:{name}:fence` counts grants.

    Both keys share the `{name}` hash tag, so the acquire script is one slot on Redis Cluster.
    """

    def __init__(self, redis: RedisClient, *, namespace: str = "lock:") -> None:
        self._redis = redis
        self._ns = namespace
        self._acquire = register_script(redis, LUA_DIR / "lock_acquire.lua")
        self._release = register_script(redis, LUA_DIR / "lock_release.lua")
        self._extend = register_script(redis, LUA_DIR / "lock_extend.lua")

    def _key(self, name: str) -> str:
        return f"{self._ns}{{{name}}}"

    async def ping(self) -> None:
        await self._redis.ping()

    async def try_acquire(self, name: str, *, ttl_ms: int) -> Lease | None:
        check_lock_args(name, ttl_ms)
        token = secrets.token_hex(16)
        key = self._key(name)
        fence = int(await self._acquire(keys=[key, key + ":fence"], args=[token, ttl_ms]))
        if fence == 0:
            return None
        return Lease(name=name, token=token, fencing_token=fence, ttl_ms=ttl_ms)

    async def release(self, lease: Lease) -> bool:
        return bool(await self._release(keys=[self._key(lease.name)], args=[lease.token]))

    async def extend(self, lease: Lease, *, ttl_ms: int) -> bool:
        check_lock_args(lease.name, ttl_ms)
        return bool(await self._extend(keys=[self._key(lease.name)], args=[lease.token, ttl_ms]))
