"""Per-user quotas in the `user_quotas` table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from app.limits.repository import QuotaRecord
from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.tables import user_quotas as t
from app.platform.storage.sql.values import aware


def _record(row: Row[Any]) -> QuotaRecord:
    return QuotaRecord(
        user_id=row.user_id,
        requests_per_minute=row.requests_per_minute,
        requests_per_hour=row.requests_per_hour,
        requests_per_day=row.requests_per_day,
        updated_by=row.updated_by,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


class SqlQuotaRepository:
    """One row per user; the foreign key drops it with the user."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert: Any = (
            postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        )

    async def get(self, user_id: str) -> QuotaRecord | None:
        async with reader(self._engine).connect() as conn:
            row = (await conn.execute(select(t).where(t.c.user_id == user_id))).first()
        return None if row is None else _record(row)

    async def put(self, record: QuotaRecord) -> QuotaRecord:
        # One upsert: two admins setting one user's quota at once both succeed, the last wins.
        changed = {
            "requests_per_minute": record.requests_per_minute,
            "requests_per_hour": record.requests_per_hour,
            "requests_per_day": record.requests_per_day,
            "updated_by": record.updated_by,
            "updated_at": record.updated_at,
        }
        stmt = (
            self._insert(t)
            .values(user_id=record.user_id, created_at=record.created_at, **changed)
            .on_conflict_do_update(index_elements=[t.c.user_id], set_=changed)
            .returning(*t.c)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(stmt)).one()
        return _record(row)

    async def delete(self, user_id: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(t).where(t.c.user_id == user_id))
        return bool(result.rowcount)

    async def list_all(self) -> list[QuotaRecord]:
        async with reader(self._engine).connect() as conn:
            rows = (await conn.execute(select(t))).all()
        return [_record(r) for r in rows]
