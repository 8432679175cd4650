"""The monitoring stores in Redis, shared by every worker and instance: a stream of events
trimmed to about `max_len` entries (`XADD … MAXLEN ~`), a sorted set of user marks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from app.platform.events import EventQuery, MonitoringEvent
from app.platform.storage.redis.client import RedisClient

# Stream ids carry Redis's clock, events the recording worker's: `since` scans this much
# further back by id, then filters by the event's own time.
CLOCK_SLACK_MS = 60_000
_FIELDS = tuple(f.name for f in dataclasses.fields(MonitoringEvent) if f.name != "id")


class RedisEventStore:
    """Events in one stream; reads walk it newest first, a page at a time."""

    def __init__(
        self,
        redis: RedisClient,
        *,
        key: str = "monitoring:events",
        max_len: int = 10_000,
        page: int = 500,
    ) -> None:
        self._redis = redis
        self.key = key
        self._max_len = max_len
        self._page = page

    async def append_many(self, events: Sequence[MonitoringEvent]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                record = {name: getattr(event, name) for name in _FIELDS}
                body = json.dumps(record, separators=(",", ":"))
                # Approximate trimming (whole macro nodes) costs O(1) per append.
                pipe.xadd(self.key, {"e": body}, maxlen=self._max_len, approximate=True)
            await pipe.execute()

    async def recent(self, query: EventQuery) -> list[MonitoringEvent]:
        lowest = "-"
        if query.since is not None:
            lowest = str(max(0, int(query.since * 1000) - CLOCK_SLACK_MS))
        highest = "+"
        found: list[MonitoringEvent] = []
        while True:
            # decode_responses: ids and fields are str (the client's stubs allow bytes too).
            entries: list[Any] = (
                await self._redis.xrevrange(self.key, max=highest, min=lowest, count=self._page)
                or []
            )
            for entry_id, fields in entries:
                event = _decode(str(entry_id), fields or {})
                if event is not None and query.matches(event):
                    found.append(event)
                    if len(found) >= query.limit:
                        return found
            if len(entries) < self._page:
                return found
            highest = "(" + str(entries[-1][0])  # exclusive: continue below the page's last id


def _decode(entry_id: str, fields: Mapping[Any, Any]) -> MonitoringEvent | None:
    try:
        record = json.loads(fields["e"])
        return MonitoringEvent(id=entry_id, **{k: record.get(k) for k in _FIELDS})
    except (KeyError, TypeError, ValueError):
        return None  # not ours (written by hand or another version): skipped


class RedisActivityStore:
    """User marks as a sorted set scored by Unix time; expires when nobody is marked."""

    def __init__(self, redis: RedisClient, *, key: str = "monitoring:active_users") -> None:
        self._redis = redis
        self.key = key

    async def mark_seen(self, seen: Mapping[str, float], *, horizon: float) -> None:
        if not seen:
            return
        ttl_s = max(60, int(max(seen.values()) - horizon) + 60)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self.key, dict(seen), gt=True)  # never lower a newer worker's mark
            pipe.zremrangebyscore(self.key, "-inf", f"({horizon}")
            pipe.expire(self.key, ttl_s)
            await pipe.execute()

    async def count_since(self, since: float) -> int:
        return int(await self._redis.zcount(self.key, since, "+inf"))
