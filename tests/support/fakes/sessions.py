"""Sessions in process memory (tests and single-process runs without SQL sessions)."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from app.regulatory.repository import SessionMutation, SessionRecord


def _at(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


class MemorySessionStore:
    """A dict of sessions; one event loop and no await inside an update make merges atomic."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._rows: dict[str, SessionRecord] = {}
        self._clock = clock

    def _live(self, session_id: str) -> SessionRecord | None:
        row = self._rows.get(session_id)
        if row is None:
            return None
        if row.expires_at.timestamp() <= self._clock():
            del self._rows[session_id]
            return None
        return row

    @staticmethod
    def _copy(row: SessionRecord) -> SessionRecord:
        # Callers get their own copy so mutating a returned dict never edits the store.
        return SessionRecord(
            id=row.id,
            owner_id=row.owner_id,
            data=copy.deepcopy(row.data),
            created_at=row.created_at,
            updated_at=row.updated_at,
            expires_at=row.expires_at,
        )

    async def create(
        self, *, session_id: str, owner_id: str | None, data: dict[str, Any], ttl_s: float
    ) -> SessionRecord:
        now = self._clock()
        row = SessionRecord(
            id=session_id,
            owner_id=owner_id,
            data=copy.deepcopy(data),
            created_at=_at(now),
            updated_at=_at(now),
            expires_at=_at(now + ttl_s),
        )
        self._rows[session_id] = row
        return self._copy(row)

    async def get(self, session_id: str) -> SessionRecord | None:
        row = self._live(session_id)
        return None if row is None else self._copy(row)

    async def update(
        self, session_id: str, *, mutate: SessionMutation, ttl_s: float
    ) -> SessionRecord | None:
        row = self._live(session_id)
        if row is None:
            return None
        data = mutate(copy.deepcopy(row.data))
        now = self._clock()
        new = SessionRecord(
            id=row.id,
            owner_id=row.owner_id,
            data=data,
            created_at=row.created_at,
            updated_at=_at(now),
            expires_at=_at(now + ttl_s),
        )
        self._rows[session_id] = new
        return self._copy(new)

    async def delete(self, session_id: str) -> bool:
        existed = self._live(session_id) is not None
        self._rows.pop(session_id, None)
        return existed

    async def list_by_owner(self, owner_id: str, *, limit: int) -> list[SessionRecord]:
        rows = [r for r in list(self._rows.values()) if r.owner_id == owner_id and self._live(r.id)]
        rows.sort(key=lambda r: (r.updated_at, r.id), reverse=True)
        return [self._copy(r) for r in rows[:limit]]

    async def purge_expired(self, *, batch: int = 1000) -> int:
        """Drop expired sessions nobody read since they expired (reads drop the ones they meet)."""
        del batch  # one pass over a dict never waits on anyone
        now = self._clock()
        dead = [key for key, row in self._rows.items() if row.expires_at.timestamp() <= now]
        for key in dead:
            del self._rows[key]
        return len(dead)
