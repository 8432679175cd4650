"""Sessions in the `sessions` table (SQLite or PostgreSQL): durable across restarts."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.retry import retry_read
from app.platform.storage.sql.tables import sessions as t
from app.platform.storage.sql.values import aware, dumps
from app.regulatory.repository import SessionMutation, SessionRecord


def _record(row: RowMapping) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        owner_id=row["owner_id"],
        data=json.loads(row["data"]),
        created_at=aware(row["created_at"]),
        updated_at=aware(row["updated_at"]),
        expires_at=datetime.fromtimestamp(row["expires_at"], UTC),
    )


class SqlSessionStore:
    """Expiry is an absolute Unix time checked on every read; expired rows are dead rows."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(
        self, *, session_id: str, owner_id: str | None, data: dict[str, Any], ttl_s: float
    ) -> SessionRecord:
        now = time.time()
        at = datetime.fromtimestamp(now, UTC)
        stored = dumps(data)
        values = {
            "id": session_id,
            "owner_id": owner_id,
            "data": stored,
            "created_at": at,
            "updated_at": at,
            "expires_at": now + ttl_s,
        }
        async with self._engine.begin() as conn:
            await conn.execute(insert(t).values(**values))
        return SessionRecord(
            id=session_id,
            owner_id=owner_id,
            data=json.loads(stored),
            created_at=at,
            updated_at=at,
            expires_at=datetime.fromtimestamp(now + ttl_s, UTC),
        )

    @retry_read
    async def get(self, session_id: str) -> SessionRecord | None:
        async with reader(self._engine).connect() as conn:
            result = await conn.execute(
                select(t).where(t.c.id == session_id, t.c.expires_at > time.time())
            )
            row = result.mappings().first()
        return None if row is None else _record(row)

    async def update(
        self, session_id: str, *, mutate: SessionMutation, ttl_s: float
    ) -> SessionRecord | None:
        # Read-modify-write in one transaction: FOR UPDATE on PostgreSQL, and on SQLite every
        # transaction is BEGIN IMMEDIATE (one writer at a time), so merges never get lost.
        async with self._engine.begin() as conn:
            result = await conn.execute(
                select(t)
                .where(t.c.id == session_id, t.c.expires_at > time.time())
                .with_for_update()
            )
            row = result.mappings().first()
            if row is None:
                return None
            old = _record(row)
            data = mutate(old.data)
            now = time.time()
            at = datetime.fromtimestamp(now, UTC)
            await conn.execute(
                update(t)
                .where(t.c.id == session_id)
                .values(data=dumps(data), updated_at=at, expires_at=now + ttl_s)
            )
        return SessionRecord(
            id=old.id,
            owner_id=old.owner_id,
            data=data,
            created_at=old.created_at,
            updated_at=at,
            expires_at=datetime.fromtimestamp(now + ttl_s, UTC),
        )

    async def delete(self, session_id: str) -> bool:
        async with self._engine.begin() as conn:
            alive = await conn.execute(
                select(t.c.id).where(t.c.id == session_id, t.c.expires_at > time.time())
            )
            found = alive.first() is not None
            await conn.execute(delete(t).where(t.c.id == session_id))
        return found

    @retry_read
    async def list_by_owner(self, owner_id: str, *, limit: int) -> list[SessionRecord]:
        async with reader(self._engine).connect() as conn:
            result = await conn.execute(
                select(t)
                .where(t.c.owner_id == owner_id, t.c.expires_at > time.time())
                .order_by(t.c.updated_at.desc(), t.c.id.desc())
                .limit(limit)
            )
            return [_record(r) for r in result.mappings()]

    async def purge_expired(self, *, batch: int = 1000) -> int:
        """Delete dead rows (reads already ignore them; this only reclaims space), `batch` per
        transaction: a long DELETE would hold SQLite's one write lock against every request."""
        purged = 0
        while True:
            dead = select(t.c.id).where(t.c.expires_at <= time.time()).limit(batch)
            async with self._engine.begin() as conn:
                result = await conn.execute(delete(t).where(t.c.id.in_(dead)))
            count = int(result.rowcount or 0)
            purged += count
            if count < batch:
                return purged
