"""Key-value store in the `kv_entries` table (SQLite or PostgreSQL)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.tables import kv_entries as t


def _escape_like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlKeyValueStore:
    """TTL is stored as an absolute Unix time and checked on read (expired rows are dead)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert: Any = (
            postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        )

    @staticmethod
    def _alive(now: float):  # type: ignore[no-untyped-def]
        return or_(t.c.expires_at.is_(None), t.c.expires_at > now)

    async def ping(self) -> None:
        async with reader(self._engine).connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def get(self, key: str) -> str | None:
        async with reader(self._engine).connect() as conn:
            row = await conn.execute(
                select(t.c.value).where(t.c.key == key, self._alive(time.time()))
            )
            return row.scalar_one_or_none()

    async def set(self, key: str, value: str, *, ttl_s: float | None = None) -> None:
        expires_at = None if ttl_s is None else time.time() + ttl_s
        values = {"value": value, "expires_at": expires_at, "updated_at": datetime.now(UTC)}
        stmt = self._insert(t).values(key=key, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.key], set_=values)
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def set_if_absent(self, key: str, value: str, *, ttl_s: float | None = None) -> bool:
        now = time.time()
        expires_at = None if ttl_s is None else now + ttl_s
        values = {"value": value, "expires_at": expires_at, "updated_at": datetime.now(UTC)}
        # One statement: insert, or take over a row that has expired; the primary key makes
        # exactly one of several concurrent callers see its row come back.
        stmt = (
            self._insert(t)
            .values(key=key, **values)
            .on_conflict_do_update(
                index_elements=[t.c.key],
                set_=values,
                where=and_(t.c.expires_at.is_not(None), t.c.expires_at <= now),
            )
            .returning(t.c.key)
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
            return result.first() is not None

    async def delete(self, key: str) -> bool:
        async with self._engine.begin() as conn:
            alive = await conn.execute(
                select(t.c.key).where(t.c.key == key, self._alive(time.time()))
            )
            found = alive.first() is not None
            await conn.execute(delete(t).where(t.c.key == key))
            return found

    async def delete_prefix(self, prefix: str) -> int:
        pattern = _escape_like(prefix) + "%"
        now = time.time()
        async with self._engine.begin() as conn:
            alive = await conn.execute(
                select(func.count())
                .select_from(t)
                .where(and_(t.c.key.like(pattern, escape="\\"), self._alive(now)))
            )
            count = int(alive.scalar_one())
            await conn.execute(delete(t).where(t.c.key.like(pattern, escape="\\")))
            return count

    async def count(self, prefix: str = "") -> int:
        pattern = _escape_like(prefix) + "%"
        async with reader(self._engine).connect() as conn:
            result = await conn.execute(
                select(func.count())
                .select_from(t)
                .where(t.c.key.like(pattern, escape="\\"), self._alive(time.time()))
            )
            return int(result.scalar_one())
