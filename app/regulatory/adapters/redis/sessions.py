"""Sessions in Redis: one JSON string per session with PX expiry (TTL restarts on each write)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import WatchError

from app.platform.storage.redis.client import RedisClient
from app.regulatory.repository import SessionMutation, SessionRecord

_MAX_WATCH_RETRIES = 100


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class RedisSessionStore:
    """`sess:<id>` holds the session; `sess-owner:<owner>` (a sorted set by update time) lists
    an owner's sessions. Index entries of expired sessions are dropped when listed."""

    def __init__(self, redis: RedisClient, *, namespace: str = "sess:") -> None:
        self._redis = redis
        self._ns = namespace
        self._owner_ns = namespace.rstrip(":") + "-owner:"

    def _key(self, session_id: str) -> str:
        return self._ns + session_id

    @staticmethod
    def _record(session_id: str, raw: str, ttl_ms: int) -> SessionRecord:
        doc = json.loads(raw)
        now = time.time()
        return SessionRecord(
            id=session_id,
            owner_id=doc.get("owner_id"),
            data=doc["data"],
            created_at=datetime.fromtimestamp(doc["created_at"], UTC),
            updated_at=datetime.fromtimestamp(doc["updated_at"], UTC),
            expires_at=datetime.fromtimestamp(doc.get("expires_at", now + ttl_ms / 1000), UTC),
        )

    async def _index(self, owner_id: str | None, session_id: str, now: float, ttl_s: float) -> None:
        if owner_id is None:
            return
        key = self._owner_ns + owner_id
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {session_id: now})
            # The index never outlives the newest session it lists.
            pipe.expire(key, max(1, int(ttl_s) + 1))
            await pipe.execute()

    async def create(
        self, *, session_id: str, owner_id: str | None, data: dict[str, Any], ttl_s: float
    ) -> SessionRecord:
        now = time.time()
        doc = {
            "owner_id": owner_id,
            "data": data,
            "created_at": now,
            "updated_at": now,
            "expires_at": now + ttl_s,
        }
        raw = _dumps(doc)
        await self._redis.set(self._key(session_id), raw, px=max(1, int(ttl_s * 1000)))
        await self._index(owner_id, session_id, now, ttl_s)
        return self._record(session_id, raw, int(ttl_s * 1000))

    async def get(self, session_id: str) -> SessionRecord | None:
        raw = await self._redis.get(self._key(session_id))
        return None if raw is None else self._record(session_id, str(raw), 0)

    async def update(
        self, session_id: str, *, mutate: SessionMutation, ttl_s: float
    ) -> SessionRecord | None:
        key = self._key(session_id)
        # Optimistic: WATCH the key, read, merge in Python, write in MULTI; a concurrent write
        # aborts the EXEC and the merge is redone on the new value, so no merge is lost.
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_MAX_WATCH_RETRIES):
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        await pipe.unwatch()  # type: ignore[no-untyped-call]
                        return None
                    doc = json.loads(raw)
                    doc["data"] = mutate(doc["data"])
                    now = time.time()
                    doc["updated_at"] = now
                    doc["expires_at"] = now + ttl_s
                    new_raw = _dumps(doc)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, new_raw, px=max(1, int(ttl_s * 1000)))
                    await pipe.execute()
                except WatchError:
                    continue
                await self._index(doc.get("owner_id"), session_id, now, ttl_s)
                return self._record(session_id, new_raw, int(ttl_s * 1000))
        raise RuntimeError(
            f"session {session_id!r} kept changing during {_MAX_WATCH_RETRIES} tries"
        )

    async def delete(self, session_id: str) -> bool:
        return bool(await self._redis.delete(self._key(session_id)))

    async def purge_expired(self, *, batch: int = 1000) -> int:
        """Nothing to do: sessions carry a PX expiry, and an owner's index expires with its
        newest session (dead entries in between are dropped when the owner lists them)."""
        del batch
        return 0

    async def list_by_owner(self, owner_id: str, *, limit: int) -> list[SessionRecord]:
        index = self._owner_ns + owner_id
        ids = [str(i) for i in await self._redis.zrevrange(index, 0, -1)]
        if not ids:
            return []
        # One GET per session in a pipeline, not MGET: the sessions live in different Redis
        # Cluster slots, and a cluster pipeline sends each node its own share.
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.get(self._key(session_id))
            raws = await pipe.execute()
        found: list[SessionRecord] = []
        gone: list[str] = []
        for session_id, raw in zip(ids, raws, strict=True):
            if raw is None:
                gone.append(session_id)
            else:
                found.append(self._record(session_id, str(raw), 0))
        if gone:
            await self._redis.zrem(index, *gone)
        found.sort(key=lambda r: (r.updated_at, r.id), reverse=True)
        return found[:limit]
