"""The monitoring stores of one process: a bounded ring of events, a dict of user marks."""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from collections.abc import Mapping, Sequence

from app.platform.events import EventQuery, MonitoringEvent


class MemoryEventStore:
    """The newest `max_len` events of this process (the embedded default)."""

    def __init__(self, *, max_len: int = 10_000) -> None:
        self._events: deque[MonitoringEvent] = deque(maxlen=max_len)
        self._seq = itertools.count(1)

    async def append_many(self, events: Sequence[MonitoringEvent]) -> None:
        for event in events:
            # Time-ordered like a stream id: milliseconds, then a sequence number.
            event_id = f"{int(event.created_at * 1000)}-{next(self._seq)}"
            self._events.append(dataclasses.replace(event, id=event_id))

    async def recent(self, query: EventQuery) -> list[MonitoringEvent]:
        found: list[MonitoringEvent] = []
        for event in reversed(self._events):
            if query.matches(event):
                found.append(event)
                if len(found) >= query.limit:
                    break
        return found


class MemoryActivityStore:
    """Each user's last mark, in this process."""

    def __init__(self) -> None:
        self._marks: dict[str, float] = {}

    async def mark_seen(self, seen: Mapping[str, float], *, horizon: float) -> None:
        marks = self._marks
        for user_id, at in seen.items():
            if at > marks.get(user_id, -1.0):
                marks[user_id] = at
        if any(at < horizon for at in marks.values()):
            self._marks = {u: at for u, at in marks.items() if at >= horizon}

    async def count_since(self, since: float) -> int:
        return sum(1 for at in self._marks.values() if at >= since)
