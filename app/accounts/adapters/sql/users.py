"""Users in the `users` table (SQLite or PostgreSQL)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.repository import UserRecord
from app.platform.storage.sql.engine import reader
from app.platform.storage.sql.retry import retry_read
from app.platform.storage.sql.tables import users as t
from app.platform.storage.sql.values import aware


def _record(row: Row[Any]) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        password_hash=row.password_hash,
        role=row.role,
        is_active=bool(row.is_active),
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def _values(user: UserRecord) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "password_hash": user.password_hash,
        "role": user.role,
        "is_active": user.is_active,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


class SqlUserRepository:
    """Uniqueness of usernames is the table's unique index, so it holds across workers."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert: Any = (
            postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        )

    async def create(self, user: UserRecord) -> bool:
        # ON CONFLICT DO NOTHING instead of catching IntegrityError: no aborted transaction on
        # PostgreSQL, and the loser of a registration race simply gets no row back.
        stmt = self._insert(t).values(**_values(user)).on_conflict_do_nothing().returning(t.c.id)
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
            return result.first() is not None

    @retry_read
    async def get(self, user_id: str) -> UserRecord | None:
        async with reader(self._engine).connect() as conn:
            row = (await conn.execute(select(t).where(t.c.id == user_id))).first()
        return None if row is None else _record(row)

    @retry_read
    async def get_by_username(self, username: str) -> UserRecord | None:
        async with reader(self._engine).connect() as conn:
            row = (await conn.execute(select(t).where(t.c.username == username))).first()
        return None if row is None else _record(row)

    @retry_read
    async def list(self, *, limit: int, offset: int) -> list[UserRecord]:
        stmt = select(t).order_by(t.c.created_at, t.c.id).limit(limit).offset(offset)
        async with reader(self._engine).connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_record(r) for r in rows]

    async def update(
        self,
        user_id: str,
        *,
        role: str | None = None,
        is_active: bool | None = None,
        updated_at: datetime,
    ) -> UserRecord | None:
        values: dict[str, Any] = {"updated_at": updated_at}
        if role is not None:
            values["role"] = role
        if is_active is not None:
            values["is_active"] = is_active
        stmt = update(t).where(t.c.id == user_id).values(**values).returning(*t.c)
        async with self._engine.begin() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _record(row)

    async def upsert_admin(self, user: UserRecord) -> UserRecord:
        values = _values(user) | {"role": "admin", "is_active": True}
        # One statement, so several workers bootstrapping the same admin at once never hit
        # a unique violation: the later ones update the row the first one inserted.
        stmt = (
            self._insert(t)
            .values(**values)
            .on_conflict_do_update(
                index_elements=[t.c.username],
                set_={
                    "role": "admin",
                    "is_active": True,
                    "password_hash": user.password_hash,
                    "updated_at": user.updated_at,
                },
            )
            .returning(*t.c)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(stmt)).one()
        return _record(row)

    @retry_read
    async def changed_since(self, since: datetime) -> builtins.list[UserRecord]:
        # Served by ix_users_updated_at: each worker asks this every second or so.
        stmt = select(t).where(t.c.updated_at >= since)
        async with reader(self._engine).connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_record(r) for r in rows]
